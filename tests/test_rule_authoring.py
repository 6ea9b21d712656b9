"""Rule authoring and audit: list versions by date (``--as-of``), provenance of
results, the audit trail (``--explain``), ``zoning rules show|versions|test|diff``
and review-only clauses.

Fixtures are tiny unit layers and lists written into ``tmp_path`` per
behaviour; the bundled sample is used where the behaviour is about it (its
2024 revision of baoding-city, its rule tests, its registry).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import yaml

import zoning
from tests.conftest import TWO_UNITS, make_list, make_units, run
from zoning import DataError, Engine, InputError, sample
from zoning.authoring.catalogue import unit_catalogue
from zoning.geodesy import GEOGRAPHIC

GENERAL, PRIORITY = TWO_UNITS[0][0], TWO_UNITS[1][0]  # west (type 3) and east (type 1) of lon 116.0
IN_GENERAL = ("115.95", "38.95")
BEFORE, AFTER = dt.date(2024, 6, 30), dt.date(2024, 7, 1)
PAPER_MILL = ["--lon", "115.3075", "--lat", "38.9457", "--industry", "C2221", "--type", "new",
              "--attr", "water_use=800000", "--attr", "in_park=true"]


# ---- helpers -----------------------------------------------------------------------

def clause(cid, effect="prohibit", dimension="spatial_layout", conditions=None, **extra) -> dict:
    out = {"id": cid, "dimension": dimension, "effect": effect}
    if conditions is not None:
        out["conditions"] = conditions
    return {**out, "text": f"{cid} 条款文本", "source": {"article": f"第{cid}条"}, **extra}


def write_list(path, list_id, clauses, *, version="1", level="province", scope=None,
               effective_from=dt.date(2020, 1, 1), effective_to=None):
    doc = {"id": list_id, "title": f"{list_id} 清单", "issuer": "测试厅", "version": str(version),
           "effective_from": effective_from, **({"effective_to": effective_to} if effective_to else {}),
           "level": level, "scope": scope if scope is not None else {"admin": ["13"]},
           "source": {"document": f"《{list_id}》", "issuer": "测试厅", "date": dt.date(2020, 1, 1)},
           "clauses": clauses}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def write_units(path, specs=TWO_UNITS):
    kwargs = {"driver": "GeoJSON"} if str(path).endswith(".geojson") else {}
    make_units(specs).to_file(path, **kwargs)
    return path


def cited(citations) -> dict[tuple[str, str], set[str]]:
    """(list, clause) -> statuses."""
    out: dict[tuple[str, str], set[str]] = {}
    for c in citations:
        out.setdefault((c["list"], c["clause"]), set()).add(c["status"])
    return out


NEW_ORGANIC = {"all": [{"industry": ["C2614"]}, {"type": ["new"]}]}  # X: organic chemicals
NEW_STEEL = {"all": [{"industry": ["C3120"]}, {"type": ["new"]}]}  # Y: steel


@pytest.fixture
def versioned(tmp_path):
    """Two versions of list 'prov': version 1 (to 2024-06-30) prohibits new organic-chemical
    plants (KJ-1); version 2 (from 2024-07-01) prohibits new steel plants (KJ-2) instead."""
    rules = tmp_path / "rules"
    write_list(rules / "prov.yaml", "prov", [clause("KJ-1", conditions=NEW_ORGANIC)],
               version="1", effective_to=BEFORE)
    write_list(rules / "prov-2024.yaml", "prov", [clause("KJ-2", conditions=NEW_STEEL)],
               version="2", effective_from=AFTER)
    return write_units(tmp_path / "units.gpkg"), rules


# (date, industry) -> (verdict, citations (list, version, clause))
VERSIONED_CASES = [
    (BEFORE, "C2614", "prohibited", [("prov", "1", "KJ-1")]),
    (BEFORE, "C3120", "permitted", []),
    (AFTER, "C2614", "permitted", []),
    (AFTER, "C3120", "prohibited", [("prov", "2", "KJ-2")]),
]


# ---- 1. --as-of: the versions in force on the date ------------------------------------

@pytest.mark.parametrize("on, industry, verdict, citations", VERSIONED_CASES)
def test_engine_applies_the_version_in_force_on_each_side_of_the_date(versioned, on, industry, verdict,
                                                                      citations):
    units, rules = versioned
    engine = Engine.load(units, rules, as_of=on)
    assert engine.as_of == on
    assert [(lst.id, lst.version) for lst in engine.lists] == [("prov", "1" if on == BEFORE else "2")]
    result = engine.check(lon=115.95, lat=38.95, industry=industry, type="new")
    assert result.verdict == verdict
    assert [(c["list"], c["version"], c["clause"]) for c in result.citations] == citations


def test_engine_on_switches_version_and_keeps_the_layers(versioned):
    units, rules = versioned
    before = Engine.load(units, rules, as_of=BEFORE)
    assert before.on(None) is before and before.on(BEFORE) is before
    after = before.on(AFTER)
    assert after.as_of == AFTER and after.units is before.units
    steel = after.check(lon=115.95, lat=38.95, industry="C3120", type="new")
    assert (steel.verdict, [c["version"] for c in steel.citations]) == ("prohibited", ["2"])
    assert after.on(BEFORE).check(lon=115.95, lat=38.95, industry="C3120", type="new").verdict == "permitted"


@pytest.mark.parametrize("on, industry, verdict, citations", VERSIONED_CASES)
def test_check_as_of_cites_the_version_in_force(versioned, on, industry, verdict, citations):
    units, rules = versioned
    out = json.loads(run(["check", "--lon", IN_GENERAL[0], "--lat", IN_GENERAL[1], "--industry", industry,
                          "--type", "new", "--units", units, "--rules", rules, "--as-of", on.isoformat(),
                          "--format", "json"], expect=0).stdout)
    assert out["verdict"] == verdict
    assert [(c["list"], c["version"], c["clause"]) for c in out["citations"]] == citations
    assert out["provenance"]["as_of"] == on.isoformat()


def test_screen_as_of_verdict_column(versioned, tmp_path):
    units, rules = versioned
    registry = tmp_path / "registry.csv"
    registry.write_text("id,lon,lat,industry,type\nORG,115.95,38.95,C2614,new\nSTEEL,115.95,38.95,C3120,new\n",
                        encoding="utf-8")
    verdicts = {}
    for on in (BEFORE, AFTER):
        out = tmp_path / f"screened-{on}.csv"
        run(["screen", registry, "-o", out, "--units", units, "--rules", rules, "--as-of", on.isoformat(), "-q"],
            expect=0)
        frame = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        verdicts[on] = dict(zip(frame["id"], zip(frame["verdict"], frame["clauses"])))
    assert verdicts[BEFORE] == {"ORG": ("prohibited", "prov/KJ-1"), "STEEL": ("permitted", "")}
    assert verdicts[AFTER] == {"ORG": ("permitted", ""), "STEEL": ("prohibited", "prov/KJ-2")}


@pytest.mark.parametrize("on, expected", [(BEFORE, [("prov", "1", "KJ-1")]), (AFTER, [("prov", "2", "KJ-2")])])
def test_rules_show_as_of_lists_the_version_in_force(versioned, on, expected):
    units, rules = versioned
    out = json.loads(run(["rules", "show", GENERAL, "--units", units, "--rules", rules, "--as-of", on.isoformat(),
                          "--format", "json"], expect=0).stdout)
    assert out["as_of"] == on.isoformat()
    assert [(e["list"], e["version"], e["clause"]) for e in out["clauses"]] == expected


def test_as_of_before_any_list_is_a_one_line_error(versioned):
    units, rules = versioned
    result = run(["check", "--lon", IN_GENERAL[0], "--lat", IN_GENERAL[1], "--industry", "C2614", "--type", "new",
                  "--units", units, "--rules", rules, "--as-of", "2019-12-31"], expect=1)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "no access list is in force on 2019-12-31" in lines[0]
    assert "2020-01-01" in lines[0]  # the earliest date that would work
    assert "Traceback" not in result.output
    with pytest.raises(DataError, match="no access list is in force on 2019-12-31"):
        Engine.load(units, rules, as_of=dt.date(2019, 12, 31))


def test_overlapping_versions_of_one_list_are_refused(tmp_path):
    rules = tmp_path / "rules"
    write_list(rules / "a.yaml", "prov", [clause("KJ-1", conditions=NEW_ORGANIC)], version="1",
               effective_to=dt.date(2024, 7, 1))
    write_list(rules / "b.yaml", "prov", [clause("KJ-2", conditions=NEW_STEEL)], version="2",
               effective_from=AFTER)
    with pytest.raises(DataError, match="both would apply") as err:
        Engine.load(write_units(tmp_path / "units.gpkg"), rules, as_of=AFTER)
    assert "a.yaml" in str(err.value) and "b.yaml" in str(err.value)


def test_rules_versions_marks_the_version_in_force(versioned):
    _, rules = versioned
    for on, marked in ((BEFORE, "1"), (AFTER, "2")):
        out = run(["rules", "versions", rules, "--as-of", on.isoformat()], expect=0).stdout
        rows = [line for line in out.splitlines() if re.match(r"^[* ] prov\b", line)]
        assert len(rows) == 2, out
        assert [line.split()[2] for line in rows if line.startswith("*")] == [marked], out


@pytest.mark.parametrize("on, zy1_cited", [(BEFORE, False), (AFTER, True)])
def test_sample_paper_mill_meets_the_2024_water_threshold_only_from_1_july(on, zy1_cited):
    out = json.loads(run(["check", *PAPER_MILL, "--as-of", on.isoformat(), "--format", "json"], expect=0).stdout)
    statuses = cited(out["citations"])
    assert (("baoding-city", "ZY-1") in statuses) is zy1_cited
    if zy1_cited:
        assert statuses[("baoding-city", "ZY-1")] == {"applies"}
    versions = {c["version"] for c in out["citations"] if c["list"] == "baoding-city"}
    assert versions == {"2021.1" if on == BEFORE else "2024.1"}
    assert out["provenance"]["as_of"] == on.isoformat()


def test_sample_engine_on_the_date_agrees_with_the_cli(sample_engine):
    for on, zy1_cited in ((BEFORE, False), (AFTER, True)):
        result = sample_engine.on(on).check(lon=115.3075, lat=38.9457, industry="C2221", type="new",
                                            attributes={"water_use": 800000, "in_park": True})
        assert (("baoding-city", "ZY-1") in cited(result.citations)) is zy1_cited


# ---- 2. rule tests ------------------------------------------------------------------

@pytest.fixture
def tested_rules(tmp_path):
    rules = tmp_path / "rules"
    write_list(rules / "prov.yaml", "prov", [clause("KJ-1", conditions=NEW_ORGANIC),
                                             clause("KJ-2", effect="restrict", conditions={"industry": ["C3120"]})])
    return write_units(tmp_path / "units.gpkg"), rules


WRONG_TESTS = """\
tests:
  - name: a chemicals plant is prohibited
    project: {lon: 115.95, lat: 38.95, industry: C2614, type: new}
    expect:
      verdict: prohibited
      cited: [prov/KJ-1]
  - name: wrong expectations
    project: {lon: 115.95, lat: 38.95, industry: C2614, type: new}
    expect:
      verdict: permitted
      cited: [prov/KJ-2]
"""


def test_sample_rule_tests_pass():
    out = run(["rules", "test"], expect=0).output
    match = re.search(r"(\d+) passed, 0 failed", out)
    assert match and int(match.group(1)) >= 13, out
    assert "FAIL" not in out


def test_sample_rule_tests_pass_when_named_by_path():
    run(["rules", "test", sample.rules_dir()], expect=0)


def test_rule_test_with_wrong_expectations_fails_with_a_readable_diff(tested_rules):
    units, rules = tested_rules
    (rules / "prov.tests.yaml").write_text(WRONG_TESTS, encoding="utf-8")
    result = run(["rules", "test", rules, "--units", units], expect=3)
    out = result.output
    assert "Traceback" not in out
    fail_lines = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fail_lines) == 1, out  # the first test passes and is not listed
    assert "prov.tests.yaml:7" in fail_lines[0] and "wrong expectations" in fail_lines[0]
    assert "verdict: expected permitted, got prohibited" in out
    assert "not cited: prov/KJ-2" in out
    assert "1 passed, 1 failed" in out


def test_rule_test_naming_an_unknown_clause_is_reported(tested_rules):
    units, rules = tested_rules
    (rules / "prov.tests.yaml").write_text("""\
tests:
  - name: refers to a clause that does not exist
    project: {lon: 115.95, lat: 38.95, industry: C2614, type: new}
    expect:
      cited: [prov/KJ-9]
""", encoding="utf-8")
    result = run(["rules", "test", rules, "--units", units], expect=3)
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "prov.tests.yaml:2" in result.output
    assert "prov/KJ-9" in result.output and "no clause" in result.output


def test_malformed_rule_test_file_is_a_one_line_error(tested_rules):
    units, rules = tested_rules
    (rules / "prov.tests.yaml").write_text("""\
tests:
  - name: no location
    project: {industry: C2614, type: new}
    expect:
      verdict: prohibited
""", encoding="utf-8")
    result = run(["rules", "test", rules, "--units", units], expect=1)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "prov.tests.yaml:3" in lines[0]
    assert "lon and lat, or site" in lines[0]
    assert "Traceback" not in result.output


def test_rule_test_dated_before_every_list_names_the_test(tested_rules):
    units, rules = tested_rules
    (rules / "prov.tests.yaml").write_text("""\
tests:
  - name: dated before the list took effect
    as_of: 2001-01-01
    project: {lon: 115.95, lat: 38.95, industry: C2614, type: new}
    expect:
      verdict: permitted
""", encoding="utf-8")
    result = run(["rules", "test", rules, "--units", units])
    assert result.exit_code in (1, 3), result.output
    assert "Traceback" not in result.output
    assert "prov.tests.yaml:2" in result.output, result.output
    assert "--as-of" not in result.output, result.output


# ---- 3. rules diff ------------------------------------------------------------------

KJ1_INDUSTRIES = "- industry: [C3110, C3120, C2521, C3011, C3041, C2511]"


@pytest.fixture(scope="module")
def edited_rules(tmp_path_factory):
    """The sample rules twice; in the copy, hebei-province KJ-1 also names I6513 (software)."""
    root = tmp_path_factory.mktemp("diff")
    old, new = root / "old", root / "new"
    shutil.copytree(sample.rules_dir(), old)
    shutil.copytree(sample.rules_dir(), new)
    province = new / "hebei" / "province.yaml"
    text = province.read_text(encoding="utf-8")
    assert text.count(KJ1_INDUSTRIES) == 1
    province.write_text(text.replace(KJ1_INDUSTRIES, KJ1_INDUSTRIES[:-1] + ", I6513]"), encoding="utf-8")
    return root, old, new


def screened(rules, out):
    run(["screen", sample.registry_path(), "-o", out, "--rules", rules, "-q"], expect=0)
    return pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_rules_diff_names_exactly_the_projects_screening_twice_would(edited_rules):
    root, old, new = edited_rules
    changes_path = root / "changes.csv"
    run(["rules", "diff", old, new, "--registry", sample.registry_path(), "-o", changes_path], expect=0)
    changes = pd.read_csv(changes_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    before, after = screened(old, root / "old.csv"), screened(new, root / "new.csv")
    assert list(before["project_id"]) == list(after["project_id"])
    differ = (before["verdict"] != after["verdict"]) | (before["worst_case"] != after["worst_case"])
    expected = set(before["project_id"][differ])
    assert expected  # the edit matters to some projects of the sample registry
    assert set(changes["id"]) == expected
    assert len(changes) == len(expected)
    # the old and new results are those screening gives
    by_id = after.set_index("project_id")
    for row in changes.itertuples(index=False):
        assert (row.new_verdict, row.new_worst_case) == tuple(by_id.loc[row.id, ["verdict", "worst_case"]])
    # only software projects can be affected by adding I6513
    registry = pd.read_csv(sample.registry_path(), dtype=str).set_index("project_id")
    assert set(registry.loc[sorted(expected), "industry"]) == {"I6513"}


def test_rules_diff_added_and_removed_name_the_edited_clause(edited_rules):
    _, old, new = edited_rules
    forward = json.loads(run(["rules", "diff", old, new, "--registry", sample.registry_path(), "--format", "json"],
                             expect=0).stdout)
    assert forward["changed"] == len(forward["projects"]) > 0
    assert [(c["change"], c["clause"]) for c in forward["clauses"]] == [("changed", "hebei-province/KJ-1")]
    for project in forward["projects"]:
        assert "hebei-province/KJ-1" in project["added"]
        assert "hebei-province/KJ-1" not in project["removed"]
    backward = json.loads(run(["rules", "diff", new, old, "--registry", sample.registry_path(), "--format", "json"],
                              expect=0).stdout)
    assert {p["id"] for p in backward["projects"]} == {p["id"] for p in forward["projects"]}
    for project in backward["projects"]:
        assert "hebei-province/KJ-1" in project["removed"]
        assert "hebei-province/KJ-1" not in project["added"]
    text = run(["rules", "diff", old, new, "--registry", sample.registry_path()], expect=0).stdout
    assert "hebei-province/KJ-1" in text
    assert f"{forward['changed']} of {forward['rows']} projects change" in text


def test_rules_diff_of_identical_rule_sets_changes_nothing(edited_rules, tmp_path):
    _, old, _ = edited_rules
    out = json.loads(run(["rules", "diff", old, sample.rules_dir(), "--registry", sample.registry_path(),
                          "--format", "json", "-o", tmp_path / "changes.json"], expect=0).stdout)
    assert out["changed"] == 0 and out["projects"] == [] and out["clauses"] == []
    assert out["rows"] == len(pd.read_csv(sample.registry_path()))
    assert json.loads((tmp_path / "changes.json").read_text(encoding="utf-8")) == []


# ---- 4. --explain: the audit trail ----------------------------------------------------

EXPLAIN_CLAUSES = [
    clause("KJ-1", conditions=NEW_STEEL),
    clause("PW-1", effect="restrict", dimension="emission_control", conditions={"attr": "VOCs", "gt": 10}),
    clause("PW-2", effect="restrict", dimension="emission_control", conditions={"industry": ["C26"]},
           unless={"attr": "in_park", "eq": True}),
    clause("ZY-1", effect="require", dimension="resource_efficiency"),
]


@pytest.fixture
def explain_engine():
    return Engine(make_units(TWO_UNITS), [make_list(EXPLAIN_CLAUSES)])


def nodes(entry, part="conditions") -> dict[str, tuple]:
    return {n["condition"]: (n["value"], n["truth"]) for n in entry[part]}


def test_explain_shows_each_condition_with_value_and_truth(explain_engine):
    result = explain_engine.check(lon=115.95, lat=38.95, industry="C2614", type="new",
                                  attributes={"in_park": False}, explain=True)
    trail = {e["clause"]: e for e in result.explanation}
    assert set(trail) == {"KJ-1", "PW-1", "PW-2", "ZY-1"}  # every clause considered, also those not applying
    kj1 = trail["KJ-1"]
    assert kj1["outcome"] == "does not apply" and kj1["version"] == "1" and kj1["unit"] == GENERAL
    assert kj1["conditions"][0] == {"depth": 0, "condition": "all of", "value": None, "truth": "false"}
    industry_value, industry_truth = nodes(kj1)["industry in C3120"]
    assert industry_value.startswith("C2614 ") and industry_truth == "false"
    assert nodes(kj1)["type in new"] == ("new", "true")
    assert trail["PW-1"]["outcome"] == "undecided"
    assert nodes(trail["PW-1"])["VOCs > 10"] == ("not given", "unknown")
    assert trail["PW-2"]["outcome"] == "applies"
    assert nodes(trail["PW-2"], "unless")["in_park = true"] == ("false", "false")
    assert trail["ZY-1"]["outcome"] == "applies"


def _outcome_from_trail(entry) -> str:
    truth = entry["conditions"][0]["truth"]
    exempt = entry["unless"][0]["truth"] if entry["unless"] else "false"
    if truth == "false" or exempt == "true":
        return "does not apply"
    return "applies" if truth == "true" and exempt == "false" else "undecided"


@pytest.mark.parametrize("industry, attributes", [
    ("C2614", {}), ("C2614", {"in_park": True, "VOCs": 12}), ("C3120", {"VOCs": 5}), ("I6513", {"in_park": False}),
])
def test_explain_top_level_truth_agrees_with_citation_status(explain_engine, industry, attributes):
    result = explain_engine.check(lon=115.95, lat=38.95, industry=industry, type="new", attributes=attributes,
                                  explain=True)
    statuses = cited(result.citations)
    status_of = {"applies": {"applies"}, "undecided": {"unknown"}}
    for entry in result.explanation:
        assert entry["outcome"] == _outcome_from_trail(entry), entry
        key = (entry["list"], entry["clause"])
        if entry["outcome"] == "does not apply":
            assert key not in statuses, entry
        else:
            assert statuses[key] == status_of[entry["outcome"]], entry


def test_check_cli_explain_json_and_text(tmp_path):
    units = write_units(tmp_path / "units.gpkg")
    rules = write_list(tmp_path / "rules" / "prov.yaml", "prov", EXPLAIN_CLAUSES)
    args = ["check", "--lon", IN_GENERAL[0], "--lat", IN_GENERAL[1], "--industry", "C2614", "--type", "new",
            "--units", units, "--rules", rules, "--explain"]
    out = json.loads(run([*args, "--format", "json"], expect=0).stdout)
    assert [e["clause"] for e in out["explanation"]] == ["KJ-1", "PW-1", "PW-2", "ZY-1"]
    assert nodes(out["explanation"][1])["VOCs > 10"] == ("not given", "unknown")
    assert "explanation" not in json.loads(run(args[:-1] + ["--format", "json"], expect=0).stdout)
    text = run(args, expect=0).stdout
    assert "does not apply" in text and "not given" in text
    assert "C2614" in text and "VOCs > 10" in text


def test_screen_explain_column_covers_each_prohibit_and_restrict_clause(tmp_path):
    units = write_units(tmp_path / "units.gpkg")
    rules = write_list(tmp_path / "rules" / "prov.yaml", "prov", EXPLAIN_CLAUSES)
    registry = tmp_path / "registry.csv"
    registry.write_text("id,lon,lat,industry,type,VOCs\n"
                        "A,115.95,38.95,C2614,new,\n"
                        "B,115.95,38.95,C3120,new,20\n"
                        "C,115.95,38.95,I6513,new,1\n"
                        "BAD,,38.95,I6513,new,1\n", encoding="utf-8")
    out = tmp_path / "screened.csv"
    run(["screen", registry, "-o", out, "--units", units, "--rules", rules, "--explain", "-q"], expect=0)
    frame = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig").set_index("id")
    assert "explain" in frame.columns and list(frame.index) == ["A", "B", "C", "BAD"]
    for row in ("A", "B", "C"):
        text = frame.loc[row, "explain"]
        for ref in ("prov/KJ-1=", "prov/PW-1=", "prov/PW-2="):
            assert text.count(ref) == 1, (row, text)
        assert "prov/ZY-1" not in text  # obligations never decide a verdict
    assert "prov/KJ-1=does not apply (industry in C3120: C2614 " in frame.loc["A", "explain"]
    assert "prov/PW-1=undecided (VOCs > 10: not given ?)" in frame.loc["A", "explain"]
    assert "prov/KJ-1=applies" in frame.loc["B", "explain"]
    assert "prov/PW-1=applies (VOCs > 10: 20 t/a ✓)" in frame.loc["B", "explain"]
    assert frame.loc["BAD", "verdict"] == "error" and frame.loc["BAD", "explain"] == ""


def test_check_many_explain_has_one_entry_per_project(explain_engine):
    frame = gpd.GeoDataFrame({"industry": ["C2614", "C3120", "I6513"], "type": "new"},
                             geometry=gpd.points_from_xy([115.95, 116.05, 117.0], [38.95, 38.95, 38.95]),
                             crs=GEOGRAPHIC)
    out = explain_engine.check_many(frame, explain=True)
    assert len(out["explain"]) == 3
    assert "prov" not in out["explain"].iloc[2] and out["explain"].iloc[2] == ""  # in no unit: nothing considered
    assert out["explain"].iloc[1].count("test-list/KJ-1=applies") == 1


def test_explain_shows_the_exact_attribute_value():
    engine = Engine(make_units(TWO_UNITS), [make_list([clause("ZY-1", effect="restrict",
                                                              dimension="resource_efficiency",
                                                              conditions={"attr": "water_use", "gt": 1234565})])])
    result = engine.check(lon=115.95, lat=38.95, industry="C2614", type="new",
                          attributes={"water_use": 1234567}, explain=True)
    (node,) = result.explanation[0]["conditions"]
    assert node["truth"] == "true"
    assert re.sub(r"[,\s]", "", node["value"]).startswith("1234567"), node


def test_explain_and_rules_show_give_the_exact_threshold():
    engine = Engine(make_units(TWO_UNITS), [make_list([clause("ZY-1", effect="restrict",
                                                              dimension="resource_efficiency",
                                                              conditions={"attr": "water_use", "gt": 1234565})])])
    result = engine.check(lon=115.95, lat=38.95, industry="C2614", type="new",
                          attributes={"water_use": 1234567}, explain=True)
    assert "1234565" in re.sub(r"[,\s]", "", result.explanation[0]["conditions"][0]["condition"])
    (entry,) = unit_catalogue(engine, GENERAL)["clauses"]
    assert "1234565" in re.sub(r"[,\s]", "", entry["conditions"])


# ---- 5. provenance --------------------------------------------------------------------

PROVENANCE_LIST = """\
id: prov
title: 测试省清单
issuer: 测试厅
version: "1"
effective_from: 2020-01-01
level: province
scope:
  admin: ["13"]
source:
  document: 《测试省清单》
  issuer: 测试厅
  date: 2020-01-01
clauses:
  - id: KJ-1
    dimension: spatial_layout
    effect: prohibit
    conditions:
      all:
        - industry: [C2614]
        - type: [new]
    text: 禁止新建有机化学原料制造项目。
    source:
      article: 第1条
"""

#: the same list: comments, key order, flow style and quoting differ
PROVENANCE_LIST_REWRITTEN = """\
# 测试省清单 (rewritten: the content is unchanged)
level: province   # a trailing comment
version: 1
effective_from: 2020-01-01
issuer: 测试厅
title: 测试省清单
id: prov
source: {date: 2020-01-01, issuer: 测试厅, document: 《测试省清单》}
scope: {admin: [13]}
clauses:
  # the only clause
  - text: 禁止新建有机化学原料制造项目。
    effect: prohibit
    source: {article: 第1条}
    id: KJ-1
    conditions:
      all: [{industry: [C2614]}, {type: [new]}]
    dimension: spatial_layout
"""


def rules_sha(tmp_path, name, text, units):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "list.yaml").write_text(text, encoding="utf-8")
    return Engine.load(units, folder).provenance["rules_sha256"]


def test_rules_hash_follows_content_not_comments_or_key_order(tmp_path):
    units = write_units(tmp_path / "units.gpkg")
    original = rules_sha(tmp_path, "original", PROVENANCE_LIST, units)
    assert re.fullmatch(r"[0-9a-f]{64}", original)
    assert rules_sha(tmp_path, "rewritten", PROVENANCE_LIST_REWRITTEN, units) == original
    assert rules_sha(tmp_path, "commented", "# a note\n" + PROVENANCE_LIST.replace(
        "    text:", "    # why\n    text:"), units) == original
    edited = PROVENANCE_LIST.replace("禁止新建有机化学原料制造项目。", "禁止新建、扩建有机化学原料制造项目。")
    assert rules_sha(tmp_path, "edited", edited, units) != original


def test_rules_hash_in_cli_json_changes_with_one_clause_text(tmp_path):
    units = write_units(tmp_path / "units.gpkg")
    hashes = []
    for name, text in (("a", PROVENANCE_LIST), ("b", PROVENANCE_LIST.replace("第1条", "第2条"))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "list.yaml").write_text(text, encoding="utf-8")
        out = json.loads(run(["check", "--lon", IN_GENERAL[0], "--lat", IN_GENERAL[1], "--industry", "C2614",
                              "--type", "new", "--units", units, "--rules", tmp_path / name, "--format", "json"],
                             expect=0).stdout)
        hashes.append(out["provenance"]["rules_sha256"])
    assert hashes[0] != hashes[1]


def test_units_hash_is_the_same_for_geopackage_and_geojson(tmp_path):
    rules = write_list(tmp_path / "rules" / "prov.yaml", "prov", [clause("KJ-1", conditions=NEW_ORGANIC)])
    gpkg = Engine.load(write_units(tmp_path / "units.gpkg"), rules).provenance
    geojson = Engine.load(write_units(tmp_path / "units.geojson"), rules).provenance
    assert re.fullmatch(r"[0-9a-f]{64}", gpkg["units_sha256"])
    assert gpkg["units_sha256"] == geojson["units_sha256"]
    assert (gpkg["units_source"], geojson["units_source"]) == ("units.gpkg", "units.geojson")
    moved = [(code, kind, (x0 + 0.001, y0, x1, y1)) for code, kind, (x0, y0, x1, y1) in TWO_UNITS]
    assert Engine.load(write_units(tmp_path / "moved.gpkg", moved), rules).provenance["units_sha256"] \
        != gpkg["units_sha256"]


def test_provenance_names_engine_version_and_echoes_as_of(versioned):
    units, rules = versioned
    out = json.loads(run(["check", "--lon", IN_GENERAL[0], "--lat", IN_GENERAL[1], "--industry", "C3120",
                          "--type", "new", "--units", units, "--rules", rules, "--as-of", "2024-07-01",
                          "--format", "json"], expect=0).stdout)
    prov = out["provenance"]
    assert prov["engine_version"] == zoning.__version__
    assert prov["as_of"] == "2024-07-01"
    assert (prov["lists_loaded"], prov["lists_in_force"]) == (2, 1)
    assert {"rules_sha256", "units_sha256", "zones_sha256"} <= prov.keys()
    assert [c["version"] for c in out["citations"]] == ["2"]
    result = Engine.load(units, rules, as_of=BEFORE).check(lon=115.95, lat=38.95, industry="C2614", type="new")
    api = result.to_dict()["provenance"]
    assert api["engine_version"] == zoning.__version__ and api["as_of"] == "2024-06-30"
    assert api["rules_sha256"] == prov["rules_sha256"]  # the hash covers every version loaded, not the date
    assert api["units_sha256"] == prov["units_sha256"]


def test_provenance_as_of_defaults_to_today(versioned):
    units, rules = versioned
    result = Engine.load(units, rules).check(lon=115.95, lat=38.95, industry="C3120", type="new")
    assert result.to_dict()["provenance"]["as_of"] == dt.date.today().isoformat()


# ---- 6. rules show --------------------------------------------------------------------

@pytest.fixture
def catalogue_layers(tmp_path):
    """Units A (west) and B (east); zone Z1 inside A, zone Z2 inside B touching A along lon 116.0;
    lists at every level, some for the other unit, city or zone."""
    units = write_units(tmp_path / "units.gpkg")
    zones = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame({"zone_id": ["Z1", "Z2"], "kind": ["red_line", "fuel_ban"], "name": ["z1", "z2"]},
                     geometry=[shapely.box(115.92, 38.92, 115.98, 38.98), shapely.box(116.0, 38.92, 116.08, 38.98)],
                     crs="EPSG:4490").to_file(zones)
    rules = tmp_path / "rules"

    def clauses(*specs):
        return [clause(cid, effect=effect, dimension=dim) for cid, dim, effect in specs]

    # written in an order that is neither by level nor by dimension
    write_list(rules / "z1.yaml", "zone-1", clauses(("KJ-1", "spatial_layout", "prohibit")), level="zone",
               scope={"zones": ["Z1"]})
    write_list(rules / "u-a.yaml", "unit-a", clauses(("ZY-1", "resource_efficiency", "require"),
                                                     ("KJ-1", "spatial_layout", "prohibit")),
               level="unit", scope={"units": [GENERAL]})
    write_list(rules / "city.yaml", "city-a", clauses(("PW-1", "emission_control", "restrict"),
                                                      ("KJ-1", "spatial_layout", "prohibit")),
               level="city", scope={"admin": ["1306"]})
    write_list(rules / "prov.yaml", "prov", clauses(("FX-1", "risk_prevention", "require"),
                                                    ("KJ-10", "spatial_layout", "prohibit"),
                                                    ("PW-1", "emission_control", "restrict"),
                                                    ("KJ-2", "spatial_layout", "prohibit")))
    write_list(rules / "other-city.yaml", "city-b", clauses(("KJ-1", "spatial_layout", "prohibit")),
               level="city", scope={"admin": ["1302"]})
    write_list(rules / "u-b.yaml", "unit-b", clauses(("KJ-1", "spatial_layout", "prohibit")),
               level="unit", scope={"units": [PRIORITY]})
    write_list(rules / "z2.yaml", "zone-2", clauses(("KJ-1", "spatial_layout", "prohibit")), level="zone",
               scope={"zones": ["Z2"]})
    return ["--units", units, "--zones", zones, "--rules", rules]


def show_json(layers, code) -> dict:
    return json.loads(run(["rules", "show", code, *layers, "--format", "json"], expect=0).stdout)


def test_rules_show_lists_province_city_unit_then_zone_grouped_by_dimension(catalogue_layers):
    out = show_json(catalogue_layers, GENERAL)
    assert out["unit"]["code"] == GENERAL
    assert [(e["level"], e["list"], e["dimension"], e["clause"]) for e in out["clauses"]] == [
        ("province", "prov", "spatial_layout", "KJ-2"),
        ("province", "prov", "spatial_layout", "KJ-10"),
        ("province", "prov", "emission_control", "PW-1"),
        ("province", "prov", "risk_prevention", "FX-1"),
        ("city", "city-a", "spatial_layout", "KJ-1"),
        ("city", "city-a", "emission_control", "PW-1"),
        ("unit", "unit-a", "spatial_layout", "KJ-1"),
        ("unit", "unit-a", "resource_efficiency", "ZY-1"),
        ("zone", "zone-1", "spatial_layout", "KJ-1"),
    ]
    assert out["clauses"][-1]["zones"] == ["Z1"]
    assert all(e["source"]["article"] and e["text"] for e in out["clauses"])


def test_rules_show_includes_zone_lists_only_for_zones_overlapping_the_unit(catalogue_layers):
    west = {e["list"] for e in show_json(catalogue_layers, GENERAL)["clauses"]}
    east = {e["list"] for e in show_json(catalogue_layers, PRIORITY)["clauses"]}
    assert west == {"prov", "city-a", "unit-a", "zone-1"}  # Z2 only touches the west unit along an edge
    assert east == {"prov", "city-a", "unit-b", "zone-2"}


def test_rules_show_text_is_in_level_order(catalogue_layers):
    out = run(["rules", "show", GENERAL, *catalogue_layers], expect=0).stdout
    heads = [line.split()[:2] for line in out.splitlines() if line.startswith("[")]
    assert heads == [["[province]", "prov"], ["[city]", "city-a"], ["[unit]", "unit-a"], ["[zone]", "zone-1"]]
    dimensions = [line.strip() for line in out.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert dimensions[:3] == ["空间布局约束 (spatial_layout)", "污染物排放管控 (emission_control)",
                              "环境风险防控 (risk_prevention)"]
    assert "9 clause(s)" in out


def test_rules_show_unknown_unit_suggests_the_nearest(catalogue_layers):
    result = run(["rules", "show", "ZH13063230002", *catalogue_layers], expect=1)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "ZH13063230002" in lines[0] and "did you mean" in lines[0] and GENERAL in lines[0]


def test_rules_show_markdown_has_table_header_rows(catalogue_layers):
    out = run(["rules", "show", GENERAL, *catalogue_layers, "--format", "markdown"], expect=0).stdout
    lines = out.splitlines()
    header = "| clause | effect | conditions | text | source |"
    assert lines.count(header) == 8  # one table per (list, dimension): 3 + 2 + 2 + 1
    for i, line in enumerate(lines):
        if line == header:
            assert lines[i + 1] == "|---|---|---|---|---|"
            assert lines[i + 2].startswith("| ")
    assert lines[0] == f"# {GENERAL} unit {GENERAL}"
    assert [line for line in lines if line.startswith("## ")][0].startswith("## [province] prov")


def test_unit_catalogue_unknown_code_raises_input_error(catalogue_layers):
    engine = Engine(make_units(TWO_UNITS), [make_list([clause("KJ-1")])])
    with pytest.raises(InputError, match="did you mean"):
        unit_catalogue(engine, "ZH13063230009")


# ---- 7. review-only clauses -----------------------------------------------------------

@pytest.mark.parametrize("conditions", [None, {"industry": ["C2614"]}, {"attr": "VOCs", "gt": 10}],
                         ids=["always", "industry-matches", "input-missing"])
def test_review_only_prohibit_never_decides_the_verdict(conditions):
    review = clause("KJ-1", conditions=conditions, review_only=True)
    engine = Engine(make_units(TWO_UNITS), [make_list([review])])
    result = engine.check(lon=115.95, lat=38.95, industry="C2614", type="new")
    assert (result.verdict, result.worst_case, result.missing) == ("permitted", "permitted", [])
    (citation,) = [c for c in result.citations if c["clause"] == "KJ-1"]
    assert (citation["effect"], citation["status"]) == ("prohibit", "manual_review")
    frame = gpd.GeoDataFrame({"industry": ["C2614"], "type": "new"},
                             geometry=gpd.points_from_xy([115.95], [38.95]), crs=GEOGRAPHIC)
    batch = engine.check_many(frame)
    assert (batch["verdict"].iloc[0], batch["worst_case"].iloc[0], batch["clauses"].iloc[0]) == (
        "permitted", "permitted", "")


def test_review_only_prohibit_beside_a_restriction_leaves_it_restricted():
    engine = Engine(make_units(TWO_UNITS), [make_list([
        clause("KJ-1", review_only=True),
        clause("KJ-2", effect="restrict", conditions={"industry": ["C26"]}),
    ])])
    result = engine.check(lon=115.95, lat=38.95, industry="C2614", type="new", explain=True)
    assert (result.verdict, result.worst_case) == ("restricted", "restricted")
    assert cited(result.citations) == {("test-list", "KJ-1"): {"manual_review"}, ("test-list", "KJ-2"): {"applies"}}
    outcomes = {e["clause"]: e["outcome"] for e in result.explanation}
    assert outcomes == {"KJ-1": "manual review", "KJ-2": "applies"}


def test_review_only_clause_in_a_zone_list_does_not_decide(tmp_path):
    zones = gpd.GeoDataFrame({"zone_id": ["Z1"], "kind": ["red_line"], "name": ["z1"], "remark": [""]},
                             geometry=[shapely.box(115.9, 38.9, 116.0, 39.0)], crs=GEOGRAPHIC)
    zone_list = make_list([clause("KJ-1", review_only=True)], level="zone", scope={"zones": ["Z1"]},
                          list_id="zone-list")
    engine = Engine(make_units(TWO_UNITS), [zone_list, make_list([clause("ZY-1", effect="require")])], zones)
    result = engine.check(lon=115.95, lat=38.95, industry="C2614", type="new")
    assert (result.verdict, result.worst_case) == ("permitted", "permitted")
    assert cited(result.citations)[("zone-list", "KJ-1")] == {"manual_review"}
