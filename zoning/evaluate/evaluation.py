"""Evaluation: from normalised projects to verdicts, on one vectorised path.

:func:`evaluate` hands off to small steps, each on whole arrays:

1. **Assign** (:func:`_assign_units`): every (project, unit) pair where the
   site lies in the unit (:func:`zoning.evaluate.overlay.overlay`), with the
   overlap of a line or polygon site; slivers below ``min_overlap`` are set
   aside.
2. **Expand** (:func:`_clause_rows`): each pair gets the clauses of the lists
   whose scope covers its unit and, for zone lists, the zones its piece lies
   in, as index arrays.
3. **Evaluate** (:func:`_truths`): rows are grouped by compiled condition;
   each distinct condition is evaluated once, as masks, on the rows that need
   it.
4. **Aggregate** (:func:`_verdicts`): per pair and per project,
   ``prohibited`` > ``restricted`` > ``undetermined`` (an unknown
   prohibit/restrict clause) > ``permitted``; ``not_covered`` when the site
   is in no unit, and at least ``undetermined`` when part of it is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.evaluate.columns import Columns
from zoning.evaluate.compile import CompiledRules, csr_positions, expand_csr
from zoning.evaluate.min_overlap import MinOverlap
from zoning.evaluate.overlay import overlay
from zoning.evaluate.point_grid import PointGrid
from zoning.evaluate.prefilter import possible
from zoning.evaluate.proximity import Proximity
from zoning.geodesy import measure
from zoning.rules.conditions import Truth, applies
from zoning.verdicts import Verdict, keys_of

#: share of a line or polygon site that may lie outside every unit before the verdict is at least undetermined
UNCOVERED_SHARE = 1e-3
#: empty frames as evaluations give them, copied rather than made anew (a frame costs more than a point check)
_NONE_DISREGARDED = pd.DataFrame({"project": np.zeros(0, np.intp), "unit": np.zeros(0, np.intp),
                                  "overlap": np.zeros(0), "share": np.zeros(0)})
_NO_OBLIGATIONS = pd.DataFrame(columns=["project", "pair", "unit", "zone", "clause", "name", "amount", "unit_text",
                                        "formula", "problem"])


@dataclass
class Evaluation:
    """Everything one evaluation found, as aligned arrays (see module doc)."""

    verdict: np.ndarray  # per project: verdict key
    worst: np.ndarray  # per project: strictest verdict still possible given unknowns
    site_measure: np.ndarray  # per project: m² / m (0 for points)
    uncovered: np.ndarray  # per project: part of the site (m² / m) in no unit
    pairs: pd.DataFrame  # project, unit, overlap, verdict
    rows: pd.DataFrame  # project, pair, unit, clause, zone, applies (else undecided), missing (bitmask)
    missing_bits: np.ndarray  # per project: inputs (bitmask) that left some clause undecided
    disregarded: pd.DataFrame  # project, unit, overlap, share: slivers below min_overlap
    proximity: Proximity | None = None  # distances and containment measured per pair (site piece in unit)
    min_overlap: MinOverlap | None = None
    #: with ``explain=True``: every clause row considered (true, false or unknown), see zoning.evaluate.explanation
    considered: pd.DataFrame | None = None
    #: the obligations of clauses that apply: project, pair, unit, zone, clause, name, amount, unit_text,
    #: formula, problem (see :data:`zoning.rules.expressions.PROBLEMS`; 0: the amount is known)
    obligations: pd.DataFrame | None = None


@dataclass
class _Pieces:
    """The (project, unit) pairs kept for evaluation: each site's piece in the unit and its measure."""

    project: np.ndarray
    unit: np.ndarray
    piece: np.ndarray
    overlap: np.ndarray


@dataclass
class _Rows:
    """(pair, clause) rows to evaluate: the pair, the clause, its condition, and the zone it came through."""

    pair: np.ndarray
    clause: np.ndarray
    cond: np.ndarray
    zone: np.ndarray  # -1: the clause applies through the unit, not a zone

    def extend(self, other: _Rows) -> _Rows:
        return _Rows(*(np.concatenate([a, b]) for a, b in
                       ((self.pair, other.pair), (self.clause, other.clause), (self.cond, other.cond),
                        (self.zone, other.zone))))


def evaluate(projects: gpd.GeoDataFrame, units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
             rules: CompiledRules, *, detail: bool = True, timings: dict[str, float] | None = None,
             min_overlap: MinOverlap | None = None, explain: bool = False,
             grids: Mapping[str, PointGrid | None] | None = None, skip: np.ndarray | None = None) -> Evaluation:
    """Evaluate normalised projects (see :func:`zoning.projects.normalise`).

    With ``detail=False`` (batches), ``rows`` holds only the prohibit and
    restrict rows that apply or are undecided (columns project, clause,
    applies), unordered: what :func:`zoning.evaluate.summary.summary_columns` needs.

    ``timings``, when given, accumulates the seconds spent in ``assign``
    (spatial overlay with units and zones) and ``evaluate`` (the rest).

    ``min_overlap`` disregards a line or polygon site's slivers: units it
    overlaps by less than the thresholds are not evaluated, and are listed
    in ``disregarded`` (see :class:`~zoning.evaluate.min_overlap.MinOverlap`).

    ``explain`` keeps every row considered, false ones included, in
    ``considered`` (project, pair, unit, clause, cond, zone, outcome 0 false /
    1 true / 2 unknown): every clause with ``detail``, else the prohibit and
    restrict clauses (the prefilter is then skipped).

    Without ``explain``, rows that the project's industry and type alone make
    false are dropped before conditions run (:mod:`zoning.evaluate.prefilter`),
    for one project as for a million: a false row gives no verdict, citation or
    obligation. A few sites (a check) are looked up in a tree of the units kept
    in ``rules`` (see :func:`zoning.evaluate.overlay.overlay`). ``grids``, the
    units' and zones' point grids (:func:`zoning.evaluate.overlay.layer_grid`,
    under ``units`` and ``zones``), answer most points of a batch without a
    point-in-polygon test; the result is the same without them.

    ``skip``, a mask, leaves rows out as if they had no site (a batch's rows
    with problems, or judged by other lists): they are in no unit, and their
    results are not meant to be read.
    """
    started = time.perf_counter()
    n = len(projects)
    sites = projects.geometry.to_numpy()
    usable = ~(shapely.is_missing(sites) | shapely.is_empty(sites))
    if skip is not None:
        usable &= ~skip
    sites = sites.copy()
    sites[~usable] = None
    site_measure = np.zeros(n)
    site_measure[usable] = measure(sites[usable])
    grids = grids or {}
    pieces, covered, disregarded = _assign_units(sites, site_measure, units, min_overlap, rules.trees,
                                                 grids.get("units"))
    cols = Columns.from_projects(projects, rules.vocabulary)
    prefilter = None
    if not explain:  # drop rows that the project's industry and type alone make false (most): neither a
        # verdict, a citation nor an obligation comes from a false row; only the audit trail lists them
        key, table = possible(rules, cols)
        prefilter = (key[pieces.project], table)
    rows = _clause_rows(pieces, zones, rules, detail, grids.get("zones"), prefilter)
    assigned = time.perf_counter()

    cols.proximity = Proximity(pieces.piece, zones, rules.citing.setdefault("zone selections", {}))
    cols.parameters = rules.parameters
    project_of_row = pieces.project[rows.pair]
    true, unknown = _truths(rows, project_of_row, pieces, rules, cols)
    # the inputs undecided rows lack (only those their conditions read are looked at)
    wanted = int(np.bitwise_or.reduce(rules.cond_inputs[rows.cond[unknown]], initial=0))
    missing = np.where(unknown, rules.cond_inputs[rows.cond] & rules.inputs.missing(cols, wanted)[project_of_row], 0)

    rank = rules.clause_rank[rows.clause]
    pair_level, level, worst = _verdicts(rows.pair, rank, true, unknown, pieces.project, n)
    uncovered = np.where(site_measure > 0, np.clip(site_measure - covered, 0, None), 0.0)
    partly = (level >= 0) & (uncovered > UNCOVERED_SHARE * site_measure)
    level = np.where(partly, np.maximum(level, Verdict.UNDETERMINED), level)  # part outside every unit

    deciding = rank >= Verdict.RESTRICTED
    missing_bits = np.zeros(n, np.int64)  # inputs that left a prohibit/restrict clause undecided
    undecided = unknown & deciding
    np.bitwise_or.at(missing_bits, project_of_row[undecided], missing[undecided])
    considered = None
    if explain:
        considered = _ordered({
            "project": project_of_row, "pair": rows.pair, "unit": pieces.unit[rows.pair], "clause": rows.clause,
            "cond": rows.cond, "zone": rows.zone,
            "outcome": np.where(true, 1, np.where(unknown, 2, 0)).astype(np.int8)})
    if detail:  # every clause that applies or is undecided, ordered, for citations
        keep = true | unknown
        table_rows = _ordered({
            "project": project_of_row[keep], "pair": rows.pair[keep], "unit": pieces.unit[rows.pair[keep]],
            "clause": rows.clause[keep], "zone": rows.zone[keep], "applies": true[keep], "missing": missing[keep]})
    else:  # what batch summaries need: the deciding rows, and the noted ones that apply, unordered
        keep = ((true | unknown) & deciding) | (true & rules.clause_noted[rows.clause])
        table_rows = pd.DataFrame({"project": project_of_row[keep], "clause": rows.clause[keep],
                                   "applies": true[keep]})
    obligations = _obligations(rows, project_of_row, true, pieces, rules, cols) if rules.obligations else None
    pairs = pd.DataFrame({"project": pieces.project, "unit": pieces.unit, "overlap": pieces.overlap,
                          "verdict": pd.Series(keys_of(pair_level), dtype=object)})
    if timings is not None:
        timings["assign"] = timings.get("assign", 0.0) + assigned - started
        timings["evaluate"] = timings.get("evaluate", 0.0) + time.perf_counter() - assigned
    return Evaluation(_verdict_keys(level), _verdict_keys(worst), site_measure, uncovered, pairs, table_rows,
                      missing_bits, disregarded, cols.proximity, min_overlap, considered, obligations)


def _assign_units(sites: np.ndarray, site_measure: np.ndarray, units: gpd.GeoDataFrame,
                  min_overlap: MinOverlap | None, trees: dict,
                  grid: PointGrid | None = None) -> tuple[_Pieces, np.ndarray, pd.DataFrame]:
    """The (project, unit) pieces to evaluate, each project's measure inside some unit, and the slivers
    set aside as below ``min_overlap`` (project, unit, overlap, share)."""
    n = len(sites)
    p_idx, u_idx, pieces, overlap = overlay(sites, units.geometry.to_numpy(), trees, grid)
    covered = np.bincount(p_idx, weights=overlap, minlength=n)  # slivers too: they lie in a unit
    sliver = np.zeros(len(p_idx), bool)
    if min_overlap is not None and len(p_idx):
        present = ~shapely.is_missing(sites)
        dims = np.full(n, -1)
        dims[present] = shapely.get_dimensions(sites[present])
        sliver = min_overlap.slivers(p_idx, overlap, site_measure[p_idx], dims[p_idx])
    if not sliver.any() and p_idx.dtype == u_idx.dtype == _NONE_DISREGARDED["project"].dtype:
        disregarded = _NONE_DISREGARDED.copy()  # the usual case: a copy costs a tenth of a new frame
    else:
        disregarded = pd.DataFrame({"project": p_idx[sliver], "unit": u_idx[sliver], "overlap": overlap[sliver],
                                    "share": np.divide(overlap[sliver], site_measure[p_idx[sliver]])})
    keep = ~sliver
    return _Pieces(p_idx[keep], u_idx[keep], pieces[keep], overlap[keep]), covered, disregarded


def _clause_rows(pieces: _Pieces, zones: gpd.GeoDataFrame, rules: CompiledRules, detail: bool,
                 grid: PointGrid | None = None, prefilter: tuple[np.ndarray, np.ndarray] | None = None) -> _Rows:
    """Every (pair, clause) row: the clauses of each pair's unit, then those of the zone lists whose
    zones the pair's piece lies in (``detail=False``: prohibit and restrict clauses only). With
    ``prefilter``, ``(key per pair, table)`` (see :func:`zoning.evaluate.prefilter.possible`), only the
    rows whose condition ``table[condition, key]`` leaves open, dropped before anything else is gathered."""
    if detail:  # every clause, for citations
        pair, index = csr_positions(pieces.unit, rules.unit_offsets)
        clauses = rules.unit_clauses
        cond = rules.clause_cond[clauses[index]]
    else:  # only prohibit/restrict clauses decide a verdict
        pair, index = csr_positions(pieces.unit, rules.deciding_offsets)
        clauses = rules.deciding_clauses
        cond = rules.deciding_conds[index]
    if prefilter is not None:
        keep = prefilter[1][cond, prefilter[0][pair]]
        pair, index, cond = pair[keep], index[keep], cond[keep]
    rows = _Rows(pair, clauses[index], cond, np.full(len(index), -1, dtype=np.int32))
    if len(zones) and len(rules.zone_clauses):
        rows = rows.extend(_zone_rows(pieces, zones, rules, detail, grid, prefilter))
    return rows


def _zone_rows(pieces: _Pieces, zones: gpd.GeoDataFrame, rules: CompiledRules, detail: bool,
               grid: PointGrid | None, prefilter: tuple[np.ndarray, np.ndarray] | None) -> _Rows:
    """Rows of the zone-scoped lists: each pair's piece against the zones, kept where the list's
    unit scope also covers the pair's unit (and ``prefilter`` leaves the condition open)."""
    z_piece, z_idx, _, _ = overlay(pieces.piece, zones.geometry.to_numpy(), rules.trees, grid)
    owner, z_clause = expand_csr(z_idx, rules.zone_offsets, rules.zone_clauses)
    z_pair = z_piece[owner]
    ok = rules.zone_unit_ok[rules.clause_zone_list[z_clause], pieces.unit[z_pair]]
    if not detail:  # what batches need: the deciding clauses, and those noted (encourage, obligations)
        ok &= (rules.clause_rank[z_clause] >= Verdict.RESTRICTED) | rules.clause_noted[z_clause]
    if prefilter is not None:
        ok &= prefilter[1][rules.clause_cond[z_clause], prefilter[0][z_pair]]
    return _Rows(z_pair[ok], z_clause[ok], rules.clause_cond[z_clause[ok]], z_idx[owner][ok])


def _truths(rows: _Rows, project_of_row: np.ndarray, pieces: _Pieces, rules: CompiledRules,
            cols: Columns) -> tuple[np.ndarray, np.ndarray]:
    """``(true, unknown)`` per row: each distinct condition evaluated once, on the rows that use it (each
    row in its unit, and its zone, for the parameters it reads)."""
    true = np.zeros(len(rows.clause), bool)
    unknown = np.zeros(len(rows.clause), bool)
    cond = rows.cond
    # few distinct conditions: a 16-bit key lets numpy's stable sort use radix sort (linear time)
    order = np.argsort(cond.astype(np.int16) if len(rules.conditions) < 2**15 else cond, kind="stable")
    bounds = np.flatnonzero(np.diff(cond[order])) + 1
    for group in np.split(order, bounds) if len(order) else []:
        condition, unless = rules.conditions[cond[group[0]]]
        truth: Truth = applies(condition, unless, cols.take(project_of_row[group], pieces.unit[rows.pair[group]],
                                                            rows.zone[group], rows.pair[group]))
        true[group] = truth.true
        unknown[group] = truth.unknown
    return true, unknown


def _verdicts(pair_of_row: np.ndarray, rank: np.ndarray, true: np.ndarray, unknown: np.ndarray,
              project_of_pair: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Verdict values per pair, and per project the verdict and the worst case (-1: in no unit)."""
    n_pairs = len(project_of_pair)
    pair_definite = np.zeros(n_pairs, np.int8)
    pair_worst = np.zeros(n_pairs, np.int8)
    np.maximum.at(pair_definite, pair_of_row[true], rank[true])
    np.maximum.at(pair_worst, pair_of_row[true | unknown], rank[true | unknown])
    pair_level = _level(pair_definite, pair_worst)
    level = np.full(n, -1, np.int8)  # -1 = not covered
    np.maximum.at(level, project_of_pair, pair_level)
    worst = np.full(n, -1, np.int8)
    np.maximum.at(worst, project_of_pair, _level(pair_worst, pair_worst))
    return pair_level, level, worst


def _obligations(rows: _Rows, project_of_row: np.ndarray, true: np.ndarray, pieces: _Pieces, rules: CompiledRules,
                 cols: Columns) -> pd.DataFrame:
    """The obligations of the clauses that apply, each amount computed on the rows of its clause at once."""
    has = np.zeros(len(rules.clauses), bool)
    has[list(rules.obligations)] = True
    chosen = np.flatnonzero(true & has[rows.clause])
    columns = ["project", "pair", "unit", "zone", "clause", "name", "amount", "unit_text", "formula", "problem"]
    parts: dict[str, list] = {c: [] for c in columns}
    for clause in np.unique(rows.clause[chosen]).tolist():
        group = chosen[rows.clause[chosen] == clause]
        sub = cols.take(project_of_row[group], pieces.unit[rows.pair[group]], rows.zone[group], rows.pair[group])
        for name, amount, unit, formula in rules.obligations[clause]:
            value, problem = amount.values(sub, len(group))
            size = len(group)
            for column, part in (("project", project_of_row[group]), ("pair", rows.pair[group]),
                                 ("unit", pieces.unit[rows.pair[group]]), ("zone", rows.zone[group]),
                                 ("clause", np.full(size, clause, np.int64)), ("name", np.full(size, name, object)),
                                 ("amount", np.broadcast_to(np.asarray(value, dtype=float), (size,))),
                                 ("unit_text", np.full(size, unit, object)),
                                 ("formula", np.full(size, formula, object)),
                                 ("problem", np.broadcast_to(np.asarray(problem), (size,)))):
                parts[column].append(part)
    if not parts["project"]:
        return _NO_OBLIGATIONS.copy()
    found = {c: np.concatenate(parts[c]) for c in columns}
    # one row per (pair, clause, obligation), the first found; then by project and clause, stably
    names, name_code = np.unique(found["name"].astype(str), return_inverse=True)
    first = _first_of(found["pair"], found["clause"], name_code)
    order = first[np.lexsort((found["clause"][first], found["project"][first]))]
    return pd.DataFrame({c: found[c][order] for c in columns}, index=order)  # text columns: pandas' str type


def _first_of(*keys: np.ndarray) -> np.ndarray:
    """Positions of the first row of each distinct combination of ``keys``, in row order."""
    order = np.lexsort(keys[::-1])  # stable: of equal keys, the first row comes first
    new = np.ones(len(order), bool)
    new[1:] = np.logical_or.reduce([key[order][1:] != key[order][:-1] for key in keys])
    return np.sort(order[new])


def _ordered(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Row columns as a frame ordered by project, pair and clause, one row per (pair, clause): a clause
    reached both through the unit and through a zone is kept once."""
    order = np.lexsort((columns["clause"], columns["pair"], columns["project"]))  # stable
    pair, clause = columns["pair"][order], columns["clause"][order]
    first = np.ones(len(order), bool)  # a pair belongs to one project: its rows are together once sorted
    first[1:] = (pair[1:] != pair[:-1]) | (clause[1:] != clause[:-1])
    keep = order[first]
    return pd.DataFrame({c: values[keep] for c, values in columns.items()}, index=keep)


def _level(definite: np.ndarray, worst: np.ndarray) -> np.ndarray:
    """Verdict value from the strictest clause that applies and the strictest that may: a prohibit or
    restrict clause that applies decides; one that is only undecided makes the verdict undetermined."""
    return np.where(definite >= Verdict.RESTRICTED, definite,
                    np.where(worst >= Verdict.RESTRICTED, Verdict.UNDETERMINED, Verdict.PERMITTED)).astype(np.int8)


def _verdict_keys(level: np.ndarray) -> np.ndarray:
    """Verdict keys per project; -1 (in no unit) is ``not_covered``."""
    return keys_of(np.where(level < 0, Verdict.NOT_COVERED, level))
