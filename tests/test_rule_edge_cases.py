"""Edge cases of the rule-authoring commands found in review: dates, outputs, imports."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from tests.conftest import run
from zoning import DataError, Engine, sample
from zoning.authoring.importing import write_drafts

REGISTRY = sample.units_path().parent / "registry.csv"
MILL = ["--lon", "115.3075", "--lat", "38.9457", "--industry", "C2221", "--type", "new",
        "--attr", "water_use=800000", "--attr", "in_park=true", "--emission", "COD=10", "--emission", "NH3-N=1"]


@pytest.fixture
def rules_copy(tmp_path):
    path = tmp_path / "rules"
    shutil.copytree(sample.rules_dir(), path)
    return path


def test_diff_compares_two_dates_of_one_rule_set(tmp_path):
    """--old-as-of/--new-as-of: the Baoding 2024 revision's effect on the sample registry."""
    rules = sample.rules_dir()
    out = tmp_path / "changes.csv"
    result = run(["rules", "diff", rules, rules, "--registry", REGISTRY, "--old-as-of", "2024-06-30",
                  "--new-as-of", "2024-07-01", "-o", out], expect=0)
    assert "2024-06-30 → 2024-07-01" in result.output
    assert "list baoding-city" in result.output  # its version and dates changed
    changes = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    before = Engine.load(as_of=dt.date(2024, 6, 30))
    after = Engine.load(as_of=dt.date(2024, 7, 1))
    registry = pd.read_csv(REGISTRY, dtype=str)
    expected = set()
    for engine, key in ((before, "old"), (after, "new")):
        out_path = tmp_path / f"{key}.csv"
        from zoning.screening import screen

        screen(engine, REGISTRY, out_path)
        registry[key] = pd.read_csv(out_path, encoding="utf-8-sig", dtype=str)[["verdict", "worst_case"]].agg(
            "/".join, axis=1)
    expected = set(registry.loc[registry["old"] != registry["new"], "project_id"])
    assert set(changes["id"]) == expected


def test_diff_refuses_to_write_over_its_inputs(tmp_path, rules_copy):
    registry = tmp_path / "registry.csv"
    shutil.copy(REGISTRY, registry)
    before = registry.read_bytes()
    result = run(["rules", "diff", rules_copy, rules_copy, "--registry", registry, "-o", registry], expect=2)
    assert "one of the inputs" in result.output
    assert registry.read_bytes() == before
    # an output format it does not write is refused like any unknown format (exit 1; README "Limits and safety")
    run(["rules", "diff", rules_copy, rules_copy, "--registry", registry, "-o", tmp_path / "x.xlsx"], expect=1)


def test_diff_shows_an_effect_change(tmp_path, rules_copy):
    new = tmp_path / "new"
    shutil.copytree(rules_copy, new)
    path = new / "baoding" / "city-2024.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: ZY-1")
    path.write_text(text[:start] + text[start:].replace("effect: restrict", "effect: prohibit", 1), encoding="utf-8")
    result = run(["rules", "diff", rules_copy, new, "--registry", REGISTRY, "--format", "json"], expect=0)
    import json

    data = json.loads(result.output)
    assert {"change": "changed", "clause": "baoding-city/ZY-1", "detail": "effect restrict → prohibit"} \
        in data["clauses"]
    for project in data["projects"]:
        if "baoding-city/ZY-1" in project["added"]:
            assert "baoding-city/ZY-1 prohibit" in project["added"]
            assert "baoding-city/ZY-1 restrict" in project["removed"]


def test_a_list_with_no_version_in_force_is_noted(rules_copy):
    (rules_copy / "baoding" / "city-2024.yaml").unlink()
    result = run(["check", *MILL, "--rules", rules_copy, "--format", "json"], expect=0)
    import json

    notes = json.loads(result.output)["notes"]
    assert any("list baoding-city has no version in force" in n and "2021.1 from 2021-08-31 to 2024-06-30" in n
               for n in notes)


def test_no_list_in_force_names_the_period(tmp_path):
    result = run(["check", *MILL, "--rules", sample.rules_dir() / "baoding" / "city.yaml"], expect=1)
    assert "in force from 2021-08-31 to 2024-06-30" in result.output


def test_rule_tests_run_on_their_own_dates_when_no_list_is_in_force_today(tmp_path, rules_copy):
    """Lists that take effect in the future can be tested before they do."""
    for path in rules_copy.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        text = text.replace("effective_from: 20", "effective_from: 21").replace("effective_to: 20", "effective_to: 21")
        path.write_text(text, encoding="utf-8")
    for path in rules_copy.rglob("*.tests.yaml"):
        path.unlink()
    (rules_copy / "future.tests.yaml").write_text("""\
tests:
  - name: README's example, a century on
    as_of: 2125-01-01
    project: {lon: 115.97, lat: 38.93, industry: C2614, type: new}
    expect:
      verdict: prohibited
""", encoding="utf-8")
    result = run(["rules", "test", rules_copy], expect=0)
    assert "1 passed" in result.output


def test_import_refuses_codes_that_share_a_file_name(tmp_path):
    frame = pd.DataFrame({"code": ["ZH1306/3210/002", "ZH1306_3210_002"], "name": ["a", "b"],
                          "spatial_layout": ["禁止新建钢铁项目", "禁止新建焦化项目"], "emission_control": "",
                          "risk_prevention": "", "resource_efficiency": ""})
    with pytest.raises(DataError, match="would both be written to ZH1306_3210_002.yaml"):
        write_drafts(frame, tmp_path / "out", source_name="x", issuer="i", date=dt.date(2021, 1, 1))
    assert not (tmp_path / "out").exists()  # nothing written
