"""The audit trail: for every clause considered, each condition with the
project's value and its truth (true / false / unknown).

:func:`node_truths` evaluates every node of each distinct condition once, as
masks, on all the rows (project × clause) that use it, alongside the
project's value for each leaf: industry code, type, attribute value, or the
measured distance to the nearest zone. Two readers build on it:
:func:`explain_results` (nested records for ``zoning check --explain``) and
:func:`explain_column` (one text per project for ``zoning screen
--explain``). Rows come from an evaluation run with ``explain=True`` (see
:func:`zoning.evaluate.evaluation.evaluate`).
"""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning.evaluate.columns import Columns
from zoning.evaluate.compile import CompiledRules
from zoning.evaluate.evaluation import Evaluation
from zoning.industries import table as industry_table
from zoning.rules.conditions import (
    AllOf,
    Always,
    AnyOf,
    CategoryIn,
    Compare,
    ExprCompare,
    IndustryIn,
    Inside,
    Not,
    TypeIn,
    WithinDistance,
)
from zoning.rules.expressions import PROBLEMS, Param
from zoning.vocabulary import Vocabulary, number_text

TRUTH = np.array(["false", "true", "unknown"], dtype=object)
OUTCOME = np.array(["does not apply", "applies", "undecided"], dtype=object)
_MARK = np.array(["✗", "✓", "?"], dtype=object)


def _considered(ev: Evaluation) -> pd.DataFrame:
    """The rows an evaluation run with ``explain=True`` considered."""
    if ev.considered is None:
        raise ValueError("the evaluation was run without explain=True: it kept no trail")
    return ev.considered


def node_truths(ev: Evaluation, projects: pd.DataFrame, zones: gpd.GeoDataFrame,
                rules: CompiledRules) -> Iterator[tuple[np.ndarray, list[tuple]]]:
    """For each distinct condition among ``ev.considered``: its row positions and, per node
    (depth first: conditions, then unless), ``(part, depth, node, truth code, value text)``.

    Truth codes are 0 false, 1 true, 2 unknown; ``value`` is an object array
    of texts, or None for ``all``/``any``/``not``/``always`` nodes.
    """
    rows = _considered(ev)
    cols = Columns.from_projects(projects, rules.vocabulary)
    cols.proximity = ev.proximity
    cols.parameters = rules.parameters
    project = rows["project"].to_numpy()
    unit, zone, pair = rows["unit"].to_numpy(), rows["zone"].to_numpy(), rows["pair"].to_numpy()
    values = _Values(projects, ev.proximity, zones, rules.vocabulary)
    cond = rows["cond"].to_numpy()
    order = np.argsort(cond, kind="stable")
    bounds = np.flatnonzero(np.diff(cond[order])) + 1
    for group in np.split(order, bounds) if len(order) else []:
        condition, unless = rules.conditions[cond[group[0]]]
        sub = cols.take(project[group], unit[group], zone[group], pair[group])
        nodes = []
        for part, tree in (("conditions", condition), ("unless", unless)):
            for depth, node in _walk(tree):
                truth = node.evaluate(sub)
                code = np.where(truth.true, 1, np.where(truth.false, 0, 2)).astype(np.int8)
                nodes.append((part, depth, node, code, values.of(node, project[group], sub)))
        yield group, nodes


def _or_minus(values: np.ndarray | None, n: int) -> np.ndarray:
    return values if values is not None else np.full(n, -1)


def _walk(node, depth: int = 0):
    if node is None:
        return
    yield depth, node
    if isinstance(node, (AllOf, AnyOf)):
        for part in node.parts:
            yield from _walk(part, depth + 1)
    elif isinstance(node, Not):
        yield from _walk(node.part, depth + 1)


class _Values:
    """The project's value each leaf reads, as text, per project (built once per input)."""

    def __init__(self, projects: pd.DataFrame, proximity, zones, vocabulary: Vocabulary):
        self.projects, self.proximity, self.zones, self.vocabulary = projects, proximity, zones, vocabulary
        self._cache: dict = {}

    def of(self, node, project: np.ndarray, rows: Columns | None = None):
        """Texts of the values ``node`` reads for ``project`` (``rows``: those rows' columns, for the nodes
        whose values depend on the row's unit or zone as well)."""
        if isinstance(node, (AllOf, AnyOf, Not, Always)):
            return None
        if isinstance(node, ExprCompare):
            return self._operands(node, rows)
        if isinstance(node, (WithinDistance, Inside)):
            assert rows is not None
            return self._zone_texts(node, project, rows.pieces)
        key = type(node).__name__ + getattr(node, "attr", "")
        if key not in self._cache:
            self._cache[key] = self._texts(node)
        return self._cache[key][project]

    def _texts(self, node) -> np.ndarray:
        p = self.projects
        if isinstance(node, IndustryIn):
            codes = p["industry"].to_numpy(dtype=object)
            labels = {c: industry_table().get(c).title
                      for c in pd.unique(codes) if isinstance(c, str)}
            return np.array([labels.get(c, "not given") for c in codes], dtype=object)
        if isinstance(node, TypeIn):
            return p["type"].fillna("not given").to_numpy(dtype=object)
        if isinstance(node, (Compare, CategoryIn)):
            spec = self.vocabulary[node.attr]
            v = p[node.attr].to_numpy(dtype=float)
            known = ~np.isnan(v)
            text = np.full(len(v), "not given", dtype=object)
            if spec.flag:
                text[known] = np.where(v[known] != 0, "true", "false")
            elif spec.category:
                text[known] = np.asarray(spec.choices, dtype=object)[v[known].astype(np.int64)]
            else:  # as number_text does, on arrays: integers without ".0", others as Python prints them
                whole = known & (np.mod(v, 1) == 0) & (np.abs(v) < 1e15)
                text[whole] = v[whole].astype(np.int64).astype(str).astype(object)
                rest = known & ~whole
                text[rest] = v[rest].astype(str).astype(object)
                if spec.unit:
                    text[known] = text[known] + f" {spec.unit}"
            return text
        raise TypeError(f"no value for {type(node).__name__}")  # the vocabulary is closed

    def _zone_texts(self, node: WithinDistance | Inside, project: np.ndarray, pieces: np.ndarray) -> np.ndarray:
        """Per row: the distance from the site piece to the nearest zone the node names, at any
        distance (``512.0 m to R1``), or whether it lies inside them and the share inside."""
        assert self.proximity is not None
        names = self.zones["zone_id"].to_numpy(dtype=object)
        if isinstance(node, Inside):
            inside, share = self.proximity.inside(node.key, pieces)
            text = np.where(inside, "inside, share " + pd.Series(share * 100).map(
                lambda v: f"{v:.1f}%").to_numpy(dtype=object), "not inside")
        else:
            distance, zone = self.proximity.nearest(node.zones, node.zone_kinds, pieces)
            near = zone >= 0
            text = np.full(len(pieces), "no such zone", dtype=object)
            text[near] = (pd.Series(distance[near]).map(lambda d: f"{d:,.1f} m to ").to_numpy(dtype=object)
                          + names[zone[near]])
        site = self.projects.geometry.to_numpy()[project]
        return np.where(pd.isna(site), "no site", text).astype(object)

    def _operands(self, node: ExprCompare, rows: Columns | None) -> np.ndarray:
        """Each operand an expression reads, with its value (a parameter with the key it was looked up by),
        and why the comparison is unknown where it is."""
        assert rows is not None
        parts = []
        for leaf in node.comparison.leaves():
            if isinstance(leaf, Param):
                values = rows.parameter(leaf.name)
                spec = rows.parameters.specs.get(leaf.name) if rows.parameters else None
                unit = f" {spec.unit}" if spec is not None and spec.unit else ""
                keys = (rows.parameters.key_rows(leaf.name, _or_minus(rows.units, rows.n),
                                                 _or_minus(rows.zones, rows.n))
                        if rows.parameters and leaf.name in rows.parameters.specs else np.full(rows.n, "", object))
                text = np.where(np.isnan(values), "not given", pd.Series(values).map(number_text).astype(object)
                                + unit + " (" + keys + ")")
                parts.append(f"${leaf.name} = " + text.astype(object))
            else:
                name = getattr(leaf, "name", "")
                v = rows.attribute(name)
                parts.append(f"{name} = " + pd.Series(v).map(lambda x, n=name: self.vocabulary.text(n, x))
                             .to_numpy(dtype=object))
        _, _, problem = node.comparison.truth(rows, rows.n)
        text = parts[0] if parts else np.full(rows.n, "", dtype=object)
        for part in parts[1:]:
            text = text + ", " + part
        note = np.asarray(PROBLEMS, dtype=object)[problem]
        return np.where(problem >= 2, text + " (" + note + ")", text)


def explain_results(ev: Evaluation, projects: gpd.GeoDataFrame, units: gpd.GeoDataFrame,
                    zones: gpd.GeoDataFrame, rules: CompiledRules) -> list[list[dict]]:
    """Per project, one record per clause considered, with its conditions' truths and values."""
    rows = _considered(ev)
    n = len(projects)
    per_row: list[dict] = [{} for _ in range(len(rows))]
    clauses = rules.clauses
    for group, nodes in node_truths(ev, projects, zones, rules):
        for k, r in enumerate(group):
            trail: dict[str, list[dict]] = {"conditions": [], "unless": []}
            for part, depth, node, code, value in nodes:
                trail[part].append({"depth": depth, "condition": _label(node),
                                    "value": None if value is None else value[k], "truth": TRUTH[code[k]]})
            per_row[r] = trail
    out: list[list[dict]] = [[] for _ in range(n)]
    unit_codes = units["code"].to_numpy(dtype=object)
    zone_ids = zones["zone_id"].to_numpy(dtype=object) if len(zones) else np.array([], dtype=object)
    for r, row in enumerate(rows.itertuples(index=False)):
        c = clauses.iloc[row.clause]
        out[row.project].append({
            "unit": unit_codes[row.unit], "zone": zone_ids[row.zone] if row.zone >= 0 else None,
            "list": c["list"], "version": c["version"], "level": c["level"], "clause": c["clause"],
            "dimension": c["dimension"], "effect": c["effect"], "review_only": bool(c["review_only"]),
            "outcome": "manual review" if c["review_only"] else OUTCOME[row.outcome],
            **per_row[r],
        })
    return out


def _label(node) -> str:
    """A node as the trail shows it: composites by their connective (their parts follow, one level deeper)."""
    if isinstance(node, Always):
        return "always (no conditions)"
    if isinstance(node, (AllOf, AnyOf, Not)):
        return {AllOf: "all of", AnyOf: "any of", Not: "not"}[type(node)]
    return node.describe()


def explain_column(ev: Evaluation, projects: gpd.GeoDataFrame, units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                   rules: CompiledRules) -> np.ndarray:
    """Per project, one line: ``list/clause=outcome (leaf: value ✓|✗|?; …)`` for each clause, joined by " | "
    (prefixed ``UNIT: `` when the site lies in several units)."""
    rows = _considered(ev)
    n = len(projects)
    text = np.full(len(rows), "", dtype=object)
    labels = (rules.clauses["list"] + "/" + rules.clauses["clause"]).to_numpy(dtype=object)
    clause = rows["clause"].to_numpy()
    outcome = rows["outcome"].to_numpy()
    # a site in several units: say which unit each clause was considered in
    several = np.bincount(ev.pairs["project"].to_numpy(), minlength=n)[rows["project"].to_numpy()] > 1
    in_unit = np.where(several, units["code"].to_numpy(dtype=object)[rows["unit"].to_numpy()] + ": ", "")
    for group, nodes in node_truths(ev, projects, zones, rules):
        parts = in_unit[group] + labels[clause[group]] + "=" + OUTCOME[outcome[group]]
        leaves = [(part, node, code, value) for part, _, node, code, value in nodes if value is not None]
        for i, (part, node, code, value) in enumerate(leaves):
            prefix = " (" if i == 0 else "; "
            if part == "unless" and (i == 0 or leaves[i - 1][0] != "unless"):
                prefix += "unless "
            parts = parts + f"{prefix}{node.describe()}: " + value + " " + _MARK[code]
        if leaves:
            parts = parts + ")"
        text[group] = parts
    out = np.full(n, "", dtype=object)
    if len(rows):
        project = rows["project"].to_numpy()
        order = np.argsort(project, kind="stable")
        starts = np.flatnonzero(np.r_[True, project[order][1:] != project[order][:-1]])
        joined = np.add.reduceat(text[order] + " | ", starts)
        out[project[order][starts]] = [s[:-3] for s in joined]
    return out
