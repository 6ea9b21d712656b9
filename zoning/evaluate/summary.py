"""The per-project columns of a batch: verdict, units, deciding clauses, reasons, missing inputs.

:func:`summary_columns` turns a batch :class:`~zoning.evaluate.evaluation.Evaluation`
into the :data:`RESULT_COLUMNS` that ``check_many`` and ``zoning screen`` add
to each row. Text is built once per distinct combination of items (projects
in the same units citing the same clauses share their strings,
:func:`join_per_project`), keyed by the exact item sequence: two projects
share a text only if they cite exactly the same clauses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning.evaluate.compile import CompiledRules
from zoning.evaluate.evaluation import Evaluation
from zoning.projects import RowErrors
from zoning.rules.expressions import PROBLEMS
from zoning.verdicts import EFFECT_LABELS, Verdict
from zoning.vocabulary import number_text

#: the columns a batch result adds to each row (``check_many``, ``zoning screen``)
RESULT_COLUMNS = ("verdict", "worst_case", "unit_codes", "unit_types", "clauses", "reasons", "missing",
                  "disregarded", "obligations", "encouraged", "error")
#: marks a reason whose clause could not be decided (an input is missing)
UNDECIDED_MARK = "（待定）"
#: distinct texts kept per cache before it is emptied (bounds memory on very diverse registries)
CACHE_LIMIT = 1_000_000


@dataclass
class BatchPart:
    """The rows of a batch (a mask) evaluated by one version of the lists, with that version's units and
    compiled rules, and the rows' ``explain`` texts when asked."""

    rows: np.ndarray
    evaluation: Evaluation
    units: gpd.GeoDataFrame
    rules: CompiledRules
    explained: np.ndarray | None = None


@dataclass
class Batch:
    """A batch of projects evaluated (:meth:`zoning.Engine.evaluate_batch`), its text columns not yet
    made: :meth:`columns` makes them, in any thread (it reads no geometry)."""

    index: pd.Index
    parts: list[BatchPart]
    problems: RowErrors
    as_of: np.ndarray | None = None  # the date each row was judged on (a registry with a date column)
    explain: bool = False

    def columns(self, timings: dict[str, float] | None = None) -> pd.DataFrame:
        """The batch result columns (:data:`RESULT_COLUMNS`, then ``explain`` and ``as_of`` when there are
        any) on the batch's index; rows flagged in ``problems`` have verdict ``error`` and its reason."""
        n = len(self.index)
        result = {column: np.full(n, Verdict.ERROR.key if column in ("verdict", "worst_case") else "", dtype=object)
                  for column in RESULT_COLUMNS[:-1]}
        if self.explain:
            result["explain"] = np.full(n, "", dtype=object)
        for part in self.parts:
            texts = summary_columns(part.evaluation, part.units, part.rules, timings=timings)
            for column in RESULT_COLUMNS[:-1]:
                result[column][part.rows] = texts[column]
            if part.explained is not None:
                result["explain"][part.rows] = part.explained
        if self.as_of is not None:
            result["as_of"] = self.as_of
        result["error"] = self.problems.message
        order = [*RESULT_COLUMNS, *(["explain"] if self.explain else []),
                 *(["as_of"] if self.as_of is not None else [])]
        return pd.DataFrame({k: pd.Series(result[k], index=self.index, dtype=object) for k in order})


def summary_columns(ev: Evaluation, units: gpd.GeoDataFrame, rules: CompiledRules, *,
                    timings: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Per-project columns for batches: verdict, units, clauses, reasons, missing, disregarded.

    ``clauses`` lists the prohibit clauses that apply or are undecided, then
    the restrict ones, each by clause order, once per project; ``reasons``
    gives the same clauses' effect and text, an undecided one marked
    :data:`UNDECIDED_MARK`. Strings are kept in ``rules.text_cache`` for later
    chunks. ``timings`` accumulates the seconds spent building text under
    ``format`` (the rest under ``evaluate``).
    """
    started = time.perf_counter()
    n = len(ev.verdict)
    out = {"verdict": ev.verdict, "worst_case": ev.worst}
    pairs = ev.pairs
    out["unit_codes"], out["unit_types"] = join_per_project(
        pairs["project"].to_numpy(), pairs["unit"].to_numpy(), n, (units["code"].to_numpy(dtype=object), ";"),
        (units["type"].astype(int).astype(str).to_numpy(dtype=object), ";"),
        cache=rules.text_cache.setdefault("units", {}))
    text_time = time.perf_counter() - started

    project, item = _clause_items(ev.rows, rules)
    mark = time.perf_counter()
    ids, reasons = _clause_labels(rules)
    out["clauses"], out["reasons"] = join_per_project(project, item, n, (ids, ";"), (reasons, " | "),
                                                      cache=rules.text_cache.setdefault("clauses", {}))
    dis = ev.disregarded
    out["disregarded"], = join_per_project(dis["project"].to_numpy(), dis["unit"].to_numpy(), n,
                                           (units["code"].to_numpy(dtype=object), ";"))
    bits = ev.missing_bits
    distinct = {b: ";".join(rules.inputs.names_of(int(b))) for b in pd.unique(bits)}
    out["missing"] = pd.Series(bits).map(distinct).to_numpy(dtype=object)
    out["obligations"] = _obligation_texts(ev, rules, n)
    out["encouraged"] = _encouraged(ev.rows, rules, n)
    text_time += time.perf_counter() - mark
    if timings is not None:
        timings["format"] = timings.get("format", 0.0) + text_time
        timings["evaluate"] = timings.get("evaluate", 0.0) + time.perf_counter() - started - text_time
    return out


def _clause_items(rows: pd.DataFrame, rules: CompiledRules) -> tuple[np.ndarray, np.ndarray]:
    """``(project, item)`` per deciding clause row, grouped by project, prohibit before restrict, then by
    clause, each once; an item is ``2 × clause``, plus 1 when the clause is undecided."""
    clause = rows["clause"].to_numpy()
    deciding = rules.clause_rank[clause] >= Verdict.RESTRICTED
    restrict = (rules.clause_rank == Verdict.RESTRICTED).astype(np.int64)[clause[deciding]]
    item = clause[deciding] * 2 + ~rows["applies"].to_numpy()[deciding]
    width = 2 * len(rules.clauses)
    # a single sort of one integer key orders and de-duplicates them per project
    key = (rows["project"].to_numpy()[deciding].astype(np.int64) * 2 + restrict) * width + item
    if len(key) > 1 and not (key[1:] > key[:-1]).all():  # rows usually come ordered and distinct already
        key = pd.unique(np.sort(key))
    return key // (2 * width), key % width


def _obligation_texts(ev: Evaluation, rules: CompiledRules, n: int) -> np.ndarray:
    """Per project, its obligations: ``list/clause VOCs offset: 20 t/a (= 2 * VOCs)``, joined by " | "."""
    out = np.full(n, "", dtype=object)
    found = ev.obligations
    if found is None or not len(found):
        return out
    ids = (rules.clauses["list"] + "/" + rules.clauses["clause"]).to_numpy(dtype=object)
    problem = found["problem"].to_numpy(dtype=np.int64)
    amount = np.round(found["amount"].to_numpy(dtype=float), 6)
    # as obligation_text writes them, on arrays: whole numbers without ".0", others as numpy prints them
    # (rounded to 6 decimals, the shortest text is the same as number_text's)
    number = amount.astype(str).astype(object)
    whole = (problem == 0) & (np.mod(amount, 1) == 0) & (np.abs(amount) < 1e15)
    number[whole] = amount[whole].astype(np.int64).astype(str).astype(object)
    huge = np.flatnonzero((problem == 0) & (np.abs(amount) >= 1e15))  # rare: written as number_text does
    number[huge] = [number_text(v) for v in amount[huge]]
    unit = found["unit_text"].to_numpy(dtype=object)
    computed = pd.Series(number + " " + unit).str.rstrip().to_numpy(dtype=object) + " (= " + found["formula"] + ")"
    reasons = np.asarray([p or "not given" for p in PROBLEMS], dtype=object)
    unknown = found["formula"] + " (" + reasons[np.clip(problem, 0, len(PROBLEMS) - 1)] + ")"
    texts = ids[found["clause"].to_numpy()] + " " + found["name"] + ": " + np.where(problem == 0, computed, unknown)
    joined = pd.Series(texts.to_numpy(dtype=object), index=found["project"].to_numpy()).groupby(
        level=0, sort=False).agg(" | ".join)
    out[joined.index.to_numpy(dtype=np.int64)] = joined.to_numpy(dtype=object)
    return out


def _encouraged(rows: pd.DataFrame, rules: CompiledRules, n: int) -> np.ndarray:
    """Per project, the encourage clauses that apply (``list/clause``, joined by ";")."""
    effect = rules.clauses["effect"].to_numpy(dtype=object)
    clause = rows["clause"].to_numpy()
    hit = (effect[clause] == "encourage") & rows["applies"].to_numpy(dtype=bool) & rules.clause_noted[clause]
    ids = (rules.clauses["list"] + "/" + rules.clauses["clause"]).to_numpy(dtype=object)
    key = pd.unique(rows["project"].to_numpy()[hit].astype(np.int64) * (len(ids) + 1) + clause[hit])
    key = np.sort(key)
    return join_per_project(key // (len(ids) + 1), key % (len(ids) + 1), n, (ids, ";"))[0]


def _clause_labels(rules: CompiledRules) -> tuple[np.ndarray, np.ndarray]:
    """Per item (see :func:`_clause_items`): the clause id ``list/clause``, and the reason text
    ``effect: first 60 characters``, marked when undecided."""
    if "clause_labels" not in rules.text_cache:
        c = rules.clauses
        ids = (c["list"] + "/" + c["clause"]).to_numpy(dtype=object)
        reasons = (c["effect"].map(EFFECT_LABELS) + ": " + c["text"].str.slice(0, 60)).to_numpy(dtype=object)
        reasons2 = np.repeat(reasons, 2)
        reasons2[1::2] = reasons2[1::2] + UNDECIDED_MARK
        rules.text_cache["clause_labels"] = (np.repeat(ids, 2), reasons2)
    return rules.text_cache["clause_labels"]


def join_per_project(project: np.ndarray, item: np.ndarray, n: int, *labels: tuple[np.ndarray, str],
                     cache: dict | None = None) -> list[np.ndarray]:
    """For each ``(labels, sep)``: the ``sep``-joined labels of each project's items.

    ``project``/``item`` are aligned arrays with each project's items in the
    order they should print; a project without items gets "". Returns one
    array of strings per ``(labels, sep)``. A project with one item takes its
    label directly; for the others, projects with the same item sequence
    (found exactly, :func:`sequence_ids`) share one string, built once.
    ``cache`` (a dict kept by the caller for one set of labels) remembers
    those strings across calls, keyed by the item sequence itself.
    """
    outs = [np.full(n, "", dtype=object) for _ in labels]
    if len(project) == 0:
        return outs
    count = np.bincount(project, minlength=n)
    single = count[project] == 1
    for out, (names, _) in zip(outs, labels):
        out[project[single]] = names[item[single]]
    many = ~single
    if not many.any():
        return outs
    order = np.argsort(project[many], kind="stable")
    project, item = project[many][order], item[many][order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, project[1:] != project[:-1]])
    members = project[starts]
    lengths = count[members]
    codes, uniques = pd.factorize(sequence_ids(item, starts, lengths))
    first = np.empty(len(uniques), np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # reversed: each combination's first member is written last
    cache = {} if cache is None else cache
    if len(cache) > CACHE_LIMIT:
        cache.clear()
    known = []
    for s, length in zip(starts[first].tolist(), lengths[first].tolist()):  # once per distinct combination
        items = item[s:s + length]
        key = items.tobytes()
        if key not in cache:
            cache[key] = tuple(sep.join(names[items]) for names, sep in labels)
        known.append(cache[key])
    for i, out in enumerate(outs):
        out[members] = np.array([t[i] for t in known], dtype=object)[codes]
    return outs


def sequence_ids(item: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """One integer per group ``item[starts[g] : starts[g] + lengths[g]]``, equal exactly when the groups'
    sequences are equal.

    Prefixes are numbered position by position: the id of a group's first
    ``k + 1`` items is the factorised pair (id of its first ``k``, item
    ``k``), so equal ids mean equal sequences, with no hashing and no Python
    per group; the final id is paired with the length.
    """
    groups = len(starts)
    position = np.arange(len(item)) - np.repeat(starts, lengths)
    group_of = np.repeat(np.arange(groups), lengths)
    by_position = np.argsort(position.astype(np.int16) if len(position) and position.max() < 2**15 else position,
                             kind="stable")
    ident = np.zeros(groups, np.int64)
    radix = int(item.max(initial=0)) + 2
    start = 0
    for end in np.cumsum(np.bincount(position)).tolist():
        rows = by_position[start:end]
        at = group_of[rows]
        ident[at] = pd.factorize(ident[at] * radix + item[rows] + 1)[0] + 1
        start = end
    return lengths.astype(np.int64) * (groups + 1) + ident
