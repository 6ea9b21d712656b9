"""Screening registries: formats, encodings, headers, per-row errors, outputs."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from tests.conftest import TWO_UNITS, make_list, make_units
from zoning import Engine
from zoning.errors import DataError, InputError, ParameterError
from zoning.geodesy import GEOGRAPHIC
from zoning.inputs.coordinates import parse_coordinates
from zoning.inputs.headers import recognise_columns
from zoning.inputs.registry import open_registry
from zoning.screening import screen


@pytest.fixture(scope="module")
def engine():
    lst = make_list([
        {"id": "STEEL", "effect": "prohibit", "conditions": {"all": [{"industry": ["C31"]}, {"type": ["new"]}]}},
        {"id": "VOC", "effect": "restrict",
         "conditions": {"all": [{"industry": ["C26"]}, {"attr": "VOCs", "gt": 10}]}},
        {"id": "SO2", "effect": "restrict",
         "conditions": {"all": [{"industry": ["D44"]}, {"attr": "SO2", "gt": 1}]}},
    ])
    return Engine(make_units(TWO_UNITS), [lst])


# name, lon, lat, industry, type, VOCs, SO2 (kg/a), expected verdict, expected error kind fragment
ROWS = [
    ("钢铁新建", "116.05", "38.95", "C3120", "新建", "", "", "prohibited", ""),
    ("办公楼", "115.95", "38.95", "I6513", "新建", "", "", "permitted", ""),
    ("化工甲", "115.95", "38.95", "C2614", "扩建", "12.5", "", "restricted", ""),
    ("化工乙", "115.95", "38.95", "C2614", "扩建", "", "", "undetermined", ""),
    ("域外项目", "113.00", "30.00", "C2614", "新建", "1", "", "not_covered", ""),
    ("坐标有误", "abc", "38.95", "C2614", "新建", "1", "", "error", "'经度'"),
    ("缺经度", "", "38.95", "C2614", "新建", "1", "", "error", "'经度': missing"),
    ("行业有误", "115.95", "38.95", "X999", "新建", "1", "", "error", "'行业代码'"),
    ("性质有误", "115.95", "38.95", "C2614", "拆除", "1", "", "error", "'建设性质'"),
    ("排放有误", "115.95", "38.95", "C2614", "新建", "很多", "", "error", "'VOCs(t/a)'"),
    ("度分秒", "115°57'00\"", "38°57'00\"", "C2614", "新建", "12.5", "", "restricted", ""),
    ("经纬颠倒", "38.95", "115.95", "C2614", "新建", "1", "", "error", "swapped"),
    ("电厂千克甲", "115.95", "38.95", "D4411", "新建", "", "1500", "restricted", ""),
    ("电厂千克乙", "115.95", "38.95", "D4411", "新建", "", "500", "permitted", ""),
    ("代码加名称", "116.05", "38.95", "C3120 炼钢", "新建", "", "", "prohibited", ""),
]
HEADERS = ["项目名称", "经度", "纬度", "行业代码", "建设性质", "VOCs(t/a)", "二氧化硫（kg/a）"]


def registry_frame(rows=ROWS) -> pd.DataFrame:
    return pd.DataFrame([r[:7] for r in rows], columns=HEADERS)


def expected_verdicts(rows=ROWS):
    return [r[7] for r in rows]


def read_back(path) -> pd.DataFrame:
    suffix = path.suffix
    if suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if suffix == ".xlsx":
        return pd.read_excel(path, sheet_name="screened", dtype=str, keep_default_na=False)
    if suffix == ".parquet":
        return gpd.read_parquet(path)
    if suffix == ".geojsons":
        text = path.read_text(encoding="utf-8")
        return pd.DataFrame([json.loads(r)["properties"] for r in text.split("\x1e") if r.strip()])
    return gpd.read_file(path)


# ---- inputs ---------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_encodings_are_detected(engine, tmp_path, encoding):
    src = tmp_path / "registry.csv"
    registry_frame().to_csv(src, index=False, encoding=encoding)
    out = tmp_path / "out.csv"
    summary = screen(engine, src, out)
    result = read_back(out)
    assert list(result["verdict"]) == expected_verdicts()
    assert list(result["项目名称"]) == [r[0] for r in ROWS]
    assert summary.encoding == {"gbk": "gb18030"}.get(encoding, encoding)


def test_encoding_override(engine, tmp_path):
    src = tmp_path / "registry.csv"
    registry_frame().to_csv(src, index=False, encoding="gbk")
    result = read_back(_screened(engine, src, tmp_path / "out.csv", encoding="gb18030"))
    assert list(result["verdict"]) == expected_verdicts()
    with pytest.raises(DataError, match="not readable as utf-8"):
        screen(engine, src, tmp_path / "bad.csv", encoding="utf-8")
    assert not (tmp_path / "bad.csv").exists()


def _screened(engine, src, out, **kw):
    screen(engine, src, out, **kw)
    return out


def test_xlsx_with_a_title_row_and_a_chosen_sheet(engine, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表为示例"])
    ws = book.create_sheet("项目清单")
    ws.append(["某市2026年建设项目清单"])  # a title row above the header, as bureaus often have
    ws.append(HEADERS)
    for row in ROWS:
        ws.append([float(v) if k in (1, 2) and _is_number(v) else v for k, v in enumerate(row[:7])])
    ws.append([None, "  "] + [None] * 5)  # trailing blank row (a space in it): skipped, and said so
    src = tmp_path / "registry.xlsx"
    book.save(src)
    out = tmp_path / "out.xlsx"
    summary = screen(engine, src, out, sheet="项目清单")
    result = read_back(out)
    assert list(result["verdict"]) == expected_verdicts()
    assert any("above the header" in n for n in summary.notes)
    assert any("empty row" in n for n in summary.notes)
    assert summary.examples["bad coordinate"][0].startswith("row 8:")  # the sheet's row number
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["screened", "prohibited", "restricted", "summary"]
    prohibited = list(book["prohibited"].iter_rows(values_only=True))
    assert len(prohibited) == 1 + expected_verdicts().count("prohibited")
    as_csv = read_back(_screened(engine, src, tmp_path / "out.csv", sheet=2))  # numbers and text mixed in cells
    assert list(as_csv["verdict"]) == expected_verdicts()
    assert as_csv["经度"].iloc[0] == "116.05" and as_csv["经度"].iloc[5] == "abc"
    with pytest.raises(DataError, match="no sheet 'nope'"):
        screen(engine, src, tmp_path / "x.xlsx", sheet="nope")


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _good_rows():
    return [r for r in ROWS if r[7] != "error"]


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson", ".geojsons"])
@pytest.mark.parametrize("io_engine", ["pyogrio", "fiona"])
def test_vector_inputs(engine, tmp_path, suffix, io_engine):
    rows = _good_rows()
    frame = pd.DataFrame([(r[0], r[3], r[4], r[5], r[6]) for r in rows],
                         columns=["name", "industry", "type", "VOCs", "SO2_kg"])
    lon, lat = parse_coordinates(pd.Series([r[1] for r in rows]), "lon")[0], \
        parse_coordinates(pd.Series([r[2] for r in rows]), "lat")[0]
    geometry = list(gpd.points_from_xy(lon, lat))
    frame.loc[len(frame)] = ["无位置", "C2614", "new", "1", ""]
    geometry.append(None)
    layer = gpd.GeoDataFrame(frame, geometry=geometry, crs=GEOGRAPHIC)
    src = tmp_path / f"registry{suffix}"
    driver = {".geojsons": "GeoJSONSeq"}.get(suffix)
    layer.to_file(src, driver=driver, engine="pyogrio") if driver else layer.to_file(src, engine="pyogrio")
    out = tmp_path / "out.csv"
    summary = screen(engine, src, out, io_engine=io_engine, columns={"SO2": "SO2_kg"})
    result = read_back(out)
    # the header "SO2_kg" names no unit in brackets, so 500 and 1500 are read as t/a: both restricted
    expected = [r[7] if r[0] not in ("电厂千克甲", "电厂千克乙") else "restricted" for r in rows]
    assert list(result["verdict"]) == expected + ["error"]
    assert result["error"].iloc[-1].startswith("field 'geometry'")
    assert result["wkt"].iloc[0].startswith("POINT (116.05")
    assert summary.rows == len(rows) + 1


# ---- headers and coordinates ------------------------------------------------------

def test_english_headers_and_overrides(engine, tmp_path):
    frame = registry_frame()
    frame.columns = ["Project Name", "Longitude", "Latitude", "Industry", "Type", "VOCs", "so2 (kg/a)"]
    src = tmp_path / "registry.csv"
    frame.to_csv(src, index=False)
    result = read_back(_screened(engine, src, tmp_path / "out.csv"))
    assert list(result["verdict"]) == expected_verdicts()

    frame.columns = ["项目", "东经坐标", "北纬坐标", "行业", "性质", "VOC排放", "SO2"]
    frame["SO2"] = ""
    frame.to_csv(src, index=False)
    with pytest.raises(InputError, match="no lon or lat column"):
        screen(engine, src, tmp_path / "out2.csv")
    summary = screen(engine, src, tmp_path / "out2.csv",
                     columns={"lon": "东经坐标", "lat": "北纬坐标", "type": "性质", "VOCs": "VOC排放"})
    assert "lon←东经坐标" in summary.columns
    result = read_back(tmp_path / "out2.csv")
    assert result["verdict"].iloc[2] == "restricted"  # VOCs via the override


def test_header_recognition():
    cols = recognise_columns(["序号", "项目名称", "经度", "纬度", "行业类别", "行业代码", "建设性质",
                              "二氧化硫排放量(t/a)", "氮氧化物", "颗粒物（吨/年）", "挥发性有机物",
                              "化学需氧量", "氨氮(万吨/年)"])
    assert cols.columns["industry"] == "行业代码"  # a code column beats a category-name column
    assert cols.columns["SO2"] == "二氧化硫排放量(t/a)"
    assert {"NOx", "particulate", "VOCs", "COD", "NH3-N"} <= set(cols.columns)
    assert cols.scales == {"SO2": 1.0, "particulate": 1.0, "NH3-N": 1e4}
    with pytest.raises(InputError, match="all look like VOCs"):
        recognise_columns(["lon", "lat", "VOCs", "挥发性有机物"])
    with pytest.raises(InputError, match="unit 'lb/a' is not a unit of VOCs"):
        recognise_columns(["lon", "lat", "VOCs(lb/a)"])
    with pytest.raises(InputError, match="unit 't/h' is not a unit of water_use"):
        recognise_columns(["lon", "lat", "用水量(t/h)"])
    with pytest.raises(InputError, match="unit '万吨/年' is not a unit of boiler_capacity"):
        recognise_columns(["lon", "lat", "锅炉容量(万吨/年)"])
    notes = recognise_columns(["lon", "lat", "VOCs（非甲烷总烃）", "氮氧化物(以NO2计)(kg/a)", "综合能耗（吨标煤）"])
    assert notes.columns["VOCs"] == "VOCs（非甲烷总烃）" and "VOCs" not in notes.scales  # a note, not a unit
    assert notes.scales["NOx"] == 1e-3 and notes.scales["energy_use"] == 1.0
    override = recognise_columns(["lon", "lat", "非甲烷总烃(kg/a)"], {"vocs": "非甲烷总烃(kg/a)"})
    assert override.columns["VOCs"] == "非甲烷总烃(kg/a)" and override.scales["VOCs"] == 1e-3
    with pytest.raises(InputError, match="no column 'nope'"):
        recognise_columns(["lon", "lat"], {"VOCs": "nope"})
    with pytest.raises(InputError, match="unknown field"):
        recognise_columns(["lon", "lat"], {"colour": "lon"})


@pytest.mark.parametrize("text, axis, value", [
    ("116°23'45.6\"", "lon", 116.396), ("116度23分45.6秒", "lon", 116.396), ("E116°23.5'", "lon", 116.391667),
    ("116°23′45.6″E", "lon", 116.396), ("东经116°23′45.6″", "lon", 116.396), ("39°54'N", "lat", 39.9),
    ("S33°52'", "lat", -33.866667), ("116.5", "lon", 116.5), ("116 23 45.6", "lon", 116.396),
    ("116.39E", "lon", 116.39), ("N39.9", "lat", 39.9), ("W116.39", "lon", -116.39), ("１１６．５", "lon", 116.5),
])
def test_dms_coordinates(text, axis, value):
    parsed, problem = parse_coordinates(pd.Series([text]), axis)
    assert problem[0] == ""
    assert parsed[0] == pytest.approx(value, abs=1e-6)


@pytest.mark.parametrize("text, message", [
    ("116°70'", "below 60"), ("N39°54'", "other axis"), ("见附件", "not a number"), ("", "missing"),
])
def test_bad_coordinates(text, message):
    parsed, problem = parse_coordinates(pd.Series([text]), "lon")
    assert np.isnan(parsed[0]) and message in problem[0]


def test_projected_coordinates_with_crs(engine, tmp_path):
    pts = gpd.GeoSeries(gpd.points_from_xy([116.05, 115.95], [38.95, 38.95]), crs=GEOGRAPHIC).to_crs(4527)
    frame = pd.DataFrame({"lon": pts.x.round(2), "lat": pts.y.round(2), "industry": ["C3120", "I6513"],
                          "type": "new"})
    src = tmp_path / "r.csv"
    frame.to_csv(src, index=False)
    result = read_back(_screened(engine, src, tmp_path / "o.csv", crs="EPSG:4527"))
    assert list(result["verdict"]) == ["prohibited", "permitted"]


# ---- nothing lost -------------------------------------------------------------------

def test_every_row_once_in_order_with_each_error_kind(engine, tmp_path):
    src = tmp_path / "registry.csv"
    registry_frame().to_csv(src, index=False)
    out = tmp_path / "out.csv"
    summary = screen(engine, src, out, chunk_size=4)  # several chunks
    result = read_back(out)
    original = pd.read_csv(src, dtype=str, keep_default_na=False)
    assert len(result) == len(ROWS)
    pd.testing.assert_frame_equal(result[original.columns], original)  # input columns untouched
    assert list(result["verdict"]) == expected_verdicts()
    for row, error in zip(ROWS, result["error"]):
        assert (row[8] in error) if row[8] else error == "", (row, error)
    assert summary.errors == {"bad coordinate": 2, "missing location": 1, "unknown industry": 1,
                              "unknown project type": 1, "non-numeric emission": 1}
    assert summary.verdicts["error"] == 6 and summary.rows == len(ROWS)
    assert summary.failing("prohibited") == 2 + 1 + 6  # prohibited, not_covered, errors


def test_chunk_size_does_not_change_the_result(engine, tmp_path):
    src = tmp_path / "registry.csv"
    registry_frame(ROWS * 7).to_csv(src, index=False)
    a = read_back(_screened(engine, src, tmp_path / "a.csv", chunk_size=5))
    b = read_back(_screened(engine, src, tmp_path / "b.csv", chunk_size=10_000))
    pd.testing.assert_frame_equal(a, b)


def test_interrupted_write_leaves_no_output(engine, tmp_path, monkeypatch):
    src = tmp_path / "registry.csv"
    registry_frame(ROWS * 3).to_csv(src, index=False)
    out = tmp_path / "out.gpkg"
    calls = {"n": 0}
    real = Engine.evaluate_batch

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "evaluate_batch", interrupted)
    for suffix in (".gpkg", ".csv", ".geojson", ".xlsx", ".parquet"):
        calls["n"] = 0
        target = out.with_suffix(suffix)
        with pytest.raises(KeyboardInterrupt):
            screen(engine, src, target, chunk_size=10)
        assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.csv"]
    # an existing output survives a failed run untouched
    existing = tmp_path / "keep.csv"
    existing.write_text("old", encoding="utf-8")
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        screen(engine, src, existing, chunk_size=10)
    assert existing.read_text(encoding="utf-8") == "old"


def test_result_columns_do_not_overwrite_input_columns(engine, tmp_path):
    frame = registry_frame()
    frame["verdict"] = "input value"
    src = tmp_path / "r.csv"
    frame.to_csv(src, index=False)
    summary = screen(engine, src, tmp_path / "o.csv")
    result = read_back(tmp_path / "o.csv")
    assert set(result["verdict"]) == {"input value"}
    assert list(result["zoning_verdict"]) == expected_verdicts()
    assert any("zoning_verdict" in n for n in summary.notes)


# ---- outputs ------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".gpkg", ".geojson", ".geojsons", ".parquet"])
def test_every_output_format_keeps_rows_and_order(engine, tmp_path, suffix):
    src = tmp_path / "registry.csv"
    registry_frame().to_csv(src, index=False)
    out = tmp_path / f"out{suffix}"
    screen(engine, src, out, chunk_size=4)
    result = read_back(out)
    assert list(result["verdict"]) == expected_verdicts()
    assert list(result["项目名称"]) == [r[0] for r in ROWS]
    if suffix in (".gpkg", ".parquet"):
        assert result.crs.equals(GEOGRAPHIC)
        assert result.geometry.isna().sum() == 3  # rows without a usable location keep a null geometry


def test_csv_output_has_a_bom_for_excel(engine, tmp_path):
    src = tmp_path / "r.csv"
    registry_frame().to_csv(src, index=False, encoding="gbk")
    screen(engine, src, tmp_path / "o.csv")
    raw = (tmp_path / "o.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    assert "钢铁新建" in raw.decode("utf-8-sig")


def test_geojsonseq_is_rfc8142(engine, tmp_path):
    src = tmp_path / "r.csv"
    registry_frame().to_csv(src, index=False)
    screen(engine, src, tmp_path / "o.geojsons", chunk_size=4)
    text = (tmp_path / "o.geojsons").read_text(encoding="utf-8")
    records = text.split("\x1e")
    assert records[0] == "" and len(records) == len(ROWS) + 1
    assert all(r.endswith("\n") and json.loads(r)["type"] == "Feature" for r in records[1:])


def test_parquet_output_is_geoparquet(engine, tmp_path):
    src = tmp_path / "r.csv"
    registry_frame().to_csv(src, index=False)
    screen(engine, src, tmp_path / "o.parquet", chunk_size=4)
    meta = json.loads(pq.read_schema(tmp_path / "o.parquet").metadata[b"geo"])
    assert meta["primary_column"] == "geometry" and meta["columns"]["geometry"]["encoding"] == "WKB"


def _decimals(x: float) -> int:
    text = repr(x)
    return len(text.split(".")[1]) if "." in text else 0


def check_rfc7946(collection: dict, text: str | None = None) -> None:
    """RFC 7946: no crs member, lon/lat order, ≤ 7 decimals, CCW exteriors and CW holes.

    Decimals are checked in ``text`` (the file as written) when given: parsing
    would hide a 17-digit number such as 38.827101999999996.
    """
    if text is not None:
        for coordinates in re.findall(r'"coordinates":(\[[^"]*\])', text):
            assert not re.search(r"\.\d{8}", coordinates), coordinates[:200]
    assert "crs" not in collection
    for feature in collection["features"]:
        assert "crs" not in feature and feature["type"] == "Feature"
        if feature["geometry"] is None:
            continue
        geom = shapely.geometry.shape(feature["geometry"])
        coords = shapely.get_coordinates(geom)
        assert (np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all()
        assert (coords[:, 0] > coords[:, 1]).all()  # in China, lon > lat: lon comes first
        assert max(_decimals(float(v)) for v in coords.ravel()) <= 7
        for polygon in shapely.get_parts(geom):
            if polygon.geom_type != "Polygon":
                continue
            assert polygon.exterior.is_ccw
            assert all(not ring.is_ccw for ring in polygon.interiors)


def test_geojson_output_follows_rfc7946(engine, tmp_path):
    shell = [(115.91, 38.91), (115.91, 38.99123456789), (115.99, 38.99), (115.99, 38.91)]  # clockwise
    hole = [(115.93, 38.93), (115.95, 38.93), (115.95, 38.95), (115.93, 38.95)]  # counter-clockwise
    polygon = shapely.Polygon(shell, [hole])
    assert not polygon.exterior.is_ccw
    layer = gpd.GeoDataFrame({"name": ["地块", "点", "无位置"], "industry": ["C3120", "I6513", "I6513"],
                              "type": "new"},
                             geometry=[polygon, shapely.Point(116.0512345678, 38.95), None], crs=GEOGRAPHIC)
    src = tmp_path / "sites.gpkg"
    layer.to_file(src)
    screen(engine, src, tmp_path / "o.geojson")
    text = (tmp_path / "o.geojson").read_text(encoding="utf-8")
    collection = json.loads(text)
    check_rfc7946(collection, text)
    assert [f["properties"]["verdict"] for f in collection["features"]] == ["prohibited", "permitted", "error"]
    assert collection["features"][1]["geometry"]["coordinates"] == [116.0512346, 38.95]
    assert collection["features"][2]["geometry"] is None


# ---- errors naming the file ---------------------------------------------------------

def test_unreadable_inputs(engine, tmp_path):
    with pytest.raises(DataError, match="no such file"):
        open_registry(tmp_path / "nope.csv")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")  # an .xls is read, but this one is cut short
    with pytest.raises(DataError, match=r"old.xls: cannot read as an Excel workbook \(damaged"):
        open_registry(tmp_path / "old.xls")
    (tmp_path / "bad.xlsx").write_text("not a workbook")
    with pytest.raises(DataError, match="cannot read as an Excel workbook"):
        open_registry(tmp_path / "bad.xlsx")
    (tmp_path / "r.dat").write_text("x")
    with pytest.raises(DataError, match="unknown format"):
        open_registry(tmp_path / "r.dat")
    src = tmp_path / "r.csv"
    registry_frame().to_csv(src, index=False)
    with pytest.raises(DataError, match="unknown format '.txt'|unknown format"):
        screen(engine, src, tmp_path / "o.docx")


def test_bad_geometry_and_bad_flag_are_row_errors(engine, tmp_path):
    bowtie = shapely.Polygon([(115.91, 38.91), (115.99, 38.99), (115.99, 38.91), (115.91, 38.99)])
    assert not bowtie.is_valid
    layer = gpd.GeoDataFrame(
        {"name": ["自交", "入园有误", "正常"], "industry": ["C2614", "C2614", "C2614"], "type": "new",
         "in_park": ["true", "也许", "否"]},
        geometry=[bowtie, shapely.Point(115.95, 38.95), shapely.Point(115.95, 38.95)], crs=GEOGRAPHIC)
    src = tmp_path / "sites.gpkg"
    layer.to_file(src)
    summary = screen(engine, src, tmp_path / "o.csv")
    result = read_back(tmp_path / "o.csv")
    assert list(result["verdict"]) == ["error", "error", "undetermined"]
    assert "invalid geometry (Self-intersection" in result["error"][0]
    assert result["wkt"][0].startswith("POLYGON")  # kept, so the bad shape can be inspected
    assert "'in_park'" in result["error"][1] and "true/false" in result["error"][1]
    assert summary.errors == {"bad geometry": 1, "bad attribute value": 1}


def test_wkt_column_and_a_layer_in_a_projected_crs(engine, tmp_path):
    frame = pd.DataFrame({"名称": ["地块", "坏", "空", "自交", "颠倒", "投影"],
                          "wkt": ["POLYGON ((116.02 38.92, 116.08 38.92, 116.08 38.98, 116.02 38.98, 116.02 38.92))",
                                  "POLYGON ((1 2", "",
                                  "POLYGON ((116.02 38.92, 116.08 38.98, 116.08 38.92, 116.02 38.98, 116.02 38.92))",
                                  "POINT (38.95 116.05)", "POINT (11605 3895)"],
                          "行业代码": "C3120", "建设性质": "新建"})
    frame.to_csv(tmp_path / "r.csv", index=False)
    result = read_back(_screened(engine, tmp_path / "r.csv", tmp_path / "o.csv"))
    assert list(result["verdict"]) == ["prohibited"] + ["error"] * 5
    assert "not valid WKT" in result["error"][1]
    assert "'wkt': missing" in result["error"][2]
    assert "'wkt': invalid geometry (Self-intersection" in result["error"][3]
    assert "swapped" in result["error"][4]
    assert "give crs" in result["error"][5]  # the API names its parameter (the CLI says --crs)
    layer = gpd.GeoDataFrame({"industry": ["C3120"], "type": ["new"]},
                             geometry=[shapely.Point(116.05, 38.95)], crs=GEOGRAPHIC).to_crs(4527)
    layer.to_file(tmp_path / "p.gpkg")
    result = read_back(_screened(engine, tmp_path / "p.gpkg", tmp_path / "p.csv"))
    assert list(result["verdict"]) == ["prohibited"]


def test_empty_and_header_only_files_and_overwriting_the_input(engine, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="cannot parse as CSV"):
        screen(engine, empty, tmp_path / "o.csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text("项目名称,经度,纬度,行业代码\n", encoding="utf-8")
    summary = screen(engine, header_only, tmp_path / "o.csv")
    assert summary.rows == 0 and len(read_back(tmp_path / "o.csv")) == 0
    with pytest.raises(InputError, match="is the input registry"):
        screen(engine, header_only, header_only)
    assert header_only.read_text(encoding="utf-8") == "项目名称,经度,纬度,行业代码\n"


def test_geojson_coordinates_never_exceed_seven_decimals():
    from zoning.outputs.writers import feature_strings

    rng = np.random.default_rng(1)
    xy = np.column_stack([rng.uniform(73, 135, 2000), rng.uniform(18, 54, 2000)])
    points = shapely.points(xy)
    hull = shapely.Polygon(xy[:50]).convex_hull  # GEOS gives it clockwise
    geoms = np.array([*points, hull], dtype=object)
    texts = feature_strings(pd.DataFrame(index=range(len(geoms))), geoms)
    for text, original in zip(texts[:-1], xy):
        geometry = text[text.index('"geometry":'):]
        assert not re.search(r"\.\d{8}", geometry), geometry  # the text, not the parsed float
        assert np.allclose(json.loads(text)["geometry"]["coordinates"], original, atol=5.1e-8, rtol=0)
    polygon = json.loads(texts[-1])["geometry"]
    assert polygon["type"] == "Polygon"
    assert shapely.geometry.shape(polygon).exterior.is_ccw


# ---- found by trying to break it ------------------------------------------------------

def test_awkward_columns_survive_every_format(engine, tmp_path):
    frame = registry_frame(ROWS[:3])
    frame["FID"] = ["1", "2", "3"]
    frame["Remark"], frame["remark"] = "a", "b"
    frame["公式"] = ["=HYPERLINK(\"http://example.com\")", "=1+1", "普通"]
    src = tmp_path / "r.csv"
    frame.to_csv(src, index=False)
    first = _screened(engine, src, tmp_path / "s1.csv")
    second = _screened(engine, first, tmp_path / "s2.csv")  # screened twice: verdict, then zoning_verdict…
    for suffix in (".gpkg", ".parquet", ".xlsx", ".geojson", ".csv"):
        summary = screen(engine, second, tmp_path / f"s3{suffix}")
        result = read_back(tmp_path / f"s3{suffix}")
        assert len(result) == 3
        verdicts = [c for c in result.columns if c.startswith("zoning_verdict")]
        assert list(result[verdicts[-1]]) == expected_verdicts(ROWS[:3])
        if suffix == ".gpkg":
            assert any("'FID' is named 'FID_1'" in n for n in summary.notes)
    book = openpyxl.load_workbook(tmp_path / "s3.xlsx")
    for sheet in ("screened", "prohibited"):  # row 1 is prohibited: it is on both sheets
        header = [c.value for c in book[sheet][1]]
        cell = book[sheet].cell(row=2, column=header.index("公式") + 1)
        # text, not a live formula (the CSV screened in between made it inert with a leading apostrophe)
        assert cell.data_type == "s" and cell.value.lstrip("'").startswith("=HYPERLINK")
        assert book[sheet].cell(row=2, column=header.index("建设性质") + 1).value == "新建"


def test_placeholders_numbers_and_excel_quirks(engine, tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["项目名称", "经度", "纬度", "行业代码", "建设性质", "VOCs(t/a)"])
    ws.append(["斜杠", 115.95, 38.95, "C2614", "新建", "/"])  # "none given": undecided, not zero
    ws.append(["千分位", 115.95, 38.95, "C2614", "新建", "1,234.5"])
    ws.append(["全角", 115.95, 38.95, "C2614", "新建", "１２"])
    ws.append(["布尔", 115.95, 38.95, "C2614", "新建", True])
    ws.append(["数字代码", 115.95, 38.95, 311, "新建", 1])  # A0311 with its leading zero lost
    ws.append(["四位数字", 116.05, 38.95, 3120, "新建", 1])
    book.save(tmp_path / "r.xlsx")
    result = read_back(_screened(engine, tmp_path / "r.xlsx", tmp_path / "o.csv"))
    assert list(result["verdict"]) == ["undetermined", "restricted", "restricted", "error", "error", "prohibited"]
    assert result["missing"][0] == "VOCs"
    assert "must be a number" in result["error"][3]
    assert "stored as a number" in result["error"][4]


def test_outputs_never_replace_the_engines_inputs(tmp_path):
    units = make_units(TWO_UNITS)
    units.to_file(tmp_path / "units.gpkg")
    (tmp_path / "list.yaml").write_text(
        "id: t\ntitle: t\nissuer: t\nversion: '1'\neffective_from: 2020-01-01\nlevel: province\n"
        "source: {document: d, issuer: t, date: 2020-01-01}\n"
        "clauses:\n  - {id: A, dimension: spatial_layout, effect: prohibit, conditions: {industry: [C31]}, text: t,"
        " source: {article: '1'}}\n", encoding="utf-8")
    engine = Engine.load(tmp_path / "units.gpkg", [tmp_path / "list.yaml"])
    src = tmp_path / "r.csv"
    registry_frame(ROWS[:2]).to_csv(src, index=False)
    with pytest.raises(InputError, match="unit, zone or rule files"):
        screen(engine, src, tmp_path / "units.gpkg")
    from zoning.outputs.unit_export import export_units

    with pytest.raises(ParameterError, match="loaded from"):  # an output that is an input: a usage error
        export_units(engine, tmp_path / "units.gpkg")
    assert len(gpd.read_file(tmp_path / "units.gpkg")) == 2


def test_a_multi_layer_geopackage_reads_the_first_layer_and_says_so(engine, tmp_path):
    src = tmp_path / "two.gpkg"
    points = gpd.GeoDataFrame({"industry": ["C3120"], "type": ["new"]},
                              geometry=[shapely.Point(116.05, 38.95)], crs=GEOGRAPHIC)
    points.to_file(src, layer="a")
    points.assign(industry="I6513").to_file(src, layer="b")
    summary = screen(engine, src, tmp_path / "o.csv")
    assert read_back(tmp_path / "o.csv")["verdict"].tolist() == ["prohibited"]
    assert any("layer 'a' of 2" in n for n in summary.notes)
    screen(engine, src, tmp_path / "o.csv", layer="b")
    assert read_back(tmp_path / "o.csv")["verdict"].tolist() == ["permitted"]


def test_damaged_workbooks_and_more_header_cases(engine, tmp_path):
    import zipfile

    book = openpyxl.Workbook()
    book.active.append(HEADERS)
    for row in ROWS * 20:
        book.active.append(list(row[:7]))
    book.save(tmp_path / "good.xlsx")
    with zipfile.ZipFile(tmp_path / "good.xlsx") as src, zipfile.ZipFile(tmp_path / "cut.xlsx", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, data[: len(data) // 2] if item.filename.endswith("sheet1.xml") else data)
    with pytest.raises(DataError, match="damaged|cannot read"):
        screen(engine, tmp_path / "cut.xlsx", tmp_path / "o.csv")
    assert not (tmp_path / "o.csv").exists()

    book = openpyxl.Workbook()
    book.active.append(["项目名称", "经度", "纬度", "二氧化硫", "二氧化硫"])
    book.save(tmp_path / "dup.xlsx")
    with pytest.raises(DataError, match="'二氧化硫' twice"):
        screen(engine, tmp_path / "dup.xlsx", tmp_path / "o.csv")
    for header in ("锅炉容量(MW)", "综合能耗(kgce)", "二氧化硫(g)", "用水量(L)"):
        with pytest.raises(InputError, match="is not a unit of"):
            recognise_columns(["lon", "lat", header])
    assert "particulate" not in recognise_columns(["lon", "lat", "颗粒物（PM10）"]).scales


def test_scaled_values_land_exactly_on_thresholds(tmp_path):
    lst = make_list([{"id": "COD", "effect": "prohibit", "conditions": {"attr": "COD", "ge": 3}}])
    engine = Engine(make_units(TWO_UNITS), [lst])
    pd.DataFrame({"lon": ["115.95"], "lat": ["38.95"], "COD(万吨/年)": ["0.0003"]}).to_csv(tmp_path / "r.csv",
                                                                                     index=False)
    assert read_back(_screened(engine, tmp_path / "r.csv", tmp_path / "o.csv"))["verdict"][0] == "prohibited"
