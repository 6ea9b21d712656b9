"""zoning rules import: drafts from a unit layer's four text fields and from a province Excel list."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pytest
import shapely
import yaml
from click.testing import CliRunner
from openpyxl import Workbook

from zoning import DataError, Engine
from zoning.authoring.importing import propose_effect, propose_industries, read_excel_lists, split_items, write_drafts
from zoning.authoring.validation import validate
from zoning.cli import main
from zoning.geodesy import GEOGRAPHIC
from zoning.inputs.units import load_units
from zoning.rules.loading import load_lists

CODES = ["ZH13063210001", "ZH13063220001"]
TEXTS = {
    "KJBJYS": ["1.禁止新建、扩建钢铁、焦化项目。2.限制发展水泥、平板玻璃产能。", "执行雄安新区总体要求。"],
    "PWWPFGK": ["（1）新增VOCs排放实行倍量替代；（2）电镀企业废水零排放。", ""],
    "HJFXFK": ["", "一、涉危险化学品企业应编制应急预案。二、禁止新建危险废物处置设施。"],
    "ZYKFXLYQ": ["严格控制地下水开采。", ""],
}


@pytest.fixture
def national_layer(tmp_path):
    """Two units in the national data specification's field names, with the four text fields."""
    path = tmp_path / "units.gpkg"
    gpd.GeoDataFrame(
        {"HJZHGKDYBM": CODES, "HJZHGKDYMC": ["白洋淀单元", "起步区单元"], "ZHGKDYFL": [1, 2],
         "PROV": "河北省", "CITY": "保定市", "AREA": "安新县", **TEXTS},
        geometry=[shapely.box(115.9, 38.9, 116.0, 39.0), shapely.box(116.0, 38.9, 116.1, 39.0)], crs=GEOGRAPHIC,
    ).to_file(path, driver="GPKG")
    return path


@pytest.fixture
def excel_list(tmp_path):
    """A province-style workbook: a title row, then one row per unit and one column per dimension."""
    path = tmp_path / "清单.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["保定市环境管控单元生态环境准入清单（示例）"])
    ws.append(["序号", "环境管控单元编码", "环境管控单元名称", "空间布局约束", "污染物排放管控", "环境风险防控",
               "资源开发效率要求"])
    ws.append([1, CODES[0], "白洋淀单元", TEXTS["KJBJYS"][0], TEXTS["PWWPFGK"][0], None, TEXTS["ZYKFXLYQ"][0]])
    ws.append([2, CODES[1], "起步区单元", TEXTS["KJBJYS"][1], None, TEXTS["HJFXFK"][1], None])
    ws.append([None, None, None, None, None, None, None])
    wb.save(path)
    return path


def test_items_are_split_at_their_numbers():
    assert split_items("1.禁止新建钢铁项目。2.限制水泥产能。") == ["禁止新建钢铁项目。", "限制水泥产能。"]
    assert split_items("（1）甲；（2）乙") == ["甲；", "乙"]
    assert split_items("一、甲。二、乙。") == ["甲。", "乙。"]
    assert split_items("执行总体要求。") == ["执行总体要求。"]
    assert split_items("排放浓度不高于1.5mg/m3") == ["排放浓度不高于1.5mg/m3"]  # a decimal is not an item number
    assert split_items("  ") == []


@pytest.mark.parametrize("text, effect", [
    ("禁止新建钢铁项目", "prohibit"), ("不得新增产能", "prohibit"), ("限制发展水泥", "restrict"),
    ("新增VOCs实行倍量替代", "restrict"), ("应编制应急预案", "require"),
])
def test_effect_is_proposed_from_the_wording(text, effect):
    assert propose_effect(text)[0] == effect


def test_industry_words_get_gbt4754_codes():
    found = dict(propose_industries("禁止新建钢铁、焦化、水泥、平板玻璃、石化、火电、电镀、制革、造纸项目"))
    assert found["钢铁"] == ["C3110", "C3120", "C3130"]
    assert found["焦化"] == ["C2521"]
    assert found["水泥"] == ["C3011"]
    assert found["平板玻璃"] == ["C3041"]
    assert found["石化"] == ["C2511", "C2614"]
    assert found["火电"] == ["D4411", "D4412"]
    assert found["电镀"] == ["C3360"]
    assert found["制革"] == ["C1910"]
    assert "C2221" in found["造纸"]
    assert dict(propose_industries("禁止新建农药制造项目"))["农药制造"] == ["C263"]  # a class name in full
    assert propose_industries("新建项目应执行特别排放限值。") == []


def test_layer_import_loads_and_validates(tmp_path, national_layer):
    units = load_units(national_layer)
    out = tmp_path / "drafts"
    drafts = write_drafts(units[["code", "name", "spatial_layout", "emission_control", "risk_prevention",
                                 "resource_efficiency"]], out, source_name="units.gpkg", issuer="保定市生态环境局",
                          date=dt.date(2021, 6, 30))
    assert sorted(d.unit for d in drafts) == CODES
    lists = {lst.id: lst for lst in load_lists([out])}
    first = lists["unit-ZH13063210001"]
    assert first.scope.units == ["ZH13063210001"] and first.level == "unit"
    assert [c.id for c in first.clauses] == ["KJ-1", "KJ-2", "PW-1", "PW-2", "ZY-1"]
    assert all(c.review_only for c in first.clauses)
    kj1 = first.clauses[0]
    assert kj1.text == "禁止新建、扩建钢铁、焦化项目。" and kj1.effect == "prohibit"
    assert first.source_of(kj1).article == "空间布局约束第1条"
    assert kj1.conditions is None  # proposals stay commented until an engineer accepts them
    text = (out / "ZH13063210001.yaml").read_text(encoding="utf-8")
    assert "#   industry: [C3110, C3120, C3130, C2521]" in text
    findings, _ = validate([out], units)
    assert [f for f in findings if f.severity == "error"] == []


def test_an_accepted_proposal_becomes_a_deciding_clause(tmp_path, national_layer):
    """Uncommenting the proposed conditions and dropping review_only gives a clause that decides."""
    units = load_units(national_layer)
    out = tmp_path / "drafts"
    write_drafts(units, out, source_name="units.gpkg", issuer="保定市生态环境局", date=dt.date(2021, 6, 30))
    path = out / "ZH13063210001.yaml"
    text = path.read_text(encoding="utf-8")
    engine = Engine(units, load_lists([out]), as_of=dt.date(2022, 1, 1))
    draft = engine.check(lon=115.95, lat=38.95, industry="C3120", type="new")
    assert draft.verdict == "permitted"  # review-only clauses never decide
    assert any(c["clause"] == "KJ-1" and c["status"] == "manual_review" for c in draft.citations)
    accepted = text.replace("    review_only: true\n    text: \"禁止新建、扩建钢铁",
                            "    text: \"禁止新建、扩建钢铁", 1)
    accepted = accepted.replace("    # conditions:\n    #   industry: [C3110, C3120, C3130, C2521]",
                                "    conditions:\n      industry: [C3110, C3120, C3130, C2521]", 1)
    path.write_text(accepted, encoding="utf-8")
    engine = Engine(units, load_lists([out]), as_of=dt.date(2022, 1, 1))
    assert engine.check(lon=115.95, lat=38.95, industry="C3120", type="new").verdict == "prohibited"


def test_excel_import_loads_and_validates(tmp_path, excel_list, national_layer):
    frame = read_excel_lists(excel_list)
    assert frame["code"].tolist() == CODES  # title row skipped, blank row dropped
    out = tmp_path / "drafts"
    write_drafts(frame, out, source_name="清单.xlsx", issuer="保定市生态环境局", date=dt.date(2021, 6, 30),
                 effective_from=dt.date(2021, 7, 1), version="2021.1")
    lists = {lst.id: lst for lst in load_lists([out])}
    second = lists["unit-ZH13063220001"]
    assert [c.id for c in second.clauses] == ["KJ-1", "FX-1", "FX-2"]
    assert second.version == "2021.1" and second.effective_from == dt.date(2021, 7, 1)
    assert second.clauses[2].effect == "prohibit"
    findings, _ = validate([out], load_units(national_layer))
    assert [f for f in findings if f.severity == "error"] == []


def test_excel_without_a_code_column_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.xlsx"
    wb = Workbook()
    wb.active.append(["名称", "空间布局约束"])
    wb.save(path)
    with pytest.raises(DataError, match="unit-code column"):
        read_excel_lists(path)


def test_existing_drafts_are_not_overwritten(tmp_path, national_layer):
    units = load_units(national_layer)
    out = tmp_path / "drafts"
    write_drafts(units, out, source_name="u", issuer="i", date=dt.date(2021, 6, 30))
    with pytest.raises(DataError, match="exist already"):
        write_drafts(units, out, source_name="u", issuer="i", date=dt.date(2021, 6, 30))


def test_cli_import_from_layer_and_excel(tmp_path, national_layer, excel_list):
    runner = CliRunner()
    result = runner.invoke(main, ["rules", "import", str(national_layer), "-o", str(tmp_path / "a"),
                                  "--issuer", "保定市生态环境局", "--date", "2021-06-30"])
    assert result.exit_code == 0, result.output
    assert "2 list(s) written" in result.output and "Validated: 0 error(s)" in result.output
    result = runner.invoke(main, ["rules", "import", str(excel_list), "-o", str(tmp_path / "b"), "--issuer", "x",
                                  "--date", "2021-06-30", "--units", str(national_layer)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["rules", "validate", str(tmp_path / "b"), "--units", str(national_layer)])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load((tmp_path / "b" / "ZH13063210001.yaml").read_text(encoding="utf-8"))
    assert data["source"]["document"] == "清单.xlsx"
    # a missing --issuer is a usage error, not a traceback
    result = runner.invoke(main, ["rules", "import", str(excel_list), "-o", str(tmp_path / "c"),
                                  "--date", "2021-06-30"])
    assert result.exit_code == 2 and "--issuer" in result.output
