"""Evaluation: one vectorised path for one project or a million.

1. **Assign**: an STRtree on the sites is queried with the unit polygons
   (prepared), giving every (project, unit) pair where they intersect; a point
   on a shared boundary belongs to every unit it touches. For line and polygon
   sites, pairs that only touch are dropped and the overlap (m² or m) is
   measured in an equal-area CRS. Each pair's piece (the point, or site ∩ unit)
   is joined to the overlay zones the same way.
2. **Expand**: each pair gets the clauses of the lists whose scope covers its
   unit (and, for zone lists, the zones its piece lies in), as index arrays.
3. **Evaluate**: rows are grouped by compiled condition; each distinct
   condition is evaluated once, as masks, on the rows that need it.
4. **Aggregate**: per pair and per project, ``prohibited`` > ``restricted`` >
   ``undetermined`` (an unknown prohibit/restrict clause) > ``permitted``;
   ``not_covered`` when the site is in no unit.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from zoning.conditions import Always, Condition, Truth, applies
from zoning.crs import EQUAL_AREA, GEOD, GEOGRAPHIC
from zoning.errors import InputError
from zoning.industries import table as industry_table
from zoning.lists import DIMENSIONS, AccessList, compile_node
from zoning.projects import ATTRIBUTES, PROJECT_TYPES
from zoning.proximity import Proximity
from zoning.units import TEXT_FIELDS, zone_mask

VERDICTS = ("permitted", "undetermined", "restricted", "prohibited")  # by strictness
NOT_COVERED = "not_covered"
EFFECT_RANK = {"require": 0, "restrict": 2, "prohibit": 3}
#: inputs a clause can be missing: attributes, then industry/type/industry detail
INPUTS = (*ATTRIBUTES, "industry", "type", "industry class (4-digit)")
_BIT = {name: 1 << i for i, name in enumerate(INPUTS)}
CLAUSE_COLUMNS = ("list", "list_title", "level", "version", "list_path", "clause", "dimension", "effect",
                  "text", "text_en", "review_only", "document", "issuer", "date", "article", "cond")
_TO_AREA = Transformer.from_crs(GEOGRAPHIC, EQUAL_AREA, always_xy=True)


# ---- project columns ---------------------------------------------------------

class Columns:
    """Project inputs as arrays (see :class:`zoning.conditions.ProjectColumns`)."""

    def __init__(self, industry, industry_level, type_, attributes, industry_index=None, industry_codes=None,
                 proximity: Proximity | None = None, rows: np.ndarray | None = None):
        self.industry = industry
        self.industry_level = industry_level
        self.type = type_
        self.attributes = attributes
        self.n = len(type_)
        self.industry_index = industry_index  # per project: index into industry_codes
        self.industry_codes = industry_codes  # distinct codes; the last entry, "", is "not given"
        self.proximity = proximity  # distances to zones, when sites are known
        self.rows = np.arange(self.n) if rows is None else rows  # project index of each row

    @classmethod
    def from_projects(cls, projects: pd.DataFrame) -> Columns:
        # work on the distinct codes, then spread by integer index
        index, distinct = pd.factorize(projects["industry"].to_numpy(dtype=object), use_na_sentinel=True)
        codes = pd.Series(list(distinct) + [""], dtype=object)  # the last entry stands for "not given"
        level = np.where(codes.str.isalpha(), 1, codes.str.len().clip(upper=4)).astype(np.int8)
        level[(codes == "").to_numpy()] = 0
        sections = codes.str[:2].map(industry_table().section_of).fillna("")
        keys = {1: _keys(sections, 1)}
        for width in (2, 3, 4):
            keys[width] = np.where(level >= width, _keys(codes.str[:width], width), -1)
        index = np.where(index < 0, len(distinct), index)
        industry = {width: k[index] for width, k in keys.items()}
        level = level[index]
        t_index, t_distinct = pd.factorize(projects["type"].to_numpy(dtype=object), use_na_sentinel=True)
        type_ = np.array([PROJECT_TYPES.index(t) for t in t_distinct] + [-1], dtype=np.int8)[t_index]
        attrs = {a: projects[a].to_numpy(dtype=float) for a in ATTRIBUTES}
        return cls(industry, level, type_, attrs, index, codes.tolist())

    def take(self, idx: np.ndarray) -> Columns:
        """The rows ``idx``; columns are gathered only when a condition reads them."""
        return Columns(_Taken(self.industry, idx), self.industry_level[idx], self.type[idx],
                       _Taken(self.attributes, idx), proximity=self.proximity, rows=self.rows[idx])

    def attribute(self, name: str) -> np.ndarray:
        return self.attributes[name]

    def distance(self, condition) -> np.ndarray | None:
        if self.proximity is None:
            return None
        return self.proximity.measure(condition.key, self.rows)[0]

    def missing_bits(self) -> np.ndarray:
        """Per project, a bitmask of the inputs (see :data:`INPUTS`) not supplied."""
        bits = np.zeros(self.n, np.int64)
        for name, values in self.attributes.items():
            bits |= np.where(np.isnan(values), _BIT[name], 0)
        bits |= np.where(self.industry_level == 0, _BIT["industry"], 0)
        bits |= np.where((self.industry_level > 0) & (self.industry_level < 4),
                         _BIT["industry class (4-digit)"], 0)
        bits |= np.where(self.type < 0, _BIT["type"], 0)
        return bits


class _Taken:
    """A mapping of arrays, indexed by ``idx`` on first access (each key at most once)."""

    def __init__(self, arrays: dict, idx: np.ndarray):
        self._arrays, self._idx, self._cache = arrays, idx, {}

    def __getitem__(self, key):
        if key not in self._cache:
            self._cache[key] = self._arrays[key][self._idx]
        return self._cache[key]

    def items(self):
        return ((k, self[k]) for k in self._arrays)


def _keys(prefixes: pd.Series, width: int) -> np.ndarray:
    """Integer keys of code prefixes (-1 for empty)."""
    if width == 1:
        codes, letters = pd.factorize(prefixes)
        return np.array([ord(t) if t else -1 for t in letters] + [-1])[codes]
    numeric = pd.to_numeric(prefixes, errors="coerce")
    return numeric.fillna(-1).astype(np.int64).to_numpy()


def input_names(bits: int) -> list[str]:
    return [name for name in INPUTS if bits & _BIT[name]]


# ---- rules compiled against a unit and zone layer -----------------------------

@dataclass
class CompiledRules:
    """Clauses as columns, and which clauses apply to which unit or zone."""

    clauses: pd.DataFrame  # one row per clause (list metadata repeated)
    conditions: list[tuple[Condition, Condition | None]]  # by clauses.cond
    cond_inputs: np.ndarray  # bitmask of inputs each condition reads
    unit_offsets: np.ndarray  # CSR: clauses of unit u are unit_clauses[off[u]:off[u+1]]
    unit_clauses: np.ndarray
    zone_offsets: np.ndarray
    zone_clauses: np.ndarray
    zone_unit_ok: np.ndarray  # [clause row of zone lists → unit] mask, via list index
    clause_zone_list: np.ndarray  # per clause: index into zone_unit_ok rows, -1 if not zone list
    clause_cond: np.ndarray = None  # per clause: index into conditions
    clause_rank: np.ndarray = None  # per clause: EFFECT_RANK of its effect
    deciding_offsets: np.ndarray = None  # CSR like unit_offsets/unit_clauses, prohibit/restrict only
    deciding_clauses: np.ndarray = None
    deciding_conds: np.ndarray = None  # the condition of each deciding_clauses entry
    #: (industry code, type index) -> per condition: can it be anything but false? (see _possible)
    possible_cache: dict = field(default_factory=dict)
    #: batch text columns already built, by combination (see zoning.verdicts.join_per_project)
    text_cache: dict = field(default_factory=dict)

    def __post_init__(self):
        self.clause_cond = self.clauses["cond"].to_numpy(dtype=np.int64)
        # a review-only clause is cited for a person to read; it never decides the verdict
        rank = self.clauses["effect"].map(EFFECT_RANK).to_numpy(dtype=np.int8)
        self.clause_rank = np.where(self.clauses["review_only"].to_numpy(dtype=bool), 0, rank).astype(np.int8)
        owner = np.repeat(np.arange(len(self.unit_offsets) - 1), np.diff(self.unit_offsets))
        deciding = self.clause_rank[self.unit_clauses] >= 2
        counts = np.bincount(owner[deciding], minlength=len(self.unit_offsets) - 1)
        self.deciding_offsets = np.concatenate([[0], np.cumsum(counts)])
        # within a unit: prohibit before restrict, then by clause (the order batch summaries print)
        chosen, units_of = self.unit_clauses[deciding], owner[deciding]
        order = np.lexsort((chosen, self.clause_rank[chosen] == 2, units_of))
        self.deciding_clauses = chosen[order].astype(np.int32)
        self.deciding_conds = self.clause_cond[self.deciding_clauses].astype(np.int32)


def compile_rules(lists: list[AccessList], units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                  *, unit_source: str = "unit layer") -> CompiledRules:
    records, conditions, cond_index = [], [], {}
    unit_pairs: list[tuple[np.ndarray, np.ndarray]] = []
    zone_pairs: list[tuple[np.ndarray, np.ndarray]] = []
    zone_unit_ok = []
    clause_zone_list = []

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
        unit_ok = _unit_scope(lst, units)
        meta = {"list": lst.id, "list_title": lst.title, "level": lst.level, "version": lst.version,
                "list_path": lst.path}
        ids = []
        for clause in lst.clauses:
            src = lst.source_of(clause)
            ids.append(add_clause(meta, {
                "clause": clause.id, "dimension": clause.dimension, "effect": clause.effect,
                "text": clause.text, "text_en": clause.text_en, "review_only": clause.review_only,
                "document": src.document, "issuer": src.issuer,
                "date": src.date.isoformat() if src.date else None, "article": src.article,
            }, compile_node(clause.conditions),
                compile_node(clause.unless) if clause.unless is not None else None))
            clause_zone_list.append(-1)
        ids = np.asarray(ids)
        if lst.scope.zones or lst.scope.zone_kinds:
            zone_ok = zone_mask(zones, lst.scope.zones, lst.scope.zone_kinds)
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
    cond_inputs = np.array([_input_bits(c, x) for c, x in conditions], dtype=np.int64)
    u_off, u_cl = _csr(unit_pairs, len(units))
    z_off, z_cl = _csr(zone_pairs, len(zones))
    ok = np.array(zone_unit_ok, dtype=bool).reshape(len(zone_unit_ok), len(units))
    return CompiledRules(clauses, conditions, cond_inputs, u_off, u_cl, z_off, z_cl, ok,
                         np.asarray(clause_zone_list, dtype=np.int64))


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


def _input_bits(cond: Condition, unless: Condition | None) -> int:
    names = cond.attributes() | (unless.attributes() if unless is not None else frozenset())
    bits = 0
    for name in names:
        bits |= _BIT[name]
        if name == "industry":
            bits |= _BIT["industry class (4-digit)"]
    return bits


def _unit_scope(lst: AccessList, units: gpd.GeoDataFrame) -> np.ndarray:
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
    starts = offsets[keys]
    counts = offsets[keys + 1] - starts
    total = int(counts.sum())
    small = np.int32 if total < 2**31 and len(keys) < 2**31 else np.int64  # halves memory traffic
    owner = np.repeat(np.arange(len(keys), dtype=small), counts)
    shift = (starts - (np.cumsum(counts) - counts)).astype(np.int64)
    index = np.arange(total, dtype=np.int64) + np.repeat(shift, counts)
    return (owner, *(values[index] for values in items))


# ---- spatial assignment -------------------------------------------------------

def measure(geoms: np.ndarray) -> np.ndarray:
    """Area (m²) of polygons, in an equal-area CRS, and geodesic length (m) of lines; 0 for points.

    An equal-area projection keeps areas but not lengths (about ±2% in
    northern China), so lines are measured on the ellipsoid, segment by
    segment, all at once.
    """
    dim = shapely.get_dimensions(geoms)
    out = np.zeros(len(geoms))
    areal = dim == 2
    if areal.any():
        projected = shapely.transform(geoms[areal], _TO_AREA.transform, interleaved=False)
        out[areal] = shapely.area(projected)
    linear = np.flatnonzero(dim == 1)
    if len(linear):
        out[linear] = geodesic_lengths(geoms[linear])
    return out


def geodesic_lengths(lines: np.ndarray) -> np.ndarray:
    """Length in metres (GRS80 geodesics between vertices) of each lon/lat line geometry."""
    parts, owner = shapely.get_parts(lines, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]  # consecutive vertices of one part form a segment
    if not same.any():
        return np.zeros(len(lines))
    start, end = coords[:-1][same], coords[1:][same]
    segment = GEOD.inv(start[:, 0], start[:, 1], end[:, 0], end[:, 1])[2]
    return np.bincount(owner[part[1:][same]], weights=segment, minlength=len(lines))


def overlay(sites: np.ndarray, polygons: np.ndarray):
    """(site index, polygon index, piece, measure) for every site-polygon overlap.

    Points count where they intersect the polygon (boundary included); lines
    and polygons only where the shared part has length or area.
    """
    if len(sites) == 0 or len(polygons) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.array([], dtype=object), np.zeros(0)
    shapely.prepare(polygons)  # once per polygon object: later calls find them prepared
    tree = shapely.STRtree(sites)
    poly_idx, site_idx = tree.query(polygons, predicate="intersects")  # ordered by polygon
    order = np.argsort(site_idx, kind="stable")  # by site, then polygon
    site_idx, poly_idx = site_idx[order], poly_idx[order]
    pieces = sites[site_idx]
    amount = np.zeros(len(site_idx))
    extended = (shapely.get_dimensions(sites) > 0)[site_idx]
    if extended.any():
        cut = shapely.intersection(pieces[extended], polygons[poly_idx[extended]])
        pieces[extended] = cut
        amount[extended] = measure(cut)
        keep = ~extended
        keep[extended] = (amount[extended] > 0) & (
            shapely.get_dimensions(cut) == shapely.get_dimensions(sites[site_idx[extended]]))
        site_idx, poly_idx, pieces, amount = site_idx[keep], poly_idx[keep], pieces[keep], amount[keep]
    return site_idx, poly_idx, pieces, amount


# ---- evaluation ---------------------------------------------------------------

@dataclass
class Evaluation:
    """Everything one evaluation found, as aligned arrays (see module doc)."""

    verdict: np.ndarray  # per project
    worst: np.ndarray  # per project: strictest verdict still possible given unknowns
    site_measure: np.ndarray  # per project: m² / m (0 for points)
    uncovered: np.ndarray  # per project: part of the site (m² / m) in no unit
    pairs: pd.DataFrame  # project, unit, overlap, verdict
    rows: pd.DataFrame  # project, pair, unit, clause, zone, applies (else undecided), missing (bitmask)
    missing_bits: np.ndarray  # per project: inputs (bitmask) that left some clause undecided
    disregarded: pd.DataFrame = None  # project, unit, overlap, share: slivers below min_overlap
    proximity: Proximity | None = None  # distances measured for within_distance conditions
    min_overlap: MinOverlap | None = None
    #: with ``explain=True``: every clause row considered (true, false or unknown), see zoning.explanation
    considered: pd.DataFrame | None = None


def evaluate(projects: gpd.GeoDataFrame, units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
             rules: CompiledRules, *, detail: bool = True, timings: dict | None = None,
             min_overlap: MinOverlap | None = None, explain: bool = False) -> Evaluation:
    """Evaluate normalised projects (see :func:`zoning.projects.normalise`).

    With ``detail=False`` (batches), ``rows`` holds only the prohibit and
    restrict rows that apply or are undecided (columns project, clause,
    applies), unordered: what :func:`zoning.verdicts.summary_columns` needs.

    ``timings``, when given, accumulates the seconds spent in ``assign``
    (spatial overlay with units and zones) and ``evaluate`` (the rest).

    ``min_overlap`` disregards a line or polygon site's slivers: units it
    overlaps by less than the thresholds are not evaluated, and are listed
    in ``disregarded`` (see :class:`MinOverlap`).

    ``explain`` keeps every row considered, false ones included, in
    ``considered`` (project, pair, unit, clause, cond, zone, outcome 0 false /
    1 true / 2 unknown): every clause with ``detail``, else the prohibit and
    restrict clauses (the batch prefilter is then skipped).
    """
    started = time.perf_counter()
    n = len(projects)
    sites = projects.geometry.to_numpy()
    usable = ~(shapely.is_missing(sites) | shapely.is_empty(sites))
    site_measure = np.zeros(n)
    site_measure[usable] = measure(sites[usable])

    p_idx, u_idx, pieces, overlap = overlay(np.where(usable, sites, None), units.geometry.to_numpy())
    covered = np.bincount(p_idx, weights=overlap, minlength=n)  # slivers too: they lie in a unit
    sliver = np.zeros(len(p_idx), bool)
    if min_overlap is not None and len(p_idx):
        dims = np.full(n, -1)
        dims[usable] = shapely.get_dimensions(sites[usable])
        sliver = min_overlap.slivers(p_idx, overlap, site_measure[p_idx], dims[p_idx])
    share = np.divide(overlap[sliver], site_measure[p_idx[sliver]])
    disregarded = pd.DataFrame({"project": p_idx[sliver], "unit": u_idx[sliver], "overlap": overlap[sliver],
                                "share": share})
    if sliver.any():
        keep = ~sliver
        p_idx, u_idx, pieces, overlap = p_idx[keep], u_idx[keep], pieces[keep], overlap[keep]
    n_pairs = len(p_idx)
    if detail:  # every clause, for citations
        pair_of_row, clause = expand_csr(u_idx, rules.unit_offsets, rules.unit_clauses)
        cond = rules.clause_cond[clause]
    else:  # only prohibit/restrict clauses decide a verdict
        pair_of_row, clause, cond = expand_csr(u_idx, rules.deciding_offsets, rules.deciding_clauses,
                                               rules.deciding_conds)
    zone = np.full(len(clause), -1, dtype=np.int32)
    if len(zones) and len(rules.zone_clauses):
        z_piece, z_idx, _, _ = overlay(pieces, zones.geometry.to_numpy())
        owner, z_clause = expand_csr(z_idx, rules.zone_offsets, rules.zone_clauses)
        z_pair = z_piece[owner]
        ok = rules.zone_unit_ok[rules.clause_zone_list[z_clause], u_idx[z_pair]]
        if not detail:
            ok &= rules.clause_rank[z_clause] >= 2
        pair_of_row = np.concatenate([pair_of_row, z_pair[ok]])
        clause = np.concatenate([clause, z_clause[ok]])
        cond = np.concatenate([cond, rules.clause_cond[z_clause[ok]]])
        zone = np.concatenate([zone, z_idx[owner][ok]])

    assigned = time.perf_counter()
    cols = Columns.from_projects(projects)
    cols.proximity = Proximity(np.where(usable, sites, None), zones)
    if not detail and not explain:
        # drop rows that the project's industry and type alone make false (most of them)
        key, table = _possible(rules, cols)
        pair_key = key[p_idx]
        keep = table.ravel()[cond.astype(np.int64) * table.shape[1] + pair_key[pair_of_row]]
        pair_of_row, clause, cond = pair_of_row[keep], clause[keep], cond[keep]
    project_of_row = p_idx[pair_of_row]
    true = np.zeros(len(clause), bool)
    unknown = np.zeros(len(clause), bool)
    # few distinct conditions: a 16-bit key lets numpy's stable sort use radix sort (linear time)
    order = np.argsort(cond.astype(np.int16) if len(rules.conditions) < 2**15 else cond, kind="stable")
    bounds = np.flatnonzero(np.diff(cond[order])) + 1
    for group in np.split(order, bounds) if len(order) else []:
        condition, unless = rules.conditions[cond[group[0]]]
        truth: Truth = applies(condition, unless, cols.take(project_of_row[group]))
        true[group] = truth.true
        unknown[group] = truth.unknown
    missing = np.where(unknown, rules.cond_inputs[cond] & cols.missing_bits()[project_of_row], 0)

    considered = None
    if explain:
        considered = pd.DataFrame({
            "project": project_of_row, "pair": pair_of_row, "unit": u_idx[pair_of_row], "clause": clause,
            "cond": cond, "zone": zone, "outcome": np.where(true, 1, np.where(unknown, 2, 0)).astype(np.int8),
        }).sort_values(["project", "pair", "clause"], kind="stable").drop_duplicates(["pair", "clause"])
    rank = rules.clause_rank[clause]
    pair_definite = np.zeros(n_pairs, np.int8)
    pair_worst = np.zeros(n_pairs, np.int8)
    np.maximum.at(pair_definite, pair_of_row[true], rank[true])
    np.maximum.at(pair_worst, pair_of_row[true | unknown], rank[true | unknown])
    pair_level = _level(pair_definite, pair_worst)

    level = np.full(n, -1, np.int8)  # -1 = not covered
    np.maximum.at(level, p_idx, pair_level)
    worst = np.full(n, -1, np.int8)
    np.maximum.at(worst, p_idx, _level(pair_worst, pair_worst))

    uncovered = np.where(site_measure > 0, np.clip(site_measure - covered, 0, None), 0.0)
    partly = (level >= 0) & (uncovered > 1e-3 * site_measure)
    level = np.where(partly, np.maximum(level, 1), level)  # part outside every unit: not "permitted"

    missing_bits = np.zeros(n, np.int64)  # inputs that left a prohibit/restrict clause undecided
    undecided = unknown & (rank >= 2)
    np.bitwise_or.at(missing_bits, project_of_row[undecided], missing[undecided])
    if detail:
        keep = true | unknown
        rows = pd.DataFrame({
            "project": project_of_row[keep], "pair": pair_of_row[keep], "unit": u_idx[pair_of_row[keep]],
            "clause": clause[keep], "zone": zone[keep],
            "applies": true[keep], "missing": missing[keep],
        }).sort_values(["project", "pair", "clause"], kind="stable").drop_duplicates(["pair", "clause"])
    else:  # what batch summaries need: the deciding rows, unordered
        keep = (true | unknown) & (rank >= 2)
        rows = pd.DataFrame({"project": project_of_row[keep], "clause": clause[keep], "applies": true[keep]})
    pairs = pd.DataFrame({"project": p_idx, "unit": u_idx, "overlap": overlap,
                          "verdict": pd.Series(np.array(VERDICTS, dtype=object)[pair_level], dtype=object)})
    if timings is not None:
        timings["assign"] = timings.get("assign", 0.0) + assigned - started
        timings["evaluate"] = timings.get("evaluate", 0.0) + time.perf_counter() - assigned
    return Evaluation(_names(level), _names(worst), site_measure, uncovered, pairs, rows, missing_bits,
                      disregarded, cols.proximity, min_overlap, considered)


@dataclass(frozen=True)
class MinOverlap:
    """Thresholds below which a unit's share of a line or polygon site is a sliver.

    A piece is disregarded only when it is below every threshold that
    applies to it (``area_m2`` to polygons, ``length_m`` to lines, ``share``
    of the site's area or length to both), so giving two thresholds
    disregards less, never more. A site's largest piece is never
    disregarded. Points have no slivers.
    """

    area_m2: float | None = None
    length_m: float | None = None
    share: float | None = None  # 0–1

    _UNITS = {"m2": 1.0, "m²": 1.0, "ha": 10_000.0, "km2": 1e6, "km²": 1e6, "mu": 10_000 / 15, "亩": 10_000 / 15,
              "公顷": 10_000.0, "平方米": 1.0}
    _LENGTHS = {"m": 1.0, "km": 1000.0, "米": 1.0, "公里": 1000.0}

    @classmethod
    def parse(cls, values) -> MinOverlap:
        """From texts such as ``100m2``, ``0.5ha``, ``3亩``, ``1%``, ``20m``, ``0.2km`` (one per kind)."""
        found: dict[str, float] = {}
        for text in values:
            value = str(text).strip().replace(" ", "").lower()
            match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)(%|[a-z²\u4e00-\u9fff0-9]+)", value)
            if not match:
                raise InputError(f"--min-overlap {text!r}: expected a number with a unit, e.g. 100m2, 0.5ha, "
                                 "1% or 20m")
            number, unit = float(match[1]), match[2]
            if unit == "%":
                kind, amount = "share", number / 100
                if not 0 < amount < 1:
                    raise InputError(f"--min-overlap {text!r}: a share must be between 0% and 100%")
            elif unit in cls._UNITS:
                kind, amount = "area_m2", number * cls._UNITS[unit]
            elif unit in cls._LENGTHS:
                kind, amount = "length_m", number * cls._LENGTHS[unit]
            else:
                raise InputError(f"--min-overlap {text!r}: unknown unit {unit!r} (use m2, ha, 亩, km2, %, m or km)")
            if kind in found:
                raise InputError(f"--min-overlap gives the {kind.split('_')[0]} threshold twice")
            found[kind] = amount
        return cls(**found)

    @classmethod
    def coerce(cls, value) -> MinOverlap | None:
        """A MinOverlap, texts (``"1%"`` or ``["100m2", "1%"]``) or None; None when no threshold is set."""
        if value is None or isinstance(value, MinOverlap):
            return value or None
        return cls.parse([value] if isinstance(value, str) else value) or None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.area_m2, self.length_m, self.share))

    def applies_to(self, dim: int) -> bool:
        """Does any threshold apply to sites of this dimension (2 polygon, 1 line)?"""
        return self.share is not None or (self.area_m2 if dim == 2 else self.length_m if dim == 1 else None) \
            is not None

    def describe(self) -> str:
        parts = []
        if self.area_m2 is not None:
            parts.append(f"{self.area_m2 / 10_000:,.6g} ha" if self.area_m2 >= 10_000 else f"{self.area_m2:,.6g} m²")
        if self.length_m is not None:
            parts.append(f"{self.length_m / 1000:,.6g} km" if self.length_m >= 1000 else f"{self.length_m:,.6g} m")
        if self.share is not None:
            parts.append(f"{self.share * 100:g}% of the site")
        return " and ".join(parts)

    def slivers(self, project: np.ndarray, overlap: np.ndarray, site_measure: np.ndarray,
                dims: np.ndarray) -> np.ndarray:
        """Per (project, unit) piece: is it a sliver? (Arrays aligned with the pieces.)"""
        below = np.ones(len(overlap), bool)
        applicable = np.zeros(len(overlap), bool)
        for limit, dim in ((self.area_m2, 2), (self.length_m, 1)):
            if limit is not None:
                below &= np.where(dims == dim, overlap < limit, True)
                applicable |= dims == dim
        if self.share is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                below &= overlap < self.share * site_measure
            applicable |= dims > 0
        sliver = below & applicable
        order = np.lexsort((-overlap, project))  # per project, largest first
        first = order[np.r_[True, project[order][1:] != project[order][:-1]]]
        sliver[first] = False
        return sliver


def _possible(rules: CompiledRules, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Which conditions each project's industry and type leave open.

    Returns ``(key, table)``: ``key`` per project indexes the columns of
    ``table[condition, key]``, false where the condition is false whatever the
    project's other inputs (evaluated with every attribute unknown; Kleene
    logic never turns a definite answer around when unknowns become known).
    Results are cached in ``rules`` per (industry code, type), so later chunks
    evaluate only combinations they are the first to bring.
    """
    combined = cols.industry_index.astype(np.int64) * 8 + (cols.type.astype(np.int64) + 1)
    present = np.zeros(int(combined.max(initial=0)) + 1, bool)  # small keys: compact by counting
    present[combined] = True
    distinct = np.flatnonzero(present)
    key = (np.cumsum(present) - 1)[combined]
    combos = [(cols.industry_codes[d // 8], int(d % 8) - 1) for d in distinct.tolist()]
    cache = rules.possible_cache
    new = [c for c in combos if c not in cache]
    if new:
        frame = pd.DataFrame({"industry": [c or None for c, _ in new],
                              "type": [PROJECT_TYPES[t] if t >= 0 else None for _, t in new]}, dtype=object)
        for a in ATTRIBUTES:
            frame[a] = np.nan
        probe = Columns.from_projects(frame)
        open_ = np.array([~applies(c, u, probe).false for c, u in rules.conditions]).reshape(-1, len(new))
        for i, combo in enumerate(new):
            cache[combo] = open_[:, i]
    table = np.column_stack([cache[c] for c in combos]) if combos else np.zeros((len(rules.conditions), 0), bool)
    return key, table


def _level(definite: np.ndarray, worst: np.ndarray) -> np.ndarray:
    """Verdict index: 3 prohibited, 2 restricted, 1 undetermined, 0 permitted."""
    return np.where(definite >= 2, definite, np.where(worst >= 2, 1, 0)).astype(np.int8)


def _names(level: np.ndarray) -> np.ndarray:
    names = np.asarray((*VERDICTS, NOT_COVERED), dtype=object)
    return names[np.where(level < 0, len(VERDICTS), level)]


def in_force(lists: list[AccessList], as_of: dt.date | None) -> list[AccessList]:
    on = as_of or dt.date.today()
    return [lst for lst in lists if lst.in_force(on)]
