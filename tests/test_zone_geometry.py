"""Zones of any geometry, the ``inside`` condition, distances that show the margin, and
distances measured from each piece of a site (issue 15, points 5–7).

Expected distances and shares come from geometry built here and measured with
:class:`pyproj.Geod`, never from the code under test.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from tests.conftest import TWO_UNITS, make_list, make_units, run
from zoning import DataError, Engine
from zoning.geodesy import GEOGRAPHIC
from zoning.inputs.units import _polygons
from zoning.outputs.documents import to_markdown
from zoning.outputs.reports import compliance_report

GEOD = Geod(ellps="GRS80")
WEST, EAST = TWO_UNITS[0][0], TWO_UNITS[1][0]  # the shared edge is lon 116.0
RIVER = shapely.LineString([(115.95, 38.9), (115.95, 39.0)])  # a meridian line in the west unit
WELL = shapely.Point(116.05, 38.95)  # in the east unit
PARK = shapely.box(115.99, 38.94, 116.0, 38.96)  # a park in the west unit, its east edge the unit edge


def zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone_id": ["R1", "W1", "P1"], "kind": ["river", "well", "chemical_park"],
         "name": ["river 1", "well 1", "park 1"]},
        geometry=[RIVER, WELL, PARK], crs=GEOGRAPHIC)


def engine(*clauses, zone_layer=None, scope=None) -> Engine:
    return Engine(make_units(TWO_UNITS), [make_list(list(clauses), scope=scope)],
                  zone_layer if zone_layer is not None else zones())


def clause(cid: str, effect: str, conditions) -> dict:
    return {"id": cid, "effect": effect, "conditions": conditions}


def metres_east(lon: float, lat: float, metres: float) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90.0, metres)
    return lon2, lat2


def by_unit(result, cid: str) -> dict:
    return {e["unit"]: e for e in result.explanation if e["clause"] == cid}


# ---- zones that are lines and points ----------------------------------------------

def test_line_and_point_zones_load_from_a_file(tmp_path):
    path = tmp_path / "zones.gpkg"
    zones().to_file(path)
    units = tmp_path / "units.gpkg"
    make_units(TWO_UNITS).to_file(units)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "l.yaml").write_text(
        "id: l\ntitle: t\nissuer: i\nversion: '1'\neffective_from: 2020-01-01\nlevel: province\n"
        "source: {document: d, issuer: i, date: 2020-01-01}\nclauses:\n"
        "  - {id: K1, dimension: spatial_layout, effect: prohibit, text: t, source: {article: a},\n"
        "     conditions: {within_distance: {zone_kinds: [river], distance_m: 1000}}}\n", encoding="utf-8")
    eng = Engine.load(units=units, rules=rules, zones=path)
    assert sorted(shapely.get_type_id(eng.zones.geometry.to_numpy()).tolist()) == [0, 1, 3]
    lon, lat = metres_east(115.95, 38.95, 800.0)
    assert eng.check(lon=lon, lat=lat).verdict == "prohibited"
    out = run(["check", "--units", units, "--rules", rules, "--zones", path, "--lon", lon, "--lat", lat])
    assert "PROHIBITED" in out.output


def test_a_geometry_collection_zone_is_refused_naming_it():
    mixed = zones()
    mixed.loc[1, "geometry"] = shapely.GeometryCollection([WELL, RIVER])
    with pytest.raises(DataError, match="not a point, line or polygon.*W1"):
        _polygons(mixed, "zone layer z.gpkg", "zone_id", any_kind=True)


@pytest.mark.parametrize(("metres", "verdict"), [(499.0, "prohibited"), (500.0, "prohibited"), (501.0, "permitted")])
def test_distance_to_a_line_zone(metres, verdict):
    eng = engine(clause("RIV", "prohibit", {"within_distance": {"zone_kinds": ["river"], "distance_m": 500}}))
    lon, lat = metres_east(115.95, 38.95, metres)
    assert eng.check(lon=lon, lat=lat, industry="C2614", type="new").verdict == verdict


def test_within_zero_metres_of_a_point_zone_is_on_it():
    eng = engine(clause("WELL", "prohibit", {"within_distance": {"zones": ["W1"], "distance_m": 0}}))
    assert eng.check(lon=116.05, lat=38.95).verdict == "prohibited"
    lon, lat = metres_east(116.05, 38.95, 1.0)
    assert eng.check(lon=lon, lat=lat).verdict == "permitted"
    covering = eng.check(site=shapely.box(116.04, 38.94, 116.06, 38.96))
    assert covering.verdict == "prohibited"


def test_a_zone_list_scoped_to_a_line_applies_where_the_site_crosses_it():
    crossing = {"zones": ["R1"]}
    eng = engine(clause("X", "restrict", None), scope=crossing)
    plot = shapely.box(115.94, 38.94, 115.96, 38.96)  # the river runs through it
    r = eng.check(site=plot)
    assert r.verdict == "restricted" and r.citations[0]["zone"] == "R1"
    apart = shapely.box(115.96, 38.94, 115.97, 38.96)
    assert eng.check(site=apart).verdict == "permitted"


# ---- inside: lying in a zone, not only touching it ------------------------------

INSIDE_PARK = {"inside": {"zone_kinds": ["chemical_park"]}}


def test_inside_a_polygon_zone_against_touching_it():
    eng = engine(clause("IN", "prohibit", INSIDE_PARK))
    assert eng.check(lon=115.995, lat=38.95).verdict == "prohibited"
    touching_point = eng.check(lon=115.99, lat=38.95)  # on the park's west edge
    assert touching_point.verdict == "permitted"
    west_neighbour = shapely.box(115.98, 38.945, 115.99, 38.955)  # shares the park's west edge only
    assert eng.check(site=west_neighbour).verdict == "permitted"
    overlapping = shapely.box(115.985, 38.945, 115.991, 38.955)
    assert eng.check(site=overlapping).verdict == "prohibited"


def test_inside_a_line_zone_means_the_zone_crosses_the_site():
    eng = engine(clause("IN", "prohibit", {"inside": {"zones": ["R1"]}}))
    assert eng.check(site=shapely.box(115.94, 38.94, 115.96, 38.96)).verdict == "prohibited"
    beside = shapely.box(115.94, 38.94, 115.95, 38.96)  # its east edge lies along the river: touching only
    assert eng.check(site=beside).verdict == "permitted"
    across = shapely.LineString([(115.94, 38.95), (115.96, 38.95)])  # a road crossing the river at one point
    assert eng.check(site=across).verdict == "permitted"
    along = shapely.LineString([(115.95, 38.93), (115.95, 38.97)])
    assert eng.check(site=along).verdict == "prohibited"


@pytest.mark.parametrize(("west", "share", "verdict"), [(115.9875, 0.5, "restricted"), (115.98745, 0.49, "permitted")])
def test_min_share_of_the_site_inside(west, share, verdict):
    # the site lies in the west unit: from `west` to 115.995, half (or just under) inside the park (from 115.99)
    eng = engine(clause("HALF", "restrict", {"inside": {"zones": ["P1"], "min_share": 0.5}}))
    site = shapely.box(west, 38.945, west + 0.005, 38.955)
    inside_part = shapely.intersection(site, PARK)
    expected = abs(GEOD.geometry_area_perimeter(inside_part)[0]) / abs(GEOD.geometry_area_perimeter(site)[0])
    assert expected == pytest.approx(share, abs=0.01)
    r = eng.check(site=site, explain=True)
    assert r.verdict == verdict
    (entry,) = by_unit(r, "HALF").values()
    assert entry["conditions"][0]["value"] == f"inside, share {expected * 100:.1f}%"
    if verdict == "restricted":
        (measured,) = r.citations[0]["inside"]
        assert measured["share"] == pytest.approx(expected, abs=1e-4) and measured["min_share"] == 0.5


def test_min_share_against_line_zones_is_refused():
    with pytest.raises(DataError, match="min_share") as err:
        engine(clause("BAD", "prohibit", {"inside": {"zone_kinds": ["river"], "min_share": 0.2}}))
    assert "R1" in str(err.value)


# ---- distances that show the margin ----------------------------------------------------

def test_a_false_distance_condition_shows_the_measured_distance():
    near = clause("RIV", "prohibit", {"within_distance": {"zone_kinds": ["river"], "distance_m": 500}})
    eng = engine(near)
    lon, lat = metres_east(115.95, 38.95, 512.0)
    r = eng.check(lon=lon, lat=lat, explain=True)
    assert r.verdict == "permitted"
    (entry,) = by_unit(r, "RIV").values()
    assert entry["conditions"][0]["value"] == "512.0 m to R1"
    assert entry["conditions"][0]["truth"] == "false"


def test_a_cited_distance_is_the_nearest_at_any_distance():
    # `not within` applies beyond the limit: the citation gives the distance, beyond it
    far = clause("FAR", "restrict", {"not": {"within_distance": {"zone_kinds": ["river"], "distance_m": 500}}})
    eng = engine(far)
    lon, lat = metres_east(115.95, 38.95, 2345.0)
    r = eng.check(lon=lon, lat=lat)
    (c,) = r.citations
    (d,) = c["distances"]
    assert d["distance_m"] == pytest.approx(2345.0, abs=0.1)  # edges are straight in Gauss-Krüger: centimetres
    assert d["zone"] == "R1" and d["within"] is False and d["limit_m"] == 500


def test_the_report_table_shows_the_margin(tmp_path):
    eng = engine(clause("RIV", "prohibit", {"within_distance": {"zone_kinds": ["river"], "distance_m": 500}}))
    lon, lat = metres_east(115.95, 38.95, 512.0)
    text = to_markdown(compliance_report(eng, eng.check(lon=lon, lat=lat, explain=True)))
    assert "512.0 m to R1" in text


# ---- each piece of a site measured in its own unit ----------------------------------

def test_a_plot_half_in_a_park_is_inside_it_only_for_the_unit_the_park_is_in():
    outside_park = clause("PARK", "restrict", {"all": [{"industry": ["C26"]}, {"not": INSIDE_PARK}]})
    eng = engine(outside_park)
    plot = shapely.box(115.995, 38.945, 116.005, 38.955)  # half in the park (west unit), half in the east unit
    r = eng.check(site=plot, industry="C2614", type="new", explain=True)
    verdicts = {u["code"]: u["verdict"] for u in r.units}
    assert verdicts == {WEST: "permitted", EAST: "restricted"}
    entries = by_unit(r, "PARK")
    assert entries[WEST]["conditions"][-1]["value"] == "inside, share 100.0%"
    assert entries[EAST]["conditions"][-1]["value"] == "not inside"


def test_distances_are_measured_from_the_piece_in_each_unit():
    eng = engine(clause("WELL", "prohibit", {"within_distance": {"zones": ["W1"], "distance_m": 4000}}))
    plot = shapely.box(115.93, 38.945, 116.01, 38.955)  # mostly in the west unit; its east piece is near the well
    r = eng.check(site=plot, explain=True)
    assert {u["code"]: u["verdict"] for u in r.units} == {WEST: "permitted", EAST: "prohibited"}
    east_piece = shapely.box(116.0, 38.945, 116.01, 38.955)
    expected = GEOD.inv(116.01, 38.95, 116.05, 38.95)[2]
    assert shapely.distance(east_piece, WELL) == pytest.approx(0.04)  # construction check
    (c,) = r.citations
    assert c["unit"] == EAST and c["distances"][0]["distance_m"] == pytest.approx(expected, abs=0.5)
    west = by_unit(r, "WELL")[WEST]["conditions"][0]["value"]
    assert west == f"{GEOD.inv(116.0, 38.95, 116.05, 38.95)[2]:,.1f} m to W1"


def test_batch_and_single_agree_on_pieces_and_zone_kinds():
    eng = engine(
        clause("PARK", "restrict", {"all": [{"industry": ["C26"]}, {"not": INSIDE_PARK}]}),
        clause("RIV", "prohibit", {"within_distance": {"zone_kinds": ["river"], "distance_m": 500}}),
        clause("WELL", "prohibit", {"within_distance": {"zones": ["W1"], "distance_m": 0}}),
        clause("HALF", "restrict", {"inside": {"zones": ["P1"], "min_share": 0.5}}))
    rng = np.random.default_rng(15)
    sites = []
    for _ in range(40):
        x, y = rng.uniform(115.92, 116.08), rng.uniform(38.91, 38.99)
        w = rng.choice([0.0, 0.004, 0.02])
        sites.append(shapely.Point(x, y) if w == 0 else shapely.box(x, y, x + w, y + w / 2))
    sites += [WELL, shapely.Point(115.95, 38.95), shapely.box(115.995, 38.945, 116.005, 38.955)]
    frame = gpd.GeoDataFrame({"industry": ["C2614"] * len(sites), "type": ["new"] * len(sites)}, geometry=sites,
                             crs=GEOGRAPHIC)
    batch = eng.check_many(frame)
    for i, site in enumerate(sites):
        single = eng.check(site=site, industry="C2614", type="new")
        assert batch["verdict"].iloc[i] == single.verdict, (i, site.wkt)
