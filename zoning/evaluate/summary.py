"""The per-project columns of a batch: verdict, units, deciding clauses, reasons, missing inputs.

:func:`summary_columns` turns a batch :class:`~zoning.evaluate.evaluation.Evaluation`
into the :data:`RESULT_COLUMNS` that ``check_many`` and ``zoning screen`` add
to each row. Each column is first a code per project into its distinct
strings (:class:`Texts`): projects in the same units citing the same clauses
share one string, joined once (:func:`join_codes`), keyed by the exact item
sequence, so two projects share a text only if they cite exactly the same
clauses. The text per row is then made in Arrow, without a Python object per
row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
_EMPTY = pa.array([""], type=pa.string())


@dataclass(frozen=True)
class Texts:
    """A text column as codes into its distinct strings: row ``i`` reads ``labels[codes[i]]``. Made into
    text per row only at the end, in Arrow (:meth:`arrow`), or as Python strings (:meth:`strings`)."""

    codes: np.ndarray
    labels: pa.Array  # of strings

    @classmethod
    def of(cls, strings: np.ndarray) -> Texts:
        """An array of strings, as codes into its distinct strings."""
        codes, labels = pd.factorize(np.asarray(strings, dtype=object))
        return cls(codes.astype(np.int64), pa.array(np.asarray(labels, dtype=object), type=pa.string()))

    @classmethod
    def constant(cls, n: int, text: str = "") -> Texts:
        """``n`` rows of ``text``."""
        return cls(np.zeros(n, np.int64), pa.array([text], type=pa.string()))

    def strings(self) -> np.ndarray:
        """One string per row (an object array)."""
        return self.arrow().to_numpy(zero_copy_only=False)

    def arrow(self) -> pa.Array:
        """One string per row, as an Arrow array (made in Arrow, without a Python object per row)."""
        return self.labels.take(pa.array(self.codes))


@dataclass
class BatchPart:
    """The rows of a batch (a mask) evaluated by one version of the lists, with that version's units and
    compiled rules, and the ``explain`` texts when asked; the evaluation (and the texts) cover every row of
    the batch, those outside ``rows`` skipped (see :func:`~zoning.evaluate.evaluation.evaluate`)."""

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
        any) on the batch's index; rows flagged in ``problems`` have verdict ``error`` and its reason. The
        text is made in Arrow from each column's distinct strings (pandas' ``str`` columns)."""
        n = len(self.index)
        texts = [summary_columns(part.evaluation, part.units, part.rules, timings=timings) for part in self.parts]
        arrays: dict[str, pa.Array] = {}
        for column in RESULT_COLUMNS[:-1]:
            codes = np.zeros(n, np.int64)  # rows in no part (errors): the first label
            labels = [pa.array([Verdict.ERROR.key if column in ("verdict", "worst_case") else ""], pa.string())]
            offset = 1
            for part, part_texts in zip(self.parts, texts):
                codes[part.rows] = part_texts[column].codes[part.rows] + offset
                labels.append(part_texts[column].labels)
                offset += len(labels[-1])
            arrays[column] = Texts(codes, pa.concat_arrays(labels)).arrow()
        arrays["error"] = pa.array(self.problems.message, type=pa.string())
        if self.explain:
            explained = np.full(n, "", dtype=object)
            for part in self.parts:
                if part.explained is not None:
                    explained[part.rows] = part.explained[part.rows]
            arrays["explain"] = pa.array(explained, type=pa.string())
        if self.as_of is not None:
            arrays["as_of"] = pa.array(self.as_of, type=pa.string())
        order = [*RESULT_COLUMNS, *(["explain"] if self.explain else []),
                 *(["as_of"] if self.as_of is not None else [])]
        return pa.table([arrays[k] for k in order], names=order).to_pandas().set_axis(self.index)


def summary_columns(ev: Evaluation, units: gpd.GeoDataFrame, rules: CompiledRules, *,
                    timings: dict[str, float] | None = None) -> dict[str, Texts]:
    """Per-project columns for batches: verdict, units, clauses, reasons, missing, disregarded.

    ``clauses`` lists the prohibit clauses that apply or are undecided, then
    the restrict ones, each by clause order, once per project; ``reasons``
    gives the same clauses' effect and text, an undecided one marked
    :data:`UNDECIDED_MARK`. Each column is :class:`Texts`. ``timings``
    accumulates the seconds spent building text under ``format`` (the rest
    under ``evaluate``).
    """
    started = time.perf_counter()
    n = len(ev.verdict)
    out = {"verdict": Texts.of(ev.verdict), "worst_case": Texts.of(ev.worst)}
    pairs = ev.pairs
    out["unit_codes"], out["unit_types"] = join_codes(
        pairs["project"].to_numpy(), pairs["unit"].to_numpy(), n, (units["code"].to_numpy(dtype=object), ";"),
        (units["type"].astype(int).astype(str).to_numpy(dtype=object), ";"))
    text_time = time.perf_counter() - started

    project, item = _clause_items(ev.rows, rules)
    mark = time.perf_counter()
    ids, reasons = _clause_labels(rules)
    out["clauses"], out["reasons"] = join_codes(project, item, n, (ids, ";"), (reasons, " | "))
    dis = ev.disregarded
    out["disregarded"], = join_codes(dis["project"].to_numpy(), dis["unit"].to_numpy(), n,
                                     (units["code"].to_numpy(dtype=object), ";"))
    codes, bits = pd.factorize(ev.missing_bits)
    out["missing"] = Texts(codes.astype(np.int64),
                           pa.array([";".join(rules.inputs.names_of(int(b))) for b in bits], type=pa.string()))
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


def _obligation_texts(ev: Evaluation, rules: CompiledRules, n: int) -> Texts:
    """Per project, its obligations: ``list/clause VOCs offset: 20 t/a (= 2 * VOCs)``, joined by " | "."""
    found = ev.obligations
    if found is None or not len(found):
        return Texts.constant(n)
    out = np.full(n, "", dtype=object)
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
    return Texts.of(out)


def _encouraged(rows: pd.DataFrame, rules: CompiledRules, n: int) -> Texts:
    """Per project, the encourage clauses that apply (``list/clause``, joined by ";")."""
    effect = rules.clauses["effect"].to_numpy(dtype=object)
    clause = rows["clause"].to_numpy()
    hit = (effect[clause] == "encourage") & rows["applies"].to_numpy(dtype=bool) & rules.clause_noted[clause]
    ids = (rules.clauses["list"] + "/" + rules.clauses["clause"]).to_numpy(dtype=object)
    key = pd.unique(rows["project"].to_numpy()[hit].astype(np.int64) * (len(ids) + 1) + clause[hit])
    key = np.sort(key)
    return join_codes(key // (len(ids) + 1), key % (len(ids) + 1), n, (ids, ";"))[0]


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


def join_per_project(project: np.ndarray, item: np.ndarray, n: int,
                     *labels: tuple[np.ndarray, str]) -> list[np.ndarray]:
    """For each ``(labels, sep)``: the ``sep``-joined labels of each project's items, an array of strings
    (see :func:`join_codes`)."""
    return [texts.strings() for texts in join_codes(project, item, n, *labels)]


def join_codes(project: np.ndarray, item: np.ndarray, n: int, *labels: tuple[np.ndarray, str]) -> list[Texts]:
    """For each ``(labels, sep)``: the ``sep``-joined labels of each project's items, as :class:`Texts`.

    ``project``/``item`` are aligned arrays with each project's items in the
    order they should print; a project without items gets "". The label
    arrays are indexed alike (by item). A project with one item takes its
    label directly; projects with the same sequence of several items (found
    exactly, :func:`sequence_ids`) share one string, joined once, in Arrow.
    """
    # codes: 0 for "", 1 + i for item i's label, 1 + (labels per array) + k for the k-th combination
    codes = np.zeros(n, np.int64)
    names = [pa.array(np.asarray(names, dtype=object), type=pa.string()) for names, _ in labels]
    if len(project) == 0:
        return [Texts(codes, pa.concat_arrays([_EMPTY, arrow])) for arrow in names]
    count = np.bincount(project, minlength=n)
    single = count[project] == 1
    codes[project[single]] = 1 + item[single]
    many = ~single
    combined = np.zeros(0, np.int64)  # the items of each combination, one after another
    offsets = np.zeros(1, np.int32)  # where each combination's items start in ``combined``
    if many.any():
        order = np.argsort(project[many], kind="stable")
        project, item = project[many][order], item[many][order].astype(np.int64)
        starts = np.flatnonzero(np.r_[True, project[1:] != project[:-1]])
        members = project[starts]
        lengths = count[members]
        combination, uniques = pd.factorize(sequence_ids(item, starts, lengths))
        first = np.empty(len(uniques), np.int64)
        first[combination[::-1]] = np.arange(len(combination))[::-1]  # reversed: each one's first member last
        size = lengths[first]
        offsets = np.concatenate([[0], np.cumsum(size)]).astype(np.int32)
        combined = item[np.repeat(starts[first] - offsets[:-1], size) + np.arange(offsets[-1])]
        codes[members] = 1 + len(names[0]) + combination
    joined = [pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), arrow.take(pa.array(combined))), sep)
              for arrow, (_, sep) in zip(names, labels)]
    return [Texts(codes, pa.concat_arrays([_EMPTY, arrow, text])) for arrow, text in zip(names, joined)]


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
