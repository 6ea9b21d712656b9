"""``zoning rules validate``: every kind of finding, each from a broken fixture.

Each test writes a small list (the valid ``BASE`` with one deliberate defect)
into ``tmp_path`` and checks the finding :func:`zoning.authoring.validation.validate`
returns for it: its severity, the file, the exact line of the offending key
or item (computed from the fixture text), the message and the fix hint. The
CLI tests at the end run the command through click's CliRunner.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from tests.conftest import TWO_UNITS, make_units
from zoning.authoring.validation import validate
from zoning.cli import main

AS_OF = dt.date(2024, 1, 1)
GENERAL, PRIORITY = TWO_UNITS[0][0], TWO_UNITS[1][0]  # ZH13063230001 (type 3), ZH13063210001 (type 1)
ZONE_IDS, ZONE_KINDS = ["BYD-HX", "RIV-1"], ["red_line", "river"]

#: a valid province list covering both units of TWO_UNITS; every test breaks one thing
BASE = """\
id: test-list
title: test list
issuer: tester
version: "1"
effective_from: 2021-01-01
level: province
scope:
  admin: ["13"]
source:
  document: doc
  issuer: tester
  date: 2021-01-01
clauses:
  - id: KJ-1
    dimension: spatial_layout
    effect: prohibit
    conditions:
      all:
        - industry: [C26]
        - type: [new, expansion]
    text: no new chemical plants
    source:
      article: "1"
"""
CONDITIONS = """\
    conditions:
      all:
        - industry: [C26]
        - type: [new, expansion]
"""
#: a second clause, appended to BASE
SECOND = """\
  - id: {id}
    dimension: emission_control
    effect: restrict
    text: second clause
    source:
      article: "2"
"""


# ---- helpers ----------------------------------------------------------------------

def edit(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced (the fixture must contain it exactly once)."""
    assert text.count(old) == 1, f"fixture does not contain {old!r} exactly once"
    return text.replace(old, new)


def line_no(text: str, line: str, occurrence: int = 1) -> int:
    """1-based number of the ``occurrence``-th line of ``text`` equal to ``line``."""
    hits = [i + 1 for i, current in enumerate(text.splitlines()) if current == line]
    assert len(hits) >= occurrence, f"{line!r} is not in the fixture {occurrence} time(s)"
    return hits[occurrence - 1]


def write(directory, text: str, name: str = "list.yaml"):
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def units_layer() -> gpd.GeoDataFrame:
    return make_units(TWO_UNITS)


def zones_layer() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone_id": ZONE_IDS, "kind": ZONE_KINDS, "name": ["淀区", "river 1"], "remark": ["", ""]},
        geometry=[shapely.box(116.0, 38.9, 116.05, 38.95), shapely.box(115.95, 38.9, 115.96, 39.0)],
        crs="EPSG:4490")


def check(paths, *, layers: bool = True, as_of: dt.date = AS_OF, units_source: str = "unit layer"):
    paths = paths if isinstance(paths, list) else [paths]
    findings, _ = validate(paths, units_layer() if layers else None, zones_layer() if layers else None,
                           as_of=as_of, units_source=units_source)
    return findings


def one(findings, severity: str, fragment: str):
    """The single finding of ``severity`` whose message (or where) contains ``fragment``."""
    hits = [f for f in findings if f.severity == severity and fragment in f"{f.where}: {f.message}"]
    assert len(hits) == 1, "\n".join(map(str, findings)) or "no findings"
    return hits[0]


def assert_at(finding, path, line: int | None):
    assert finding.path == str(path)
    assert finding.line == line, str(finding)
    assert finding.hint.strip(), str(finding)


def serious(findings):
    return [f for f in findings if f.severity in ("error", "warning")]


def test_base_fixture_is_clean(tmp_path):
    """The control every other test breaks: no error, no warning."""
    assert serious(check(write(tmp_path, BASE))) == []


# ---- files that cannot be read ---------------------------------------------------------

@pytest.mark.parametrize("old, new, bad_line", [
    # a value with ': ' in it
    ("    effect: prohibit\n", "    effect: prohibit: now\n", "    effect: prohibit: now"),
    # a tab used for indentation
    ("    effect: prohibit\n", "\teffect: prohibit\n", "\teffect: prohibit"),
    # a key indented deeper than its siblings
    ("    effect: prohibit\n", "      effect: prohibit\n", "      effect: prohibit"),
    # a second document in the file
    ('      article: "1"\n', '      article: "1"\n---\nid: other\n', "---"),
], ids=["colon-in-value", "tab", "indentation", "two-documents"])
def test_yaml_syntax_error_is_a_finding_at_its_line(tmp_path, old, new, bad_line):
    text = edit(BASE, old, new)
    path = write(tmp_path, text)
    f = one(check(path), "error", "not valid YAML")
    assert_at(f, path, line_no(text, bad_line))
    assert "indentation" in f.hint and "quote" in f.hint


def test_unclosed_quote_is_reported_where_it_opens(tmp_path):
    text = edit(BASE, 'article: "1"', 'article: "1')
    path = write(tmp_path, text)
    f = one(check(path), "error", "not valid YAML")
    assert_at(f, path, line_no(text, '      article: "1'))


def test_file_not_utf8_is_a_finding_at_the_first_bad_line(tmp_path):
    text = edit(BASE, "    text: no new chemical plants", "    text: 禁止新建化工项目")
    path = tmp_path / "list.yaml"
    path.write_bytes(text.encode("gbk"))  # as a Chinese-locale editor saves it
    f = one(check(path), "error", "not UTF-8")
    assert_at(f, path, line_no(text, "    text: 禁止新建化工项目"))
    assert "UTF-8" in f.hint and "GBK" in f.hint


@pytest.mark.parametrize("text", ["- id: a\n- id: b\n", "just a sentence\n", ""],
                         ids=["sequence", "scalar", "empty"])
def test_top_level_not_a_mapping(tmp_path, text):
    path = write(tmp_path, text)
    f = one(check(path), "error", "must be a YAML mapping")
    assert_at(f, path, 1)
    assert "id:" in f.hint


# ---- schema -------------------------------------------------------------------------

@pytest.mark.parametrize("old, new, field, close", [
    ("effective_from: 2021-01-01\nlevel", "efective_from: 2021-01-01\nlevel", "efective_from", "effective_from"),
    ("    effect: prohibit\n", "    efect: prohibit\n", "efect", "effect"),
    ("  admin: [\"13\"]", "  admin: [\"13\"]\n  unit_type: [1]", "unit_type", "unit_types"),
], ids=["list", "clause", "scope"])
def test_unknown_field_suggests_the_close_spelling(tmp_path, old, new, field, close):
    text = edit(BASE, old, new)
    path = write(tmp_path, text)
    findings = check(path)
    f = one(findings, "error", "unknown field")
    bad_line = next(ln for ln in new.splitlines() if ln.lstrip().startswith(f"{field}:"))
    assert_at(f, path, line_no(text, bad_line))
    assert field in f.where
    assert f.hint == f"did you mean '{close}'?"


def test_missing_field_in_a_clause_points_at_the_clause(tmp_path):
    text = edit(BASE, "    text: no new chemical plants\n", "")
    path = write(tmp_path, text)
    f = one(check(path), "error", "field text")
    assert_at(f, path, line_no(text, "  - id: KJ-1"))
    assert "required" in f.message.lower()
    assert f.where == "clause KJ-1, field text"
    assert f.hint == "add 'text:' here"


def test_missing_top_level_field_points_at_the_start(tmp_path):
    path = write(tmp_path, edit(BASE, "issuer: tester\nversion", "version"))
    f = one(check(path), "error", "field issuer")
    assert_at(f, path, 1)
    assert "required" in f.message.lower()
    assert f.hint == "add 'issuer:' here"


def test_empty_version_is_an_error(tmp_path):
    text = edit(BASE, 'version: "1"', "version:")
    path = write(tmp_path, text)
    f = one(check(path), "error", "version")
    assert_at(f, path, line_no(text, "version:"))


def test_missing_clause_source_article(tmp_path):
    text = edit(BASE, '    source:\n      article: "1"\n', "")
    path = write(tmp_path, text)
    f = one(check(path), "error", "missing article")
    assert_at(f, path, line_no(text, "  - id: KJ-1"))
    assert "article" in f.hint


@pytest.mark.parametrize("value", ["2021/01/01", "1 January 2021", "2021-1-1"])
def test_bad_date(tmp_path, value):
    text = edit(BASE, "effective_from: 2021-01-01", f"effective_from: {value}")
    path = write(tmp_path, text)
    f = one(check(path), "error", "field effective_from")
    assert_at(f, path, line_no(text, f"effective_from: {value}"))
    assert "date" in f.message
    assert "YYYY-MM-DD" in f.hint


@pytest.mark.parametrize("value", ["2021-02-30", "2021-13-01"])
def test_impossible_calendar_date_is_a_finding_not_a_traceback(tmp_path, value):
    text = edit(BASE, "effective_from: 2021-01-01", f"effective_from: {value}")
    path = write(tmp_path, text)
    f = one(check(path), "error", "")
    assert_at(f, path, line_no(text, f"effective_from: {value}"))
    assert "YYYY-MM-DD" in f.hint or "date" in f.hint


def test_effective_to_before_effective_from(tmp_path):
    text = edit(BASE, "level: province", "effective_to: 2020-12-31\nlevel: province")
    path = write(tmp_path, text)
    f = one(check(path), "error", "effective_to is before effective_from")
    assert_at(f, path, line_no(text, "effective_to: 2020-12-31"))
    assert "effective_to" in f.hint


@pytest.mark.parametrize("old, new, allowed", [
    ("    dimension: spatial_layout", "    dimension: spatial", "spatial_layout"),
    ("    effect: prohibit", "    effect: forbid", "prohibit"),
    ("level: province", "level: nation", "province"),
], ids=["dimension", "effect", "level"])
def test_bad_dimension_effect_or_level_value(tmp_path, old, new, allowed):
    text = edit(BASE, old, new)
    path = write(tmp_path, text)
    field = new.split(":")[0].strip()
    f = one(check(path), "error", f"field {field}")
    assert_at(f, path, line_no(text, new))
    assert allowed in f.message
    assert f.hint == "use one of the values listed"


def test_unknown_industry_code_suggests_the_nearest(tmp_path):
    text = edit(BASE, "        - industry: [C26]", "        - industry: [C26, C3121]")
    path = write(tmp_path, text)
    f = one(check(path), "error", "unknown industry code")
    assert_at(f, path, line_no(text, "        - industry: [C26, C3121]"))
    assert "'C3121'" in f.message
    assert "nearest valid: C3120" in f.message
    assert "KJ-1" in f.where and "industry" in f.where
    assert "GB/T 4754" in f.hint and "nearest" in f.hint


def test_unknown_project_type(tmp_path):
    text = edit(BASE, "        - type: [new, expansion]", "        - type: [new, extension]")
    path = write(tmp_path, text)
    f = one(check(path), "error", "unknown project type")
    assert_at(f, path, line_no(text, "        - type: [new, extension]"))
    assert "'extension'" in f.message
    assert all(t in f.message for t in ("new", "expansion", "renovation", "relocation"))


@pytest.mark.parametrize("old, new, bad_line, fragment", [
    ("        - industry: [C26]", "        - industry:\n            - C26\n            - C3121",
     "            - C3121", "unknown industry code"),
    ("        - type: [new, expansion]", "        - type:\n            - new\n            - extension",
     "            - extension", "unknown project type"),
], ids=["industry", "type"])
def test_bad_item_of_a_block_list_is_reported_at_the_item(tmp_path, old, new, bad_line, fragment):
    text = edit(BASE, old, new)
    path = write(tmp_path, text)
    f = one(check(path), "error", fragment)
    assert_at(f, path, line_no(text, bad_line))


def test_unknown_attribute(tmp_path):
    text = edit(BASE, "        - type: [new, expansion]", "        - attr: VOC\n          gt: 10")
    path = write(tmp_path, text)
    f = one(check(path), "error", "unknown attribute")
    assert_at(f, path, line_no(text, "        - attr: VOC"))
    assert "'VOC'" in f.message and "VOCs" in f.message  # the known names are listed


def test_comparison_without_operator(tmp_path):
    text = edit(BASE, "        - type: [new, expansion]", "        - attr: VOCs")
    path = write(tmp_path, text)
    f = one(check(path), "error", "needs one of gt")
    assert_at(f, path, line_no(text, "        - attr: VOCs"))


def test_condition_node_with_no_known_key(tmp_path):
    text = edit(BASE, "        - type: [new, expansion]", "        - types: [new, expansion]")
    path = write(tmp_path, text)
    f = one(check(path), "error", "condition node needs one of")
    assert_at(f, path, line_no(text, "        - types: [new, expansion]"))
    assert f.where == "clause KJ-1, field conditions.all.1"
    assert all(k in f.hint for k in ("industry", "type", "attr", "within_distance", "all", "any", "not"))


def test_empty_clauses_hint_is_about_clauses(tmp_path):
    text = BASE.split("clauses:")[0] + "clauses: []\n"
    path = write(tmp_path, text)
    f = one(check(path), "error", "field clauses")
    assert_at(f, path, line_no(text, "clauses: []"))
    assert "C2614" not in f.hint


# ---- duplicate clause ids ------------------------------------------------------------

def test_duplicate_clause_id_at_the_second_one(tmp_path):
    text = BASE + SECOND.format(id="KJ-1")
    path = write(tmp_path, text)
    f = one(check(path), "error", "duplicate clause id")
    assert_at(f, path, line_no(text, "  - id: KJ-1", occurrence=2))
    assert "'KJ-1'" in f.message and "KJ-1" in f.where
    assert "own id" in f.hint


def test_every_duplicate_clause_id_is_reported(tmp_path):
    text = BASE + SECOND.format(id="KJ-1") + SECOND.format(id="PW-1") + SECOND.format(id="PW-1")
    path = write(tmp_path, text)
    findings = check(path)
    assert_at(one(findings, "error", "duplicate clause id 'KJ-1'"), path, line_no(text, "  - id: KJ-1", 2))
    assert_at(one(findings, "error", "duplicate clause id 'PW-1'"), path, line_no(text, "  - id: PW-1", 2))


# ---- versions of one list --------------------------------------------------------------

def version2(text: str = BASE, effective_from: str = "2023-01-01") -> str:
    text = edit(text, 'version: "1"', 'version: "2"')
    return edit(text, "effective_from: 2021-01-01", f"effective_from: {effective_from}")


def test_same_list_id_and_version_in_two_files(tmp_path):
    first = write(tmp_path, BASE, "a.yaml")
    second = write(tmp_path, edit(BASE, "title: test list", "title: a copy"), "b.yaml")
    f = one(check(tmp_path), "error", "same version")
    assert_at(f, second, line_no(BASE, 'version: "1"'))
    assert "'test-list'" in f.message and str(first) in f.message
    assert "version" in f.hint


@pytest.mark.parametrize("old_end", [None, "2023-06-30"])
@pytest.mark.parametrize("names", [("a.yaml", "b.yaml"), ("b.yaml", "a.yaml")], ids=["in-order", "swapped"])
def test_overlapping_versions(tmp_path, names, old_end):
    v1 = BASE if old_end is None else edit(BASE, "level:", f"effective_to: {old_end}\nlevel:")
    v2 = version2()
    write(tmp_path, v1, names[0])
    later = write(tmp_path, v2, names[1])
    f = one(check(tmp_path), "error", "both would apply")
    assert_at(f, later, line_no(v2, "effective_from: 2023-01-01"))
    assert "version 2" in f.where
    assert f.hint == "set effective_to: 2022-12-31 on version 1"


def test_gap_between_versions_is_info(tmp_path):
    write(tmp_path, edit(BASE, "level:", "effective_to: 2022-06-30\nlevel:"), "a.yaml")
    v2 = version2()
    later = write(tmp_path, v2, "b.yaml")
    findings = check(tmp_path)
    f = one(findings, "info", "no version is in force")
    assert_at(f, later, line_no(v2, "effective_from: 2023-01-01"))
    assert "from 2022-07-01 to 2022-12-31" in f.message
    assert "2022-12-31" in f.hint
    assert [f for f in findings if f.severity == "error"] == []


def test_consecutive_versions_are_clean(tmp_path):
    write(tmp_path, edit(BASE, "level:", "effective_to: 2022-12-31\nlevel:"), "a.yaml")
    write(tmp_path, version2(), "b.yaml")
    findings = check(tmp_path)
    assert serious(findings) == []
    assert not [f for f in findings if "no version is in force" in f.message]


# ---- references to the unit and zone layers ---------------------------------------------

@pytest.mark.parametrize("field, old, bad, what, close", [
    ("units", "ZH13063230001", "ZH13063230002", "unit code", "ZH13063230001"),
    ("zones", "BYD-HX", "BYD-HY", "zone id", "BYD-HX"),
    ("zone_kinds", "red_line", "red_lines", "zone kind", "red_line"),
])
def test_unknown_reference_in_scope_with_did_you_mean(tmp_path, field, old, bad, what, close):
    level = "unit" if field == "units" else "zone"
    text = edit(BASE, '  admin: ["13"]', f"  {field}:\n    - {old}\n    - {bad}")
    text = edit(text, "level: province", f"level: {level}")
    path = write(tmp_path, text)
    f = one(check(path), "error", f"unknown {what}")
    assert_at(f, path, line_no(text, f"    - {bad}"))
    assert f"'{bad}'" in f.message and f"scope.{field}" in f.where
    assert f.hint == f"did you mean '{close}'?"


@pytest.mark.parametrize("field, bad, layer", [("units", "XX99", "unit layer"), ("zones", "QQQQQQ", "zone layer")])
def test_unknown_reference_with_nothing_close(tmp_path, field, bad, layer):
    text = edit(BASE, '  admin: ["13"]', f"  {field}: [{bad}]")
    text = edit(text, "level: province", "level: unit" if field == "units" else "level: zone")
    path = write(tmp_path, text)
    f = one(check(path), "error", f"'{bad}'")
    assert_at(f, path, line_no(text, f"  {field}: [{bad}]"))
    assert layer in f.hint


@pytest.mark.parametrize("part", ["conditions", "unless"])
@pytest.mark.parametrize("field, good, bad, what", [
    ("zones", "RIV-1", "RIV-2", "zone id"),
    ("zone_kinds", "river", "rivers", "zone kind"),
])
def test_unknown_reference_in_within_distance(tmp_path, part, field, good, bad, what):
    node = f"within_distance:\n{{pad}}  {field}:\n{{pad}}    - {bad}\n{{pad}}  distance_m: 500"
    if part == "conditions":
        text = edit(BASE, "        - type: [new, expansion]", "        - " + node.format(pad=" " * 10))
    else:
        text = edit(BASE, "    text: no new chemical plants",
                    "    unless:\n      " + node.format(pad=" " * 6) + "\n    text: no new chemical plants")
    path = write(tmp_path, text)
    f = one(check(path), "error", f"unknown {what}")
    pad = " " * (14 if part == "conditions" else 10)
    assert_at(f, path, line_no(text, f"{pad}- {bad}"))
    assert "clause KJ-1" in f.where and "within_distance" in f.where
    assert f.hint == f"did you mean '{good}'?"


def test_within_distance_zones_and_kinds_that_disagree(tmp_path):
    node = "        - within_distance: {zones: [RIV-1], zone_kinds: [red_line], distance_m: 500}"
    text = edit(BASE, "        - type: [new, expansion]", node)
    path = write(tmp_path, text)
    f = one(check(path), "error", "ids and kinds must both match")
    assert_at(f, path, line_no(text, node))
    assert "RIV-1" in f.message and "red_line" in f.message


def test_zone_level_list_without_zones(tmp_path):
    text = edit(BASE, "level: province", "level: zone")
    path = write(tmp_path, text)
    f = one(check(path), "error", "zone-level list needs")
    assert_at(f, path, line_no(text, "level: zone"))
    assert "scope" in f.hint


def test_references_not_checked_without_layers(tmp_path):
    text = edit(BASE, '  admin: ["13"]', "  units: [NOWHERE]")
    path = write(tmp_path, text)
    findings = check(path, layers=False)
    assert [f for f in findings if f.severity == "error"] == []
    f = one(findings, "info", "not checked")
    assert "units" in f.hint  # the parameter, as the API calls it (the CLI says --units)


# ---- clauses that can never apply -----------------------------------------------------

NEVER = {
    "contradictory-types": "    conditions:\n      all:\n        - type: [new]\n"
                           "        - not: {type: [new, expansion]}\n",
    "gt-10-and-lt-5": "    conditions:\n      all:\n        - attr: VOCs\n          gt: 10\n"
                      "        - attr: VOCs\n          lt: 5\n",
    "gt-and-lt-on-one-node": "    conditions:\n      attr: VOCs\n      gt: 10\n      lt: 5\n",
    "unless-always-holds": "    conditions:\n      industry: [C26]\n    unless:\n      industry: [C]\n",
    "within-500-not-within-1000": "    conditions:\n      all:\n"
                                  "        - within_distance: {zones: [RIV-1], distance_m: 500}\n"
                                  "        - not:\n"
                                  "            within_distance: {zones: [RIV-1], distance_m: 1000}\n",
    "flag-and-not-flag": "    conditions:\n      all:\n        - attr: in_park\n          eq: true\n"
                         "        - not: {attr: in_park, eq: true}\n",
    "class-outside-its-division": "    conditions:\n      all:\n        - industry: [C2614]\n"
                                  "        - not: {industry: [C26]}\n",
}


@pytest.mark.parametrize("conditions", NEVER.values(), ids=NEVER.keys())
def test_clause_that_can_never_apply_is_a_warning(tmp_path, conditions):
    text = edit(BASE, CONDITIONS, conditions)
    path = write(tmp_path, text)
    findings = check(path)
    f = one(findings, "warning", "can never apply")
    assert_at(f, path, line_no(text, "    conditions:"))
    assert f.where == "list test-list, clause KJ-1"
    assert ("unless" in f.message) == ("unless:" in conditions)
    assert "exclude each other" in f.hint
    assert [f for f in findings if f.severity == "error"] == []


def test_unless_alone_that_always_holds(tmp_path):
    text = edit(BASE, CONDITIONS, "    unless:\n      type: [new, expansion, renovation, relocation]\n")
    path = write(tmp_path, text)
    f = one(check(path), "warning", "can never apply")
    assert_at(f, path, line_no(text, "    unless:"))
    assert "unless" in f.message


def test_within_distance_contradiction_with_zones_in_another_order(tmp_path):
    conditions = ("    conditions:\n      all:\n"
                  "        - within_distance: {zones: [RIV-1, BYD-HX], distance_m: 500}\n"
                  "        - not:\n"
                  "            within_distance: {zones: [BYD-HX, RIV-1], distance_m: 1000}\n")
    text = edit(BASE, CONDITIONS, conditions)
    path = write(tmp_path, text)
    f = one(check(path), "warning", "can never apply")
    assert_at(f, path, line_no(text, "    conditions:"))


CAN_APPLY = {
    "base": CONDITIONS,
    "gt-5-and-lt-10": "    conditions:\n      all:\n        - attr: VOCs\n          gt: 5\n"
                      "        - attr: VOCs\n          lt: 10\n",
    "ge-5-and-le-5": "    conditions:\n      attr: VOCs\n      ge: 5\n      le: 5\n",
    "unless-narrower": "    conditions:\n      industry: [C26]\n    unless:\n      industry: [C2614]\n",
    "within-1000-not-within-500": "    conditions:\n      all:\n"
                                  "        - within_distance: {zones: [RIV-1], distance_m: 1000}\n"
                                  "        - not:\n"
                                  "            within_distance: {zones: [RIV-1], distance_m: 500}\n",
    "any-type-unless-one": "    conditions:\n      type: [new, expansion]\n    unless:\n      type: [new]\n",
    "no-conditions": "",
}


@pytest.mark.parametrize("conditions", CAN_APPLY.values(), ids=CAN_APPLY.keys())
def test_clause_that_can_apply_gives_no_warning(tmp_path, conditions):
    path = write(tmp_path, edit(BASE, CONDITIONS, conditions))
    findings = check(path)
    assert serious(findings) == []
    assert not [f for f in findings if "apply" in f.message and "clause" in f.where]


# ---- coverage and dates ---------------------------------------------------------------

def test_scope_that_selects_no_unit(tmp_path):
    text = edit(BASE, '  admin: ["13"]', '  admin: ["14"]')  # Shanxi: no unit of the layer
    path = write(tmp_path, text)
    f = one(check(path), "warning", "selects no unit")
    assert_at(f, path, line_no(text, "scope:"))
    assert "scope.admin" in f.hint


def test_units_covered_by_no_list_in_force(tmp_path):
    path = write(tmp_path, edit(BASE, '  admin: ["13"]', "  unit_types: [1]"))
    f = one(check(path, units_source="units.gpkg"), "warning", "covers")
    assert f.path == "units.gpkg" and f.line is None
    assert GENERAL in f.message and PRIORITY not in f.message
    assert f"no list in force on {AS_OF}" in f.message
    assert "scope" in f.hint


def test_units_uncovered_because_the_only_list_has_expired(tmp_path):
    path = write(tmp_path, edit(BASE, "level:", "effective_to: 2022-12-31\nlevel:"))
    f = one(check(path), "warning", "covers")
    assert GENERAL in f.message and PRIORITY in f.message
    assert "dates" in f.hint


def test_list_not_in_force_is_info(tmp_path):
    path = write(tmp_path, BASE)
    findings = check(path, as_of=dt.date(2020, 6, 1))
    f = one(findings, "info", "not in force")
    assert_at(f, path, line_no(BASE, "effective_from: 2021-01-01"))
    assert "2020-06-01" in f.message and "2021-01-01 to open" in f.message
    assert [f for f in findings if f.severity == "error"] == []


# ---- many problems at once -----------------------------------------------------------------

def test_validate_collects_errors_across_files(tmp_path):
    syntax = edit(BASE, "    effect: prohibit\n", "    effect: prohibit: now\n")
    schema = edit(edit(BASE, "id: test-list", "id: second-list"), "C26]", "C3121]")
    schema = edit(schema, "title: test list", "titel: test list")
    reference = edit(edit(BASE, "id: test-list", "id: third-list"), '  admin: ["13"]', "  units: [ZH13063230009]")
    reference = edit(reference, "level: province", "level: unit")
    paths = {name: write(tmp_path, text, name) for name, text in
             [("a.yaml", syntax), ("b.yaml", schema), ("c.yaml", reference), ("d.yaml", version2())]}
    findings = check(tmp_path)
    errors = [f for f in findings if f.severity == "error"]
    assert {(f.path, f.line) for f in errors} >= {
        (str(paths["a.yaml"]), line_no(syntax, "    effect: prohibit: now")),
        (str(paths["b.yaml"]), line_no(schema, "titel: test list")),
        (str(paths["b.yaml"]), line_no(schema, "        - industry: [C3121]")),
        (str(paths["c.yaml"]), line_no(reference, "  units: [ZH13063230009]")),
    }
    assert [f.severity for f in findings] == sorted((f.severity for f in findings),
                                                    key=["error", "warning", "info"].index)


# ---- the command line --------------------------------------------------------------------------

def run(*args):
    result = CliRunner().invoke(main, ["rules", "validate", *map(str, args)])
    # a user-facing failure is a SystemExit, never an uncaught exception
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def write_layers(tmp_path):
    units = units_layer()[["code", "name", "type", "geometry"]]
    units.to_file(tmp_path / "units.gpkg")
    zones_layer().to_file(tmp_path / "zones.gpkg")
    return tmp_path / "units.gpkg", tmp_path / "zones.gpkg"


def test_cli_broken_file_exits_1_with_file_line_and_fix(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules, BASE, "good.yaml")
    text = edit(edit(BASE, "id: test-list", "id: broken"), "effective_from", "efective_from")
    path = write(rules, text, "broken.yaml")
    result = run(rules, "--as-of", AS_OF)
    assert result.exit_code == 1, result.output
    at = f"{path}:{line_no(text, 'efective_from: 2021-01-01')}: error: "
    assert re.search(re.escape(at) + r".*efective_from: unknown field", result.output), result.output
    assert "    fix: did you mean 'effective_from'?" in result.output
    assert "1 list(s) checked: 2 error(s)" in result.output  # the unknown field, and effective_from missing


def test_cli_file_not_utf8_exits_1_without_traceback(tmp_path):
    path = tmp_path / "gbk.yaml"
    path.write_bytes(edit(BASE, "no new chemical plants", "禁止新建化工项目").encode("gbk"))
    result = run(path, "--as-of", AS_OF)
    assert result.exit_code == 1
    assert f"{path}:{line_no(BASE, '    text: no new chemical plants')}: error: not UTF-8" in result.output
    assert "fix: re-save the file as UTF-8" in result.output


def test_cli_impossible_date_exits_1_without_traceback(tmp_path):
    text = edit(BASE, "effective_from: 2021-01-01", "effective_from: 2021-02-30")
    path = write(tmp_path, text)
    result = run(path, "--as-of", AS_OF)
    assert result.exit_code == 1
    assert f"{path}:{line_no(text, 'effective_from: 2021-02-30')}: error: " in result.output


def test_cli_clean_directory_exits_0(tmp_path):
    write(tmp_path, BASE)
    result = run(tmp_path, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "1 list(s) checked: 0 error(s), 0 warning(s)" in result.output


def test_cli_strict_exits_1_on_warnings(tmp_path):
    write(tmp_path, edit(BASE, CONDITIONS, NEVER["gt-10-and-lt-5"]))
    plain = run(tmp_path, "--as-of", AS_OF)
    assert plain.exit_code == 0, plain.output
    assert "0 error(s), 1 warning(s)" in plain.output
    strict = run(tmp_path, "--as-of", AS_OF, "--strict")
    assert strict.exit_code == 1, strict.output
    assert ": warning: list test-list, clause KJ-1: can never apply" in strict.output


def test_cli_json_format(tmp_path):
    text = edit(BASE, "C26]", "C3121]")
    path = write(tmp_path, text)
    result = run(path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["counts"]["error"] == 1 and report["lists"] == 0
    for finding in report["findings"]:
        assert {"severity", "path", "line", "hint", "message", "where"} <= set(finding)
    [error] = [f for f in report["findings"] if f["severity"] == "error"]
    assert error["path"] == str(path)
    assert error["line"] == line_no(text, "        - industry: [C3121]")
    assert "C3120" in error["message"] and error["hint"]


def test_cli_with_layers_checks_references_and_coverage(tmp_path):
    units, zones = write_layers(tmp_path)
    rules = tmp_path / "rules"
    rules.mkdir()
    text = edit(BASE, '  admin: ["13"]', "  units: [ZH13063230002]")
    path = write(rules, edit(text, "level: province", "level: unit"))
    result = run(rules, "--units", units, "--zones", zones, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1
    [error] = [f for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"]
    assert (error["path"], error["line"]) == (str(path), line_no(text, "  units: [ZH13063230002]"))
    assert error["hint"] == "did you mean 'ZH13063230001'?"

    write(rules, edit(BASE, '  admin: ["13"]', "  unit_types: [1]"))  # fixed, but covering one unit only
    result = run(rules, "--units", units, "--zones", zones, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert f"{units}: warning: 1 unit(s): no list in force on {AS_OF} covers {GENERAL}" in result.output


def test_cli_without_arguments_checks_the_sample(tmp_path):
    result = run()
    assert result.exit_code == 0, result.output
    assert re.search(r"\d+ list\(s\) checked: 0 error\(s\), 0 warning\(s\)", result.output), result.output


# ---- the rule language: expressions, obligations and parameters ---------------------------

def with_expr(expr: str) -> str:
    return edit(BASE, "        - type: [new, expansion]\n",
                f"        - type: [new, expansion]\n        - expr: \"{expr}\"\n")


@pytest.mark.parametrize(("expr", "units"), [
    ("COD_x < capacity_mw", None), ("COD < capacity_mw", "t/a and MW"), ("COD + water_use > 5", "t/a and m3/a"),
    ("max(COD, capacity_mw) > 1", "t/a and MW")])
def test_an_expression_comparing_different_units_is_an_error(tmp_path, expr, units):
    path = write(tmp_path, with_expr(expr))
    findings = check(path)
    if units is None:  # an unknown attribute: refused when the list is read, with its line
        assert any(f.severity == "error" and "COD_x" in f.message for f in findings)
        return
    f = one(findings, "error", "different units")
    assert units in f.message
    assert_at(f, path, line_no(with_expr(expr), f"        - expr: \"{expr}\""))


@pytest.mark.parametrize("expr", ["COD <= 2 * COD", "water_use / output_value > 3", "2 * COD > NOx",
                                  "COD - 1 >= 0"])
def test_expressions_that_can_hold_are_not_reported(tmp_path, expr):
    assert serious(check(write(tmp_path, with_expr(expr)))) == []


@pytest.mark.parametrize("expr", ["COD < 0", "COD > 2 * COD + 1", "min(COD, 5) > 5"])
def test_an_expression_false_for_every_input_is_a_warning(tmp_path, expr):
    path = write(tmp_path, with_expr(expr))
    f = one(check(path), "warning", "false for every value")
    assert_at(f, path, line_no(with_expr(expr), f"        - expr: \"{expr}\""))


def test_an_obligation_in_another_unit_than_its_amount_is_a_warning(tmp_path):
    text = BASE.replace("    text: no new chemical plants\n", "    text: no new chemical plants\n"
                        "    obligations:\n      - {name: offset, amount: \"2 * COD\", unit: m3/a}\n")
    text = text.replace("effect: prohibit", "effect: restrict")
    path = write(tmp_path, text)
    f = one(check(path), "warning", "amount '2 * COD' is in t/a")
    assert f.line == line_no(text, "      - {name: offset, amount: \"2 * COD\", unit: m3/a}")


PARAMETERS = """\
parameters:
  - name: cap
    by: unit_type
    unit: t/a
    values: {"1": 5}
    source: {document: d, issuer: i, date: 2021-01-01, article: "1"}
"""


def test_a_parameter_missing_for_a_unit_is_an_error_naming_the_table(tmp_path):
    write(tmp_path, PARAMETERS, "caps.parameters.yaml")
    path = write(tmp_path, with_expr("COD > $cap"))
    findings = check(tmp_path)
    f = one(findings, "error", "has no value for")
    assert GENERAL in f.message and f.path.endswith("caps.parameters.yaml")
    assert check([path], layers=False) is not None  # without the layers, not checked
    write(tmp_path, PARAMETERS.replace('{"1": 5}', '{"1": 5, "3": 8}'), "caps.parameters.yaml")
    assert serious(check(tmp_path)) == []


def test_an_undeclared_parameter_is_an_error_with_its_line(tmp_path):
    path = write(tmp_path, with_expr("COD > $nowhere"))
    f = one(check(path), "error", "$nowhere")
    assert f.line == line_no(with_expr("COD > $nowhere"), "        - expr: \"COD > $nowhere\"")
