"""Each project judged by the lists in force on its own date (issue 15, point 9)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from tests.conftest import TWO_UNITS, make_units, run
from zoning import Engine
from zoning.errors import InputError
from zoning.geodesy import GEOGRAPHIC
from zoning.projects import project_date
from zoning.rules.schema import AccessList

STEEL = {"conditions": {"industry": ["C31"]}, "dimension": "spatial_layout", "text": "t",
         "source": {"article": "1"}}


def version(number: str, start: dt.date, end: dt.date | None, effect: str) -> AccessList:
    return AccessList(id="city", title="city list", issuer="i", version=number, effective_from=start,
                      effective_to=end, level="city", source={"document": "d", "issuer": "i", "date": start},
                      clauses=[{"id": "KJ-1", "effect": effect, **STEEL}])


def engine() -> Engine:
    return Engine(make_units(TWO_UNITS), [
        version("2020", dt.date(2020, 1, 1), dt.date(2022, 12, 31), "prohibit"),
        version("2023", dt.date(2023, 1, 1), None, "restrict")], as_of=dt.date(2024, 1, 1))


@pytest.mark.parametrize(("text", "day"), [
    ("2024-07-01", dt.date(2024, 7, 1)), ("2024/7/1", dt.date(2024, 7, 1)), ("2024.07.01", dt.date(2024, 7, 1)),
    ("2024年7月1日", dt.date(2024, 7, 1)), ("２０２４年７月１日", dt.date(2024, 7, 1)),
    ("20240701", dt.date(2024, 7, 1)),
    (20240701, dt.date(2024, 7, 1)), ("2024-07-01 09:30:00", dt.date(2024, 7, 1)),
    (dt.datetime(2024, 7, 1, 9, 30), dt.date(2024, 7, 1)), (pd.Timestamp("2024-07-01"), dt.date(2024, 7, 1))])
def test_dates_as_registries_write_them(text, day):
    assert project_date(text) == day


@pytest.mark.parametrize("text", ["2024-13-01", "2024-02-30", "July 2024", "1.5", "1800-01-01", "2024"])
def test_bad_dates_are_refused(text):
    with pytest.raises(InputError):
        project_date(text)


def registry(dates) -> gpd.GeoDataFrame:
    n = len(dates)
    return gpd.GeoDataFrame({"industry": ["C3120"] * n, "type": ["new"] * n, "date": dates},
                            geometry=[shapely.Point(116.05, 38.95)] * n, crs=GEOGRAPHIC)


def test_each_row_is_judged_by_the_versions_in_force_on_its_date():
    eng = engine()
    out = eng.check_many(registry(["2021-05-01", "2023/6/1", None, "2019年1月1日", "not a date", "2022-12-31"]))
    assert out["verdict"].tolist() == ["prohibited", "restricted", "restricted", "error", "error", "prohibited"]
    assert out["as_of"].tolist() == ["2021-05-01", "2023-06-01", "2024-01-01", "", "", "2022-12-31"]
    assert "no access list is in force on 2019-01-01" in out["error"].iloc[3]
    assert out["error"].iloc[4].startswith("field 'date': not a date")
    # the same rows one by one, through engines for each date, agree
    for day, verdict in (("2021-05-01", "prohibited"), ("2023-06-01", "restricted")):
        single = eng.on(dt.date.fromisoformat(day)).check(lon=116.05, lat=38.95, industry="C3120", type="new")
        assert single.verdict == verdict


def test_an_engine_is_built_once_per_set_of_versions():
    eng = engine()
    days = [f"2021-{m:02d}-01" for m in range(1, 13)] + [f"2023-{m:02d}-01" for m in range(1, 13)]
    eng.check_many(registry(days))
    # 2021 dates share one set of versions; 2023 dates are this engine's own (2024-01-01)
    assert len(eng._versions) == 1


def test_screen_reads_a_date_column_by_its_header(tmp_path):
    units = tmp_path / "units.gpkg"
    make_units(TWO_UNITS).to_file(units)
    rules = tmp_path / "rules"
    rules.mkdir()
    for number, start, end, effect in (("2020", "2020-01-01", "2022-12-31", "prohibit"),
                                       ("2023", "2023-01-01", None, "restrict")):
        (rules / f"city-{number}.yaml").write_text(
            f"id: city\ntitle: c\nissuer: i\nversion: '{number}'\neffective_from: {start}\n"
            + (f"effective_to: {end}\n" if end else "")
            + "level: city\nsource: {document: d, issuer: i, date: 2020-01-01}\nclauses:\n"
            f"  - {{id: KJ-1, dimension: spatial_layout, effect: {effect}, text: t, source: {{article: a}},\n"
            "     conditions: {industry: [C31]}}\n", encoding="utf-8")
    source = tmp_path / "reg.csv"
    source.write_text("项目名称,经度,纬度,行业代码,建设性质,审批日期\n"
                      "a,116.05,38.95,C3120,新建,2021-05-01\n"
                      "b,116.05,38.95,C3120,新建,2023年6月1日\n"
                      "c,116.05,38.95,C3120,新建,\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run(["screen", source, "-o", out, "--units", units, "--rules", rules, "--as-of", "2024-01-01"])
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["verdict"].tolist() == ["prohibited", "restricted", "restricted"]
    assert frame["as_of"].tolist() == ["2021-05-01", "2023-06-01", "2024-01-01"]
    assert "its own date (column '审批日期'" in " ".join(result.output.split())
    renamed = tmp_path / "reg2.csv"
    renamed.write_text(source.read_text(encoding="utf-8").replace("审批日期", "批文时间"), encoding="utf-8")
    run(["screen", renamed, "-o", out, "--units", units, "--rules", rules, "--as-of", "2024-01-01",
         "--col", "date=批文时间", "--overwrite"])
    assert pd.read_csv(out, dtype=str)["verdict"].tolist()[0] == "prohibited"
