"""The lists in force compiled against a unit and zone layer, for evaluation as arrays.

:func:`compile_rules` gives a :class:`CompiledRules`: every clause as a row
of a frame (list metadata repeated), each distinct (condition, exception)
pair once, and which clauses apply to which unit or zone as CSR index
arrays, so that a million (project, unit) pairs expand to their clause rows
with a few numpy operations (:func:`expand_csr`). The unit layer's own
free-text requirements become review-only clauses of each unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.evaluate.columns import InputBits
from zoning.evaluate.parameters import ParameterValues, check_coverage
from zoning.evaluate.parameters import resolve as resolve_parameters
from zoning.inputs.units import TEXT_FIELDS, zone_mask
from zoning.rules.conditions import Always, Condition
from zoning.rules.expressions import Expr
from zoning.rules.nodes import compile_node, parse_amount_text
from zoning.rules.parameters import ParameterSpec
from zoning.rules.schema import DIMENSIONS, AccessList
from zoning.verdicts import EFFECT_VERDICT, Verdict
from zoning.vocabulary import Vocabulary, builtin

CLAUSE_COLUMNS = ("list", "list_title", "level", "version", "list_path", "clause", "dimension", "effect",
                  "text", "text_en", "review_only", "document", "issuer", "date", "article", "cond")
#: clause ranks of the verdict a clause gives when it applies (see :data:`zoning.verdicts.EFFECT_VERDICT`)
_RANK = {effect: int(verdict) for effect, verdict in EFFECT_VERDICT.items()}


@dataclass
class CompiledRules:
    """Clauses as columns, and which clauses apply to which unit or zone."""

    clauses: pd.DataFrame  # one row per clause (list metadata repeated)
    conditions: list[tuple[Condition, Condition | None]]  # by clauses.cond
    cond_inputs: np.ndarray  # bitmask of inputs (see ``inputs``) each condition reads
    unit_offsets: np.ndarray  # CSR: clauses of unit u are unit_clauses[off[u]:off[u+1]]
    unit_clauses: np.ndarray
    zone_offsets: np.ndarray
    zone_clauses: np.ndarray
    zone_unit_ok: np.ndarray  # [clause row of zone lists → unit] mask, via list index
    clause_zone_list: np.ndarray  # per clause: index into zone_unit_ok rows, -1 if not zone list
    vocabulary: Vocabulary  # the attributes the clauses were compiled against
    inputs: InputBits  # the bit of each input the clauses read
    #: per clause with obligations: ``(name, amount expression, unit, amount text)`` for each
    obligations: dict[int, list[tuple[str, Expr, str, str]]] = field(default_factory=dict)
    parameters: ParameterValues = field(default_factory=ParameterValues)  # tables in force, per unit or zone
    #: per clause: noted in batches although it never decides (it carries obligations, or encourages)
    clause_noted: np.ndarray = field(init=False)
    #: per clause: index into conditions
    clause_cond: np.ndarray = field(init=False)
    #: per clause: the verdict it gives when it applies (:class:`~zoning.verdicts.Verdict` values; 0 = none)
    clause_rank: np.ndarray = field(init=False)
    #: CSR like unit_offsets/unit_clauses, prohibit/restrict clauses only, and each one's condition
    deciding_offsets: np.ndarray = field(init=False)
    deciding_clauses: np.ndarray = field(init=False)
    deciding_conds: np.ndarray = field(init=False)
    #: (industry code, type index) -> its column of possible_table (see zoning.evaluate.prefilter)
    possible_cache: dict = field(default_factory=dict)
    #: condition x (industry code, type): can the condition be anything but false?
    possible_table: np.ndarray | None = None
    #: the clauses' labels in batch text columns, made once (see zoning.evaluate.summary._clause_labels)
    text_cache: dict = field(default_factory=dict)
    #: STRtrees of the unit and zone layers' geometries, for single checks (see zoning.evaluate.overlay.kept_tree)
    trees: dict = field(default_factory=dict)
    #: facts of the layers read once and kept: clause and unit facts results quote (see
    #: zoning.evaluate.results), the zones each zone selection names (see zoning.evaluate.proximity)
    citing: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.clause_cond = self.clauses["cond"].to_numpy(dtype=np.int64)
        # a review-only clause is cited for a person to read; it never decides the verdict
        rank = self.clauses["effect"].map(_RANK).to_numpy(dtype=np.int8)
        self.clause_rank = np.where(self.clauses["review_only"].to_numpy(dtype=bool), 0, rank).astype(np.int8)
        noted = (self.clauses["effect"].to_numpy(dtype=object) == "encourage") & ~self.clauses["review_only"].to_numpy(
            dtype=bool)
        noted[list(self.obligations)] = True
        self.clause_noted = noted
        owner = np.repeat(np.arange(len(self.unit_offsets) - 1), np.diff(self.unit_offsets))
        # what batches evaluate: the clauses that decide (prohibit, restrict), and those they note
        deciding = (self.clause_rank[self.unit_clauses] >= Verdict.RESTRICTED) | noted[self.unit_clauses]
        counts = np.bincount(owner[deciding], minlength=len(self.unit_offsets) - 1)
        self.deciding_offsets = np.concatenate([[0], np.cumsum(counts)])
        # within a unit: prohibit before restrict, then by clause (the order batch summaries print)
        chosen, units_of = self.unit_clauses[deciding], owner[deciding]
        order = np.lexsort((chosen, self.clause_rank[chosen] == Verdict.RESTRICTED, units_of))
        self.deciding_clauses = chosen[order].astype(np.int32)
        self.deciding_conds = self.clause_cond[self.deciding_clauses].astype(np.int32)


def compile_rules(lists: list[AccessList], units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                  *, unit_source: str = "unit layer", vocabulary: Vocabulary | None = None,
                  parameters: Mapping[str, ParameterSpec] | None = None) -> CompiledRules:
    """The lists in force compiled against the layers; ``vocabulary`` is the one the lists were validated
    against (default: the built-in one), ``parameters`` the parameter tables in force. A clause reading a
    parameter where it has no value is refused (:class:`~zoning.errors.DataError`)."""
    vocabulary = vocabulary or builtin()
    obligations: dict[int, list[tuple[str, Expr, str, str]]] = {}
    uses: list[tuple[str, str, frozenset[str], np.ndarray, np.ndarray | None]] = []
    records: list[dict] = []
    conditions: list[tuple[Condition, Condition | None]] = []
    cond_index: dict[tuple[Condition, Condition | None], int] = {}
    unit_pairs: list[tuple[np.ndarray, np.ndarray]] = []
    zone_pairs: list[tuple[np.ndarray, np.ndarray]] = []
    zone_unit_ok: list[np.ndarray] = []
    clause_zone_list: list[int] = []

    def cond_of(cond, unless) -> int:
        key = (cond, unless)
        if key not in cond_index:
            cond_index[key] = len(conditions)
            conditions.append(key)
        return cond_index[key]

    def add_clause(lst_meta: dict, clause_meta: dict, cond, unless) -> int:
        records.append({**lst_meta, **clause_meta, "cond": cond_of(cond, unless)})
        return len(records) - 1

    for lst in lists:
        unit_ok = unit_scope(lst, units)
        meta = {"list": lst.id, "list_title": lst.title, "level": lst.level, "version": lst.version,
                "list_path": lst.path}
        zone_list = bool(lst.scope.zones or lst.scope.zone_kinds)
        zone_ok = zone_mask(zones, lst.scope.zones, lst.scope.zone_kinds) if zone_list else None
        added = []
        for clause in lst.clauses:
            src = lst.source_of(clause)
            cond = compile_node(clause.conditions, vocabulary)
            unless = compile_node(clause.unless, vocabulary) if clause.unless is not None else None
            index = add_clause(meta, {
                "clause": clause.id, "dimension": clause.dimension, "effect": clause.effect,
                "text": clause.text, "text_en": clause.text_en, "review_only": clause.review_only,
                "document": src.document, "issuer": src.issuer,
                "date": src.date.isoformat() if src.date else None, "article": src.article,
            }, cond, unless)
            added.append(index)
            clause_zone_list.append(-1)
            amounts = [(ob.name, parse_amount_text(ob.amount, vocabulary), ob.unit, ob.amount)
                       for ob in clause.obligations]
            if amounts:
                obligations[index] = amounts
            read = cond.parameters() | (unless.parameters() if unless is not None else frozenset()) | frozenset(
                name for _, amount, _, _ in amounts for name in amount.parameters())
            if read:
                reached = unit_ok & _units_touching(units, zones, zone_ok) if zone_ok is not None else unit_ok
                uses.append((lst.id, clause.id, read, reached, zone_ok))
        ids = np.asarray(added)
        if zone_ok is not None:
            for k in ids:
                clause_zone_list[k] = len(zone_unit_ok)
            zone_unit_ok.append(unit_ok)
            zone_pairs.append(_cross(np.flatnonzero(zone_ok), ids))
        else:
            unit_pairs.append(_cross(np.flatnonzero(unit_ok), ids))

    yaml_clauses = pd.DataFrame.from_records(records, columns=CLAUSE_COLUMNS)
    text_clauses, text_pairs = _layer_text_clauses(units, unit_source, len(records),
                                                   add_clause_cond=lambda: cond_of(Always(), None))
    unit_pairs.append(text_pairs)
    clauses = pd.concat([yaml_clauses, text_clauses], ignore_index=True) if len(text_clauses) else yaml_clauses
    clause_zone_list.extend([-1] * len(text_clauses))
    inputs = InputBits(vocabulary, (name for c, x in conditions for name in
                                    c.attributes() | (x.attributes() if x is not None else frozenset())))
    cond_inputs = np.array([inputs.of(c, x) for c, x in conditions], dtype=np.int64)
    u_off, u_cl = _csr(unit_pairs, len(units))
    z_off, z_cl = _csr(zone_pairs, len(zones))
    ok = np.array(zone_unit_ok, dtype=bool).reshape(len(zone_unit_ok), len(units))
    values = resolve_parameters(parameters or {}, units, zones)
    check_coverage(values, uses, units, zones)
    return CompiledRules(clauses, conditions, cond_inputs, u_off, u_cl, z_off, z_cl, ok,
                         np.asarray(clause_zone_list, dtype=np.int64), vocabulary, inputs, obligations, values)


def _units_touching(units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, zone_ok: np.ndarray) -> np.ndarray:
    """Units that share ground with any of the selected zones (where a zone list's clauses can apply)."""
    touching = np.zeros(len(units), bool)
    chosen = zones.geometry.to_numpy()[zone_ok]
    if len(chosen) and len(units):
        _, hit = shapely.STRtree(units.geometry.to_numpy()).query(chosen, predicate="intersects")
        touching[hit] = True
    return touching


def _layer_text_clauses(units: gpd.GeoDataFrame, unit_source: str, first: int, add_clause_cond):
    """Review-only obligations from the unit layer's four free-text fields."""
    parts = []
    for name in TEXT_FIELDS:
        text = units[name].astype(str).str.strip()
        has = (text != "").to_numpy()
        if not has.any():
            continue
        sub = units.loc[has]
        parts.append(pd.DataFrame({
            "unit_index": np.flatnonzero(has),
            "list": sub["code"] + "-layer", "list_title": sub["name"] + "（单元图层准入要求）",
            "level": "unit", "version": "", "list_path": unit_source, "clause": name,
            "dimension": name, "effect": "require", "text": text[has], "text_en": None,
            "review_only": True, "document": unit_source,
            "issuer": sub["city"].where(sub["city"] != "", sub["province"]), "date": None,
            "article": f"{DIMENSIONS[name]} field",
        }))
    if not parts:
        return pd.DataFrame(columns=CLAUSE_COLUMNS), (np.zeros(0, np.int64), np.zeros(0, np.int64))
    frame = pd.concat(parts, ignore_index=True)
    frame["cond"] = add_clause_cond()
    pairs = (frame["unit_index"].to_numpy(), first + np.arange(len(frame)))
    return frame[list(CLAUSE_COLUMNS)], pairs



def unit_scope(lst: AccessList, units: gpd.GeoDataFrame) -> np.ndarray:
    ok = np.ones(len(units), bool)
    scope = lst.scope
    if scope.admin:
        admin = units["admin"].fillna("")
        ok &= np.logical_or.reduce([admin.str.startswith(a).to_numpy() for a in scope.admin])
    if scope.unit_types:
        ok &= units["type"].isin(scope.unit_types).to_numpy()
    if scope.units:
        ok &= units["code"].isin(scope.units).to_numpy()
    return ok


def _cross(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(a, len(b)), np.tile(b, len(a))


def _csr(pairs, n: int) -> tuple[np.ndarray, np.ndarray]:
    if pairs:
        owner = np.concatenate([p[0] for p in pairs]).astype(np.int64)
        items = np.concatenate([p[1] for p in pairs]).astype(np.int64)
    else:
        owner = items = np.zeros(0, np.int64)
    order = np.lexsort((items, owner))
    counts = np.bincount(owner, minlength=n)
    return np.concatenate([[0], np.cumsum(counts)]), items[order]


def expand_csr(keys: np.ndarray, offsets: np.ndarray, *items: np.ndarray):
    """For each key, every entry of its CSR row: returns (position of key, *entries of each items array)."""
    owner, index = csr_positions(keys, offsets)
    return (owner, *(values[index] for values in items))


def csr_positions(keys: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each key, every entry of its CSR row: (position of key, position of the entry in the items)."""
    starts = offsets[keys]
    counts = offsets[keys + 1] - starts
    total = int(counts.sum())
    small = np.int32 if total < 2**31 and len(keys) < 2**31 else np.int64  # halves memory traffic
    owner = np.repeat(np.arange(len(keys), dtype=small), counts)
    shift = (starts - (np.cumsum(counts) - counts)).astype(np.int64)
    index = np.arange(total, dtype=np.int64) + np.repeat(shift, counts)
    return owner, index
