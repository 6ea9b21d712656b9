"""Checking a rule set the way ``zoning rules validate`` reports it.

:func:`validate` reads every list under the given paths and returns every
problem it finds as a :class:`~zoning.lists.Finding` (file:line, severity,
message and a fix), rather than stopping at the first as loading does:

* errors (the engine would refuse the rules): unreadable files and YAML
  syntax, the schema (unknown fields, industry codes, types, attributes…),
  duplicate clause ids, a list id used twice with one version, versions of a
  list whose effective periods overlap, unit codes, zone ids and zone kinds
  the layers do not have;
* warnings: a clause that can never apply (its conditions contradict each
  other or its ``unless`` always holds), a list whose scope selects no unit,
  units that no list in force covers;
* info: lists not in force on the date checked, gaps between versions, units
  with neither a unit-level list nor text in the unit layer's four fields.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.authoring.expression_checks import expression_findings, table_values
from zoning.errors import DataError, parameter
from zoning.evaluate.columns import Columns
from zoning.evaluate.compile import compile_rules
from zoning.industries import table as industry_table
from zoning.inputs.units import TEXT_FIELDS, empty_zones
from zoning.projects import PROJECT_TYPES
from zoning.rules.conditions import (
    CategoryIn,
    Compare,
    ExprCompare,
    IndustryIn,
    Inside,
    TypeIn,
    WithinDistance,
    applies,
    walk,
)
from zoning.rules.findings import SEVERITIES, Finding
from zoning.rules.loading import load_vocabulary, parse_list, rule_files
from zoning.rules.nodes import compile_node
from zoning.rules.parameters import ParameterSpec, load_parameters
from zoning.rules.parameters import in_force as parameters_in_force
from zoning.rules.references import reference_findings
from zoning.rules.schema import AccessList
from zoning.rules.versions import in_force, version_findings
from zoning.vocabulary import Vocabulary, builtin

#: probe grids larger than this are not built (the clause is reported as not checked)
MAX_PROBES = 200_000
#: probe rows evaluated together (bounds memory: about 1 KB per row)
BATCH_PROBES = 200_000
SHOWN = 10  # unit codes listed in one finding
#: values an attribute compared in an expression is tried at (besides 0 and those between)
EXPRESSION_PROBES = (0.001, 1.0, 10.0, 1e3, 1e6)


def validate(paths, units: gpd.GeoDataFrame | None = None, zones: gpd.GeoDataFrame | None = None,
             *, as_of: dt.date | None = None,
             units_source: str = "unit layer") -> tuple[list[Finding], list[AccessList]]:
    """Every finding for the lists under ``paths``, most serious first; and the lists that loaded.

    Without ``units`` the references to units and zones are not checked (an
    info finding says so). ``as_of`` (default today) is the date for "in force".
    """
    as_of = as_of or dt.date.today()
    findings: list[Finding] = []
    lists: list[AccessList] = []
    try:
        vocabulary = load_vocabulary(paths)
    except DataError as exc:
        findings.append(Finding("error", ", ".join(map(str, paths)), None, "", str(exc),
                                "correct the attribute declarations (README, Declaring attributes)"))
        vocabulary = builtin()
    try:
        parameters = load_parameters(rule_files(paths, kind="parameters"))
    except DataError as exc:
        message, _, hint = str(exc).partition(" (fix: ")
        findings.append(Finding("error", ", ".join(map(str, paths)), None, "", message,
                                hint.removesuffix(")") or "correct the parameter table (README, Parameters)"))
        parameters = []
    files = rule_files(paths)
    if not files:
        findings.append(Finding("error", ", ".join(map(str, paths)), None, "", "no access lists (*.yaml) found",
                                "point at the rule files or the directory that holds them"))
    for path in files:
        lst, problems = parse_list(Path(path), vocabulary, [p.name for p in parameters])
        findings += problems
        if lst is not None:
            lists.append(lst)
    findings += version_findings(lists)
    by_name: dict[str, list[ParameterSpec]] = {}
    for spec in parameters:
        by_name.setdefault(spec.name, []).append(spec)
    findings += expression_findings(lists, vocabulary, by_name)
    findings += clause_findings(lists, vocabulary, {n: table_values(v) for n, v in by_name.items()})
    for lst in lists:
        if not lst.in_force(as_of):
            period = f"{lst.effective_from} to {lst.effective_to or 'open'}"
            findings.append(Finding("info", lst.path, lst.line("effective_from"), f"list {lst.id}",
                                    f"version {lst.version} is not in force on {as_of} ({period})",
                                    "nothing to fix if it was superseded; otherwise check its dates"))
    if units is None and zones is None:
        findings.append(Finding("info", ", ".join(map(str, paths)), None, "",
                                "unit codes, zone ids and coverage not checked (no unit or zone layer given)",
                                f"give {parameter('units')} and {parameter('zones')} to check them against the layers"))
    else:
        if zones is None:
            findings.append(Finding("info", ", ".join(map(str, paths)), None, "",
                                    "zone ids and kinds not checked (no zone layer given)",
                                    f"give {parameter('zones')} to check them"))
        elif units is None:
            findings.append(Finding("info", ", ".join(map(str, paths)), None, "",
                                    "unit codes and coverage not checked (no unit layer given)",
                                    f"give {parameter('units')} to check them"))
        findings += reference_findings(lists, None if units is None else units["code"],
                                       None if zones is None else zones["zone_id"],
                                       None if zones is None else zones["kind"],
                                       None if zones is None else np.isin(
                                           shapely.get_type_id(zones.geometry.to_numpy()), (3, 6)))
        if units is not None and not any(f.severity == "error" for f in findings):
            findings += coverage_findings(lists, units, zones if zones is not None else empty_zones(), as_of,
                                          units_source, vocabulary, parameters)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order[f.severity], f.path, f.line or 0))
    return findings, lists


# ---- clauses that can never apply -----------------------------------------------

def clause_findings(lists: list[AccessList], vocabulary: Vocabulary | None = None,
                    parameter_values: dict[str, list[float]] | None = None) -> list[Finding]:
    """Clauses whose conditions (with their ``unless``) are false for every possible project
    (``parameter_values``: the values each parameter table gives, tried as a unit's would be)."""
    vocabulary = vocabulary or builtin()
    out = []
    clauses = [(lst, i, clause, compile_node(clause.conditions, vocabulary),
                compile_node(clause.unless, vocabulary) if clause.unless is not None else None)
               for lst in lists for i, clause in enumerate(lst.clauses)]
    possible = can_apply([(cond, unless) for *_, cond, unless in clauses], vocabulary, parameter_values)
    for (lst, i, clause, _, unless), answer in zip(clauses, possible):
        where = f"list {lst.id}, clause {clause.id}"
        line = lst.line("clauses", i, "conditions" if clause.conditions is not None else "unless")
        if answer is False:
            out.append(Finding(
                "warning", lst.path, line, where, "can never apply: no project meets its conditions"
                + (" without also meeting its unless" if unless is not None else ""),
                "look for conditions that exclude each other (an industry and a type that cannot both hold, "
                "gt and lt that leave no value, an unless that always holds)"))
        elif answer is None:
            out.append(Finding("info", lst.path, line, where, "too many combinations to check whether it can apply",
                               "nothing to fix; split the condition if you want it checked"))
    return out


def can_apply(conditions: list[tuple], vocabulary: Vocabulary | None = None,
              parameter_values: dict[str, list[float]] | None = None) -> list[bool | None]:
    """For each ``(condition, unless)``: can "condition and not unless" be true for some project?
    None where the probe would be too large (see :data:`MAX_PROBES`).

    Conditions are piecewise constant: only which named codes an industry
    falls under, the project type, where a number lies among the thresholds
    and where a distance lies among the limits matter. One probe project per
    combination of those (projects that supply every input: an unknown input
    never makes a clause apply) decides the question exactly. The probes of
    all conditions are evaluated as one frame, each condition on its rows.
    """
    vocabulary = vocabulary or builtin()
    answers: dict = {}
    batch: list[tuple] = []
    size = 0
    for key in dict.fromkeys(conditions):
        grid = _grid(key[0], key[1], vocabulary)
        if grid is None:
            continue
        batch.append((key, *grid))
        size += len(grid[0])
        if size >= BATCH_PROBES:  # evaluate in batches: memory stays bounded by the batch
            answers.update(_evaluate_probes(batch, vocabulary, parameter_values or {}))
            batch, size = [], 0
    answers.update(_evaluate_probes(batch, vocabulary, parameter_values or {}))
    return [answers.get(key) for key in conditions]


def _evaluate_probes(batch, vocabulary: Vocabulary, parameter_values: dict[str, list[float]]) -> dict:
    """``{(condition, unless): can it be true}`` for a batch of ``(key, frame, distances)``, as one frame."""
    if not batch:
        return {}
    spans: dict[tuple, np.ndarray] = {}
    distances: dict[tuple, list[tuple[int, np.ndarray]]] = {}
    start = 0
    for key, frame, probe_distances in batch:
        spans[key] = np.arange(start, start + len(frame))
        for selection, values in probe_distances.items():
            distances.setdefault(selection, []).append((start, values))
        start += len(frame)
    cols = Columns.from_projects(pd.concat([frame for _, frame, _ in batch], ignore_index=True), vocabulary)
    full = {}
    for selection, parts in distances.items():
        full[selection] = np.full(start, np.inf)
        for at, values in parts:
            full[selection][at:at + len(values)] = values
    cols.proximity = _Distances(full)  # type: ignore[assignment]  # measured distances, looked up alike
    cols.parameters = _Parameters(parameter_values)  # type: ignore[assignment]  # a typical value per table
    return {key: bool(applies(key[0], key[1], cols.take(rows, units=np.zeros(len(rows), np.int64))).true.any())
            for key, rows in spans.items()}


def _grid(condition, unless, vocabulary: Vocabulary):
    """The probe projects for one condition: a frame, and distances by zone selection (or None: too many)."""
    nodes = [*walk(condition), *walk(unless)]
    industries = _industry_probes([c for n in nodes if isinstance(n, IndustryIn) for c in n.codes])
    types = list(PROJECT_TYPES) if any(isinstance(n, TypeIn) for n in nodes) else [PROJECT_TYPES[0]]
    thresholds: dict[str, set[float]] = {}
    for n in nodes:
        if isinstance(n, Compare):
            thresholds.setdefault(n.attr, set()).update(v for _, v in n.tests)
        elif isinstance(n, CategoryIn):
            thresholds.setdefault(n.attr, set()).update(float(c) for c in n.codes)
        elif isinstance(n, ExprCompare):  # inputs compared with each other: tried across magnitudes
            for name in n.comparison.names():
                thresholds.setdefault(name, set()).update(EXPRESSION_PROBES)
    limits: dict[tuple, set[float]] = {}
    for n in nodes:
        if isinstance(n, WithinDistance):
            limits.setdefault((n.zones, n.zone_kinds), set()).add(n.distance)
        elif isinstance(n, Inside):  # probed by share: 0 is outside
            limits.setdefault(("inside", n.zones, n.zone_kinds), {1.0}).add(n.min_share or 1.0)
    axes: list[list] = [industries, types,
                        *([float(c) for c in range(len(vocabulary[a].choices))] if vocabulary[a].category
                          else _value_probes(v, flag=vocabulary[a].flag) for a, v in thresholds.items()),
                        *(_value_probes(v) if k[0] != "inside" else sorted({0.0, *v, *(x / 2 for x in v)})
                          for k, v in limits.items())]
    if np.prod([len(a) for a in axes], dtype=float) > MAX_PROBES:
        return None
    grid = list(zip(*itertools.product(*axes)))
    frame = pd.DataFrame({"industry": grid[0], "type": grid[1]}, dtype=object)
    for a in vocabulary:
        frame[a] = np.asarray(grid[2 + list(thresholds).index(a)], dtype=float) if a in thresholds else np.nan
    first = 2 + len(thresholds)
    return frame, {key: np.asarray(grid[first + k], dtype=float) for k, key in enumerate(limits)}


class _Distances:
    """Stands in for :class:`zoning.proximity.Proximity`: probe distances by zone selection."""

    def __init__(self, by_selection: dict[tuple, np.ndarray]):
        self.by_selection = by_selection

    def measure(self, key, rows):
        zones, kinds, _ = key
        return self.by_selection[(zones, kinds)][rows], np.zeros(len(rows), np.int64)

    def inside(self, key, rows):
        share = self.by_selection[("inside", key[0], key[1])][rows]
        return share > 0, share


class _Parameters:
    """Stands in for :class:`zoning.evaluate.parameters.ParameterValues`: one typical value per table
    (its median) for every probe row."""

    def __init__(self, values: dict[str, list[float]]):
        self.values = {name: float(np.median(v)) if v else 1.0 for name, v in values.items()}
        self.specs: dict = {}

    def rows(self, name, units, zones):
        return np.full(len(units), self.values.get(name, 1.0))


def _industry_probes(codes: list[str]) -> list[str]:
    """One 4-digit class for each distinct way of falling under (or not) the named codes."""
    classes = industry_table().frame
    classes = classes[classes["level"] == 4]
    if not codes:
        return [classes["code"].iloc[0]]
    under = np.column_stack([
        (classes["section"] == c).to_numpy() if c.isalpha() else classes["code"].str.startswith(c).to_numpy()
        for c in sorted(set(codes))])
    _, first = np.unique(under, axis=0, return_index=True)
    return classes["code"].to_numpy()[np.sort(first)].tolist()


def _value_probes(values: set[float], *, flag: bool = False) -> list[float]:
    """Each threshold, a value between each pair, and values beyond both ends (numbers are ≥ 0)."""
    if flag:
        return [0.0, 1.0]
    v = sorted(values)
    probes = {*v, *((a + b) / 2 for a, b in zip(v, v[1:])), v[-1] + 1.0, v[-1] * 2 + 1, 0.0, v[0] / 2, v[0] - 1.0}
    return sorted(p for p in probes if p >= 0)


# ---- coverage against the unit layer --------------------------------------------

def coverage_findings(lists: list[AccessList], units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                      as_of: dt.date, source: str = "unit layer", vocabulary: Vocabulary | None = None,
                      parameters: list[ParameterSpec] | None = None) -> list[Finding]:
    """Lists whose scope selects no unit; units no list in force covers (or with no unit-level list);
    parameters a clause reads that have no value for a unit it applies in."""
    out = []
    current = in_force(lists, as_of)
    try:
        rules = compile_rules(current, units, zones, vocabulary=vocabulary,
                              parameters=parameters_in_force(parameters or [], as_of))
    except DataError as exc:  # a parameter missing for a unit: the message names the table's file and line
        path, _, rest = str(exc).partition(":")
        line, _, message = rest.partition(":")
        return [Finding("error", path, int(line) if line.isdigit() else None, "parameters", message.strip()
                        if line.isdigit() else str(exc), "add the missing values, or a default")]
    counts = np.diff(rules.unit_offsets)
    applied = set(pd.unique(rules.clauses["list"].to_numpy(dtype=object)[rules.unit_clauses]))
    zone_lists = {lst.id for lst in current if lst.scope.zones or lst.scope.zone_kinds}
    for lst in current:
        if lst.id not in zone_lists and lst.id not in applied:
            out.append(Finding("warning", lst.path, lst.line("scope"), f"list {lst.id}",
                               "its scope selects no unit of the unit layer, so it never applies",
                               "check scope.admin, scope.unit_types and scope.units against the layer"))
    n_yaml = sum(len(lst.clauses) for lst in current)  # the layer's own text clauses come after these
    owner = np.repeat(np.arange(len(units)), counts)
    yaml_counts = np.bincount(owner[rules.unit_clauses < n_yaml], minlength=len(units))
    uncovered = units["code"].to_numpy()[yaml_counts == 0]
    if len(uncovered):
        out.append(Finding(
            "warning", source, None, f"{len(uncovered)} unit(s)",
            f"no list in force on {as_of} covers {_codes(uncovered)}; sites there could only be permitted",
            "add the units to a list's scope (or check the lists' dates and scope.admin)"))
    unit_level = {u for lst in current if lst.level == "unit" for u in lst.scope.units}
    has_text = np.logical_or.reduce([units[f].astype(str).str.strip().ne("").to_numpy() for f in TEXT_FIELDS])
    lone = units["code"].to_numpy()[~units["code"].isin(unit_level).to_numpy() & ~has_text & (yaml_counts > 0)]
    if len(lone):
        out.append(Finding(
            "info", source, None, f"{len(lone)} unit(s)",
            f"no unit-level list and no text in the unit layer's four fields: {_codes(lone)}",
            "nothing to fix if the province and city lists are meant to cover them; otherwise write "
            "their unit lists ('zoning rules import' starts one from text)"))
    return out


def _codes(codes) -> str:
    codes = list(codes)
    return ", ".join(codes[:SHOWN]) + (f" and {len(codes) - SHOWN} more" if len(codes) > SHOWN else "")
