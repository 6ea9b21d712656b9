"""Hostile and broken input: bounded memory, inert outputs, one-line messages, consistent exit codes.

Each section is one point of the hardening (README, "Limits and safety"). Where
memory matters the command runs in a child process that reports its own peak
resident memory (``resource``), so that the bound is measured, not assumed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from conftest import TWO_UNITS, make_units, run
from hypothesis import given, settings
from hypothesis import strategies as st

from zoning import DataError, Engine, sample
from zoning.geodesy import GEOGRAPHIC
from zoning.inputs.units import load_units
from zoning.limits import Limits, using
from zoning.outputs.writers import _may_start_a_formula, neutralise_formulas, write_table
from zoning.sample import registry_path, rules_dir
from zoning.screening import screen

POINT = ["--lon", "115.97", "--lat", "38.93"]
#: peak memory a refused hostile input may cost the process (the engine and its libraries take ~300 MB)
BOUND_MB = 1000

# The child's own high-water mark (VmHWM): ru_maxrss would also count the test process it was forked from.
_MEASURED = """
import sys
from zoning.cli import main
try:
    main(sys.argv[2:], prog_name="zoning")
finally:
    status = open("/proc/self/status").read()
    kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    with open(sys.argv[1], "w") as out:
        out.write(str(kb // 1024))
"""


def measured(tmp_path, args, *, env=None, timeout=300, stdout=None, preexec=None):
    """Run the CLI in a child process: (exit code, stdout, stderr, peak resident memory in MB)."""
    report = tmp_path / f"peak-{time.monotonic_ns()}.txt"
    proc = subprocess.run([sys.executable, "-c", _MEASURED, str(report), *map(str, args)],
                          stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          env={**os.environ, **(env or {})}, preexec_fn=preexec, text=True)
    peak = int(report.read_text()) if report.exists() else -1
    return proc.returncode, proc.stdout or "", proc.stderr, peak


def one_line(stderr: str, *fragments: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if not ln.startswith("zoning: warning:")]
    assert len(lines) == 1 and lines[0].startswith("zoning: error: "), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def list_doc(clauses, **extra) -> dict:
    return {"id": "t", "title": "t", "issuer": "t", "version": "1", "effective_from": dt.date(2020, 1, 1),
            "level": "province", "source": {"document": "d", "issuer": "t", "date": dt.date(2020, 1, 1)},
            "clauses": clauses, **extra}


# ==== 1 and 7. YAML alias bombs and deep nesting ======================================================

BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]" for p, c in zip("abcdefgh", "bcdefghi")]) + "\n"


@pytest.mark.parametrize("command", [["rules", "validate"], ["check", *POINT, "--rules"]])
def test_a_yaml_alias_bomb_is_refused_with_bounded_memory(tmp_path, command):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS, encoding="utf-8")
    assert len(BILLION_LAUGHS) < 1024
    code, out, err, peak = measured(tmp_path, [*command, bomb])
    assert code == 1 and peak < BOUND_MB, (code, peak, err)
    text = out + err
    assert "anchors and aliases" in text and "bomb.yaml:1" in text and "--max-rule-items" in text


def test_a_normal_looking_list_reusing_an_anchor_too_often_is_refused(tmp_path):
    codes = ", ".join(f"C{3000 + i}" for i in range(0, 600, 3) if f"{3000 + i}")
    body = yaml.safe_dump(list_doc([]), allow_unicode=True).replace("clauses: []\n", "")
    clauses = "".join(f"  - {{id: K{i}, dimension: spatial_layout, effect: prohibit, conditions: *big, text: t, "
                      f"source: {{article: '{i}'}}}}\n" for i in range(3000))
    text = f"{body}big: &big {{any: [{', '.join(['{industry: [C3120]}'] * 200)}]}}\nclauses:\n{clauses}"
    path = tmp_path / "list.yaml"
    path.write_text(text, encoding="utf-8")
    assert codes
    with pytest.raises(DataError, match="anchors and aliases .* expand the file"):
        Engine.load(rules=[path])


def test_a_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n", encoding="utf-8")
    result = run(["rules", "validate", path], expect=1)
    assert "recursive anchor" in result.output and "loop.yaml:1" in result.output


@pytest.mark.parametrize("kind", ["flow", "not-chain"])
def test_deep_nesting_is_a_clear_error_not_a_recursion_error(tmp_path, kind):
    path = tmp_path / "deep.yaml"
    if kind == "flow":
        path.write_text("x: " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    else:
        doc = list_doc([{"id": "K", "dimension": "spatial_layout", "effect": "prohibit", "text": "t",
                         "source": {"article": "1"}}])
        head = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).rstrip("\n")  # the clause comes last
        chain = "".join("  " * (i + 2) + "not:\n" for i in range(3000)) + "  " * 3002 + "industry: [C3120]\n"
        path.write_text(head + "\n  conditions:\n" + chain, encoding="utf-8")
    code, out, err, peak = measured(tmp_path, ["check", *POINT, "--rules", path])
    assert code == 1 and peak < BOUND_MB
    line = one_line(err, "deep.yaml:", "nested more than 64 levels deep")
    assert "RecursionError" not in line


YAML_GUARDS = [
    (BILLION_LAUGHS, 1, "anchors and aliases"),
    ("a: &a [1, *a]\n", 1, "recursive anchor"),
    ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", 1, "nested more than 64 levels deep"),
    ("x:\n  y: " + "[" * 70 + "]" * 70 + "\n", 2, "nested more than 64 levels deep"),
    ("a: [1, 2\nb: 3\n", 1, "not valid YAML"),
    ("a: 1\na: 2\n", 2, "appears twice"),
    ("d: 2021-02-30\n", 1, "not a valid value"),
]


@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
@pytest.mark.parametrize(("text", "line", "message"), YAML_GUARDS)
def test_the_yaml_guards_hold_with_libyaml_and_the_pure_python_loader(tmp_path, monkeypatch, loader, text, line,
                                                                       message):
    from zoning.rules import yamlfile

    if not hasattr(yaml, loader):
        pytest.skip("PyYAML built without libyaml")
    monkeypatch.setattr(yamlfile, "_LOADER", getattr(yaml, loader))
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        yamlfile.read_yaml(path)
    assert f"f.yaml:{line}:" in str(caught.value)


# ==== 2. Compressed bombs =============================================================================

def workbook_bytes(rows) -> bytes:
    """An .xlsx of ``rows``; text starting with "=" is stored as text, as a cautious office would keep it."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    for cells in book.active.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_member(original: bytes, name: str, write) -> bytes:
    """The workbook ``original`` with member ``name`` written by ``write(stream)``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != name:
                dst.writestr(item, src.read(item.filename))
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=True) as stream:
            write(stream)
    return out.getvalue()


def shared_string_bomb(size: int) -> bytes:
    """An .xlsx whose one shared string (the A2 cell) is ``size`` bytes long."""
    base = workbook_bytes([["项目名称", "经度", "纬度"], ["x", 115.97, 38.93]])
    with zipfile.ZipFile(io.BytesIO(base)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    sheet = sheet.replace('<c r="A2" t="inlineStr"><is><t>x</t></is></c>', '<c r="A2" t="s"><v>3</v></c>')

    def strings(stream):
        stream.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                     b"<si><t>\xe9\xa1\xb9\xe7\x9b\xae\xe5\x90\x8d\xe7\xa7\xb0</t></si><si><t>x</t></si>"
                     b"<si><t>y</t></si><si><t>")
        block = b"A" * (1 << 24)
        for _ in range(size // len(block)):
            stream.write(block)
        stream.write(b"</t></si></sst>")

    with zipfile.ZipFile(io.BytesIO(base)) as z:
        types = z.read("[Content_Types].xml").decode().replace(
            "</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        rels = z.read("xl/_rels/workbook.xml.rels").decode().replace(
            "</Relationships>", '<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/officeDocument/'
                                '2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    base = with_member(base, "[Content_Types].xml", lambda s: s.write(types.encode()))
    base = with_member(base, "xl/_rels/workbook.xml.rels", lambda s: s.write(rels.encode()))
    base = with_member(base, "xl/worksheets/sheet1.xml", lambda s: s.write(sheet.encode()))
    return with_member(base, "xl/sharedStrings.xml", strings)  # last: the large member is never read back


@pytest.fixture(scope="module")
def gigabyte_bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("bomb") / "registry.xlsx"
    path.write_bytes(shared_string_bomb(1536 << 20))  # 1.5 GB of text
    return path


def test_a_workbook_expanding_to_gigabytes_is_refused_before_reading(tmp_path, gigabyte_bomb):
    assert gigabyte_bomb.stat().st_size < 5 << 20
    code, out, err, peak = measured(tmp_path, ["screen", gigabyte_bomb, "-o", tmp_path / "out.csv", "-q"])
    assert code == 1 and peak < BOUND_MB, (code, peak)
    one_line(err, "registry.xlsx", "expands to 1,536 MB", "more than the limit of 1,024 MB", "--max-expanded-mb")
    assert not (tmp_path / "out.csv").exists()


def test_a_workbook_within_the_size_limit_but_with_one_huge_cell_is_refused(tmp_path):
    path = tmp_path / "registry.xlsx"
    path.write_bytes(shared_string_bomb(64 << 20))  # 64 MB in one cell
    code, out, err, peak = measured(tmp_path, ["screen", path, "-o", tmp_path / "out.csv", "-q"])
    assert code == 1 and peak < BOUND_MB
    one_line(err, "xl/sharedStrings.xml", "longer than a cell may be", "--max-cell-chars")


def test_raising_the_limits_lets_a_large_cell_through(tmp_path):
    path = tmp_path / "registry.xlsx"
    path.write_bytes(shared_string_bomb(16 << 20))
    code, out, err, _ = measured(tmp_path, ["--max-cell-chars", 20_000_000, "screen", path, "-o",
                                            tmp_path / "out.csv", "-q"])
    assert code == 0, err
    code, _, err, _ = measured(tmp_path, ["screen", path, "-o", tmp_path / "out2.csv", "-q"],
                               env={"ZONING_CELL_CHARS": "20000000"})
    assert code == 0, err


def test_a_long_text_field_in_a_geopackage_is_refused_naming_row_and_field(tmp_path):
    units = make_units(TWO_UNITS)
    units.loc[1, "spatial_layout"] = "禁" * 5000
    units.to_file(tmp_path / "units.gpkg")
    with using(Limits(cell_chars=1000)), pytest.raises(DataError, match=r"row 2, column 'spatial_layout': a cell "
                                                                         r"of 5,000 characters"):
        load_units(tmp_path / "units.gpkg")
    assert len(load_units(tmp_path / "units.gpkg")) == 2  # within the default limit


# ==== 3. Formula injection =============================================================================

HOSTILE_CELLS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","click")', "+1+1", "@SUM(A1)",
                 "-2+3", "\tx", "\rx"]


def test_csv_output_makes_formulas_inert_and_keeps_numbers(tmp_path):
    rows = [["项目名称", "经度", "纬度", "行业代码", "备注", "数值"]]
    rows += [[cell, 115.97, 38.93, "C2614", cell, -5] for cell in HOSTILE_CELLS]
    src = tmp_path / "registry.xlsx"
    src.write_bytes(workbook_bytes(rows))  # inert text cells in the workbook
    run(["screen", src, "-o", tmp_path / "out.csv", "-q"], expect=0)
    with open(tmp_path / "out.csv", encoding="utf-8-sig", newline="") as f:
        read = list(csv.DictReader(f))
    assert [r["项目名称"] for r in read] == ["'" + c for c in HOSTILE_CELLS]
    assert [r["备注"] for r in read] == ["'" + c for c in HOSTILE_CELLS]
    assert {r["数值"] for r in read} == {"-5"} and {r["经度"] for r in read} == {"115.97"}
    assert all(not v.startswith(("=", "+", "@", "\t", "\r")) for r in read for v in r.values())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="=+-@\t\r'a1.禁 ", max_size=4)), max_size=12),
       st.integers(0, 3), st.booleans())
def test_the_first_byte_scan_finds_every_cell_a_spreadsheet_would_run(cells, cut, large):
    kind = pa.large_string() if large else pa.string()
    # a slice (its cells start at an offset into the buffers), then a chunk of its own
    column = pa.chunked_array([pa.array(cells, type=kind).slice(min(cut, len(cells))), pa.array(["a", None], kind)])
    expected = any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in column.to_pylist() if c)
    assert _may_start_a_formula(column) == expected
    # and what is written: the same as testing the first character of every cell
    (out,) = neutralise_formulas(pa.table({"a": column})).columns
    inert = [c if not c or c[:1] not in "=+-@\t\r" or re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", c)
             else "'" + c for c in column.to_pylist()] if expected else column.to_pylist()
    assert out.to_pylist() == inert


def test_every_csv_zoning_writes_goes_through_the_same_neutralising(tmp_path):
    write_table(pd.DataFrame({"a": HOSTILE_CELLS, "b": ["-1.5e3"] * len(HOSTILE_CELLS)}), tmp_path / "t.csv")
    with open(tmp_path / "t.csv", encoding="utf-8-sig", newline="") as f:
        read = list(csv.DictReader(f))
    assert [r["a"] for r in read] == ["'" + c for c in HOSTILE_CELLS] and {r["b"] for r in read} == {"-1.5e3"}


def test_xlsx_output_keeps_formula_text_as_text(tmp_path):
    src = tmp_path / "registry.csv"
    pd.DataFrame({"项目名称": HOSTILE_CELLS, "经度": 115.97, "纬度": 38.93}).to_csv(src, index=False)
    run(["screen", src, "-o", tmp_path / "out.xlsx", "-q"], expect=0)
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["screened"]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 2 + len(HOSTILE_CELLS))]
    assert all(c.data_type == "s" for c in cells)


# ==== 4, 11. CSV rows: huge cells, malformed rows =======================================================

def test_a_fifty_megabyte_single_line_is_a_one_line_error(tmp_path):
    src = tmp_path / "huge.csv"
    with open(src, "w", encoding="utf-8") as f:
        f.write("项目名称,经度,纬度\n")
        f.write("A" * (50 << 20) + ",115.97,38.93\n")
    code, out, err, peak = measured(tmp_path, ["screen", src, "-o", tmp_path / "out.csv", "-q"])
    assert code == 1 and peak < BOUND_MB, (code, peak, err)
    one_line(err, "huge.csv", "row 2 ", "--max-cell-chars")


def test_a_row_with_an_unquoted_comma_is_an_error_row_and_the_run_goes_on(tmp_path):
    src = tmp_path / "registry.csv"
    src.write_text("项目名称,地址,经度,纬度,行业代码\n"
                   "甲,石家庄,115.97,38.93,C2614\n"
                   "乙,北京市,朝阳区,115.97,38.93,C2614\n"
                   "丙,保定,115.97,38.93,C3120\n", encoding="utf-8")
    result = run(["screen", src, "-o", tmp_path / "out.csv"], expect=0)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(out["项目名称"]) == ["甲", "乙", "丙"]
    assert list(out["verdict"])[1] == "error" and "error" not in (list(out["verdict"])[0], list(out["verdict"])[2])
    assert "line has 6 cells but the header has 5" in out["error"][1] and "'C2614'" in out["error"][1]
    assert "malformed row: row 3" in result.stderr  # the summary is on stderr


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_malformed_rows_keep_their_place_whatever_the_chunks(engine_sample, tmp_path, chunk):
    lines = ["项目名称,经度,纬度"] + [f"p{i},115.97,38.93" if i % 3 else f"p{i},x,115.97,38.93" for i in range(10)]
    src = tmp_path / "r.csv"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    screen(engine_sample, src, tmp_path / "o.csv", chunk_size=chunk)
    out = pd.read_csv(tmp_path / "o.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(out["项目名称"]) == [f"p{i}" for i in range(10)]
    assert [v == "error" for v in out["verdict"]] == [i % 3 == 0 for i in range(10)]


@pytest.fixture(scope="module")
def engine_sample():
    return Engine.load()


# ==== 5. A damaged workbook ===========================================================================

def test_a_workbook_with_a_damaged_sheet_is_a_one_line_error(tmp_path):
    good = workbook_bytes([["项目名称", "经度", "纬度"], ["x", 115.97, 38.93]])
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    damaged = sheet[:len(sheet) // 2]  # cut off in the middle of the cells
    src = tmp_path / "damaged.xlsx"
    src.write_bytes(with_member(good, "xl/worksheets/sheet1.xml", lambda s: s.write(damaged.encode())))
    result = run(["screen", src, "-o", tmp_path / "out.csv", "-q"])
    assert result.exit_code == 1
    one_line(result.stderr, "damaged.xlsx", "cannot read as an Excel workbook")


def test_a_workbook_with_damaged_styles_is_still_read(tmp_path):
    """Styles do not hold data: a workbook whose styles part is broken is read all the same."""
    good = workbook_bytes([["项目名称", "经度", "纬度"], ["x", 115.97, 38.93]])
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        styles = z.read("xl/styles.xml").decode()
    damaged = styles.replace("<patternFill", "<font").replace("</patternFill>", "</font>")  # openpyxl: TypeError
    src = tmp_path / "damaged.xlsx"
    src.write_bytes(with_member(good, "xl/styles.xml", lambda s: s.write(damaged.encode())))
    run(["screen", src, "-o", tmp_path / "out.csv", "-q"], expect=0)


# ==== 6. Full devices =================================================================================

@pytest.mark.parametrize("fmt", ["text", "json"])
def test_stdout_on_a_full_device_is_a_one_line_error(tmp_path, fmt):
    with open("/dev/full", "w") as full:
        code, _, err, _ = measured(tmp_path, ["check", *POINT, "--industry", "C2614", "--format", fmt], stdout=full)
    assert code == 1
    one_line(err, "cannot write to standard output", "No space left on device")


def _small_files():
    resource_module = __import__("resource")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails (EFBIG) instead of killing
    resource_module.setrlimit(resource_module.RLIMIT_FSIZE, (20_000, 20_000))


def test_an_output_file_that_cannot_be_completed_leaves_nothing_behind(tmp_path):
    code, _, err, _ = measured(tmp_path, ["screen", registry_path(), "-o", tmp_path / "out.csv", "-q"],
                               preexec=_small_files)
    assert code == 1
    one_line(err, "File too large")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("peak-")] == []


# ==== 8. Layers in the wrong CRS ======================================================================

def test_lon_lat_declared_as_web_mercator_is_refused(tmp_path):
    units = make_units(TWO_UNITS).set_crs(3857, allow_override=True)
    units.to_file(tmp_path / "units.gpkg")
    with pytest.raises(DataError, match="look like lon/lat degrees, but the layer says its CRS is .*3857"):
        load_units(tmp_path / "units.gpkg")


def test_metres_declared_as_degrees_is_refused(tmp_path):
    units = make_units(TWO_UNITS).to_crs(4527).set_crs(4490, allow_override=True)
    units.to_file(tmp_path / "units.gpkg")
    result = run(["check", *POINT, "--units", tmp_path / "units.gpkg", "--rules", rules_dir()])
    one_line(result.stderr, "which are not degrees", "EPSG:4490", "projected metres")
    assert result.exit_code == 1


def test_a_layer_outside_china_is_refused(tmp_path):
    units = make_units([("ZH13063230001", 3, (2.0, 48.0, 2.5, 48.5))])  # Paris
    units.to_file(tmp_path / "units.gpkg")
    with pytest.raises(DataError, match="outside China"):
        load_units(tmp_path / "units.gpkg")


def test_a_layer_without_features_says_so(tmp_path):
    gpd.GeoDataFrame({"code": [], "type": []}, geometry=[], crs=GEOGRAPHIC).to_file(tmp_path / "empty.gpkg")
    with pytest.raises(DataError, match="has no features"):
        load_units(tmp_path / "empty.gpkg")


# ==== 9. Interrupted runs ============================================================================

def test_sigterm_removes_the_partial_output(tmp_path):
    big = tmp_path / "big.csv"
    frame = pd.read_csv(registry_path(), dtype=str, keep_default_na=False)
    pd.concat([frame] * 1000, ignore_index=True).to_csv(big, index=False)  # 200,000 rows
    out = tmp_path / "out.gpkg"
    proc = subprocess.Popen([sys.executable, "-m", "zoning", "screen", big, "-o", out, "--chunk-size", "5000", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.gpkg.*.partial.gpkg")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.gpkg.*")), "the run never started writing"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "Traceback" not in err
    assert not out.exists() and list(tmp_path.glob(".out.gpkg.*")) == []


def test_a_partial_file_left_by_a_killed_run_is_removed_by_the_next(tmp_path):
    out = tmp_path / "out.csv"
    stale = tmp_path / ".out.csv.999999999.abc123.partial.csv"  # no such process
    stale.write_text("half")
    alive = tmp_path / f".out.csv.{os.getpid()}.def456.partial.csv"  # a running process: left alone
    alive.write_text("half")
    result = run(["screen", registry_path(), "-o", out], expect=0)  # (-q would silence the warning)
    assert not stale.exists() and alive.exists() and out.exists()
    assert f"removed {stale.name}" in result.stderr


# ==== 10. Exit codes and messages: one rule for every command =========================================

@pytest.fixture
def layers(tmp_path):
    make_units(TWO_UNITS).to_file(tmp_path / "units.gpkg")
    doc = list_doc([{"id": "K", "dimension": "spatial_layout", "effect": "prohibit", "text": "t",
                     "conditions": {"industry": ["C3120"]}, "source": {"article": "1"}}])
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return tmp_path / "units.gpkg"


CASES = {  # (command, expected exit, fragment of the one-line message)
    "check, missing unit layer": (["check", *POINT, "--units", "MISSING.gpkg", "--rules", "RULES"], 1, "no such file"),
    "check, units without rules": (["check", *POINT, "--units", "UNITS"], 2, "without --rules"),
    "check, site of an unsupported kind": (["check", "--site", "/etc/passwd"], 1, "unknown format"),
    "check, site that is missing": (["check", "--site", "MISSING.kml"], 1, "no such file"),
    "screen, missing registry": (["screen", "MISSING.csv", "-o", "OUT.csv"], 1, "no such file"),
    "screen, output is the input": (["screen", "REGISTRY", "-o", "REGISTRY"], 2, "is the input registry"),
    "screen, unknown output format": (["screen", "REGISTRY", "-o", "OUT.docx"], 1, "unknown format"),
    "report, unknown format": (["report", *POINT, "-o", "OUT.pdf"], 1, "a report is written as"),
    "report, output directory missing": (["report", *POINT, "-o", "NODIR/r.docx"], 1, "does not exist"),
    "map, unknown format": (["map", *POINT, "-o", "OUT.gif"], 1, "a map is written as"),
    "export, output is an input": (["export", "units", "--units", "UNITS", "--rules", "OWNRULES", "-o", "UNITS"], 2,
                                   "loaded from"),
    "export, unknown format": (["export", "units", "-o", "OUT.csv"], 1, "write .geojson or .gpkg"),
    "rules validate, missing path": (["rules", "validate", "MISSING.yaml"], 1, "no such rule file"),
    "rules versions, missing path": (["rules", "versions", "MISSING.yaml"], 1, "no such rule file"),
    "rules test, missing path": (["rules", "test", "MISSING.yaml"], 1, "no such rule file"),
    "rules show, missing path": (["rules", "show", "ZH13063210001", "--rules", "MISSING.yaml"], 1,
                                 "no such rule file"),
    "rules diff, missing path": (["rules", "diff", "MISSING.yaml", "RULES", "--registry", "REGISTRY"], 1,
                                 "no such rule file"),
    "rules diff, output is an input": (["rules", "diff", "RULES", "RULES", "--registry", "REGISTRY", "-o", "REGISTRY"],
                                       2, "one of the inputs"),
    "rules import, missing source": (["rules", "import", "MISSING.xlsx", "-o", "OUTDIR", "--issuer", "x", "--date",
                                      "2024-01-01"], 1, "no such file"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_exit_codes_follow_one_rule(tmp_path, layers, name):
    args, code, fragment = CASES[name]
    registry = tmp_path / "registry.csv"
    registry.write_bytes(registry_path().read_bytes())
    names = {"MISSING.gpkg": tmp_path / "missing.gpkg", "MISSING.csv": tmp_path / "missing.csv",
             "MISSING.yaml": tmp_path / "missing.yaml", "MISSING.kml": tmp_path / "missing.kml",
             "MISSING.xlsx": tmp_path / "missing.xlsx", "RULES": rules_dir(), "UNITS": layers,
             "OWNRULES": tmp_path / "own.yaml",
             "REGISTRY": registry, "OUTDIR": tmp_path / "drafts", "NODIR/r.docx": tmp_path / "no" / "r.docx"}
    argv = [names.get(a, tmp_path / a if a.startswith("OUT.") else a) for a in args]
    result = run(argv)
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.strip().splitlines() if not ln.startswith("zoning: warning:")]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.stderr


# ==== No traceback, whatever the input ================================================================

def broken_files(tmp_path: Path) -> dict[str, Path]:
    files = {"empty.csv": b"", "binary.csv": bytes(range(256)) * 64, "empty.xlsx": b"",
             "garbage.xlsx": b"PK\x03\x04garbage", "garbage.gpkg": b"SQLite format 3\x00garbage",
             "bad.geojson": b'{"type": "FeatureCollection", "features": [{"type": "Feature"', "bad.yaml": b"a: [\n",
             "tab.yaml": b"id:\tx\n", "nul.kml": b"\x00\x00", "bad.dxf": b"0\nSECTION\n2\n",
             "bad.txt": b"[\xe5\x9c\xb0"}
    out = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        out[name] = tmp_path / name
    return out


@pytest.mark.parametrize("command", ["check-site", "check-units", "check-rules", "screen", "report", "map", "export",
                                     "validate", "show", "versions", "test", "diff", "import"])
def test_no_broken_input_gives_a_traceback(tmp_path, command):
    files = broken_files(tmp_path)
    for name, path in files.items():
        args = {
            "check-site": ["check", "--site", path], "check-units": ["check", *POINT, "--units", path, "--rules",
                                                                     rules_dir()],
            "check-rules": ["check", *POINT, "--rules", path], "screen": ["screen", path, "-o", tmp_path / "o.csv"],
            "report": ["report", "--site", path, "-o", tmp_path / "r.docx"], "map": ["map", "--site", path, "-o",
                                                                                   tmp_path / "m.png"],
            "export": ["export", "units", "--units", path, "--rules", rules_dir(), "-o", tmp_path / "u.geojson"],
            "validate": ["rules", "validate", path], "show": ["rules", "show", "X", "--rules", path],
            "versions": ["rules", "versions", path], "test": ["rules", "test", path, "--rules", rules_dir()],
            "diff": ["rules", "diff", path, rules_dir(), "--registry", registry_path()],
            "import": ["rules", "import", path, "-o", tmp_path / "d", "--issuer", "x", "--date", "2024-01-01"],
        }[command]
        result = run(args)
        assert result.exit_code in (1, 2), (name, result.exit_code, result.output)
        assert "Traceback" not in result.output and "internal error" not in result.output, (name, result.output)
        assert json.dumps(result.output)  # printable


def test_a_parameter_csv_with_an_overlong_cell_is_one_line_naming_the_file(tmp_path):
    """A parameter table's CSV with a cell over the csv module's limit: a one-line error naming the file."""
    rules = tmp_path / "rules"
    shutil.copytree(sample.rules_dir(), rules)
    (rules / "hebei" / "big.csv").write_text("key,value\n13," + "x" * 200_000 + "\n", encoding="utf-8")
    (rules / "hebei" / "big.parameters.yaml").write_text(
        "parameters:\n  - name: bigcap\n    by: admin\n    file: big.csv\n"
        "    source: {document: d, issuer: i, date: 2021-01-01, article: a}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "zoning", "check", "--rules", str(rules), "--lon", "115.97",
                             "--lat", "38.93"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "big.csv" in result.stderr and "not a readable CSV table" in result.stderr


def test_a_long_cell_after_malformed_rows_is_named_by_its_own_row(tmp_path):
    """Malformed rows (too many cells) before a too-long cell still count in the row number given."""
    src = tmp_path / "registry.csv"
    rows = ["项目名称,经度,纬度"] + ["甲,115.97,38.93"] * 3 + ["乙,北京,朝阳,115.97,38.93"] * 5 \
        + ["丙,115.97,38.93"] * 2 + ["丁" * 2_000 + ",115.97,38.93"]
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = run(["--max-cell-chars", "1000", "screen", src, "-o", tmp_path / "out.csv", "-q"], expect=1)
    one_line(result.output, "registry.csv", "row 12,", "项目名称")
