"""Parameter tables (issue 15): ``$name`` values by unit, unit type, admin prefix, zone, zone kind or a column of
the unit layer; CSV values, defaults, dated versions; refused where a clause needs a value that is missing; the
value used cited and shown in the audit trail. Builders are shared with tests/test_rule_language.py."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests.conftest import run
from tests.test_rule_language import access_list, frame_of, load, restrict, rule_set, write_units, write_zones
from zoning import DataError

#: four units in a row, in three divisions (130632 安新, 130602 保定, 130102 石家庄) and Beijing (110101)
U1, U2, U3, U4 = "ZH13063210001", "ZH13060220001", "ZH13010230001", "ZH11010130001"
UNITS = [(U1, 1, (115.6, 38.9, 115.7, 39.0)), (U2, 2, (115.7, 38.9, 115.8, 39.0)),
         (U3, 3, (115.8, 38.9, 115.9, 39.0)), (U4, 3, (115.9, 38.9, 116.0, 39.0))]
AT = {U1: (115.65, 38.95), U2: (115.75, 38.95), U3: (115.85, 38.95), U4: (115.95, 38.95)}
#: a column of the unit layer holding each unit's cap (none for U3)
WATER_CAP = [5.0, 8.0, None, 12.0]
ZONES = [("Z1", "fuel_ban", (115.62, 38.92, 115.68, 38.98)), ("Z2", "water_source", (115.72, 38.92, 115.78, 38.98)),
         ("Z3", "water_source", (115.92, 38.92, 115.98, 38.98))]
ZONE_AT = {"Z1": AT[U1], "Z2": AT[U2], "Z3": AT[U4]}
OUTSIDE_ZONES = (115.61, 38.91)  # in U1, in no zone
AS_OF = dt.date(2024, 6, 1)
SOURCE = "source: {document: 《用水总量控制指标》, issuer: 测试市水务局, date: 2023-05-01, article: 附表2}"
#: a restrict clause reading $cap; every project with COD at or above the cap is restricted
CAP_CLAUSE = [restrict("ZY-1", "COD >= $cap")]
HIGH = 1e6  # a COD over every cap: the clause applies and cites the value


def table(by: str, body: str, *, name="cap", unit="t/a", extra="") -> str:
    return (f"parameters:\n  - name: {name}\n    by: {by}\n" + (f"    unit: {unit}\n" if unit else "")
            + "    description: 排放上限\n"
            f"    {SOURCE}\n" + "".join(f"    {line}\n" for line in body.splitlines()) + extra)


@pytest.fixture(scope="module")
def layers(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("layers")
    return (write_units(root / "units.gpkg", UNITS, WATER_CAP=WATER_CAP), write_zones(root / "zones.gpkg", ZONES))


def engine(tmp_path, layers, parameters: str, clauses=CAP_CLAUSE, *, lists=None, as_of=AS_OF, files=None):
    units, zones = layers
    return load(rule_set(tmp_path, clauses, parameters=parameters, lists=lists, files=files), units, zones, as_of)


def cited(result, clause="ZY-1", name="cap") -> dict:
    """The parameter entry of ``clause``'s citation."""
    (citation,) = [c for c in result.citations if c["clause"] == clause]
    (entry,) = [p for p in citation["parameters"] if p["name"] == name]
    return entry


def cap_at(eng, point) -> tuple[float, str]:
    """The value of $cap cited at ``point``, and the key it was looked up by."""
    entry = cited(eng.check(lon=point[0], lat=point[1], emissions={"COD": HIGH}))
    return entry["value"], entry["key"]


def restricted_at(eng, point, cod) -> bool:
    return eng.check(lon=point[0], lat=point[1], emissions={"COD": cod}).verdict == "restricted"


# ---- each kind of key ---------------------------------------------------------------------------------

def test_by_unit(tmp_path, layers):
    eng = engine(tmp_path, layers, table("unit", f"values: {{{U1}: 5, {U2}: 8, {U3}: 10, {U4}: 12}}"))
    assert {u: cap_at(eng, AT[u]) for u in AT} == {U1: (5, U1), U2: (8, U2), U3: (10, U3), U4: (12, U4)}
    assert restricted_at(eng, AT[U1], 5) and not restricted_at(eng, AT[U1], 4.99)
    assert restricted_at(eng, AT[U4], 12) and not restricted_at(eng, AT[U4], 11)


def test_by_unit_type(tmp_path, layers):
    eng = engine(tmp_path, layers, table("unit_type", 'values: {"1": 5, "2": 8, "3": 12}'))
    assert {u: cap_at(eng, AT[u]) for u in AT} == {U1: (5, "1"), U2: (8, "2"), U3: (12, "3"), U4: (12, "3")}
    assert restricted_at(eng, AT[U2], 8) and not restricted_at(eng, AT[U2], 7)
    # integer keys in YAML mean the same
    eng = engine(tmp_path / "int", layers, table("unit_type", "values: {1: 5, 2: 8, 3: 12}"))
    assert cap_at(eng, AT[U3]) == (12, "3")


def test_by_admin_prefix_the_longest_prefix_wins(tmp_path, layers):
    eng = engine(tmp_path, layers, table("admin", 'values: {"13": 10, "1306": 20, "130632": 30, "11": 40}'))
    values = {u: cap_at(eng, AT[u])[0] for u in AT}
    assert values == {U1: 30, U2: 20, U3: 10, U4: 40}
    assert restricted_at(eng, AT[U2], 20) and not restricted_at(eng, AT[U2], 19)
    # the key cited leads to the table's row: the unit's division code, or the prefix that matched
    assert cap_at(eng, AT[U2])[1] in ("130602", "1306")
    assert cap_at(eng, AT[U3])[1] in ("130102", "13")


def test_by_admin_prefix_with_a_default_for_divisions_not_listed(tmp_path, layers):
    eng = engine(tmp_path, layers, table("admin", 'values: {"1306": 20}\ndefault: 99'))
    assert {u: cap_at(eng, AT[u])[0] for u in AT} == {U1: 20, U2: 20, U3: 99, U4: 99}


def zone_list(scope: dict, clauses=CAP_CLAUSE) -> dict[str, str]:
    return {"zone.yaml": access_list(clauses, list_id="z", level="zone", scope=scope)}


def test_by_zone(tmp_path, layers):
    eng = engine(tmp_path, layers, table("zone", "values: {Z1: 3, Z2: 7}"), clauses=None,
                 lists=zone_list({"zones": ["Z1", "Z2"]}))
    assert cap_at(eng, ZONE_AT["Z1"]) == (3, "Z1")
    assert cap_at(eng, ZONE_AT["Z2"]) == (7, "Z2")
    assert restricted_at(eng, ZONE_AT["Z1"], 3) and not restricted_at(eng, ZONE_AT["Z1"], 2.9)
    assert not restricted_at(eng, OUTSIDE_ZONES, HIGH)  # outside the zones the list does not apply


def test_by_zone_kind(tmp_path, layers):
    eng = engine(tmp_path, layers, table("zone_kind", "values: {fuel_ban: 3, water_source: 7}"), clauses=None,
                 lists=zone_list({"zone_kinds": ["fuel_ban", "water_source"]}))
    assert cap_at(eng, ZONE_AT["Z1"]) == (3, "fuel_ban")
    assert cap_at(eng, ZONE_AT["Z3"]) == (7, "water_source")
    assert restricted_at(eng, ZONE_AT["Z3"], 7) and not restricted_at(eng, ZONE_AT["Z3"], 6.5)


def test_a_zone_keyed_parameter_is_refused_in_a_list_that_applies_through_units(tmp_path, layers):
    with pytest.raises(DataError, match=r"\$cap"):
        engine(tmp_path, layers, table("zone_kind", "values: {fuel_ban: 3, water_source: 7}"))


def test_by_a_column_of_the_unit_layer_with_a_default_where_it_is_empty(tmp_path, layers):
    eng = engine(tmp_path, layers, table("column", "column: WATER_CAP\ndefault: 15"))
    values = {u: cap_at(eng, AT[u])[0] for u in AT}
    assert values == {U1: 5, U2: 8, U3: 15, U4: 12}
    assert cited(eng.check(lon=AT[U1][0], lat=AT[U1][1], emissions={"COD": HIGH}))["by"] == "column WATER_CAP"
    assert restricted_at(eng, AT[U2], 8) and not restricted_at(eng, AT[U2], 7.9)


def test_by_a_column_refuses_a_unit_without_a_value_and_names_it(tmp_path, layers):
    with pytest.raises(DataError) as caught:
        engine(tmp_path, layers, table("column", "column: WATER_CAP"))
    message = str(caught.value)
    assert U3 in message and "$cap" in message
    assert U1 not in message and U2 not in message and U4 not in message
    # a clause whose list does not cover U3 needs no value there
    lists = {"t.yaml": access_list(CAP_CLAUSE, scope={"units": [U1, U2, U4]})}
    eng = engine(tmp_path / "scoped", layers, table("column", "column: WATER_CAP"), clauses=None, lists=lists)
    assert cap_at(eng, AT[U4])[0] == 12


def test_by_a_column_the_layer_does_not_have_is_refused(tmp_path, layers):
    with pytest.raises(DataError, match="NO_SUCH_COLUMN"):
        engine(tmp_path, layers, table("column", "column: NO_SUCH_COLUMN\ndefault: 1"))


# ---- values from a CSV file, defaults -----------------------------------------------------------------

def test_values_from_a_csv_file_beside_the_table(tmp_path, layers):
    csv_text = f"unit,cap\n{U1},5\n{U2},8.5\n{U3},10\n"
    eng = engine(tmp_path, layers, table("unit", "file: caps.csv\ndefault: 99"), files={"caps.csv": csv_text})
    assert {u: cap_at(eng, AT[u])[0] for u in AT} == {U1: 5, U2: 8.5, U3: 10, U4: 99}
    assert restricted_at(eng, AT[U2], 8.5) and not restricted_at(eng, AT[U2], 8.4)


def test_a_csv_file_with_a_bad_value_or_missing_is_refused_naming_the_file(tmp_path, layers):
    bad = f"unit,cap\n{U1},5\n{U2},lots\n"
    with pytest.raises(DataError, match=r"caps\.csv:3"):
        engine(tmp_path, layers, table("unit", "file: caps.csv\ndefault: 1"), files={"caps.csv": bad})
    with pytest.raises(DataError, match=r"tables\.parameters\.yaml:\d+.*nothere\.csv"):
        engine(tmp_path / "b", layers, table("unit", "file: nothere.csv\ndefault: 1"))


def test_a_default_fills_the_keys_not_listed(tmp_path, layers):
    eng = engine(tmp_path, layers, table("unit", f"values: {{{U1}: 5}}\ndefault: 9"))
    assert {u: cap_at(eng, AT[u])[0] for u in AT} == {U1: 5, U2: 9, U3: 9, U4: 9}


# ---- missing values are refused at load ---------------------------------------------------------------

def test_a_missing_value_in_a_clauses_scope_is_refused_naming_the_units(tmp_path, layers):
    with pytest.raises(DataError) as caught:
        engine(tmp_path, layers, table("unit", f"values: {{{U1}: 5, {U3}: 7}}"))
    message = str(caught.value)
    assert U2 in message and U4 in message and "$cap" in message and "ZY-1" in message
    assert U1 not in message and U3 not in message
    assert "tables.parameters.yaml:" in message
    # the command line says it in one line
    units, zones = layers
    out = run(["check", "--rules", tmp_path / "rules", "--units", units, "--lon", AT[U1][0], "--lat", AT[U1][1],
               "--as-of", AS_OF], expect=1).output
    assert U2 in out and len([line for line in out.splitlines() if line.strip()]) == 1


def test_a_missing_value_outside_every_clauses_scope_is_allowed(tmp_path, layers):
    lists = {"t.yaml": access_list(CAP_CLAUSE, scope={"unit_types": [1]})}
    eng = engine(tmp_path, layers, table("unit", f"values: {{{U1}: 5}}"), clauses=None, lists=lists)
    assert cap_at(eng, AT[U1]) == (5, U1)
    assert eng.check(lon=AT[U2][0], lat=AT[U2][1], emissions={"COD": HIGH}).verdict == "permitted"


def test_an_undeclared_parameter_is_refused_at_load(tmp_path, layers):
    with pytest.raises(DataError, match=r"t\.yaml:\d+.*\$nope"):
        engine(tmp_path, layers, None, clauses=[restrict("ZY-1", "COD >= $nope")])


# ---- dated versions -----------------------------------------------------------------------------------

VERSIONS = f"""\
parameters:
  - name: cap
    by: unit_type
    unit: t/a
    values: {{"1": 5, "2": 5, "3": 5}}
    effective_from: 2021-01-01
    effective_to: 2023-12-31
    {SOURCE}
  - name: cap
    by: unit_type
    unit: t/a
    values: {{"1": 3, "2": 3, "3": 3}}
    effective_from: 2024-01-01
    source: {{document: 《修订》, issuer: 测试市水务局, date: 2023-12-01, article: 附表2}}
"""


@pytest.mark.parametrize("as_of, value, document", [(dt.date(2021, 1, 1), 5, "《用水总量控制指标》"),
                                                    (dt.date(2023, 12, 31), 5, "《用水总量控制指标》"),
                                                    (dt.date(2024, 1, 1), 3, "《修订》"),
                                                    (dt.date(2030, 1, 1), 3, "《修订》")])
def test_the_version_in_force_on_the_date_is_used(tmp_path, layers, as_of, value, document):
    eng = engine(tmp_path, layers, VERSIONS, as_of=as_of)
    entry = cited(eng.check(lon=AT[U2][0], lat=AT[U2][1], emissions={"COD": HIGH}))
    assert entry["value"] == value and entry["source"]["document"] == document
    assert restricted_at(eng, AT[U2], value) and not restricted_at(eng, AT[U2], value - 0.5)


def test_engine_on_another_date_and_check_as_of_switch_versions(tmp_path, layers):
    eng = engine(tmp_path, layers, VERSIONS, as_of=dt.date(2022, 6, 1))
    assert cap_at(eng, AT[U1])[0] == 5
    assert cap_at(eng.on(dt.date(2024, 6, 1)), AT[U1])[0] == 3
    units, _ = layers
    base = ["check", "--rules", tmp_path / "rules", "--units", units, "--lon", AT[U1][0], "--lat", AT[U1][1],
            "--emission", "COD=4", "--format", "json"]
    assert json.loads(run([*base, "--as-of", "2022-06-01"], expect=0).output)["verdict"] == "permitted"
    assert json.loads(run([*base, "--as-of", "2024-06-01"], expect=0).output)["verdict"] == "restricted"


def test_a_date_with_no_version_in_force_is_refused_for_a_clause_that_needs_it(tmp_path, layers):
    with pytest.raises(DataError, match=r"\$cap.*2020-06-01|2020-06-01.*\$cap|no version of parameter \$cap"):
        engine(tmp_path, layers, VERSIONS, as_of=dt.date(2020, 6, 1))


def test_versions_whose_periods_overlap_are_refused(tmp_path, layers):
    overlapping = VERSIONS.replace("effective_to: 2023-12-31", "effective_to: 2024-03-31")
    with pytest.raises(DataError, match="overlap"):
        engine(tmp_path, layers, overlapping)


# ---- the value used is cited and explained ------------------------------------------------------------

def test_the_citation_carries_name_by_key_value_unit_and_source(tmp_path, layers):
    eng = engine(tmp_path, layers, table("unit_type", 'values: {"1": 5, "2": 8, "3": 12}'))
    entry = cited(eng.check(lon=AT[U2][0], lat=AT[U2][1], emissions={"COD": 9}))
    assert entry == {"name": "cap", "by": "unit_type", "key": "2", "value": 8.0, "unit": "t/a",
                     "description": "排放上限",
                     "source": {"document": "《用水总量控制指标》", "issuer": "测试市水务局", "date": "2023-05-01",
                                "article": "附表2"}}
    # an undecided clause cites the value too (the reader sees what the input will be compared with)
    result = eng.check(lon=AT[U2][0], lat=AT[U2][1])
    assert result.verdict == "undetermined" and cited(result)["value"] == 8.0


def test_the_parameter_value_in_json_and_in_the_audit_trail(tmp_path, layers):
    units, zones = layers
    eng = engine(tmp_path, layers, table("unit", f"values: {{{U1}: 5, {U2}: 8, {U3}: 10, {U4}: 12}}"))
    result = eng.check(lon=AT[U2][0], lat=AT[U2][1], emissions={"COD": 9}, explain=True)
    (entry,) = [e for e in result.explanation if e["clause"] == "ZY-1"]
    (node,) = entry["conditions"]
    assert node["truth"] == "true"
    assert "$cap = 8 t/a" in node["value"] and U2 in node["value"] and "COD = 9 t/a" in node["value"]
    out = run(["check", "--rules", tmp_path / "rules", "--units", units, "--lon", AT[U2][0], "--lat", AT[U2][1],
               "--emission", "COD=9", "--format", "json", "--explain", "--as-of", AS_OF], expect=0).output
    data = json.loads(out)
    (citation,) = [c for c in data["citations"] if c["clause"] == "ZY-1"]
    assert citation["parameters"][0]["value"] == 8 and citation["parameters"][0]["key"] == U2
    (trail,) = [e for e in data["explanation"] if e["clause"] == "ZY-1"]
    assert "$cap = 8 t/a" in trail["conditions"][0]["value"]
    text = run(["check", "--rules", tmp_path / "rules", "--units", units, "--lon", AT[U2][0], "--lat", AT[U2][1],
                "--emission", "COD=9", "--as-of", AS_OF], expect=0).output
    assert "cap = 8 t/a" in " ".join(text.split())


def test_an_obligation_reads_a_parameter_per_unit_and_cites_it(tmp_path, layers):
    clauses = [{"id": "PW-1", "effect": "require",
                "obligations": [{"name": "COD offset", "amount": "$ratio * COD", "unit": "t/a"}]}]
    eng = engine(tmp_path, layers, table("unit_type", 'values: {"1": 2, "2": 1.5, "3": 1}', name="ratio", unit=""),
                 clauses=clauses)
    amounts = {u: eng.check(lon=AT[u][0], lat=AT[u][1], emissions={"COD": 10}).obligations[0]["amount"] for u in AT}
    assert amounts == {U1: 20, U2: 15, U3: 10, U4: 10}
    result = eng.check(lon=AT[U1][0], lat=AT[U1][1], emissions={"COD": 10})
    assert cited(result, "PW-1", "ratio")["value"] == 2
    many = eng.check_many(frame_of([{"lon": AT[u][0], "lat": AT[u][1], "COD": 10} for u in AT]))
    assert many["obligations"].tolist() == [f"t/PW-1 COD offset: {a} t/a (= $ratio * COD)" for a in (20, 15, 10, 10)]


def test_batch_reads_each_units_value_like_a_single_check(tmp_path, layers):
    eng = engine(tmp_path, layers, table("admin", 'values: {"13": 10, "1306": 20, "130632": 30, "11": 40}'))
    rows = [{"lon": AT[u][0], "lat": AT[u][1], "COD": cod} for u in AT for cod in (9.5, 10, 20, 30, 40)]
    many = eng.check_many(frame_of(rows))
    single = [eng.check(lon=r["lon"], lat=r["lat"], emissions={"COD": r["COD"]}).verdict for r in rows]
    assert many["verdict"].tolist() == single
    assert single.count("restricted") == 2 + 3 + 4 + 1  # U1 (30): 30, 40; U2 (20): 20, 30, 40; U3 (10); U4 (40)


# ---- the table itself ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, words", [
    ("parameters:\n  - {name: cap, by: unit, values: {a: 1}}\n", ["source"]),
    (f"parameters:\n  - {{name: cap, by: column, {SOURCE}}}\n", ["column"]),
    (f"parameters:\n  - {{name: cap, by: county, values: {{a: 1}}, {SOURCE}}}\n", ["by"]),
    (f"parameters:\n  - {{name: cap, by: unit, {SOURCE}}}\n", ["values", "default"]),
    (f"parameters:\n  - {{name: cap, by: unit, values: {{a: .nan}}, {SOURCE}}}\n", ["finite"]),
    (f"parameters:\n  - {{name: cap, by: unit, values: {{a: many}}, {SOURCE}}}\n", ["values"]),
    (f"parameters:\n  - {{name: cap, by: unit, values: {{a: 1}}, colour: red, {SOURCE}}}\n", ["colour"]),
    ("parameters: []\n", ["parameters"]),
])
def test_a_malformed_table_is_refused_with_file_and_line(tmp_path, layers, body, words):
    with pytest.raises(DataError) as caught:
        engine(tmp_path, layers, body)
    message = str(caught.value)
    assert "tables.parameters.yaml:" in message, message
    for word in words:
        assert word in message, message


def test_a_parameters_block_in_a_list_file_is_refused_saying_where_tables_go(tmp_path, layers):
    """Tables live in ``*.parameters.yaml`` files beside the lists (one table may serve several lists);
    a ``parameters:`` block inside a list is refused with the fix."""
    text = access_list(CAP_CLAUSE).replace("clauses:\n", "parameters:\n" + "".join(
        f"  {line}\n" for line in table("unit_type", 'values: {"1": 5, "2": 8, "3": 12}').splitlines()[1:])
        + "clauses:\n", 1)
    with pytest.raises(DataError) as err:
        engine(tmp_path, layers, None, clauses=None, lists={"t.yaml": text})
    assert "t.yaml:" in str(err.value) and "*.parameters.yaml" in str(err.value)


def test_the_rules_hash_covers_declarations_and_parameter_tables():
    """Changing a threshold in a parameter table, or a declared attribute, changes the rule set's hash."""
    from zoning.evaluate.provenance import rules_hash
    from zoning.rules.parameters import ParameterSpec
    from zoning.vocabulary import AttributeSpec, Declarations, builtin

    lists: list = []
    base = rules_hash(lists)
    assert rules_hash(lists, builtin(), []) == base  # nothing declared: as before
    spec = ParameterSpec(name="cap", by="unit_type", values={"1": 5}, source={"document": "d", "issuer": "i",
                                                                               "date": "2020-01-01", "article": "a"})
    with_table = rules_hash(lists, builtin(), [spec])
    assert with_table != base
    assert rules_hash(lists, builtin(), [spec.model_copy(update={"values": {"1": 6}})]) != with_table
    declared = builtin().extended(Declarations(attributes=[AttributeSpec(name="x_new", kind="flag")]), "t")
    assert rules_hash(lists, declared, []) != base
