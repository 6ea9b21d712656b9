"""Loading unit layers, zone layers and access lists: canonical columns, and the
message a user gets for each kind of broken input.

Every fixture is a tiny file written into ``tmp_path`` by the test that uses it.
"""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from zoning import DataError, Engine
from zoning.errors import DataWarning
from zoning.inputs.units import load_units, load_zones
from zoning.rules.loading import load_list, load_lists

#: two adjacent boxes (lon/lat) sharing the edge lon = 116.0
WEST = shapely.box(115.9, 38.9, 116.0, 39.0)
EAST = shapely.box(116.0, 38.9, 116.1, 39.0)
NORTH = shapely.box(115.9, 39.0, 116.0, 39.1)
#: a self-intersecting "bow-tie" ring
BOW_TIE = shapely.Polygon([(116.0, 38.9), (116.1, 39.0), (116.1, 38.9), (116.0, 39.0)])

CANONICAL = ["code", "name", "type", "province", "city", "county", "remark", "spatial_layout",
             "emission_control", "risk_prevention", "resource_efficiency", "admin", "geometry"]


def write_layer(path, columns: dict, geoms, crs="EPSG:4490"):
    kwargs = {"driver": "GeoJSON"} if str(path).endswith(".geojson") else {}
    gpd.GeoDataFrame(columns, geometry=list(geoms), crs=crs).to_file(path, **kwargs)
    return path


def national_layer(path):
    """Three units in the national data standard's field names, one per type spelling."""
    return write_layer(path, {
        "HJZHGKDYBM": ["ZH13063210001", "ZH13063220001", "ZH13063230001"],
        "HJZHGKDYMC": ["白洋淀优先保护单元", "起步区重点管控单元", "安新县一般管控单元"],
        "ZHGKDYFL": ["优先保护单元", "2", "general"],
        "PROV": ["河北省"] * 3,
        "CITY": ["保定市"] * 3,
        "AREA": ["安新县"] * 3,
        "REMARK": ["", "", "备注"],
        "KJBJYS": ["禁止新建工业项目", "", ""],
        "PWWPFGK": ["", "倍量替代", ""],
        "HJFXFK": ["", "", "风险防控"],
        "ZYKFXLYQ": ["节水", "", ""],
    }, [WEST, EAST, NORTH])


def simple_units(path, codes=("ZH13063210001",), types=(1,), geoms=(WEST,), **kw):
    return write_layer(path, {"code": list(codes), "type": list(types)}, geoms, **kw)


# ---- unit layers: columns ----------------------------------------------------

def test_national_field_names_load_to_canonical_columns(tmp_path):
    units = load_units(national_layer(tmp_path / "units.gpkg"))
    assert sorted(units.columns) == sorted(CANONICAL)
    assert units.crs.to_epsg() == 4490
    by_code = units.set_index("code")
    assert list(by_code.index) == ["ZH13063210001", "ZH13063220001", "ZH13063230001"]
    # 优先保护单元 / "2" / "general" all parse
    assert list(by_code["type"]) == [1, 2, 3]
    first = by_code.loc["ZH13063210001"]
    assert first["name"] == "白洋淀优先保护单元"
    assert (first["province"], first["city"], first["county"]) == ("河北省", "保定市", "安新县")
    assert first["spatial_layout"] == "禁止新建工业项目"
    assert first["resource_efficiency"] == "节水"
    assert by_code.loc["ZH13063220001", "emission_control"] == "倍量替代"
    assert by_code.loc["ZH13063230001", "risk_prevention"] == "风险防控"
    assert by_code.loc["ZH13063230001", "remark"] == "备注"
    assert set(units["admin"]) == {"130632"}


def test_own_field_names_load_to_canonical_columns_from_geojson(tmp_path):
    path = write_layer(tmp_path / "units.geojson", {
        "code": ["A1", "B2", "C3"],
        "name": ["unit a", "unit b", "unit c"],
        "type": ["优先保护单元", "2", "general"],
        "county": ["安新县"] * 3,
        "spatial_layout": ["no factories", "", ""],
    }, [WEST, EAST, NORTH])
    units = load_units(path)
    assert sorted(units.columns) == sorted(CANONICAL)
    assert list(units["code"]) == ["A1", "B2", "C3"]
    assert list(units["name"]) == ["unit a", "unit b", "unit c"]
    assert list(units["type"]) == [1, 2, 3]
    assert list(units["county"]) == ["安新县"] * 3
    assert units.loc[0, "spatial_layout"] == "no factories"
    # optional columns that are absent come back empty, not missing
    assert list(units["province"]) == ["", "", ""]
    # a code that is not in the national format has no division code
    assert units["admin"].isna().all()


def test_type_digit_of_national_code_disagreeing_with_type_field_warns(tmp_path):
    path = simple_units(tmp_path / "u.gpkg", codes=["ZH13063210001"], types=[3])
    with pytest.warns(DataWarning, match="type digit") as caught:
        units = load_units(path)
    assert "ZH13063210001" in str(caught[0].message)
    assert units.loc[0, "type"] == 3  # the type field wins


def test_missing_name_falls_back_to_code(tmp_path):
    units = load_units(simple_units(tmp_path / "u.gpkg"))
    assert units.loc[0, "name"] == "ZH13063210001"


@pytest.mark.parametrize("value, expected", [
    ("优先保护单元", 1), ("优先保护", 1), ("重点管控单元", 2), ("一般管控单元", 3),
    ("1", 1), ("2", 2), ("3", 3), ("priority", 1), ("key", 2), ("general", 3),
    ("General Control", 3),
])
def test_unit_type_spellings(tmp_path, value, expected):
    units = load_units(simple_units(tmp_path / "u.gpkg", codes=["U1"], types=[value]))
    assert units.loc[0, "type"] == expected


def test_national_fields_from_shapefile(tmp_path):
    path = tmp_path / "units.shp"
    write_layer(path, {
        "HJZHGKDYBM": ["ZH13063210001", "ZH13063230001"],
        "HJZHGKDYMC": ["白洋淀优先保护单元", "安新县一般管控单元"],
        "ZHGKDYFL": [1, 3],
        "AREA": ["安新县", "安新县"],
    }, [WEST, EAST])
    units = load_units(path)
    assert list(units["code"]) == ["ZH13063210001", "ZH13063230001"]
    assert list(units["name"]) == ["白洋淀优先保护单元", "安新县一般管控单元"]
    assert list(units["type"]) == [1, 3]
    assert list(units["county"]) == ["安新县", "安新县"]


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_fiona_engine_loads_the_same_as_pyogrio(tmp_path, suffix):
    pytest.importorskip("fiona")
    path = national_layer(tmp_path / f"units{suffix}")
    a = load_units(path)
    b = load_units(path, io_engine="fiona")
    assert a.drop(columns="geometry").to_dict("records") == b.drop(columns="geometry").to_dict("records")
    assert a.geometry.geom_equals(b.geometry).all()
    assert b.crs == a.crs


def test_unknown_io_engine(tmp_path):
    with pytest.raises(DataError, match="unknown I/O engine 'gdal'"):
        load_units(simple_units(tmp_path / "u.gpkg"), io_engine="gdal")


def test_layer_in_another_crs_is_reprojected(tmp_path):
    projected = gpd.GeoSeries([WEST], crs="EPSG:4490").to_crs("EPSG:4527")  # CGCS2000 / 3-degree GK zone 39
    units = load_units(simple_units(tmp_path / "u.gpkg", geoms=projected, crs="EPSG:4527"))
    assert units.crs.to_epsg() == 4490
    assert units.geometry.iloc[0].buffer(1e-6).contains(WEST.buffer(-1e-6))


# ---- unit layers: errors and repairs ------------------------------------------

def test_no_crs_is_an_error(tmp_path):
    path = tmp_path / "units.shp"  # no .prj written
    with pytest.warns(UserWarning):  # geopandas warns that it writes no CRS
        simple_units(path, crs=None)
    with pytest.raises(DataError, match="no CRS") as err:
        load_units(path)
    assert "units.shp" in str(err.value)


def test_missing_code_column(tmp_path):
    path = write_layer(tmp_path / "u.gpkg", {"bianma": ["A"], "type": [1]}, [WEST])
    with pytest.raises(DataError, match="no code column") as err:
        load_units(path)
    assert "HJZHGKDYBM" in str(err.value)


def test_missing_type_column(tmp_path):
    path = write_layer(tmp_path / "u.gpkg", {"code": ["A"]}, [WEST])
    with pytest.raises(DataError, match="no type column"):
        load_units(path)


def test_unknown_type_value_names_the_unit(tmp_path):
    path = simple_units(tmp_path / "u.gpkg", codes=["GOOD1", "BAD42"], types=["1", "特殊单元"],
                        geoms=[WEST, EAST])
    with pytest.raises(DataError, match="unknown unit type") as err:
        load_units(path)
    message = str(err.value)
    assert "BAD42" in message and "特殊单元" in message
    assert "GOOD1" not in message


def test_duplicate_codes_with_different_attributes_is_an_error(tmp_path):
    path = write_layer(tmp_path / "u.gpkg", {
        "code": ["ZH13063210001", "ZH13063210001", "ZH13063230001"],
        "name": ["白洋淀", "白洋淀（另一个）", "一般"],
        "type": [1, 1, 3],
    }, [WEST, EAST, NORTH])
    with pytest.raises(DataError, match="duplicate unit code with different attributes") as err:
        load_units(path)
    assert "ZH13063210001" in str(err.value)
    assert "ZH13063230001" not in str(err.value)


def test_duplicate_codes_with_identical_attributes_are_dissolved(tmp_path):
    path = write_layer(tmp_path / "u.gpkg", {
        "code": ["ZH13063210001", "ZH13063210001", "ZH13063230001"],
        "name": ["白洋淀", "白洋淀", "一般"],
        "type": [1, 1, 3],
    }, [WEST, EAST, NORTH])
    with pytest.warns(DataWarning, match="dissolved") as caught:
        units = load_units(path)
    assert any("ZH13063210001" in str(w.message) for w in caught)
    assert sorted(units["code"]) == ["ZH13063210001", "ZH13063230001"]
    merged = units.set_index("code").geometry["ZH13063210001"]
    assert merged.area == pytest.approx(WEST.union(EAST).area)
    assert units.set_index("code").loc["ZH13063210001", "type"] == 1


def test_bow_tie_polygon_is_repaired_with_a_warning_naming_the_unit(tmp_path):
    path = simple_units(tmp_path / "u.gpkg", codes=["ZH13063230001", "ZH13063210001"],
                        types=[3, 1], geoms=[WEST, BOW_TIE])
    with pytest.warns(DataWarning, match="repaired invalid geometry") as caught:
        units = load_units(path)
    messages = " ".join(str(w.message) for w in caught)
    assert "ZH13063210001" in messages and "ZH13063230001" not in messages
    assert units.geometry.is_valid.all()
    repaired = units.set_index("code").geometry["ZH13063210001"]
    assert repaired.geom_type in ("Polygon", "MultiPolygon")
    assert repaired.area == pytest.approx(EAST.area / 2)  # the two triangles of the bow-tie


def test_empty_geometry_names_the_unit(tmp_path):
    path = simple_units(tmp_path / "u.gpkg", codes=["OK1", "HOLLOW7"], types=[1, 2],
                        geoms=[WEST, shapely.Polygon()])
    with pytest.raises(DataError, match="empty geometry") as err:
        load_units(path)
    assert "HOLLOW7" in str(err.value) and "OK1" not in str(err.value)


def test_missing_geometry_names_the_unit(tmp_path):
    path = tmp_path / "u.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"code": "NOGEOM", "type": 1}, "geometry": null}]}',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="empty geometry") as err:
        load_units(path)
    assert "NOGEOM" in str(err.value)


def test_point_geometry_in_a_unit_layer_is_an_error(tmp_path):
    path = simple_units(tmp_path / "u.gpkg", codes=["PT1"], types=[1], geoms=[shapely.Point(116.0, 39.0)])
    with pytest.raises(DataError, match="not a polygon") as err:
        load_units(path)
    assert "PT1" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file") as err:
        load_units(tmp_path / "nowhere.gpkg")
    assert "nowhere.gpkg" in str(err.value)


def test_unreadable_file_is_a_one_line_data_error(tmp_path):
    path = tmp_path / "garbage.gpkg"
    path.write_bytes(b"this is not a geopackage")
    with pytest.raises(DataError, match="cannot read") as err:
        load_units(path)
    assert "garbage.gpkg" in str(err.value)
    assert "\n" not in str(err.value)


# ---- zone layers ---------------------------------------------------------------

def test_zones_load(tmp_path):
    path = write_layer(tmp_path / "z.gpkg", {"zone_id": ["Z1", "Z2"], "kind": ["red_line", "fuel_ban"],
                                             "name": ["红线", None]}, [WEST, EAST])
    zones = load_zones(path)
    assert list(zones["zone_id"]) == ["Z1", "Z2"]
    assert list(zones["kind"]) == ["red_line", "fuel_ban"]
    assert list(zones["name"]) == ["红线", "Z2"]


def test_zones_duplicate_zone_id(tmp_path):
    path = write_layer(tmp_path / "z.gpkg", {"zone_id": ["Z1", "Z1", "Z2"], "kind": ["red_line"] * 3},
                       [WEST, EAST, NORTH])
    with pytest.raises(DataError, match="duplicate zone_id") as err:
        load_zones(path)
    assert "Z1" in str(err.value) and "Z2" not in str(err.value)


# ---- access lists ---------------------------------------------------------------

LIST = """\
id: test-list
title: 测试清单
issuer: 测试厅
version: 1
effective_from: 2021-06-30
level: province
source:
  document: 《测试清单》
  issuer: 测试厅
  date: 2021-06-30
clauses:
  - id: KJ-1
    dimension: spatial_layout
    effect: prohibit
    conditions:
      all:
        - industry: [C31]
        - type: [new]
    text: 禁止新建钢铁项目。
    source:
      article: 空间布局约束第1条
"""

SECOND_CLAUSE = """\
  - id: PW-1
    dimension: emission_control
    effect: restrict
    conditions:
      - attr: VOCs
        gt: 0
    text: 新增VOCs须倍量替代。
    source:
      article: 污染物排放管控第1条
"""


def write_list(tmp_path, text, name="list.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def list_error(tmp_path, text, name="bad-list.yaml") -> str:
    path = write_list(tmp_path, text, name)
    with pytest.raises(DataError) as err:
        load_list(path)
    message = str(err.value)
    assert name in message
    assert "Traceback" not in message
    return message


def test_minimal_list_loads(tmp_path):
    lst = load_list(write_list(tmp_path, LIST + SECOND_CLAUSE))
    assert lst.id == "test-list"
    assert lst.version == "1"
    assert [c.id for c in lst.clauses] == ["KJ-1", "PW-1"]
    clause = lst.clauses[0]
    assert clause.conditions.all[0].industry == ["31"]  # section letter dropped
    src = lst.source_of(clause)
    assert (src.document, src.issuer, str(src.date), src.article) == (
        "《测试清单》", "测试厅", "2021-06-30", "空间布局约束第1条")


def test_unknown_clause_field(tmp_path):
    message = list_error(tmp_path, LIST + "    colour: red\n")
    assert "clause KJ-1" in message
    assert "colour" in message
    assert "unknown field" in message


def test_unknown_list_field(tmp_path):
    message = list_error(tmp_path, LIST.replace("level: province", "level: province\nregion: 华北"))
    assert "region" in message and "unknown field" in message


def test_unknown_industry_code_suggests_the_nearest(tmp_path):
    message = list_error(tmp_path, LIST.replace("[C31]", "[C3121]"))
    assert "clause KJ-1" in message
    assert "industry" in message
    assert "unknown industry code 'C3121'" in message
    assert "nearest valid: C3120" in message


def test_unknown_attribute(tmp_path):
    message = list_error(tmp_path, LIST + SECOND_CLAUSE.replace("attr: VOCs", "attr: VOC"))
    assert "clause PW-1" in message
    assert "attr" in message
    assert "unknown attribute 'VOC'" in message


def test_condition_errors_carry_no_list_form_noise(tmp_path):
    """A bad node inside ``conditions`` should not also report "Input should be a valid
    list" (the other form of the ``Node | list[Node]`` field)."""
    message = list_error(tmp_path, LIST.replace("[C31]", "[C3121]"))
    assert "valid list" not in message


def test_unknown_project_type(tmp_path):
    message = list_error(tmp_path, LIST.replace("[new]", "[brand_new]"))
    assert "clause KJ-1" in message and "unknown project type 'brand_new'" in message


def test_duplicate_clause_id(tmp_path):
    message = list_error(tmp_path, LIST + SECOND_CLAUSE.replace("id: PW-1", "id: KJ-1"))
    assert "duplicate clause id 'KJ-1'" in message


def test_bad_yaml_syntax_gives_file_and_line(tmp_path):
    text = LIST.replace("    text: 禁止新建钢铁项目。", "    text: 禁止: 新建钢铁项目。")
    bad_line = text.splitlines().index("    text: 禁止: 新建钢铁项目。") + 1
    message = list_error(tmp_path, text)
    assert re.search(rf"bad-list\.yaml:{bad_line}\b", message), message
    assert "not valid YAML" in message


def test_yaml_that_is_not_a_mapping(tmp_path):
    message = list_error(tmp_path, "- just\n- a list\n")
    assert "mapping" in message


def test_missing_source_article(tmp_path):
    text = LIST.replace("    source:\n      article: 空间布局约束第1条\n", "")
    message = list_error(tmp_path, text)
    assert "KJ-1" in message and "missing article" in message


def test_article_in_list_source_is_enough(tmp_path):
    text = LIST.replace("    source:\n      article: 空间布局约束第1条\n", "").replace(
        "  date: 2021-06-30\n", "  date: 2021-06-30\n  article: 附件一\n")
    lst = load_list(write_list(tmp_path, text))
    assert lst.source_of(lst.clauses[0]).article == "附件一"


def test_duplicate_list_id_across_files(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    write_list(folder, LIST, "a.yaml")
    write_list(folder, LIST.replace("KJ-1", "KJ-9"), "b.yaml")
    with pytest.raises(DataError, match="list id 'test-list' is also used by") as err:
        load_lists([folder])
    assert "a.yaml" in str(err.value) and "b.yaml" in str(err.value)


def test_rule_directory_without_lists(tmp_path):
    with pytest.raises(DataError, match="no access lists"):
        load_lists([tmp_path])


def test_missing_rule_file(tmp_path):
    with pytest.raises(DataError, match="no such rule file"):
        load_lists([tmp_path / "missing.yaml"])


# ---- references from lists to layers (checked when the Engine is built) ---------

@pytest.fixture
def layers(tmp_path):
    units = load_units(write_layer(tmp_path / "u.gpkg", {
        "code": ["ZH13063210001", "ZH13063230001"], "type": [1, 3]}, [EAST, WEST]))
    zones = load_zones(write_layer(tmp_path / "z.gpkg", {"zone_id": ["BYD-HX"], "kind": ["red_line"]}, [EAST]))
    return units, zones


def scoped_list(tmp_path, scope: str):
    return load_list(write_list(tmp_path, LIST.replace("clauses:", f"scope:\n{scope}clauses:"), "scoped.yaml"))


def test_valid_references_build_an_engine(tmp_path, layers):
    units, zones = layers
    lst = scoped_list(tmp_path, "  units: [ZH13063210001]\n  zones: [BYD-HX]\n")
    engine = Engine(units, [lst], zones)
    assert engine.check(lon=116.05, lat=38.95, industry="C3120", type="new").verdict == "prohibited"
    assert engine.check(lon=115.95, lat=38.95, industry="C3120", type="new").verdict == "permitted"


@pytest.mark.parametrize("scope, field, ref", [
    ("  units: [ZH13063210009]\n", "scope.units", "ZH13063210009"),
    ("  zones: [NO-SUCH-ZONE]\n", "scope.zones", "NO-SUCH-ZONE"),
])
def test_unknown_reference_in_scope(tmp_path, layers, scope, field, ref):
    units, zones = layers
    with pytest.raises(DataError) as err:
        Engine(units, [scoped_list(tmp_path, scope)], zones)
    message = str(err.value)
    assert "scoped.yaml" in message and "list test-list" in message and field in message
    assert ref in message


def test_unknown_zone_id_without_any_zone_layer(tmp_path, layers):
    units, _ = layers
    lst = scoped_list(tmp_path, "  zones: [BYD-HX]\n")
    with pytest.raises(DataError, match="unknown zone id 'BYD-HX'"):
        Engine(units, [lst])


def test_canonical_frame_is_a_geodataframe(tmp_path):
    units = load_units(national_layer(tmp_path / "units.gpkg"))
    assert isinstance(units, gpd.GeoDataFrame)
    assert units.index.equals(pd.RangeIndex(len(units)))
