"""``zoning screen`` and ``zoning export`` through click, on the bundled sample."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from zoning import sample
from zoning.cli import main


def run(args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_screen_the_sample_registry(tmp_path):
    out = tmp_path / "screened.xlsx"
    result = run(["screen", sample.registry_path(), "-o", out])
    assert result.exit_code == 0, result.output
    registry = pd.read_csv(sample.registry_path(), dtype=str, keep_default_na=False)
    screened = pd.read_excel(out, sheet_name="screened", dtype=str, keep_default_na=False)
    assert list(screened["project_id"]) == list(registry["project_id"])
    assert f"Screened {len(registry)} rows" in result.output
    for word in ("prohibited", "restricted", "permitted", "not_covered", "unit type"):
        assert word in result.output
    assert "screening" not in result.output  # no progress bar when not on a terminal


def test_screen_fail_on_and_errors(tmp_path):
    src = tmp_path / "r.csv"
    pd.DataFrame({"项目名称": ["甲", "乙"], "经度": ["115.97", "abc"], "纬度": ["38.93", "38.93"],
                  "行业代码": ["C2614", "C2614"], "建设性质": ["新建", "新建"]}).to_csv(src, index=False,
                                                                               encoding="gbk")
    out = tmp_path / "o.csv"
    result = run(["screen", src, "-o", out, "--fail-on", "prohibited"])
    assert result.exit_code == 3
    assert "bad coordinate: row 3: field '经度'" in result.output  # row 3 as a spreadsheet shows it
    assert "gb18030" in result.output
    result = run(["screen", src, "-o", out, "-q"])
    assert result.exit_code == 0


def test_screen_bad_invocations_are_one_line_errors(tmp_path):
    src = tmp_path / "r.csv"
    pd.DataFrame({"名称": ["甲"], "x": ["1"]}).to_csv(src, index=False)
    result = run(["screen", src, "-o", tmp_path / "o.csv"])
    assert result.exit_code == 1 and "no lon or lat column" in result.output and "--col lon=" in result.output
    result = run(["screen", tmp_path / "missing.csv", "-o", tmp_path / "o.csv"])
    assert result.exit_code == 1 and "no such file" in result.output
    result = run(["screen", src, "-o", tmp_path / "o.csv", "--col", "lon"])
    assert result.exit_code == 2
    result = run(["screen", src, "-o", tmp_path / "o.docx", "--col", "lon=x", "--col", "lat=x"])
    assert result.exit_code == 1 and "unknown format '.docx'" in result.output
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "o.docx").exists()


def test_export_units(tmp_path):
    out = tmp_path / "units.geojson"
    result = run(["export", "units", "-o", out])
    assert result.exit_code == 0 and "Wrote 65 units" in result.output
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert len(collection["features"]) == 65 and "crs" not in collection
