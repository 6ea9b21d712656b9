"""Typed outputs opened by real clients, and workbooks as bureaus keep them (issue 20, points 1 and 2).

* GDAL from Debian (``ogrinfo``, package ``gdal-bin``) opens every vector
  output without a warning and sees numbers as Real/Integer. GDAL 3.6 (Debian
  12) has no ``-json`` and no Parquet driver: the text listing is read, and
  GeoParquet is read back with pyarrow where ``ogrinfo`` cannot. Set
  ``ZONING_REQUIRE_GDAL=1`` (``.ci/run`` does) to fail instead of skipping
  when ``ogrinfo`` is missing.
* The Excel output read back by python-calamine and openpyxl: numeric cells,
  autofilter, frozen header, print set-up, the Chinese verdict column.
* Two-row merged headers, in ``.xlsx`` (made here with XlsxWriter) and in
  ``.ods`` and ``.xls`` (tests/data: the same workbook converted by
  LibreOffice, ``soffice --headless --convert-to ods|xls``). No ``.xlsb``
  fixture: no tool here writes one without a new dependency.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
import python_calamine
import shapely
import xlsxwriter

from zoning import DataError, Engine
from zoning.geodesy import GEOGRAPHIC
from zoning.inputs.registry import open_registry
from zoning.limits import Limits, using
from zoning.sample import registry_path
from zoning.screening import screen

DATA = Path(__file__).parent / "data"
NUMERIC = ("lon", "lat", "SO2", "NOx", "VOCs", "COD")
FLAGS = ("in_park", "chp")
VERDICTS = {"prohibited": "禁止", "restricted": "限制", "undetermined": "待定", "permitted": "允许",
            "not_covered": "不在管控单元内"}


@pytest.fixture(scope="module")
def engine():
    return Engine.load()


@pytest.fixture(scope="module")
def ogrinfo():
    found = shutil.which("ogrinfo")
    if found is None:
        if os.environ.get("ZONING_REQUIRE_GDAL") == "1":
            pytest.fail("ogrinfo (Debian's gdal-bin) is required here (ZONING_REQUIRE_GDAL=1)")
        pytest.skip("ogrinfo not installed (apt-get install gdal-bin)")
    return found


def gdal_fields(ogrinfo: str, path: Path) -> dict[str, str]:
    """{field: OGR type} of the file's one layer, as ``ogrinfo`` lists it; nothing may go to stderr."""
    proc = subprocess.run([ogrinfo, "-ro", "-so", "-al", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", f"ogrinfo warned on {path.name}: {proc.stderr}"
    fields = dict(re.findall(r"^(\S[^:\n]*): (\w+(?:\(\w+\))?) \(", proc.stdout, flags=re.M))
    assert "Feature Count" not in fields
    return fields


def has_gdal_driver(ogrinfo: str, name: str) -> bool:
    formats = subprocess.run([ogrinfo, "--formats"], capture_output=True, text=True, timeout=60).stdout
    return any(line.strip().startswith(f"{name} ") for line in formats.splitlines())


@pytest.fixture(scope="module")
def screened(engine, tmp_path_factory):
    """The sample registry (CSV) screened to every typed format."""
    out = tmp_path_factory.mktemp("typed")
    summaries = {suffix: screen(engine, registry_path(), out / f"s{suffix}")
                 for suffix in (".gpkg", ".geojson", ".geojsons", ".parquet", ".xlsx", ".csv")}
    return out, summaries


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".geojsons"])
def test_gdal_opens_every_vector_output_without_a_warning_and_sees_numbers(screened, ogrinfo, suffix):
    out, _ = screened
    fields = gdal_fields(ogrinfo, out / f"s{suffix}")
    for name in NUMERIC:
        assert fields[name] == "Real", (name, fields[name])
    for name in FLAGS:
        assert fields[name] == "Integer(Boolean)", (name, fields[name])
    for name in ("project_id", "industry", "verdict", "unit_types", "error"):  # codes and results stay text
        assert fields[name] == "String", (name, fields[name])


def test_the_geopackage_is_version_1_2(screened):
    import sqlite3

    out, _ = screened
    with sqlite3.connect(out / "s.gpkg") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200  # GPKG 1.2: GDAL 3.6 opens it quietly
    layer = gpd.read_file(out / "s.gpkg")
    assert layer["SO2"].dtype.kind == "f" and layer["in_park"].dtype.kind in "bfO"  # pyogrio: NaN for a null flag
    assert layer["SO2"].isna().any() and not (layer["error"] == "").any()  # blanks are null, not ""


def test_the_geoparquet_is_typed_with_a_bbox_covering(engine, ogrinfo, tmp_path):
    path = tmp_path / "s.parquet"
    screen(engine, registry_path(), path, chunk_size=64)  # several row groups, one schema
    if has_gdal_driver(ogrinfo, "Parquet"):
        fields = gdal_fields(ogrinfo, path)
        assert all(fields[n] == "Real" for n in NUMERIC)
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    assert all(str(schema.field(n).type) == "double" for n in NUMERIC)
    assert str(schema.field("in_park").type) == "bool"  # chp is blank in the first 64 rows: text, which fits all
    assert str(schema.field("verdict").type) == "string"
    assert str(schema.field("bbox").type) == "struct<xmin: double, ymin: double, xmax: double, ymax: double>"
    geo = json.loads(schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0"
    assert geo["columns"]["geometry"]["covering"] == {
        "bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}}
    table = parquet.read()
    assert parquet.metadata.num_row_groups > 1  # chunks of 64 rows: types held across row groups
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    bbox = table.column("bbox").to_pylist()
    present = [i for i, g in enumerate(geoms) if g is not None and not g.is_empty]
    assert present and all(bbox[i]["xmin"] == shapely.bounds(geoms[i])[0] for i in present)
    assert all(bbox[i] is None for i in range(len(geoms)) if i not in present)
    frame = gpd.read_parquet(path)  # geopandas reads it as GeoParquet
    assert frame.crs.equals(GEOGRAPHIC) and frame["NOx"].dtype.kind == "f"


def test_geojson_properties_are_typed_and_blanks_null(screened):
    out, _ = screened
    feature = json.loads((out / "s.geojson").read_text(encoding="utf-8"))["features"][1]["properties"]
    assert isinstance(feature["SO2"], float) and feature["in_park"] is True and feature["chp"] is None
    assert feature["project_id"] == "P0002" and feature["error"] is None


def test_csv_keeps_cells_as_read(screened):
    out, _ = screened
    text = (out / "s.csv").read_text(encoding="utf-8-sig").splitlines()
    assert '"P0002","示例瑞岭钢铁有限公司炼钢新建项目","118.527849","38.986622","C3120","new","162.66"' in text[2]


def test_the_excel_output_has_numbers_filter_print_setup_and_chinese_verdicts(screened):
    out, summaries = screened
    book = python_calamine.CalamineWorkbook.from_path(str(out / "s.xlsx"))
    assert book.sheet_names == ["screened", "prohibited", "restricted", "summary"]
    rows = book.get_sheet_by_name("screened").to_python()
    header, first = rows[0], rows[1]
    assert header[header.index("verdict") + 1] == "准入判定"
    assert isinstance(first[header.index("lon")], float) and isinstance(first[header.index("VOCs")], float)
    assert first[header.index("SO2")] == ""  # a blank stays blank
    assert isinstance(rows[2][header.index("in_park")], bool)
    for row in rows[1:]:
        assert row[header.index("准入判定")] == VERDICTS.get(row[header.index("verdict")], "错误")
    assert len(rows) == 1 + summaries[".xlsx"].rows
    sheet = openpyxl.load_workbook(out / "s.xlsx")["screened"]
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{len(rows)}"
    assert sheet.freeze_panes == "A2" and sheet.print_title_rows == "$1:$1"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToHeight == 0  # 1 page wide
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.column_dimensions["B"].width > 20  # the project names are long: a wide column
    assert sheet.cell(row=2, column=header.index("lon") + 1).data_type == "n"
    rules = [r for cf in sheet.conditional_formatting for r in cf.rules]
    assert any('"prohibited"' in r.formula[0] for r in rules) and any('"禁止"' in r.formula[0] for r in rules)
    flagged = openpyxl.load_workbook(out / "s.xlsx")["prohibited"]
    assert flagged.max_row == 1 + summaries[".xlsx"].verdicts["prohibited"] and flagged.auto_filter.ref


def test_excel_text_that_looks_like_markup_or_a_formula_stays_text(engine, tmp_path):
    src = tmp_path / "r.csv"
    hostile = ["<r><t>x</t></r>", "=1+1", "<r></r></is></c><c r=\"Z9\"><f>1+1</f></c><c><is><r></r>", "a\x01b"]
    pd.DataFrame({"项目名称": hostile, "经度": 115.97, "纬度": 38.93}).to_csv(src, index=False)
    screen(engine, src, tmp_path / "o.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "o.xlsx")["screened"]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 2 + len(hostile))]
    assert [c.value for c in cells][:3] == hostile[:3] and all(c.data_type == "s" for c in cells)
    assert sheet["Z9"].value is None


def test_types_hold_across_chunks_and_misfits_are_null_with_a_note(engine, tmp_path, ogrinfo):
    src = tmp_path / "r.csv"
    src.write_text("项目名称,经度,纬度,VOCs,备注,代码\n"
                   "a,115.97,38.93,1.5,x,0311\n"
                   "b,115.97,38.93,2,y,0312\n"
                   "c,115.97,38.93,n/a,z,0313\n", encoding="utf-8")
    summary = screen(engine, src, tmp_path / "o.gpkg", chunk_size=2)
    fields = gdal_fields(ogrinfo, tmp_path / "o.gpkg")
    assert fields["VOCs"] == "Real" and fields["代码"] == "String" and fields["经度"] == "Real"
    layer = gpd.read_file(tmp_path / "o.gpkg")
    assert list(layer["VOCs"].isna()) == [False, False, True] and list(layer["代码"]) == ["0311", "0312", "0313"]
    assert any("column 'VOCs': 1 cell(s) that are not numbers" in n for n in summary.notes)


def test_types_of_a_typed_input_are_kept(engine, tmp_path, ogrinfo):
    layer = gpd.GeoDataFrame({"项目名称": ["a", "b"], "行业代码": ["C2614", "C3120"], "建设性质": ["new", "new"],
                              "人数": pd.array([12, 30], dtype="int64"), "VOCs": [1.5, None],
                              "入园": [True, False]},
                             geometry=gpd.points_from_xy([115.97, 118.5], [38.93, 38.98]), crs=GEOGRAPHIC)
    layer.to_file(tmp_path / "in.gpkg")
    screen(engine, tmp_path / "in.gpkg", tmp_path / "o.gpkg")
    fields = gdal_fields(ogrinfo, tmp_path / "o.gpkg")
    assert fields["人数"] in ("Integer", "Integer64") and fields["VOCs"] == "Real"
    assert fields["入园"] == "Integer(Boolean)"
    screen(engine, tmp_path / "in.gpkg", tmp_path / "o.parquet")
    schema = pq.read_schema(tmp_path / "o.parquet")
    assert str(schema.field("人数").type) == "int64" and str(schema.field("入园").type) == "bool"


# ---- workbooks: two-row headers, .ods, .xls -------------------------------------------------------------

def two_row_header_workbook(path: Path) -> Path:
    """The sample registry's first rows under a title row and a two-row header with merged cells (the
    workbook tests/data/two_row_header.ods and .xls were converted from)."""
    rows = pd.read_csv(registry_path(), dtype=str, keep_default_na=False).head(6)
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("项目清单")
    ws.merge_range("A1:G1", "某市建设项目清单（示例）")
    for col, name in enumerate(["项目名称", "行业代码", "建设性质"]):
        ws.merge_range(1, col, 2, col, name)
    ws.merge_range("D2:E2", "坐标")
    ws.write_row("D3", ["经度", "纬度"])
    ws.merge_range("F2:G2", "排放量(t/a)")
    ws.write_row("F3", ["NOx", "VOCs"])
    for r, row in enumerate(rows.itertuples(), start=3):
        ws.write_row(r, 0, [row.name, row.industry, row.type])
        ws.write_number(r, 3, float(row.lon))
        ws.write_number(r, 4, float(row.lat))
        for c, v in ((5, row.NOx), (6, row.VOCs)):
            if v:
                ws.write_number(r, c, float(v))
    book.close()
    return path


@pytest.fixture(scope="module")
def flat_verdicts(engine, tmp_path_factory):
    """Verdicts of the same six rows from the plain sample CSV (its other attributes dropped)."""
    out = tmp_path_factory.mktemp("flat")
    rows = pd.read_csv(registry_path(), dtype=str, keep_default_na=False).head(6)
    rows[["name", "industry", "type", "lon", "lat", "NOx", "VOCs"]].to_csv(out / "r.csv", index=False)
    screen(engine, out / "r.csv", out / "o.csv")
    return list(pd.read_csv(out / "o.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")["verdict"])


@pytest.mark.parametrize("source", ["made.xlsx", "two_row_header.ods", "two_row_header.xls"])
def test_a_two_row_merged_header_is_understood(engine, tmp_path, flat_verdicts, source):
    path = two_row_header_workbook(tmp_path / source) if source == "made.xlsx" else DATA / source
    registry = open_registry(path)
    assert registry.headers == ["项目名称", "行业代码", "建设性质", "坐标·经度", "坐标·纬度", "排放量(t/a)·NOx",
                                "排放量(t/a)·VOCs"]
    summary = screen(engine, path, tmp_path / "o.csv")
    assert summary.rows == 6 and summary.errors == {}
    assert "lon←坐标·经度" in summary.columns and "VOCs←排放量(t/a)·VOCs" in summary.columns
    assert any("two header rows (sheet rows 2 and 3) joined" in n for n in summary.notes)
    out = pd.read_csv(tmp_path / "o.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(out["verdict"]) == flat_verdicts
    assert out["坐标·经度"][0] == "115.97" and out["排放量(t/a)·VOCs"][0] == "12.5"


def test_a_header_whose_upper_row_names_one_field_is_joined_too(tmp_path):
    path = tmp_path / "r.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet()
    ws.merge_range("A1:A2", "项目名称")  # the upper row alone names one field: the header row is the lower one
    ws.merge_range("B1:C1", "坐标")
    ws.write_row("B2", ["经度", "纬度"])
    ws.write_row("A3", ["甲", 115.97, 38.93])
    book.close()
    registry = open_registry(path)
    assert registry.headers == ["项目名称", "坐标·经度", "坐标·纬度"]
    assert [list(c[0].iloc[0]) for c in registry.chunks()] == [["甲", 115.97, 38.93]]


def test_a_plain_header_over_text_rows_is_not_joined(tmp_path):
    path = tmp_path / "r.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet()
    ws.write_row("A1", ["项目名称", "经度", "纬度", "备注"])
    ws.write_row("A2", ["甲", "115°58′E", "38°56′N", "名称"])  # a data row of text only
    book.close()
    registry = open_registry(path)
    assert registry.headers == ["项目名称", "经度", "纬度", "备注"]
    assert len(next(registry.chunks())[0]) == 1


def test_an_ods_that_repeats_cells_beyond_the_limit_is_refused(tmp_path):
    with zipfile.ZipFile(DATA / "two_row_header.ods") as src:
        content = src.read("content.xml").decode("utf-8")
        bomb = ('<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
                'table:number-columns-repeated="1000" office:value-type="string"><text:p>A</text:p>'
                '</table:table-cell></table:table-row>')
        content = content.replace("</table:table>", bomb + "</table:table>", 1)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                dst.writestr(item, content if item.filename == "content.xml" else src.read(item.filename))
    (tmp_path / "bomb.ods").write_bytes(out.getvalue())
    assert (tmp_path / "bomb.ods").stat().st_size < 100_000
    with pytest.raises(DataError, match="content.xml repeats cells to more than 33,554,432 cells"):
        open_registry(tmp_path / "bomb.ods")
    open_registry(DATA / "two_row_header.ods")  # LibreOffice's own repeats of empty cells cost nothing


def test_an_xls_larger_than_the_limit_is_refused(tmp_path):
    with using(Limits(expanded_mb=1)):
        big = tmp_path / "big.xls"
        big.write_bytes((DATA / "two_row_header.xls").read_bytes() + b"\0" * (2 << 20))
        with pytest.raises(DataError, match="big.xls: 2 MB, more than the limit of 1 MB"):
            open_registry(big)
