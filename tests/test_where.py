"""``Engine.where``: the map of where a project is prohibited, restricted or permitted (issue 16, part 1).

The map must be exact by construction: any point inside a polygon, checked
with the same project, gets that polygon's verdict. Points are drawn here at
random and checked through the engine; expected distances come from
:class:`pyproj.Geod`, never from the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from tests.conftest import TWO_UNITS, make_list, make_units
from tests.test_zone_geometry import clause, zones
from zoning import Engine, ParameterError
from zoning.geodesy import GEOGRAPHIC
from zoning.siting.where import hectares, summarise

GEOD = Geod(ellps="GRS80")
#: projects decided in the sample by distance (livestock near rivers, electroplating near water
#: sources), by zones (a chemical plant outside a park; the red line) and by units alone (steel)
PROJECTS = [
    {"industry": "A0313", "type": "new"},
    {"industry": "C3360", "type": "new"},
    {"industry": "C2614", "type": "new", "emissions": {"VOCs": 10}},
    {"industry": "C3120", "type": "expansion"},
    {"industry": "C2614", "type": "new"},  # VOCs missing: undetermined somewhere
]


def random_points(engine: Engine, n: int, seed: int) -> np.ndarray:
    """``n`` points drawn uniformly over the units' extent, kept only inside some unit."""
    rng = np.random.default_rng(seed)
    west, south, east, north = engine.units.total_bounds
    tree = shapely.STRtree(engine.units.geometry.to_numpy())
    kept: list[np.ndarray] = []
    while sum(len(k) for k in kept) < n:
        candidates = shapely.points(rng.uniform(west, east, 4 * n), rng.uniform(south, north, 4 * n))
        inside = np.unique(tree.query(candidates, predicate="within")[0])
        kept.append(candidates[inside])
    return np.concatenate(kept)[:n]


def layer_verdicts(layer, points: np.ndarray) -> pd.DataFrame:
    """For each point, the rows of the layer's polygons that contain it."""
    hit_point, hit_polygon = shapely.STRtree(layer.geometry.to_numpy()).query(points, predicate="within")
    return pd.DataFrame({"point": hit_point, "verdict": layer["verdict"].to_numpy()[hit_polygon],
                         "clauses": layer["clauses"].to_numpy()[hit_polygon]})


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: f"{p['industry']}-{p['type']}-{len(p)}")
def test_a_point_anywhere_in_a_polygon_gets_its_verdict(sample_engine, project):
    layer = sample_engine.where(project)
    points = random_points(sample_engine, 1_000, seed=16)
    frame = sample_engine.check_many(__import__("geopandas").GeoDataFrame(
        {"industry": project["industry"], "type": project["type"], **project.get("emissions", {})},
        index=range(len(points)), geometry=points, crs=GEOGRAPHIC))
    found = layer_verdicts(layer, points)
    # a point in two units' overlap lies in a polygon of each: both carry the same answer
    assert sorted(found["point"].unique()) == list(range(len(points)))
    expected = frame["verdict"].to_numpy()[found["point"]]
    wrong = found[found["verdict"].to_numpy() != expected]
    assert wrong.empty, wrong.head()
    assert (found["clauses"].to_numpy() == frame["clauses"].to_numpy()[found["point"]]).all()
    for i in range(0, len(points), 50):  # and through the single check too
        point = points[i]
        result = sample_engine.check(lon=point.x, lat=point.y, **project)
        assert result.verdict == found.loc[found["point"] == i, "verdict"].iloc[0]


def test_distance_clauses_split_units_and_both_sides_of_the_edge_check_as_the_map_says(sample_engine):
    """Livestock farms are prohibited within 3 km of a river: points 2,990 and 3,010 m from the
    river's middle vertex, measured geodesically, fall in polygons with the verdict ``check`` gives (the
    river may bend nearer to the outer ones: what matters is that map and check agree)."""
    layer = sample_engine.where(PROJECTS[0])
    river = sample_engine.zones[sample_engine.zones["kind"] == "river"].geometry.iloc[0]
    vertices = shapely.get_coordinates(river)
    start = shapely.Point(vertices[len(vertices) // 2])
    verdicts = []
    for metres in (2_990.0, 3_010.0):
        for azimuth in (0.0, 180.0):
            lon, lat, _ = GEOD.fwd(start.x, start.y, azimuth, metres)
            near = shapely.Point(lon, lat)
            checked = sample_engine.check(lon=lon, lat=lat, **PROJECTS[0])
            polygon = layer[layer.contains(near)]
            assert len(polygon) >= 1 and set(polygon["verdict"]) == {checked.verdict}
            verdicts.append(checked.verdict)
    assert "prohibited" in verdicts


def test_areas_sum_to_each_units_area(sample_engine):
    units = sample_engine.units
    unit_area = pd.Series(hectares(units.geometry.to_numpy()), index=units["code"])
    for project in PROJECTS[:3]:
        layer = sample_engine.where(project)
        assert set(layer["unit_code"]) == set(units["code"])
        summed = layer.groupby("unit_code")["area_ha"].sum().reindex(unit_area.index)
        assert ((summed - unit_area).abs() / unit_area).max() < 1e-4
        assert len(layer) > len(units)  # something split


def test_units_without_a_location_clause_in_scope_are_emitted_whole():
    """A unit clause that reads no location splits nothing; a distance clause splits only the unit near
    the zone, and only for projects it can apply to."""
    engine = Engine(make_units(TWO_UNITS), [make_list([
        clause("STEEL", "prohibit", {"industry": ["C31"]}),
        clause("NEAR", "restrict", {"all": [{"industry": ["C26"]},
                                            {"within_distance": {"zones": ["R1"], "distance_m": 1000}}]}),
    ])], zones())
    steel = engine.where({"industry": "C3120", "type": "new"})
    assert len(steel) == 2 and set(steel["verdict"]) == {"prohibited"}
    chemical = engine.where({"industry": "C2614", "type": "new"})
    assert sorted(chemical["unit_code"]) == sorted([TWO_UNITS[0][0]] * 2 + [TWO_UNITS[1][0]])
    near = chemical[chemical["verdict"] == "restricted"].geometry.iloc[0]
    # the buffer is 1 km each side of the meridian line at 115.95: about 2 km wide (geodesic)
    west, _, east, _ = near.bounds
    assert GEOD.inv(west, 38.95, east, 38.95)[2] == pytest.approx(2_000, abs=2)
    assert "NEAR" in chemical[chemical["verdict"] == "restricted"]["clauses"].iloc[0]


def test_zone_scoped_lists_split_where_their_zones_lie():
    park_list = make_list([clause("PARK", "prohibit", {"industry": ["C26"]})], scope={"zone_kinds": ["chemical_park"]},
                          list_id="park-list", level="zone")
    engine = Engine(make_units(TWO_UNITS), [park_list], zones())
    layer = engine.where({"industry": "C2614", "type": "new"})
    prohibited = layer[layer["verdict"] == "prohibited"]
    assert len(prohibited) == 1 and prohibited.geometry.iloc[0].equals_exact(
        shapely.box(115.99, 38.94, 116.0, 38.96), 1e-9) or shapely.equals(
        shapely.normalize(prohibited.geometry.iloc[0]), shapely.normalize(shapely.box(115.99, 38.94, 116.0, 38.96)))
    assert set(layer.loc[layer["verdict"] != "prohibited", "verdict"]) == {"permitted"}


def test_within_limits_the_area(sample_engine):
    whole = sample_engine.where(PROJECTS[3])
    county = sample_engine.where(PROJECTS[3], within="130632")
    assert set(county["unit_code"]) == set(sample_engine.units.loc[
        sample_engine.units["admin"].str.startswith("130632"), "code"])
    code = sample_engine.units["code"].iloc[0]
    assert set(sample_engine.where(PROJECTS[3], within=[code])["unit_code"]) == {code}
    box = (115.4, 38.8, 115.6, 38.95)
    clipped = sample_engine.where(PROJECTS[3], within=box)
    assert clipped.total_bounds[0] >= box[0] - 1e-9 and clipped.total_bounds[3] <= box[3] + 1e-9
    assert clipped["area_ha"].sum() < whole["area_ha"].sum()
    for bad in ("ZH99999999999", "9999", "116,39,115,38", "no such place"):
        with pytest.raises(ParameterError):
            sample_engine.where(PROJECTS[3], within=bad)


def test_summary_adds_up(sample_engine):
    layer = sample_engine.where(PROJECTS[0])
    summary = summarise(layer)
    total = summary["area_ha"]
    assert sum(v["area_ha"] for v in summary["by_verdict"].values()) == pytest.approx(total, abs=0.1)
    assert sum(sum(v for k, v in row.items() if k != "unit_type") for row in summary["by_unit_type"]) == \
        pytest.approx(total, abs=0.5)
    largest = summary["largest"]["permitted"]
    assert largest == sorted(largest, key=lambda r: (r["encouraged"], r["area_ha"]), reverse=True)


def test_a_bad_project_is_refused(sample_engine):
    from zoning import InputError

    with pytest.raises(InputError):
        sample_engine.where({"industry": "X9999", "type": "new"})
    with pytest.raises(InputError):
        sample_engine.where({"industry": "C2614", "lon": 115.0})


@pytest.mark.parametrize(("metres", "inside"), [(997.0, True), (1_003.0, False)])
def test_buffer_edges_are_drawn_as_the_engine_measures(metres, inside):
    """Around a point zone (a well) and a line zone (a river), points 3 m either side of a 1 km limit,
    at bearings all round (mid-chord too), fall on the side of the edge the distance says."""
    engine = Engine(make_units(TWO_UNITS), [make_list([
        clause("WELL", "prohibit", {"within_distance": {"zones": ["W1"], "distance_m": 1000}}),
        clause("RIVER", "restrict", {"within_distance": {"zones": ["R1"], "distance_m": 1000}}),
    ])], zones())
    layer = engine.where({"industry": "C2614", "type": "new"})
    for zone, lon, lat, bearings, verdict in (("W1", 116.05, 38.95, np.arange(0.0, 360.0, 3.7), "prohibited"),
                                              ("R1", 115.95, 38.95, (90.0, 270.0), "restricted")):
        for azimuth in bearings:
            x, y, _ = GEOD.fwd(lon, lat, azimuth, metres)
            here = layer[layer.contains(shapely.Point(x, y))]
            assert len(here) == 1
            assert (here["verdict"].iloc[0] == verdict) is inside, (zone, azimuth)
            assert engine.check(lon=x, lat=y, industry="C2614", type="new").verdict == here["verdict"].iloc[0]


# ---- zoning where ---------------------------------------------------------------------

def test_where_command_writes_every_format_and_a_map(tmp_path):
    import json

    import geopandas as gpd
    import pyarrow.parquet as pq

    from tests.conftest import run

    args = ["where", "--industry", "A0313", "--type", "new", "--within", "1306"]
    outputs = {suffix: tmp_path / f"where{suffix}" for suffix in (".gpkg", ".geojson", ".parquet", ".csv")}
    for suffix, path in outputs.items():
        run([*args, "-o", path, *(["--map", tmp_path / "where.png"] if suffix == ".gpkg" else [])], expect=0)
    expected = Engine.load().where({"industry": "A0313", "type": "new"}, within="1306")
    for suffix in (".gpkg", ".geojson", ".parquet"):
        layer = gpd.read_parquet(outputs[suffix]) if suffix == ".parquet" else gpd.read_file(outputs[suffix])
        assert len(layer) == len(expected) and layer.crs.to_epsg() in (4490, 4326)
        assert sorted(layer["verdict"]) == sorted(expected["verdict"])
        assert layer["area_ha"].sum() == pytest.approx(expected["area_ha"].sum(), rel=1e-9)
    assert b"geo" in pq.read_schema(outputs[".parquet"]).metadata
    csv = pd.read_csv(outputs[".csv"], dtype=str)
    assert "geometry" not in csv.columns and len(csv) == len(expected)
    assert (tmp_path / "where.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(run([*args, "--format", "json"], expect=0).output)
    assert summary["within"] == "1306" and summary["polygons"] == len(expected)
    assert summary["area_ha"] == pytest.approx(expected["area_ha"].sum(), abs=0.01)


def test_where_command_text_summary_and_bad_input(tmp_path):
    from tests.conftest import run

    out = run(["where", "--industry", "C3120", "--type", "new"], expect=0).output
    assert "Area by verdict" in out and "By county" in out and "示例数据" in out
    bad = run(["where", "--industry", "C3120", "--within", "ZH00000000000"], expect=2)
    assert "--within" in bad.output and "Traceback" not in bad.output
    assert run(["where", "--industry", "C3120", "-o", tmp_path / "x.xlsx"], expect=1).output.startswith(
        "zoning: error")
