"""``zoning rules diff`` comparing two revisions of the unit and zone layers (issue 15, point 9).

Every layer is built here: a few 2 km squares near Tianjin drawn in Gauss-Krüger metres (CGCS2000 3°,
central meridian 117°E, EPSG:4548), written to GeoPackages under tmp_path.
"""

from __future__ import annotations

import json
import textwrap

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from tests.conftest import run
from zoning.authoring.layerdiff import diff_units, scope_effects
from zoning.errors import DataWarning
from zoning.inputs.units import load_units
from zoning.rules.loading import load_lists

GK = "EPSG:4548"
X0, Y0 = 500_000.0, 4_320_000.0  # about 117.0°E, 39.0°N
KM = 1_000.0
#: code, name, type, lower-left corner in km from (X0, Y0), KJBJYS text
UNITS = [("ZH12011610001", "滨海湿地优先保护单元", 1, (0, 0), "禁止围海造地。"),
         ("ZH12011620001", "滨海化工园区重点管控单元", 2, (2, 0), "禁止新建焦化项目。"),
         ("ZH12011630001", "滨海一般管控单元", 3, (0, 2), "执行全市总体要求。"),
         ("ZH12011620002", "滨海港区重点管控单元", 2, (2, 2), "")]
GEOD = Geod(ellps="GRS80")


def square(corner, size=2 * KM):
    x, y = X0 + corner[0] * KM, Y0 + corner[1] * KM
    return shapely.box(x, y, x + size, y + size)


def unit_frame(rows, crs=GK) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"HJZHGKDYBM": [r[0] for r in rows], "HJZHGKDYMC": [r[1] for r in rows],
                             "ZHGKDYFL": [r[2] for r in rows], "KJBJYS": [r[4] for r in rows]},
                            geometry=[r[5] if len(r) > 5 else square(r[3]) for r in rows], crs=crs)


def write(frame: gpd.GeoDataFrame, path) -> str:
    frame.to_file(path, driver="GPKG")
    return str(path)


@pytest.fixture
def old_units(tmp_path):
    return write(unit_frame(UNITS), tmp_path / "units-2021.gpkg")


def redrawn(tmp_path) -> str:
    """The 2024 layer: the port unit removed, a new park unit added, the wetland unit renamed and retyped
    (1 → 2), the chemical park's east edge moved 100 m east and its text edited; the rest as before."""
    rows = [list(r) for r in UNITS[:3]]
    rows[0][1], rows[0][2] = "滨海湿地重点管控单元", 2
    rows[1][4] = "禁止新建焦化、水泥项目。"
    rows[1].append(shapely.box(X0 + 2 * KM, Y0, X0 + 4.1 * KM, Y0 + 2 * KM))
    rows.append(("ZH12011620003", "滨海新材料园区重点管控单元", 2, (4, 2), "禁止新建化工项目。"))
    return write(unit_frame(rows), tmp_path / "units-2024.gpkg")


def reordered(polygon: shapely.Polygon) -> shapely.Polygon:
    ring = list(polygon.exterior.coords)[:-1]
    return shapely.Polygon((ring[2:] + ring[:2])[::-1])


def diff_json(*args, expect=0) -> dict:
    return json.loads(run(["rules", "diff", *args, "--format", "json"], expect=expect).stdout)


# ---- geometry: noise is no change, a moved boundary is, in hectares -------------------------------------

def test_the_same_layer_in_another_crs_with_other_vertex_order_and_noise_is_unchanged(tmp_path, old_units):
    lonlat = unit_frame(UNITS).to_crs("EPSG:4490")
    # rings the other way round, starting at another vertex; one square densified and nudged by up to 0.3 m
    lonlat["geometry"] = [reordered(g) for g in lonlat.geometry]
    noisy = shapely.segmentize(square(UNITS[2][3]), 50.0)
    rng = np.random.default_rng(1)
    coords = shapely.get_coordinates(noisy)
    coords[:-1] += rng.uniform(-0.3, 0.3, coords[:-1].shape)
    coords[-1] = coords[0]
    lonlat.loc[2, "geometry"] = gpd.GeoSeries([shapely.set_coordinates(noisy, coords)], crs=GK).to_crs(
        "EPSG:4490").iloc[0]
    new = write(lonlat, tmp_path / "lonlat.gpkg")
    data = diff_json("--old-units", old_units, "--new-units", new)
    counts = data["units"]["counts"]
    assert counts == {"old": 4, "new": 4, "added": 0, "removed": 0, "changed": 0, "attributes": 0,
                      "geometry": 0, "unchanged": 4}, data
    assert data["units"]["changes"] == [] and data["units"]["tolerance_m"] == 1.0
    # a tolerance of 0 still calls the exact round trip unchanged, but not the noise
    strict = diff_units(load_units(old_units), load_units(new), tolerance_m=0)
    assert list(strict.changes["id"]) == [UNITS[2][0]]


def test_a_moved_boundary_gains_and_loses_the_hectares_an_independent_computation_gives(tmp_path, old_units):
    old = square(UNITS[2][3])
    notch = shapely.box(X0 + 0.5 * KM, Y0 + 2 * KM, X0 + 0.8 * KM, Y0 + 2.4 * KM)  # 12 ha cut out
    bump = shapely.box(X0 - 0.2 * KM, Y0 + 3 * KM, X0, Y0 + 3.2 * KM)  # 4 ha added
    new_geom = old.difference(notch).union(bump)
    rows = [list(r) for r in UNITS]
    rows[2].append(new_geom)
    new = write(unit_frame(rows), tmp_path / "moved.gpkg")
    change = diff_json("--old-units", old_units, "--new-units", new)["units"]["changes"]
    assert [(c["id"], c["change"], c["fields"]) for c in change] == [(UNITS[2][0], "changed", "geometry")]
    row = change[0]

    def hectares(geom):  # on the ellipsoid, from the lon/lat polygon: not the code's projection
        lonlat = gpd.GeoSeries([geom], crs=GK).to_crs("EPSG:4490").iloc[0]
        return abs(GEOD.geometry_area_perimeter(lonlat)[0]) / 10_000

    assert row["gained_ha"] == pytest.approx(hectares(new_geom.difference(old)), rel=1e-3)
    assert row["lost_ha"] == pytest.approx(hectares(old.difference(new_geom)), rel=1e-3)
    assert row["gained_ha"] == pytest.approx(4, rel=2e-3) and row["lost_ha"] == pytest.approx(12, rel=2e-3)
    assert row["old_area_ha"] == pytest.approx(hectares(old), rel=1e-4)
    assert row["new_area_ha"] == pytest.approx(hectares(new_geom), rel=1e-4)
    # moves narrower than the tolerance are noise: at 500 m the 400 m notch and 200 m bump are
    quiet = diff_json("--old-units", old_units, "--new-units", new, "--boundary-tolerance", "500")
    assert quiet["units"]["counts"]["changed"] == 0


# ---- units added, removed and changed ----------------------------------------------------------------------

def test_added_removed_renamed_and_retyped_units(tmp_path, old_units):
    new = redrawn(tmp_path)
    data = diff_json("--old-units", old_units, "--new-units", new)
    units = data["units"]
    assert units["counts"] == {"old": 4, "new": 4, "added": 1, "removed": 1, "changed": 2, "attributes": 2,
                               "geometry": 1, "unchanged": 1}
    by_id = {c["id"]: c for c in units["changes"]}
    assert [c["change"] for c in units["changes"]] == ["added", "removed", "changed", "changed"]
    added, removed = by_id["ZH12011620003"], by_id["ZH12011620002"]
    assert (added["change"], added["name"], added["type"]) == ("added", "滨海新材料园区重点管控单元",
                                                               "2 key control (重点管控单元)")
    assert added["new_area_ha"] == pytest.approx(400, rel=2e-3) and added["old_area_ha"] is None
    assert (removed["change"], removed["type"]) == ("removed", "2 key control (重点管控单元)")
    wetland = by_id["ZH12011610001"]
    assert wetland["fields"] == "name, type"
    assert wetland["details"] == ("name: 滨海湿地优先保护单元 → 滨海湿地重点管控单元; "
                                  "type: 1 priority protection (优先保护单元) → 2 key control (重点管控单元)")
    assert wetland["gained_ha"] is None  # the boundary did not move
    park = by_id["ZH12011620001"]
    assert park["fields"] == "spatial_layout, geometry"
    assert park["details"] == "spatial_layout: 禁止新建焦化项目。 → 禁止新建焦化、水泥项目。"
    assert park["gained_ha"] == pytest.approx(20, rel=2e-3) and park["lost_ha"] == pytest.approx(0, abs=1e-4)
    text = run(["rules", "diff", "--old-units", old_units, "--new-units", new], expect=0).stdout
    assert "Units: 4 → 4: 1 added, 1 removed, 2 changed (2 in attributes, 1 in geometry), 1 unchanged" in text
    assert "removed  ZH12011620002 滨海港区重点管控单元" in text
    assert "(+20.0" in text


def test_a_field_only_one_layer_fills_in_is_noted_not_compared(tmp_path, old_units):
    frame = unit_frame(UNITS).assign(PROV="天津市")
    data = diff_json("--old-units", old_units, "--new-units", write(frame, tmp_path / "prov.gpkg"))
    assert data["units"]["counts"]["changed"] == 0
    assert data["units"]["notes"] == ["province is filled in only in the new unit layer: not compared"]


# ---- zones -------------------------------------------------------------------------------------------------

def zone_frame(rows) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"zone_id": [r[0] for r in rows], "kind": [r[1] for r in rows],
                             "name": [r[2] for r in rows]}, geometry=[r[3] for r in rows], crs=GK)


RIVER = shapely.LineString([(X0, Y0 + 1 * KM), (X0 + 4 * KM, Y0 + 1.5 * KM)])
ZONES = [("WS-1", "water_source", "一级水源保护区", square((0.5, 0.5), KM)),
         ("FB-1", "fuel_ban", "高污染燃料禁燃区", square((2.5, 0.5), KM)),
         ("RV-1", "river", "海河干流", RIVER)]


def test_zones_keyed_by_zone_id_with_kind_changes_and_a_moved_river(tmp_path):
    old = write(zone_frame(ZONES), tmp_path / "zones-2021.gpkg")
    rows = [("WS-1", "fuel_ban", "一级水源保护区", ZONES[0][3]),
            ("RV-1", "river", "海河干流", shapely.affinity.translate(RIVER, 0, 50)),
            ("FB-2", "fuel_ban", "新禁燃区", square((0, 2), KM))]
    new = write(zone_frame(rows), tmp_path / "zones-2024.gpkg")
    zones = diff_json("--old-zones", old, "--new-zones", new)["zones"]
    assert zones["counts"] == {"old": 3, "new": 3, "added": 1, "removed": 1, "changed": 2, "attributes": 1,
                               "geometry": 1, "unchanged": 0}
    got = {c["id"]: c for c in zones["changes"]}
    assert (got["FB-2"]["change"], got["FB-2"]["kind"]) == ("added", "fuel_ban")
    assert got["FB-2"]["new_area_ha"] == pytest.approx(100, rel=2e-3)
    assert (got["FB-1"]["change"], got["FB-1"]["kind"]) == ("removed", "fuel_ban")
    assert got["WS-1"]["details"] == "kind: water_source → fuel_ban" and got["WS-1"]["type"] == ""
    river = got["RV-1"]
    # the far end moved 50 m (the near end 50 m × cos of the river's bearing, less): on the central meridian
    assert river["fields"] == "geometry" and river["moved_m"] == pytest.approx(50, abs=0.02)
    assert river["old_area_ha"] is None and river["gained_ha"] is None  # a line has no area


# ---- rule sets with the layers: the lists the redraw touches -----------------------------------------------

def write_rules(directory, tmp_units_removed="ZH12011620002"):
    directory.mkdir()
    head = textwrap.dedent("""\
        title: 测试清单
        issuer: 测试
        version: "1"
        effective_from: 2020-01-01
        source: {document: 测试文件, issuer: 测试, date: 2020-01-01}
        """)
    clause = textwrap.dedent("""\
        clauses:
          - id: KJ-1
            dimension: spatial_layout
            effect: prohibit
            conditions:
              industry: [C2521]
            text: 禁止新建焦化项目。
            source: {article: 第1条}
        """)
    (directory / "priority.yaml").write_text(
        f"id: priority-units\n{head}level: province\nscope:\n  unit_types: [1]\n{clause}", encoding="utf-8")
    (directory / "port.yaml").write_text(
        f"id: unit-port\n{head}level: unit\nscope:\n  units: [{tmp_units_removed}]\n{clause}", encoding="utf-8")
    return directory


def test_a_list_naming_a_removed_unit_or_selecting_a_retyped_one_is_reported(tmp_path, old_units):
    rules = write_rules(tmp_path / "rules")
    new = redrawn(tmp_path)
    data = diff_json(rules, rules, "--old-units", old_units, "--new-units", new)
    assert data["clauses"] == [] and "projects" not in data  # no registry: rule changes and layers only
    assert data["units"]["counts"]["removed"] == 1
    assert [(e["list"], e["change"], e["id"]) for e in data["scope"]] == [
        ("unit-port", "names a removed unit", "ZH12011620002"),
        ("priority-units", "no longer selects", "ZH12011610001")]
    removed = data["scope"][0]
    assert removed["where"] == f"{rules / 'port.yaml'}:9"  # the line naming the unit
    assert "no longer has it" in removed["detail"]
    text = run(["rules", "diff", rules, rules, "--old-units", old_units, "--new-units", new], expect=0).stdout
    assert "list unit-port: names a removed unit ZH12011620002" in text
    assert "list priority-units: no longer selects ZH12011610001" in text
    # with a registry the new rules must fit the new layer: the list naming the removed unit is refused
    registry = tmp_path / "registry.csv"
    registry.write_text("project_id,name,lon,lat,industry,type\nP1,焦化厂,117.01,39.01,C2521,new\n",
                        encoding="utf-8")
    refused = run(["rules", "diff", rules, rules, "--old-units", old_units, "--new-units", new,
                   "--registry", registry], expect=1)
    assert "ZH12011620002" in refused.stderr


def test_rule_sets_layers_and_a_registry_give_both_parts(tmp_path, old_units):
    """The wetland unit (1 → 2) leaves the priority list: a coking plant there is no longer prohibited."""
    rules = write_rules(tmp_path / "rules", tmp_units_removed="ZH12011630001")
    new = redrawn(tmp_path)
    lon, lat = gpd.GeoSeries([shapely.Point(X0 + KM, Y0 + KM)], crs=GK).to_crs("EPSG:4490").iloc[0].coords[0]
    registry = tmp_path / "registry.csv"
    registry.write_text(f"project_id,name,lon,lat,industry,type\nP1,焦化厂,{lon},{lat},C2521,new\n", encoding="utf-8")
    out, layer_out = tmp_path / "projects.csv", tmp_path / "layers.json"
    data = diff_json(rules, rules, "--old-units", old_units, "--new-units", new, "--registry", registry,
                     "-o", out, "--layer-output", layer_out)
    assert data["rows"] == 1 and data["changed"] == 1
    assert (data["projects"][0]["old_verdict"], data["projects"][0]["new_verdict"]) == ("prohibited", "permitted")
    assert data["units"]["counts"]["changed"] == 2
    assert [e["change"] for e in data["scope"]] == ["no longer selects"]
    assert list(pd.read_csv(out, encoding="utf-8-sig", dtype=str)["id"]) == ["P1"]
    assert [r["id"] for r in json.loads(layer_out.read_text(encoding="utf-8"))] == [
        c["id"] for c in data["units"]["changes"]]


# ---- outputs ------------------------------------------------------------------------------------------------

def test_layer_output_csv_is_formula_safe_and_json_matches(tmp_path, old_units):
    rows = [list(r) for r in UNITS]
    rows[3][1] = '=HYPERLINK("http://example.com","x")'
    new = write(unit_frame(rows), tmp_path / "formula.gpkg")
    zones_old = write(zone_frame(ZONES), tmp_path / "z0.gpkg")
    zones_new = write(zone_frame(ZONES[:2]), tmp_path / "z1.gpkg")
    csv_path, json_path = tmp_path / "layers.csv", tmp_path / "layers.json"
    for path in (csv_path, json_path):
        run(["rules", "diff", "--old-units", old_units, "--new-units", new, "--old-zones", zones_old,
             "--new-zones", zones_new, "--layer-output", path], expect=0)
    table = pd.read_csv(csv_path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table.columns) == ["layer", "id", "change", "name", "type", "kind", "fields", "details",
                                   "old_area_ha", "new_area_ha", "gained_ha", "lost_ha", "moved_m"]
    assert list(zip(table["layer"], table["id"], table["change"])) == [
        ("unit", "ZH12011620002", "changed"), ("zone", "RV-1", "removed")]
    assert table.loc[0, "name"].startswith("'=HYPERLINK")  # shown as text, never run
    records = json.loads(json_path.read_text(encoding="utf-8"))
    assert [(r["layer"], r["id"]) for r in records] == [("unit", "ZH12011620002"), ("zone", "RV-1")]
    assert records[0]["name"].startswith("=HYPERLINK")  # JSON keeps the value as it is


# ---- errors ------------------------------------------------------------------------------------------------

def test_unreadable_layers_exit_1_with_one_line_naming_the_file(tmp_path, old_units):
    no_crs = unit_frame(UNITS).set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="crs"):  # GDAL warns that the file will have no CRS
        no_crs_path = write(no_crs, tmp_path / "nocrs.gpkg")
    cases = {"missing": tmp_path / "missing.gpkg", "no CRS": no_crs_path,
             "not a layer": tmp_path / "notes.txt"}
    (tmp_path / "notes.txt").write_text("not a layer\n", encoding="utf-8")
    for name, path in cases.items():
        result = run(["rules", "diff", "--old-units", old_units, "--new-units", path])
        assert result.exit_code == 1, (name, result.output)
        lines = [ln for ln in result.stderr.splitlines() if not ln.startswith("zoning: warning:")]
        assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in result.output, (name, lines)
    zones = write(zone_frame(ZONES), tmp_path / "zones.gpkg")
    wrong = run(["rules", "diff", "--old-zones", zones, "--new-zones", old_units], expect=1)  # units as zones
    assert f"zone layer {old_units} has no zone_id column" in wrong.stderr


@pytest.mark.parametrize(("args", "fragment"), [
    (["--old-units", "A"], "--old-units needs --new-units"),
    (["--new-zones", "A"], "--new-zones needs --old-zones"),
    ([], "give the rule sets OLD NEW, or layers to compare"),
    (["RULES"], "give both rule sets"),
    (["RULES", "RULES", "--units", "A", "--old-units", "A", "--new-units", "A"], "not both"),
    (["--old-units", "A", "--new-units", "A", "--registry", "A"], "go with rule sets OLD NEW"),
    (["--old-units", "A", "--new-units", "A", "-o", "out.csv"], "-o writes the changed projects"),
    (["RULES", "RULES", "--layer-output", "out.csv"], "--layer-output writes the unit and zone changes"),
])
def test_contradicting_options_exit_2(tmp_path, old_units, args, fragment):
    argv = [old_units if a == "A" else tmp_path / "rules" if a == "RULES" else a for a in args]
    result = run(["rules", "diff", *argv])
    assert result.exit_code == 2, result.output
    assert fragment in result.output


def test_an_output_that_is_not_csv_or_json_or_is_an_input_is_refused(tmp_path, old_units):
    new = redrawn(tmp_path)
    result = run(["rules", "diff", "--old-units", old_units, "--new-units", new, "--layer-output",
                  tmp_path / "changes.gpkg"], expect=1)
    assert "write .csv or .json" in result.stderr
    geojson = tmp_path / "units.json"  # a GeoJSON layer may be named .json
    unit_frame(UNITS).to_crs("EPSG:4490").to_file(geojson, driver="GeoJSON")
    before = geojson.read_bytes()
    result = run(["rules", "diff", "--old-units", geojson, "--new-units", new, "--layer-output", geojson], expect=2)
    assert "one of the inputs" in result.stderr and geojson.read_bytes() == before


def test_scope_effects_from_the_api_for_a_retyped_unit(tmp_path, old_units):
    rules = write_rules(tmp_path / "rules")
    lists = load_lists([rules])
    with pytest.warns(DataWarning, match="type digit"):  # ZH1201161…: the code still says priority
        old, new = load_units(old_units), load_units(redrawn(tmp_path))
    new.loc[new["code"] == "ZH12011630001", "type"] = 1  # general → priority: the priority list takes it in
    effects = scope_effects(lists, old_units=old, new_units=new)
    assert {(e["list"], e["change"], e["id"]) for e in effects} == {
        ("unit-port", "names a removed unit", "ZH12011620002"),
        ("priority-units", "no longer selects", "ZH12011610001"),
        ("priority-units", "now selects", "ZH12011630001")}
