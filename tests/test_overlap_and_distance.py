"""Overlap measures, ``min_overlap`` slivers and the ``within_distance`` condition.

Every expected number comes from geometry built here and measured independently
with :class:`pyproj.Geod` (geodesic areas, lengths and distances on GRS80), never
from the code under test.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from tests.conftest import TWO_UNITS, make_list, make_units
from zoning import DataError, Engine, MinOverlap
from zoning.errors import InputError
from zoning.geodesy import GEOGRAPHIC
from zoning.rules.conditions import Not, WithinDistance
from zoning.rules.loading import load_list
from zoning.rules.nodes import compile_node

GEOD = Geod(ellps="GRS80")
WEST_CODE, EAST_CODE = TWO_UNITS[0][0], TWO_UNITS[1][0]  # A general (west), B priority (east)
EDGE = 116.0  # the shared boundary between the two units

STEEL = {"effect": "prohibit", "id": "KJ-1",
         "conditions": {"all": [{"industry": ["C31"]}, {"type": ["new", "expansion"]}]}}


def priority_steel_engine(units=TWO_UNITS) -> Engine:
    return Engine(make_units(units), [make_list([STEEL], scope={"unit_types": [1]}, list_id="priority")])


def steel(engine, site, **kw):
    return engine.check(site=site, industry="C3120", type="new", **kw)


# ---- independent measures ---------------------------------------------------------

def _ring_area(ring) -> float:
    return abs(GEOD.polygon_area_perimeter(*ring.xy)[0])


def geod_area(geom) -> float:
    """Geodesic area (m²) of a (multi)polygon: exteriors minus holes, orientation-proof."""
    return sum(_ring_area(p.exterior) - sum(_ring_area(h) for h in p.interiors)
               for p in shapely.get_parts(geom) if not p.is_empty)


def geod_length(geom) -> float:
    return sum(GEOD.line_length(*part.xy) for part in shapely.get_parts(geom) if not part.is_empty)


def unit_box(code: str):
    return shapely.box(*next(s[2] for s in TWO_UNITS if s[0] == code))


def by_code(entries) -> dict:
    return {u["code"]: u for u in entries}


# ==== 1. overlap measures ===========================================================

def test_polygon_overlap_m2_ha_and_share_per_unit_match_geodesic_areas():
    eng = priority_steel_engine()
    site = shapely.box(115.97, 38.93, 116.02, 38.97)  # 3/5 west, 2/5 east of the boundary
    r = eng.check(site=site, industry="I6513", type="new")
    units = by_code(r.units)
    assert set(units) == {WEST_CODE, EAST_CODE}
    total = geod_area(site)
    assert r.project["area_m2"] == pytest.approx(total, rel=1e-3)
    for code in (WEST_CODE, EAST_CODE):
        expected = geod_area(site.intersection(unit_box(code)))
        u = units[code]
        assert u["overlap_m2"] == pytest.approx(expected, rel=1e-3)
        assert u["overlap_ha"] == pytest.approx(u["overlap_m2"] / 10_000, abs=2e-6)
        assert u["overlap_ha"] == pytest.approx(expected / 10_000, rel=1e-3)
        assert u["overlap_share"] == pytest.approx(expected / total, rel=1e-3)
        assert "overlap_m" not in u
    assert sum(u["overlap_share"] for u in r.units) == pytest.approx(1.0, abs=1e-6)
    assert units[WEST_CODE]["overlap_share"] == pytest.approx(0.6, abs=0.01)  # the construction


@pytest.mark.parametrize("line", [
    shapely.LineString([(115.95, 38.92), (116.05, 38.98)]),  # oblique, half in each unit
    shapely.LineString([(115.95, 38.95), (116.05, 38.95)]),  # east-west
    shapely.LineString([(115.99, 38.91), (116.01, 38.99)]),  # nearly north-south
])
def test_line_overlap_length_per_unit_matches_geodesic_length(line):
    """``overlap_m`` and the project's ``length_m`` are metres along the line."""
    eng = priority_steel_engine()
    r = eng.check(site=line, industry="I6513", type="new")
    units = by_code(r.units)
    assert set(units) == {WEST_CODE, EAST_CODE}
    assert r.project["length_m"] == pytest.approx(geod_length(line), rel=1e-3)
    for code in (WEST_CODE, EAST_CODE):
        expected = geod_length(line.intersection(unit_box(code)))
        assert units[code]["overlap_m"] == pytest.approx(expected, rel=1e-3), code


@pytest.mark.parametrize("line", [
    shapely.LineString([(115.95, 38.92), (116.05, 38.98)]),
    shapely.LineString([(115.97, 38.95), (116.02, 38.95)]),  # east-west: 3/5 west
    shapely.LineString([(115.96, 38.91), (116.0, 38.95), (116.04, 38.96)]),  # bent at the boundary
])
def test_line_overlap_shares_match_geodesic_lengths_and_sum_to_one(line):
    eng = priority_steel_engine()
    r = eng.check(site=line, industry="I6513", type="new")
    units = by_code(r.units)
    total = geod_length(line)
    for code in (WEST_CODE, EAST_CODE):
        expected = geod_length(line.intersection(unit_box(code))) / total
        assert units[code]["overlap_share"] == pytest.approx(expected, rel=1e-3, abs=1e-6), code
        assert "overlap_m2" not in units[code] and "overlap_ha" not in units[code]
    assert sum(u["overlap_share"] for u in r.units) == pytest.approx(1.0, abs=1e-6)


def test_multipolygon_site_counts_each_part_in_its_unit():
    eng = priority_steel_engine()
    west_only = shapely.box(115.92, 38.92, 115.95, 38.94)
    straddling = shapely.box(115.99, 38.96, 116.03, 38.98)
    site = shapely.MultiPolygon([west_only, straddling])
    r = steel(eng, site)
    units = by_code(r.units)
    total = geod_area(west_only) + geod_area(straddling)
    assert r.project["area_m2"] == pytest.approx(total, rel=1e-3)
    west = geod_area(west_only) + geod_area(straddling.intersection(unit_box(WEST_CODE)))
    east = geod_area(straddling.intersection(unit_box(EAST_CODE)))
    assert units[WEST_CODE]["overlap_m2"] == pytest.approx(west, rel=1e-3)
    assert units[EAST_CODE]["overlap_m2"] == pytest.approx(east, rel=1e-3)
    assert units[EAST_CODE]["overlap_share"] == pytest.approx(east / total, rel=1e-3)
    assert r.verdict == "prohibited"  # the straddling part reaches the priority unit


def test_polygon_hole_is_not_counted():
    eng = priority_steel_engine()
    hole = shapely.box(116.01, 38.94, 116.02, 38.96)  # entirely in the east unit
    outer = shapely.box(115.98, 38.93, 116.03, 38.97)
    site = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    r = steel(eng, site)
    units = by_code(r.units)
    assert r.project["area_m2"] == pytest.approx(geod_area(outer) - geod_area(hole), rel=1e-3)
    east = geod_area(outer.intersection(unit_box(EAST_CODE))) - geod_area(hole)
    west = geod_area(outer.intersection(unit_box(WEST_CODE)))
    assert units[EAST_CODE]["overlap_m2"] == pytest.approx(east, rel=1e-3)
    assert units[WEST_CODE]["overlap_m2"] == pytest.approx(west, rel=1e-3)
    assert sum(u["overlap_share"] for u in r.units) == pytest.approx(1.0, abs=1e-6)


# ==== 2. min_overlap =================================================================

#: east sliver: 0.00025° of a 0.05025° wide box (≈0.5 % of its area) lies in the priority unit
SLIVER_SITE = shapely.box(115.95, 38.94, EDGE + 0.00025, 38.96)
SLIVER_PIECE = SLIVER_SITE.intersection(unit_box(EAST_CODE))


def test_min_overlap_parse_units():
    assert MinOverlap.parse(["1%"]) == MinOverlap(share=0.01)
    assert MinOverlap.parse(["500m2"]) == MinOverlap(area_m2=500.0)
    assert MinOverlap.parse(["0.05ha"]).area_m2 == pytest.approx(500.0)
    assert MinOverlap.parse(["3亩"]).area_m2 == pytest.approx(2000.0)
    assert MinOverlap.parse(["0.2km2"]).area_m2 == pytest.approx(200_000.0)
    assert MinOverlap.parse(["20m"]) == MinOverlap(length_m=20.0)
    assert MinOverlap.parse(["0.2km"]).length_m == pytest.approx(200.0)
    both = MinOverlap.parse(["1%", "500 m2", "20m"])
    assert (both.share, both.area_m2, both.length_m) == (0.01, 500.0, 20.0)
    assert not MinOverlap() and MinOverlap.parse([]) == MinOverlap()


@pytest.mark.parametrize("texts", [["abc"], ["150%"], ["100%"], ["0%"], ["5 parsecs"], ["-5m2"],
                                   ["1%", "2%"], ["1ha", "500m2"], ["20m", "1km"], ["%"], ["m2"]])
def test_min_overlap_bad_texts_raise_input_error(texts):
    with pytest.raises(InputError, match="min_overlap"):  # the parameter, as the API calls it
        MinOverlap.parse(texts)


@pytest.mark.parametrize("text", ["abc", "150%", "5 parsecs"])
def test_engine_check_refuses_a_bad_min_overlap(text):
    eng = priority_steel_engine()
    with pytest.raises(InputError):
        steel(eng, SLIVER_SITE, min_overlap=text)
    frame = gpd.GeoDataFrame({"industry": ["C3120"], "type": "new"}, geometry=[SLIVER_SITE], crs=GEOGRAPHIC)
    with pytest.raises(InputError):
        eng.check_many(frame, min_overlap=[text])


def test_sliver_construction_is_half_a_percent():
    share = geod_area(SLIVER_PIECE) / geod_area(SLIVER_SITE)
    assert 0.004 < share < 0.006


def test_without_min_overlap_the_sliver_decides():
    r = steel(priority_steel_engine(), SLIVER_SITE)
    assert r.verdict == "prohibited"
    assert by_code(r.units)[EAST_CODE]["verdict"] == "prohibited"
    assert r.disregarded == []


def test_min_overlap_share_disregards_the_sliver_and_says_so():
    r = steel(priority_steel_engine(), SLIVER_SITE, min_overlap="1%")
    assert r.verdict == "permitted"
    assert [u["code"] for u in r.units] == [WEST_CODE]
    assert [d["code"] for d in r.disregarded] == [EAST_CODE]
    d = r.disregarded[0]
    assert d["overlap_m2"] == pytest.approx(geod_area(SLIVER_PIECE), rel=1e-3)
    assert d["overlap_ha"] == pytest.approx(geod_area(SLIVER_PIECE) / 10_000, rel=1e-3)
    assert d["overlap_share"] == pytest.approx(geod_area(SLIVER_PIECE) / geod_area(SLIVER_SITE), rel=1e-3)
    assert d.get("reason") and "1%" in d["reason"]
    assert "verdict" not in d  # not evaluated
    assert any(EAST_CODE in n and "disregarded" in n for n in r.notes), r.notes
    assert not any("lies in no unit" in n for n in r.notes), r.notes  # the sliver is in a unit
    assert not any(c["unit"] == EAST_CODE for c in r.citations)
    assert r.to_dict()["disregarded"] == r.disregarded


def test_min_overlap_area_threshold_either_side_of_the_true_sliver_area():
    eng = priority_steel_engine()
    area = geod_area(SLIVER_PIECE)
    above = steel(eng, SLIVER_SITE, min_overlap=f"{area * 1.01:.0f}m2")
    below = steel(eng, SLIVER_SITE, min_overlap=f"{area * 0.99:.0f}m2")
    assert (above.verdict, [d["code"] for d in above.disregarded]) == ("permitted", [EAST_CODE])
    assert (below.verdict, below.disregarded) == ("prohibited", [])
    in_ha = steel(eng, SLIVER_SITE, min_overlap=f"{area * 1.01 / 10_000:.4f}ha")
    assert [d["code"] for d in in_ha.disregarded] == [EAST_CODE]


def test_min_overlap_with_two_thresholds_keeps_a_piece_below_only_one():
    eng = priority_steel_engine()
    area = geod_area(SLIVER_PIECE)
    small_area = f"{area * 0.5:.0f}m2"  # the sliver is above this
    big_area = f"{area * 2:.0f}m2"  # ... and below this
    # below the share only
    r = steel(eng, SLIVER_SITE, min_overlap=["1%", small_area])
    assert (r.verdict, r.disregarded) == ("prohibited", [])
    # below the area only
    r = steel(eng, SLIVER_SITE, min_overlap=["0.1%", big_area])
    assert (r.verdict, r.disregarded) == ("prohibited", [])
    # below both
    r = steel(eng, SLIVER_SITE, min_overlap=["1%", big_area])
    assert r.verdict == "permitted" and [d["code"] for d in r.disregarded] == [EAST_CODE]


def test_min_overlap_as_a_min_overlap_object():
    r = steel(priority_steel_engine(), SLIVER_SITE, min_overlap=MinOverlap(share=0.01))
    assert r.verdict == "permitted" and [d["code"] for d in r.disregarded] == [EAST_CODE]


def test_largest_piece_is_never_disregarded():
    eng = priority_steel_engine()
    tiny = shapely.box(116.05, 38.95, 116.0501, 38.9501)  # ≈ 96 m², all in the priority unit
    r = steel(eng, tiny, min_overlap=["10ha", "99%"])
    assert [u["code"] for u in r.units] == [EAST_CODE]
    assert r.disregarded == [] and r.verdict == "prohibited"
    # a tiny site across the boundary, 60 % east: both pieces are below 10 ha; the larger one stays
    across = shapely.box(EDGE - 0.00004, 38.95, EDGE + 0.00006, 38.9501)
    r = steel(eng, across, min_overlap="10ha")
    assert [u["code"] for u in r.units] == [EAST_CODE]
    assert [d["code"] for d in r.disregarded] == [WEST_CODE]
    assert r.verdict == "prohibited"


def test_points_are_never_disregarded():
    eng = priority_steel_engine()
    inside = eng.check(lon=116.05, lat=38.95, industry="C3120", type="new", min_overlap=["10ha", "99%", "1km"])
    assert inside.verdict == "prohibited" and inside.disregarded == []
    on_edge = eng.check(lon=EDGE, lat=38.95, industry="C3120", type="new", min_overlap="50%")
    assert sorted(u["code"] for u in on_edge.units) == sorted([WEST_CODE, EAST_CODE])
    assert on_edge.disregarded == [] and on_edge.verdict == "prohibited"


#: an east-west line with ≈17 m (0.0002° of longitude at 38.95°N) in the priority unit
SLIVER_LINE = shapely.LineString([(115.95, 38.95), (EDGE + 0.0002, 38.95)])


def test_sliver_line_construction():
    assert 15 < geod_length(SLIVER_LINE.intersection(unit_box(EAST_CODE))) < 19


def test_lines_use_length_thresholds_not_area_ones():
    eng = priority_steel_engine()
    assert steel(eng, SLIVER_LINE).verdict == "prohibited"
    r = steel(eng, SLIVER_LINE, min_overlap="20m")
    assert r.verdict == "permitted" and [d["code"] for d in r.disregarded] == [EAST_CODE]
    d = r.disregarded[0]
    assert "overlap_m" in d and "overlap_m2" not in d
    assert d["overlap_share"] == pytest.approx(
        geod_length(SLIVER_LINE.intersection(unit_box(EAST_CODE))) / geod_length(SLIVER_LINE), rel=1e-3)
    kept = steel(eng, SLIVER_LINE, min_overlap="10m")
    assert kept.verdict == "prohibited" and kept.disregarded == []
    # an area threshold does not apply to a line, however large
    area_only = steel(eng, SLIVER_LINE, min_overlap="10ha")
    assert area_only.verdict == "prohibited" and area_only.disregarded == []
    # ... and a length threshold does not apply to a polygon
    poly = steel(eng, SLIVER_SITE, min_overlap="1km")
    assert poly.verdict == "prohibited" and poly.disregarded == []
    # a share applies to lines too
    share = steel(eng, SLIVER_LINE, min_overlap="1%")
    assert share.verdict == "permitted" and [d["code"] for d in share.disregarded] == [EAST_CODE]


def test_line_length_threshold_is_compared_with_the_true_length():
    """A 20.2 m piece is not below "20m" (nor a 19.8 m piece above it)."""
    eng = priority_steel_engine()
    for metres, kept in ((20.2, True), (19.8, False)):
        east_end = GEOD.fwd(EDGE, 38.95, 90.0, metres)[0]
        line = shapely.LineString([(115.95, 38.95), (east_end, 38.95)])
        piece = geod_length(line.intersection(unit_box(EAST_CODE)))
        assert piece == pytest.approx(metres, abs=0.01)  # construction check
        r = steel(eng, line, min_overlap="20m")
        assert (r.disregarded == []) is kept, (metres, r.disregarded)


def test_disregarded_sliver_does_not_make_a_partly_uncovered_site():
    """A site partly outside every unit keeps its 'no unit' note; the sliver is not that part."""
    eng = priority_steel_engine()
    site = shapely.box(115.95, 38.99, EDGE + 0.00025, 39.01)  # north half outside both units
    r = steel(eng, site, min_overlap="1%")
    assert [d["code"] for d in r.disregarded] == [EAST_CODE]
    outside = geod_area(site.difference(shapely.box(115.9, 38.9, 116.1, 39.0)))
    notes = [n for n in r.notes if "lies in no unit" in n]
    assert len(notes) == 1
    assert f"({outside / geod_area(site):.1%})" in notes[0]
    assert r.verdict == "undetermined"


THREE_UNITS = [*TWO_UNITS, ("ZH13063210002", 1, (115.9, 39.0, 116.0, 39.1))]  # a priority unit north of A


def test_check_many_reports_disregarded_unit_codes():
    eng = priority_steel_engine(THREE_UNITS)
    two_slivers = shapely.box(115.95, 38.95, EDGE + 0.00025, 39.0 + 0.0002)  # slivers east and north
    sites = [SLIVER_SITE, two_slivers, shapely.box(115.95, 38.94, 116.05, 38.96),
             shapely.Point(116.05, 38.95), SLIVER_LINE]
    frame = gpd.GeoDataFrame({"industry": "C3120", "type": "new"}, geometry=sites, crs=GEOGRAPHIC,
                             index=list("abcde"))
    out = eng.check_many(frame, min_overlap=["1%"])
    assert out.at["a", "disregarded"] == EAST_CODE
    assert set(out.at["b", "disregarded"].split(";")) == {EAST_CODE, "ZH13063210002"}
    assert list(out["disregarded"])[2:] == ["", "", EAST_CODE]
    assert list(out["verdict"]) == ["permitted", "permitted", "prohibited", "prohibited", "permitted"]
    singles = [steel(eng, s, min_overlap="1%") for s in sites]
    assert list(out["verdict"]) == [r.verdict for r in singles]
    assert list(out["unit_codes"]) == [";".join(u["code"] for u in r.units) for r in singles]
    plain = eng.check_many(frame)
    assert (plain["disregarded"] == "").all()
    assert list(plain["verdict"]) == ["prohibited"] * 5


# ==== 3. within_distance ===============================================================

#: a "river" zone: a triangle whose east vertex V points at the sites placed east of it;
#: the two edges leave V westwards at ≈14° from due west, so V is the nearest zone point
#: of anything due east of it
V = (116.05, 38.95)
RIVER = shapely.Polygon([V, (116.0, 38.96), (116.0, 38.94)])
#: a second zone of another kind, far (≈ 8 km) to the south-west
POND = shapely.box(115.93, 38.90, 115.94, 38.91)


def zone_layer():
    return gpd.GeoDataFrame({"zone_id": ["R1", "P1"], "kind": ["river", "pond"], "name": ["river 1", "pond 1"],
                             "remark": ["", ""]}, geometry=[RIVER, POND], crs=GEOGRAPHIC)


def near_river_clause(**within):
    spec = {"zone_kinds": ["river"], "distance_m": 1000} | within
    return {"effect": "prohibit", "id": "RIV-1", "conditions": {"within_distance": spec}}


def distance_engine(*clauses) -> Engine:
    return Engine(make_units(TWO_UNITS), [make_list(list(clauses) or [near_river_clause()])], zone_layer())


def east_of_vertex(distance_m: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(V[0], V[1], 90.0, distance_m)
    return lon, lat


def test_vertex_construction_is_the_nearest_zone_point():
    """Dense sampling of the zone's boundary: nothing is nearer to the sites than V."""
    lon, lat = east_of_vertex(1000.0)
    boundary = RIVER.exterior
    samples = [boundary.interpolate(f, normalized=True) for f in np.linspace(0, 1, 4001)]
    d = np.asarray(GEOD.inv(np.full(len(samples), lon), np.full(len(samples), lat),
                            np.array([p.x for p in samples]), np.array([p.y for p in samples]))[2])
    assert d.min() == pytest.approx(1000.0, abs=1e-6)


DISTANCES = [(999.9, "prohibited"), (1000.0, "prohibited"), (1000.1, "permitted")]


@pytest.mark.parametrize(("distance_m", "verdict"), DISTANCES)
def test_point_sites_at_the_limit(distance_m, verdict):
    eng = distance_engine()
    lon, lat = east_of_vertex(distance_m)
    r = eng.check(lon=lon, lat=lat, industry="I6513", type="new")
    assert [u["code"] for u in r.units] == [EAST_CODE]
    assert r.verdict == verdict
    assert r.worst_case == verdict and r.missing == []
    if verdict == "prohibited":
        (c,) = r.citations
        assert (c["clause"], c["status"]) == ("RIV-1", "applies")
        (d,) = c["distances"]
        assert d["distance_m"] == pytest.approx(distance_m, abs=0.01)
        assert d["zone"] == "R1" and d["zone_name"] == "river 1"
        assert d["limit_m"] == 1000
        assert d["within"] is True
    else:
        assert r.citations == []


def test_distance_reported_for_sites_well_inside_the_limit():
    eng = distance_engine(near_river_clause(distance_m=5000))
    for metres in (1.0, 250.0, 2345.678, 3999.0):  # 4 km east of V is still in the east unit
        lon, lat = east_of_vertex(metres)
        r = eng.check(lon=lon, lat=lat, industry="I6513", type="new")
        assert r.verdict == "prohibited"
        d = r.citations[0]["distances"][0]
        assert d["distance_m"] == pytest.approx(metres, abs=0.01)
        assert d["limit_m"] == 5000


def test_site_inside_the_zone_is_at_zero():
    eng = distance_engine()
    point = eng.check(lon=116.03, lat=38.95, industry="I6513", type="new")
    assert point.verdict == "prohibited"
    assert point.citations[0]["distances"][0]["distance_m"] == 0
    overlapping = eng.check(site=shapely.box(116.04, 38.948, 116.07, 38.952), industry="I6513", type="new")
    assert overlapping.verdict == "prohibited"
    assert overlapping.citations[0]["distances"][0]["distance_m"] == 0


def _min_distance_to_meridian(point, lon_w: float, lat0: float, lat1: float) -> float:
    """Geodesic distance from ``point`` to the meridian segment lon = lon_w, lat0..lat1 (dense sampling)."""
    lats = np.linspace(lat0, lat1, 20001)
    return float(np.min(GEOD.inv(np.full(len(lats), point[0]), np.full(len(lats), point[1]),
                                 np.full(len(lats), lon_w), lats)[2]))


def test_polygon_site_distance_is_from_its_nearest_edge():
    eng = distance_engine()
    lon_w, _ = east_of_vertex(600.0)
    site = shapely.box(lon_w, V[1] - 0.002, lon_w + 0.01, V[1] + 0.002)  # west edge faces V
    expected = _min_distance_to_meridian(V, lon_w, V[1] - 0.002, V[1] + 0.002)
    assert expected == pytest.approx(600.0, abs=0.01)  # construction check
    r = eng.check(site=site, industry="I6513", type="new")
    assert r.verdict == "prohibited"
    d = r.citations[0]["distances"][0]
    assert d["distance_m"] == pytest.approx(expected, abs=0.01)
    assert d["zone"] == "R1"
    far_w, _ = east_of_vertex(1000.5)
    far = eng.check(site=shapely.box(far_w, V[1] - 0.002, far_w + 0.01, V[1] + 0.002), industry="I6513",
                    type="new")
    assert far.verdict == "permitted"


def test_zone_ids_select_which_zones_count():
    lon, lat = east_of_vertex(500.0)
    by_pond = distance_engine(near_river_clause(zone_kinds=[], zones=["P1"]))
    assert by_pond.check(lon=lon, lat=lat, industry="I6513", type="new").verdict == "permitted"
    r = by_pond.check(lon=115.945, lat=38.905, industry="I6513", type="new")  # 0.005° east of the pond
    assert r.verdict == "prohibited"
    d = r.citations[0]["distances"][0]
    assert d["zone"] == "P1"
    expected = _min_distance_to_meridian((115.945, 38.905), 115.94, 38.90, 38.91)
    assert d["distance_m"] == pytest.approx(expected, abs=0.01)
    by_river = distance_engine(near_river_clause(zone_kinds=[], zones=["R1"]))
    r = by_river.check(lon=lon, lat=lat, industry="I6513", type="new")
    assert r.verdict == "prohibited" and r.citations[0]["distances"][0]["zone"] == "R1"


def test_ids_and_kinds_that_select_no_zone_together_are_refused():
    """R1 and kind pond both exist, but no zone is both: ids and kinds combine like a scope's (AND)."""
    with pytest.raises(DataError, match="none of the zones R1 is of kind pond") as err:
        distance_engine(near_river_clause(zone_kinds=["pond"], zones=["R1"]))
    assert "RIV-1" in str(err.value)


def test_nearest_of_several_selected_zones_is_cited():
    lon, lat = east_of_vertex(700.0)
    eng = distance_engine(near_river_clause(zone_kinds=["river", "pond"], distance_m=20_000))
    d = eng.check(lon=lon, lat=lat, industry="I6513", type="new").citations[0]["distances"][0]
    assert d["zone"] == "R1" and d["distance_m"] == pytest.approx(700.0, abs=0.01)


@pytest.mark.parametrize(("within", "message"), [
    ({"zone_kinds": ["lake"]}, "unknown zone kind 'lake'"),
    ({"zone_kinds": [], "zones": ["NOPE"]}, "unknown zone id 'NOPE'"),
])
def test_unknown_zone_reference_is_refused_at_engine_construction(within, message):
    with pytest.raises(DataError, match=message) as err:
        distance_engine(near_river_clause(**within))
    assert "RIV-1" in str(err.value)


def test_unknown_zone_reference_in_unless_is_refused():
    clause = {"effect": "prohibit", "id": "RIV-2", "conditions": {"industry": ["C31"]},
              "unless": {"within_distance": {"zones": ["NOPE"], "distance_m": 10}}}
    with pytest.raises(DataError, match="RIV-2"):
        distance_engine(clause)


def test_not_within_distance_is_two_valued_for_sites():
    far_clause = {"effect": "prohibit", "id": "FAR-1",
                  "conditions": {"not": {"within_distance": {"zone_kinds": ["river"], "distance_m": 1000}}}}
    eng = distance_engine(far_clause)
    expected = {999.9: "permitted", 1000.0: "permitted", 1000.1: "prohibited", 50_000.0: "prohibited"}
    for metres, verdict in expected.items():
        lon, lat = east_of_vertex(metres)
        if lon > 116.1:  # beyond the unit layer: stay inside it, far north-west of the river instead
            lon, lat = 115.91, 38.99
        r = eng.check(lon=lon, lat=lat)  # no industry, no type: nothing else is unknown
        assert r.verdict == verdict, metres
        assert r.worst_case == verdict and r.missing == []
        assert all(c["status"] == "applies" for c in r.citations)
        if verdict == "prohibited":
            assert r.citations[0]["distances"][0]["within"] is False


def test_within_distance_in_unless():
    clause = {"effect": "prohibit", "id": "KJ-9", "conditions": {"industry": ["C31"]},
              "unless": {"within_distance": {"zone_kinds": ["river"], "distance_m": 1000}}}
    eng = distance_engine(clause)
    near, far = east_of_vertex(999.9), east_of_vertex(1000.1)
    assert eng.check(lon=near[0], lat=near[1], industry="C3120").verdict == "permitted"
    assert eng.check(lon=far[0], lat=far[1], industry="C3120").verdict == "prohibited"


def test_check_many_matches_single_checks_for_within_distance():
    """The batch prefilter (industry and type alone) must not drop within_distance clauses."""
    combined = {"effect": "prohibit", "id": "RIV-2",
                "conditions": {"all": [{"industry": ["C31"]},
                                       {"within_distance": {"zone_kinds": ["river"], "distance_m": 500}}]}}
    eng = distance_engine(near_river_clause(), combined)
    points = [east_of_vertex(m) for m, _ in DISTANCES] + [east_of_vertex(400.0)] * 2
    industries = ["I6513", "I6513", "I6513", "I6513", "C3120"]
    frame = gpd.GeoDataFrame({"industry": industries, "type": "new"},
                             geometry=gpd.points_from_xy([p[0] for p in points], [p[1] for p in points]),
                             crs=GEOGRAPHIC)
    out = eng.check_many(frame)
    singles = [eng.check(lon=x, lat=y, industry=i, type="new") for (x, y), i in zip(points, industries)]
    assert list(out["verdict"]) == [r.verdict for r in singles]
    assert list(out["verdict"]) == ["prohibited", "prohibited", "permitted", "prohibited", "prohibited"]
    assert out["clauses"].iloc[0] == "test-list/RIV-1"
    assert set(out["clauses"].iloc[4].split(";")) == {"test-list/RIV-1", "test-list/RIV-2"}
    assert (out["missing"] == "").all()


def test_check_many_not_within_distance_matches_single_checks():
    far_clause = {"effect": "prohibit", "id": "FAR-1",
                  "conditions": {"all": [{"type": ["new"]}, {"not": {"within_distance": {
                      "zone_kinds": ["river"], "distance_m": 1000}}}]}}
    eng = distance_engine(far_clause)
    points = [east_of_vertex(m) for m, _ in DISTANCES]
    frame = gpd.GeoDataFrame({"industry": ["I6513"] * 3, "type": "new"},
                             geometry=gpd.points_from_xy([p[0] for p in points], [p[1] for p in points]),
                             crs=GEOGRAPHIC)
    out = eng.check_many(frame)
    assert list(out["verdict"]) == ["permitted", "permitted", "prohibited"]
    assert list(out["worst_case"]) == ["permitted", "permitted", "prohibited"]


# ==== 4. YAML validation of within_distance ============================================

LIST_HEAD = """\
id: near-list
title: 测试清单
issuer: 测试厅
version: 1
effective_from: 2021-06-30
level: province
source:
  document: 《测试清单》
  issuer: 测试厅
  date: 2021-06-30
  article: 第1条
clauses:
  - id: RIV-1
    dimension: spatial_layout
    effect: prohibit
    text: 禁止在河道一公里内新建项目。
    conditions:
      within_distance:
"""


def write_list(tmp_path, spec: str, name="near.yaml"):
    path = tmp_path / name
    path.write_text(LIST_HEAD + spec, encoding="utf-8")
    return path


def within_error(tmp_path, spec: str) -> str:
    path = write_list(tmp_path, spec, "bad-near.yaml")
    with pytest.raises(DataError) as err:
        load_list(path)
    message = str(err.value)
    assert "bad-near.yaml" in message and "clause RIV-1" in message, message
    assert "within_distance" in message, message
    return message


def test_valid_within_distance_loads_and_compiles(tmp_path):
    lst = load_list(write_list(tmp_path, "        zone_kinds: [river]\n        distance_m: 1000\n"))
    cond = compile_node(lst.clauses[0].conditions)
    assert cond == WithinDistance((), ("river",), 1000.0)
    lst = load_list(write_list(tmp_path, "        zones: [R1, P1]\n        distance_m: 250.5\n"))
    assert compile_node(lst.clauses[0].conditions) == WithinDistance(("P1", "R1"), (), 250.5)


def test_not_within_distance_loads(tmp_path):
    path = tmp_path / "not.yaml"
    path.write_text(LIST_HEAD.replace("      within_distance:\n", "      not:\n        within_distance:\n")
                    + "          zone_kinds: [river]\n          distance_m: 1000\n", encoding="utf-8")
    cond = compile_node(load_list(path).clauses[0].conditions)
    assert cond == Not(WithinDistance((), ("river",), 1000.0))


def test_within_distance_without_zones(tmp_path):
    message = within_error(tmp_path, "        distance_m: 1000\n")
    assert "zones or zone_kinds" in message


def test_within_distance_with_empty_zone_lists(tmp_path):
    message = within_error(tmp_path, "        zones: []\n        zone_kinds: []\n        distance_m: 1000\n")
    assert "zones or zone_kinds" in message


@pytest.mark.parametrize("distance", ["-5", "-0.001"])
def test_within_distance_must_not_be_negative(tmp_path, distance):
    # 0 m is allowed (issue 15: touching or inside the zone); a negative distance is refused
    message = within_error(tmp_path, f"        zone_kinds: [river]\n        distance_m: {distance}\n")
    assert "distance_m" in message and "greater than or equal to 0" in message


def test_within_distance_without_distance(tmp_path):
    message = within_error(tmp_path, "        zone_kinds: [river]\n")
    assert "distance_m" in message


def test_within_distance_unknown_field(tmp_path):
    message = within_error(tmp_path, "        zone_kinds: [river]\n        distance_m: 1000\n        radius: 5\n")
    assert "radius" in message and "unknown field" in message
