"""zoning rules import: drafts from a unit layer's four text fields and from a province Excel list."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml
from click.testing import CliRunner
from openpyxl import Workbook
from pydantic import TypeAdapter

from zoning import DataError, Engine
from zoning.authoring.drafting import (
    find_dates,
    proposal_lines,
    propose,
    propose_effect,
    propose_industries,
    split_items,
)
from zoning.authoring.importing import import_lists, read_excel_lists, write_drafts
from zoning.authoring.validation import validate
from zoning.cli import main
from zoning.geodesy import GEOGRAPHIC
from zoning.inputs.units import load_units
from zoning.rules.conditions import Inside
from zoning.rules.loading import load_lists
from zoning.rules.nodes import Node, compile_node

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
    ("鼓励发展大数据和云计算产业", "encourage"), ("优先布局数据中心", "encourage"),
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
    frame, skipped = read_excel_lists(excel_list)
    assert frame["code"].tolist() == CODES  # title row skipped, blank row dropped
    assert skipped == []  # openpyxl writes no row for the trailing blank one
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


# -- rows without a unit code, skipped rows ------------------------------------------------------------------------

HEADER = ["序号", "地市", "环境管控单元编码", "环境管控单元名称", "空间布局约束", "污染物排放管控", "环境风险防控",
          "资源开发效率要求"]


def _workbook(path, rows, title="河北省生态环境准入清单（示例）"):
    wb = Workbook()
    ws = wb.active
    ws.append([title])
    ws.append(HEADER)
    for row in rows:
        ws.append(row if row else [None] * len(HEADER))
    if not rows[-1]:
        ws.cell(row=ws.max_row + 1, column=1, value=None)
    wb.save(path)
    return path


@pytest.fixture
def province_workbook(tmp_path):
    """A province's table: a province-wide row, a city-wide row, two units, and rows that cannot be imported."""
    return _workbook(tmp_path / "河北.xlsx", [
        [None, "全省", None, "河北省省级总体管控要求",                                                        # row 3
         "1.禁止新建35蒸吨/小时及以下燃煤锅炉。2.新建化工项目必须进入化工园区。",
         None, None, "自2024年7月1日起，年用水量不得超过10万立方米。"],
        [None, "保定市", "/", "保定市市级总体管控要求", "除热电联产外，禁止新建燃煤发电项目。",              # row 4
         None, None, None],
        [1, "保定市", CODES[0], "白洋淀单元", TEXTS["KJBJYS"][0], None, None, None],                          # row 5
        [2, "保定市", CODES[1], "起步区单元", TEXTS["KJBJYS"][1], None, None, None],                          # row 6
        [],                                                                                                 # row 7
        [3, None, None, "白洋淀周边单元", "禁止新建焦化项目。", None, None, None],                          # row 8
        [4, None, None, None, "禁止新建焦化项目。", None, None, None],                                      # row 9
        [5, "保定市", CODES[0], "白洋淀单元", TEXTS["KJBJYS"][0], None, None, None],                          # row 10
        [6, "保定市", CODES[1], "起步区单元", "另一段文字。", None, None, None],                             # row 11
        [7, "保定市", "ZH13063230001", "一般单元", None, None, None, None],                                   # row 12
        [8, "唐山市", None, "唐山市市级总体管控要求", "禁止新建钢铁项目。", None, None, None],              # row 13
        [None, None, None, "全省优先保护单元", "禁止开发性、生产性建设活动。", None, None, None],          # row 14
    ])


def test_rows_without_a_unit_code_become_province_and_city_lists(tmp_path, province_workbook, national_layer):
    frame, _ = read_excel_lists(province_workbook)
    wide = frame[frame["level"] != "unit"].set_index("row")
    assert wide.loc[3, "level"] == "province" and wide.loc[3, "admin"] == "13"  # 河北省 named on the row
    assert wide.loc[4, "level"] == "city" and wide.loc[4, "admin"] == "1306"  # 保定市: its units' codes start 1306
    assert wide.loc[14, "level"] == "province" and wide.loc[14, "unit_types"] == (1,)  # 全省优先保护单元
    assert "ZH1306" in wide.loc[4, "basis"]
    out = tmp_path / "drafts"
    drafts = write_drafts(frame, out, source_name="河北.xlsx", issuer="河北省生态环境厅", date=dt.date(2024, 6, 30))
    assert {(d.level, d.unit, d.row) for d in drafts if d.level != "unit"} == {
        ("province", "province-13", 3), ("city", "city-1306", 4), ("province", "province-13-type1", 14)}
    lists = {lst.id: lst for lst in load_lists([out])}
    province, city = lists["province-13"], lists["city-1306"]
    assert province.level == "province" and province.scope.admin == ["13"] and province.scope.units == []
    assert city.level == "city" and city.scope.admin == ["1306"]
    assert lists["province-13-type1"].scope.unit_types == [1]
    assert [c.id for c in province.clauses] == ["KJ-1", "KJ-2", "ZY-1"]
    findings, _ = validate([out], load_units(national_layer))
    assert [f for f in findings if f.severity == "error"] == []
    # the province list applies to the units of the layer: the engine cites its clauses there
    engine = Engine(load_units(national_layer), load_lists([out]), as_of=dt.date(2024, 7, 1))
    cited = {c["list"] for c in engine.check(lon=115.95, lat=38.95, industry="C3120", type="new").citations}
    assert {"province-13", "city-1306", "unit-ZH13063210001"} <= cited


def test_a_city_row_is_placed_by_the_unit_layer_or_skipped(tmp_path, national_layer):
    path = _workbook(tmp_path / "city.xlsx", [
        [None, None, None, "保定市市级总体管控要求", "禁止新建钢铁项目。", None, None, None],
        [None, None, None, "安新县县级管控要求", "禁止新建焦化项目。", None, None, None],
    ], title="生态环境准入清单")
    frame, skipped = read_excel_lists(path, units=load_units(national_layer))
    assert frame[["level", "admin"]].values.tolist() == [["city", "1306"], ["county", "130632"]]
    assert skipped == []
    frame, skipped = read_excel_lists(path)  # nothing ties 保定市 to a division code
    assert frame.empty
    assert [s.row for s in skipped] == [3, 4]
    assert "'保定市' has no division code zoning can tell" in skipped[0].reason and "--units" in skipped[0].reason


def test_every_skipped_row_is_reported_with_its_row_and_reason(province_workbook):
    _, skipped = read_excel_lists(province_workbook)
    reasons = {s.row: s.reason for s in skipped}
    assert sorted(reasons) == [7, 8, 9, 10, 11, 12, 13]
    assert reasons[7] == "empty row"
    assert "names a unit ('白洋淀周边单元')" in reasons[8]
    assert "nothing on the row" in reasons[9]
    assert reasons[10] == f"unit code {CODES[0]} is already on row 5 with the same text"
    assert reasons[11].startswith(f"unit code {CODES[1]} is already on row 6, with other text")
    assert reasons[12] == "no text in the four list columns (unit ZH13063230001)"
    assert "'唐山市'" in reasons[13]  # the workbook ties 1306 to 保定市, so 唐山市 cannot be placed
    assert str(skipped[0]).endswith("河北.xlsx: row 7: empty row")


def test_cli_lists_the_skipped_rows_and_the_wide_lists(tmp_path, province_workbook, national_layer):
    result = CliRunner().invoke(main, ["rules", "import", str(province_workbook), "-o", str(tmp_path / "d"),
                                       "--issuer", "河北省生态环境厅", "--date", "2024-06-30",
                                       "--units", str(national_layer)])
    assert result.exit_code == 0, result.output
    assert "row 3: no unit code, written as a province list: province-13.yaml" in result.output
    assert "row 4: no unit code, written as a city list: city-1306.yaml" in result.output
    assert "Not imported:" in result.output
    for row in (7, 8, 9, 10, 11, 12, 13):
        assert f"河北.xlsx: row {row}: " in result.output
    assert "Validated: 0 error(s)" in result.output and "Traceback" not in result.output


def test_layer_units_without_text_are_reported(tmp_path):
    path = tmp_path / "units.gpkg"
    gpd.GeoDataFrame({"HJZHGKDYBM": CODES, "ZHGKDYFL": [1, 2], "KJBJYS": ["禁止新建钢铁项目。", ""]},
                     geometry=[shapely.box(115.9, 38.9, 116.0, 39.0), shapely.box(116.0, 38.9, 116.1, 39.0)],
                     crs=GEOGRAPHIC).to_file(path, driver="GPKG")
    imported = import_lists(path, tmp_path / "d", issuer="i", date=dt.date(2021, 6, 30))
    assert [d.unit for d in imported.drafts] == [CODES[0]]
    assert [(s.unit, s.reason) for s in imported.skipped] == [(CODES[1], "no text in the four list fields")]


# -- proposals -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, date", [
    ("自2024年7月1日起执行。", dt.date(2024, 7, 1)),
    ("本清单2024年7月1日起施行", dt.date(2024, 7, 1)),
    ("2024年7月起，禁止新建燃煤锅炉", dt.date(2024, 7, 1)),
    ("从2023年1月1日开始实施", dt.date(2023, 1, 1)),
    ("自２０２５年３月１日起", dt.date(2025, 3, 1)),  # full-width digits
    ("二〇二四年七月一日起施行", dt.date(2024, 7, 1)),
    ("2024.10.1起执行", dt.date(2024, 10, 1)),
])
def test_dates_a_text_takes_effect_are_found(text, date):
    assert [d for d, _ in find_dates(text)] == [date]


@pytest.mark.parametrize("text", ["2025年底前完成超低排放改造", "到2025年，实施清洁能源替代", "2024年2月30日起",
                                  "执行总体要求"])
def test_deadlines_and_bare_years_are_not_start_dates(text):
    assert find_dates(text) == []


def test_exceptions_are_proposed_as_unless():
    p = propose("除热电联产外，禁止新建燃煤发电项目。")
    assert p.effect == "prohibit" and [w for w, _ in p.targets] == ["燃煤发电"]
    unless = [n for n, _ in p.unless]
    assert {"industry": ["D4412"]} in unless and {"attr": "chp", "eq": True} in unless
    p = propose("不再新增炼铁、炼钢产能，实施等量或减量置换的除外。")
    assert [n for n, _ in p.unless] == [{"attr": "capacity_replacement", "eq": True}]
    p = propose("禁止新建燃煤锅炉（燃气锅炉除外）")
    assert [n for n, _ in p.unless] == [{"attr": "fuel", "eq": "gas"}]
    p = propose("新建涉水项目实行总量替代，不排放废水的除外。")
    assert [n for n, _ in p.unless] == [{"attr": "wastewater_discharge", "eq": False}]
    p = propose("禁止开发建设活动，但国家重大战略项目除外。")  # names nothing zoning can test
    assert p.unless == [] and p.exceptions == ["但国家重大战略项目除外"]
    assert any("names no industry or declared attribute" in n for n in p.notes)
    assert propose("禁止新建除尘设施不达标的项目").exceptions == []  # 除尘 is dust removal, not an exception


def test_an_industry_named_only_in_an_exception_is_not_a_target():
    p = propose("禁止新建火电项目，热电联产除外。")
    assert [w for w, _ in p.targets] == ["火电"]  # 热电联产 only in the exception
    assert {"industry": ["D4412"]} in [n for n, _ in p.unless]
    p = propose("除焦化、水泥外，禁止新建钢铁项目。")
    assert [w for w, _ in p.targets] == ["钢铁"]
    assert [n for n, _ in p.unless] == [{"industry": ["C2521", "C3011"]}]
    lines = "\n".join(proposal_lines(p))
    assert "#   industry: [C3110, C3120, C3130]" in lines and "C2521" not in lines.split("# unless:")[0]


@pytest.mark.parametrize("text, targets", [
    ("新建化工、石化项目必须进入合规化工园区。", ["化工", "石化"]), ("新建工业项目原则上应当进入工业集聚区", []),
    ("新建电镀企业须入园", ["电镀"]), ("禁止在化工园区以外新建农药项目", ["农药"]),
    ("新建造纸项目应当布局在工业园区内", ["造纸"])])
def test_must_enter_a_park_is_prohibit_unless_inside_a_park(text, targets):
    p = propose(text)
    assert p.effect == "prohibit" and p.park
    assert [n for n, _ in p.unless] == [{"inside": {"zone_kinds": ["industrial_park"]}}]
    assert [w for w, _ in p.targets] == targets  # 化工 of 化工园区 names the park, not a target
    lines = proposal_lines(p)
    assert any("inside: says it" in line for line in lines)
    unless = "\n".join(line.replace("# ", "", 1) for line in lines[lines.index("    # unless:"):])
    assert yaml.safe_load(unless)["unless"] == {"inside": {"zone_kinds": ["industrial_park"]}}
    assert isinstance(compile_node(TypeAdapter(Node).validate_python(yaml.safe_load(unless)["unless"])), Inside)


@pytest.mark.parametrize("text, node", [
    ("禁止新建35蒸吨/小时及以下燃煤锅炉", {"attr": "boiler_capacity", "le": 35}),
    ("禁止新建每小时35蒸吨以下的燃煤锅炉", {"attr": "boiler_capacity", "le": 35}),
    ("不得新建10t/h以下燃煤锅炉", {"attr": "boiler_capacity", "le": 10}),
    ("河道两岸各1公里范围内禁止新建规模化畜禽养殖场",
     {"within_distance": {"zone_kinds": ["river"], "distance_m": 1000}}),
    ("距离生态保护红线500米内不得新建化工项目", {"within_distance": {"zone_kinds": ["red_line"], "distance_m": 500}}),
    ("年用水量不超过10万立方米", {"attr": "water_use", "gt": 100000}),
    ("年耗煤1万吨以上的项目实行煤炭减量替代", {"attr": "coal_use", "ge": 10000}),
    ("存栏5000头以上的规模化养殖场", {"attr": "livestock_stock", "ge": 5000}),
    ("新增VOCs排放量超过10吨/年的项目", {"attr": "VOCs", "gt": 10}),
    ("装机容量30万千瓦以下的燃煤机组", {"attr": "capacity_mw", "le": 300}),
])
def test_numbers_with_units_are_proposed_as_thresholds(text, node):
    assert [n for n, _ in propose(text).conditions] == [node]


def test_numbers_no_attribute_measures_are_named_not_proposed():
    p = propose("单位产品取水量不超过8立方米/吨，颗粒物排放浓度不高于10mg/m3，PM2.5浓度下降30%。")
    assert p.conditions == []
    notes = "\n".join(p.notes)
    assert "'不超过8立方米/吨'" in notes and "10mg/m3" in notes and "'30%'" in notes and "2.5" not in notes


def test_accepted_proposals_load_and_decide(tmp_path, national_layer):
    """Uncommenting a draft's conditions and unless blocks gives YAML that loads, and the clause decides."""
    units = load_units(national_layer)
    frame = pd.DataFrame({"code": [CODES[0]], "name": ["白洋淀单元"], "emission_control": "", "risk_prevention": "",
                          "resource_efficiency": "",
                          "spatial_layout": ["除热电联产外，禁止新建35蒸吨/小时及以下燃煤锅炉，"
                                             "自2024年7月1日起执行。"]})
    out = tmp_path / "d"
    write_drafts(frame, out, source_name="x", issuer="i", date=dt.date(2021, 6, 30))
    path = out / f"{CODES[0]}.yaml"
    text = path.read_text(encoding="utf-8")
    assert "# Proposed effective_from (unconfirmed): 2024-07-01" in text
    assert load_lists([out])[0].clauses[0].conditions is None  # still commented
    accepted = [line.replace("# ", "", 1) if line.startswith(("    # conditions:", "    # unless:", "    #   "))
                else line for line in text.splitlines() if line != "    review_only: true"]
    path.write_text("\n".join(accepted) + "\n", encoding="utf-8")
    clause = load_lists([out])[0].clauses[0]
    assert clause.conditions is not None and clause.unless is not None and not clause.review_only
    engine = Engine(units, load_lists([out]), as_of=dt.date(2022, 1, 1))
    site = {"lon": 115.95, "lat": 38.95, "industry": "D4430", "type": "new"}
    assert engine.check(**site, attributes={"boiler_capacity": 20, "chp": False}).verdict == "prohibited"
    assert engine.check(**site, attributes={"boiler_capacity": 20, "chp": True}).verdict == "permitted"
    assert engine.check(**site, attributes={"boiler_capacity": 75, "chp": False}).verdict == "permitted"


def test_hostile_text_stays_inside_its_scalar_and_comments(tmp_path):
    """Line breaks (also U+2028, NEL) and YAML syntax in the text never escape a quoted scalar or a comment."""
    text = "禁止新建钢铁项目\n除焦化外\u2028id: evil\x85\u2029# x: [\n除\"热电联产\"外"
    frame = pd.DataFrame({"code": [CODES[0]], "name": ["名\nid: x"], "spatial_layout": [text], "emission_control": "",
                          "risk_prevention": "", "resource_efficiency": ""})
    out = tmp_path / "d"
    write_drafts(frame, out, source_name="x\ny: 1", issuer="i", date=dt.date(2021, 6, 30))
    raw = (out / f"{CODES[0]}.yaml").read_text(encoding="utf-8")
    for line in raw.splitlines():
        assert not line.startswith(("id: evil", "y: 1")) and "\u2028" not in line and "\x85" not in line
    (lst,) = load_lists([out])
    assert lst.id == f"unit-{CODES[0]}" and lst.clauses[0].text == text.strip()
