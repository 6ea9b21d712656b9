"""What would change a result (zoning.siting.counterfactuals): every suggestion is checked again here with
``engine.check``, independently of the batch re-check guidance runs itself."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from tests.conftest import run
from zoning import Engine
from zoning.siting.counterfactuals import KIND, check_with_guidance, guidance
from zoning.siting.registry_guidance import summary_line

SITE = {"lon": 115.42381, "lat": 38.91908}  # a general-control unit of the sample region (Baoding, Jingxiu)

LIST = """\
id: {id}
title: test list {id}
issuer: tester
version: "1"
effective_from: 2020-01-01
level: province
scope:
  admin: ["13"]
source:
  document: test
  issuer: tester
  date: 2020-01-01
  article: test
clauses:
{clauses}
"""

CLAUSES = {
    "flag": """\
  - id: F-1
    dimension: spatial_layout
    effect: prohibit
    conditions: {all: [{industry: [C26]}, {type: [new, expansion]}]}
    unless: {attr: in_park, eq: true}
    text: chemical plants only in a park
""",
    "numbers": """\
  - id: N-1
    dimension: emission_control
    effect: restrict
    conditions: {all: [{industry: [C17]}, {attr: VOCs, gt: 10}]}
    text: VOCs above 10 t/a restricted
  - id: E-1
    dimension: emission_control
    effect: prohibit
    conditions: {all: [{industry: [C17]}, {attr: VOCs, gt: 0}, {expr: "VOCs_offset < 2 * VOCs"}]}
    text: VOCs offset at least twice the emission
""",
    "type": """\
  - id: T-1
    dimension: spatial_layout
    effect: prohibit
    conditions: {all: [{industry: [C3120]}, {type: [new, expansion]}]}
    text: no new or expanded steelmaking
""",
    "industry": """\
  - id: I-1
    dimension: spatial_layout
    effect: prohibit
    conditions: {industry: [C3110]}
    text: no iron smelting here at all
""",
    "category": """\
  - id: K-1
    dimension: spatial_layout
    effect: prohibit
    conditions: {all: [{industry: [D4411]}, {attr: fuel, in: [coal]}]}
    text: no coal-fired power
""",
    "boiler": """\
  - id: B-1
    dimension: spatial_layout
    effect: prohibit
    conditions: {all: [{industry: [C22]}, {attr: coal_use, gt: 0}, {attr: boiler_capacity, lt: 35}]}
    text: no coal boilers under 35 t/h
""",
}

ATTRIBUTES = """\
attributes:
  - {name: VOCs_offset, kind: number, quantity: mass_per_year, description: VOCs reductions secured}
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The sample units with one small list per clause kind (industries kept apart, so each test sees its own)."""
    folder = tmp_path_factory.mktemp("rules")
    for name, clauses in CLAUSES.items():
        (folder / f"{name}.yaml").write_text(LIST.format(id=f"t-{name}", clauses=clauses.rstrip("\n")),
                                             encoding="utf-8")
    (folder / "test.attributes.yaml").write_text(ATTRIBUTES, encoding="utf-8")
    return Engine.load(rules=folder)


def _applied(kwargs: dict, change_inputs: list[dict]) -> dict:
    """The check's keywords with the changes applied (each at the value guidance re-checked)."""
    out = {**kwargs, "emissions": dict(kwargs.get("emissions") or {}),
           "attributes": dict(kwargs.get("attributes") or {})}
    for c in change_inputs:
        value = c.get("tested", c["value"])
        if c["input"] == "type":
            out["type"] = value
        elif c["input"] in out["emissions"]:
            out["emissions"][c["input"]] = value
        else:
            out["attributes"][c["input"]] = value
    return out


def _cited(result) -> set[str]:
    """Deciding clauses that apply or are undecided."""
    return {f"{c['list']}/{c['clause']}" for c in result.citations
            if c["effect"] in ("prohibit", "restrict") and c["status"] in ("applies", "unknown")}


def assert_verified(engine: Engine, kwargs: dict, found: dict) -> int:
    """Every reported change, applied and checked again, lifts its clause and gives the verdict claimed;
    so does the combination. Returns how many changes were checked."""
    n = 0
    for clause in found["clauses"]:
        for change in clause["changes"]:
            after = engine.check(**_applied(kwargs, change["inputs"]))
            assert clause["clause"] not in _cited(after), (clause["clause"], change["text"])
            assert after.verdict == change["verdict_after"], (clause["clause"], change["text"])
            n += 1
    combined = found["combined"]
    if combined and combined["found"]:
        after = engine.check(**_applied(kwargs, combined["inputs"]))
        assert not _cited(after) & set(combined["clauses"])
        assert after.verdict == combined["verdict_after"]
        n += 1
        for other in combined["alternatives"]:
            after = engine.check(**_applied(kwargs, other["inputs"]))
            assert not _cited(after) & set(combined["clauses"]) and after.verdict == other["verdict_after"]
            n += 1
    return n


def _clause(found: dict, key: str) -> dict:
    return next(c for c in found["clauses"] if c["clause"] == key)


def test_a_flag_exception_is_suggested_and_verified(engine):
    kwargs = {**SITE, "industry": "C2614", "type": "new", "attributes": {"in_park": False}}
    result = check_with_guidance(engine, **kwargs, places=False)
    assert result.verdict == "prohibited"
    found = result.guidance
    assert found["kind"] == KIND and "not a verdict" in found["note"]
    clause = _clause(found, "t-flag/F-1")
    assert clause["status"] == "applies" and clause["liftable"]
    first = clause["changes"][0]  # the clause's own exception comes first
    assert first["text"] == "in_park = true" and first["verdict_after"] == "permitted"
    assert "type = renovation" in [c["text"] for c in clause["changes"]]
    assert clause["industry_only"] == ["industry ∉ C26"]  # named, never suggested
    assert all(i["input"] != "industry" for c in clause["changes"] for i in c["inputs"])
    assert assert_verified(engine, kwargs, found) >= 2
    assert result.explanation is None  # the trail guidance read is not kept unless asked for
    assert result.to_dict()["guidance"] == found


def test_a_numeric_threshold_and_an_expression_operand(engine):
    kwargs = {**SITE, "industry": "C1711", "type": "new", "emissions": {"VOCs": 12},
              "attributes": {"VOCs_offset": 20}}
    found = guidance(engine, engine.check(**kwargs), places=False)
    threshold = _clause(found, "t-numbers/N-1")
    assert [c["text"] for c in threshold["changes"]] == ["VOCs ≤ 10 t/a"]
    expression = _clause(found, "t-numbers/E-1")
    texts = {c["text"]: c["verdict_after"] for c in expression["changes"]}
    assert texts["VOCs_offset ≥ 24 t/a"] == "restricted"  # 2 × 12, VOCs held; N-1 still applies
    assert texts["VOCs ≤ 10 t/a"] == "permitted"  # the threshold on the other operand, the offset held
    assert found["combined"]["found"] and found["combined"]["text"] == "VOCs ≤ 10 t/a"
    assert found["combined"]["verdict_after"] == "permitted"
    assert assert_verified(engine, kwargs, found) >= 4


def test_a_project_type_change(engine):
    kwargs = {**SITE, "industry": "C3120", "type": "new"}
    found = guidance(engine, engine.check(**kwargs), places=False)
    clause = _clause(found, "t-type/T-1")
    assert {c["text"] for c in clause["changes"]} >= {"type = relocation", "type = renovation"}
    assert assert_verified(engine, kwargs, found) >= 2


def test_a_category_value(engine):
    kwargs = {**SITE, "industry": "D4411", "type": "new", "attributes": {"fuel": "coal"}}
    found = guidance(engine, engine.check(**kwargs), places=False)
    clause = _clause(found, "t-category/K-1")
    assert clause["changes"] and all(c["inputs"][0]["input"] == "fuel" and c["inputs"][0]["value"] != "coal"
                                     for c in clause["changes"])
    assert assert_verified(engine, kwargs, found) >= 2


def test_a_lower_bound_and_a_flag_alternative(engine):
    kwargs = {**SITE, "industry": "C2211", "type": "new", "attributes": {"coal_use": 100, "boiler_capacity": 20}}
    found = guidance(engine, engine.check(**kwargs), places=False)
    clause = _clause(found, "t-boiler/B-1")
    assert {"boiler_capacity ≥ 35 t/h", "coal_use ≤ 0 t/a"} <= {c["text"] for c in clause["changes"]}
    assert assert_verified(engine, kwargs, found) >= 2


def test_a_clause_without_exception_is_not_liftable(engine):
    kwargs = {**SITE, "industry": "C3110", "type": "new"}
    found = guidance(engine, engine.check(**kwargs), places=False)
    clause = _clause(found, "t-industry/I-1")
    assert not clause["liftable"] and clause["changes"] == []
    assert clause["reason"].endswith("only another place") and "industry" in clause["reason"]
    assert "t-industry/I-1" in found["not_liftable"]
    assert found["combined"] == {"found": False, "reason": found["combined"]["reason"]}
    assert "t-industry/I-1" in found["combined"]["reason"]
    assert "not liftable (only another place): t-industry/I-1" in summary_line(found)


def test_undetermined_gives_the_values_that_decide(engine):
    kwargs = {**SITE, "industry": "C1711", "type": "new", "attributes": {"VOCs_offset": 20}}
    result = engine.check(**kwargs)
    assert result.verdict == "undetermined" and result.missing == ["VOCs"]
    found = guidance(engine, result, places=False)
    (vocs,) = found["undetermined"]
    assert vocs["input"] == "VOCs" and vocs["decides"]
    assert [(o["when"], o["verdict_after"]) for o in vocs["outcomes"]] == [
        ("VOCs ≤ 10 t/a", "permitted"), ("VOCs > 10 t/a", "prohibited")]
    assert vocs["text"] == "VOCs ≤ 10 t/a → permitted; VOCs > 10 t/a → prohibited"
    for outcome in vocs["outcomes"]:  # every value tried gives the verdict said
        for value in outcome["tested"]:
            again = engine.check(**{**kwargs, "emissions": {"VOCs": value}})
            assert again.verdict == outcome["verdict_after"]
    # and the undecided clauses are lifted by giving the input below the threshold
    clause = _clause(found, "t-numbers/E-1")
    assert clause["status"] == "undecided" and clause["changes"][0]["text"] == "VOCs ≤ 10 t/a"
    assert assert_verified(engine, kwargs, found) >= 2


def test_a_missing_flag_decides_by_value(engine):
    kwargs = {**SITE, "industry": "C2614", "type": "new"}
    result = engine.check(**kwargs)
    assert result.verdict == "undetermined" and result.missing == ["in_park"]
    found = guidance(engine, result, places=False)
    (park,) = found["undetermined"]
    assert park["text"] == "in_park = false → prohibited; in_park = true → permitted"
    for value, verdict in ((False, "prohibited"), (True, "permitted")):
        assert engine.check(**kwargs, attributes={"in_park": value}).verdict == verdict


def test_a_result_that_nothing_missing_can_change_has_no_undetermined_part(engine):
    kwargs = {**SITE, "industry": "C3110", "type": "new"}
    result = engine.check(**kwargs)
    assert result.verdict == result.worst_case == "prohibited"
    assert guidance(engine, result, places=False)["undetermined"] == []


def test_a_permitted_result_needs_nothing(engine):
    found = guidance(engine, engine.check(**SITE, industry="A0111", type="new"), places=False)
    assert found["kind"] == KIND and found["clauses"] == [] and found["summary"].startswith("permitted")
    assert "places" not in found


def test_the_sample_region(sample_engine):
    kwargs = {**SITE, "industry": "C2614", "type": "new", "emissions": {"VOCs": 12.5},
              "attributes": {"in_park": False}}
    result = check_with_guidance(sample_engine, **kwargs, places=False)
    found = result.guidance
    park = _clause(found, "hebei-province/KJ-4")
    assert park["changes"][0]["text"] == "in_park = true"
    assert park["changes"][0]["verdict_after"] == "prohibited"  # the Baoding clause KJ-7 still applies
    assert _clause(found, "baoding-city/KJ-7")["depends_on_location"]
    assert assert_verified(sample_engine, kwargs, found) >= 10
    json.dumps(found, ensure_ascii=False)  # JSON-ready


def test_the_expression_of_the_sample_coal_power_clause(sample_engine):
    kwargs = {**SITE, "industry": "D4411", "type": "new",
              "attributes": {"fuel": "coal", "capacity_mw": 600, "replacement_capacity_mw": 300}}
    found = guidance(sample_engine, sample_engine.check(**kwargs), places=False)
    texts = [c["text"] for c in _clause(found, "hebei-province/KJ-5")["changes"]]
    assert "replacement_capacity_mw ≥ 600 MW" in texts and "capacity_mw ≤ 300 MW" in texts
    assert assert_verified(sample_engine, kwargs, found) >= 4


@pytest.mark.skipif(not hasattr(Engine, "where"), reason="Engine.where (the map of where a project may go) "
                                                           "is not available yet: the place part needs it")
def test_the_place_part_is_rechecked(sample_engine):
    kwargs = {**SITE, "industry": "C3911", "type": "new"}
    found = check_with_guidance(sample_engine, **kwargs).guidance
    places = found["places"]
    assert places["available"]
    place = places["at_most_restricted"]
    assert place is not None and place["verdict_checked"] in ("permitted", "restricted")
    again = sample_engine.check(lon=place["lon"], lat=place["lat"], industry="C3911", type="new")
    assert again.verdict == place["verdict_checked"]


def test_result_dict_has_guidance_only_when_set(sample_engine):
    plain = sample_engine.check(**SITE, industry="C2614", type="new")
    assert "guidance" not in plain.to_dict()


def test_places_can_be_left_out(sample_engine):
    found = guidance(sample_engine, sample_engine.check(**SITE, industry="C2614", type="new"), places=False)
    assert "places" not in found and textwrap.shorten(summary_line(found), 40)


# -- the command line ------------------------------------------------------------------------------
CHECK = ["check", "--lon", SITE["lon"], "--lat", SITE["lat"], "--industry", "C2614", "--type", "new",
         "--emission", "VOCs=12.5", "--attr", "in_park=false"]


def test_check_guidance_text_and_json():
    text = run([*CHECK, "--guidance"], expect=0).output
    assert "What would change the result 改变结论的条件" in text and "not a verdict" in text
    assert "hebei-province/KJ-4" in text and "lifted by in_park = true → prohibited" in text
    plain = run(CHECK, expect=0).output
    assert "What would change" not in plain
    data = json.loads(run([*CHECK, "--guidance", "--format", "json"], expect=0).output)
    assert data["verdict"] == "prohibited" and data["guidance"]["kind"] == KIND
    assert "explanation" not in data  # the trail guidance reads is not printed unless asked for
    assert "guidance" not in json.loads(run([*CHECK, "--format", "json"], expect=0).output)


def test_report_guidance_section(tmp_path):
    out = tmp_path / "report.md"
    args = ["report", *CHECK[1:], "--no-map", "-o", out]
    run([*args, "--guidance"], expect=0)
    text = out.read_text(encoding="utf-8")
    assert "## 改变结论的条件 What would change the result" in text
    assert "hebei-province/KJ-4" in text and "in\\_park = true → 禁止 PROHIBITED" in text
    run(args, expect=0)
    assert "What would change the result" not in out.read_text(encoding="utf-8")


def test_screen_guidance_column(tmp_path):
    registry = tmp_path / "registry.csv"
    registry.write_text("name,lon,lat,industry,type,VOCs,in_park\n"
                        f"a,{SITE['lon']},{SITE['lat']},C2614,new,12.5,false\n"
                        f"b,{SITE['lon']},{SITE['lat']},A0111,new,,\n"
                        f"c,{SITE['lon']},{SITE['lat']},C3911,new,,\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    run(["screen", registry, "-o", out, "--guidance", "-q"], expect=0)
    rows = pd.read_csv(out, keep_default_na=False)
    assert list(rows.columns)[-1] == "guidance"
    assert rows["guidance"][0].startswith("lift all ") and "→ permitted" in rows["guidance"][0]
    assert rows["verdict"][1] == "permitted" and rows["guidance"][1] == ""
    assert rows["verdict"][2] == "undetermined" and "missing VOCs: VOCs ≤ 0 t/a → undetermined" in rows["guidance"][2]
    run(["screen", registry, "-o", out, "-q"], expect=0)
    assert "guidance" not in pd.read_csv(out).columns
