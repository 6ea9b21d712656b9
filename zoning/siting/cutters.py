"""Where a project's answer can change inside a unit: the shapes that split units for a siting map.

Within one unit, what decides a project is the same everywhere except where
a clause reads the location: ``within_distance`` of zones (a buffer around
them), ``inside`` a zone (the zone itself), a list scoped to zones (the zones
it covers), and units that overlap (a site in both is judged by both).
:func:`cutters` returns, per unit in scope, exactly those shapes among the
clauses that can decide (prohibit, restrict) or be noted (encourage,
obligations) for this project: a clause its industry, type or values
already rule out splits nothing.

Buffers are drawn in the local 3° Gauss-Krüger projection the engine
measures distances in, enlarged by the projection's scale at the zone and
with arcs fine enough (chords within 5 cm of the circle) that a point on
either side of the edge is judged as the engine judges it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from zoning.evaluate.columns import Columns
from zoning.evaluate.compile import CompiledRules, expand_csr
from zoning.evaluate.proximity import local_projection, nearest_meridians
from zoning.inputs.units import zone_mask
from zoning.rules.conditions import Inside, WithinDistance, applies, walk
from zoning.verdicts import Verdict

#: how far a buffer's chords may fall inside the true circle (metres)
CHORD_TOLERANCE_M = 0.05
#: the longest straight edge of a buffer drawn back in lon/lat (metres): the projection bends longer ones
_SEGMENT_M = 250.0
_EARTH_RADIUS_M = 6_371_000.0
_FALSE_EASTING = 500_000.0
#: scopes with more units than this find overlapping units once for the whole layer, and keep them
_WHOLE_LAYER_SCOPE = 2_000


@dataclass
class Cutters:
    """Shapes that split units: ``unit[i]`` is split by ``geometry[i]`` (lon/lat polygons)."""

    unit: np.ndarray
    geometry: np.ndarray

    def __len__(self) -> int:
        return len(self.unit)


def cutters(rules: CompiledRules, units, zones, scope: np.ndarray, projects, *, cache: dict | None = None
            ) -> Cutters:
    """The shapes splitting each unit of ``scope`` for the one normalised project in ``projects``.
    ``cache`` keeps what depends on the unit layer alone (which units overlap) from one call to the next."""
    open_ = open_conditions(rules, projects)
    unit_geoms = units.geometry.to_numpy()
    zone_geoms = zones.geometry.to_numpy()
    polygonal_zone = np.isin(shapely.get_type_id(zone_geoms), (3, 6))
    pairs: list[pd.DataFrame] = []  # (unit, source, index): the shape `index` of `source` splits `unit`
    tables = {"unit": unit_geoms, "zone": zone_geoms}  # the shapes of each source

    # clauses of the units themselves, and of zone lists, that can matter and read the location
    owner, clause = expand_csr(scope, rules.deciding_offsets, rules.deciding_clauses)
    unit_conds = pd.DataFrame({"unit": scope[owner], "cond": rules.clause_cond[clause]})
    zone_lists = _zone_list_pairs(rules, units, zones, scope, open_, polygonal_zone)
    if len(zone_lists):
        pairs.append(pd.DataFrame({"unit": zone_lists["unit"], "source": "zone", "index": zone_lists["zone"]}))
    needs = pd.concat([unit_conds, zone_lists[["unit", "cond"]]], ignore_index=True)
    needs = needs[open_[needs["cond"].to_numpy()]].drop_duplicates()

    keys = _location_keys(rules, np.unique(needs["cond"].to_numpy()))
    for key, conds in keys.items():
        near = needs.loc[needs["cond"].isin(conds), "unit"].unique()
        chosen = np.flatnonzero(zone_mask(zones, key[1], key[2]) & (polygonal_zone | (key[0] == "near")))
        if not len(near) or not len(chosen):
            continue
        shapes = _buffers(zone_geoms[chosen], key[3]) if key[0] == "near" else zone_geoms[chosen]
        hit_unit, hit_shape = shapely.STRtree(shapes).query(unit_geoms[near], predicate="intersects")
        source = f"{key[0]}:{key[3]}:{'|'.join(key[1])}:{'|'.join(key[2])}"
        tables[source] = shapes
        pairs.append(pd.DataFrame({"unit": near[hit_unit], "source": source, "index": hit_shape}))
    pairs.append(_overlaps_in_scope(unit_geoms, scope, cache))
    found = pd.concat(pairs, ignore_index=True).drop_duplicates() if pairs else pd.DataFrame(
        {"unit": [], "source": [], "index": []})
    geometry = np.empty(len(found), dtype=object)
    for source, rows in found.groupby("source", sort=False).indices.items():
        geometry[rows] = tables[source][found["index"].to_numpy(dtype=np.int64)[rows]]
    return Cutters(found["unit"].to_numpy(dtype=np.int64), geometry)


def open_conditions(rules: CompiledRules, projects) -> np.ndarray:
    """Per compiled condition: can it be anything but false for this project, wherever it lies?
    (Evaluated with the location unknown: a condition false on industry, type or values alone is
    false everywhere.)"""
    probe = Columns.from_projects(projects, rules.vocabulary)
    return np.array([not applies(c, u, probe).false[0] for c, u in rules.conditions], dtype=bool)


def _zone_list_pairs(rules: CompiledRules, units, zones, scope: np.ndarray, open_: np.ndarray,
                     polygonal: np.ndarray) -> pd.DataFrame:
    """(unit, zone, cond) for each clause of a zone-scoped list that can matter, each polygonal zone it
    covers, and each unit in scope (and in the list's unit scope) that the zone shares ground with."""
    empty = pd.DataFrame({"unit": pd.Series(dtype=np.int64), "zone": pd.Series(dtype=np.int64),
                          "cond": pd.Series(dtype=np.int64)})
    if not len(zones) or not len(scope):
        return empty
    zone, clause = expand_csr(np.arange(len(zones)), rules.zone_offsets, rules.zone_clauses)
    zone = np.arange(len(zones))[zone]
    keep = ((rules.clause_rank[clause] >= Verdict.RESTRICTED) | rules.clause_noted[clause]) & polygonal[zone] & \
        open_[rules.clause_cond[clause]]
    zone, clause = zone[keep], clause[keep]
    if not len(zone):
        return empty
    zone_geoms = zones.geometry.to_numpy()
    candidates = np.unique(zone)
    hit_unit, hit_zone = shapely.STRtree(units.geometry.to_numpy()[scope]).query(
        zone_geoms[candidates], predicate="intersects")[::-1]
    touching = pd.DataFrame({"unit": scope[hit_unit], "zone": candidates[hit_zone]})
    clauses = pd.DataFrame({"zone": zone, "clause": clause})
    joined = touching.merge(clauses, on="zone")
    unit_ok = rules.zone_unit_ok[rules.clause_zone_list[joined["clause"].to_numpy()], joined["unit"].to_numpy()]
    joined = joined[unit_ok]
    return pd.DataFrame({"unit": joined["unit"].to_numpy(dtype=np.int64), "zone": joined["zone"].to_numpy(
        dtype=np.int64), "cond": rules.clause_cond[joined["clause"].to_numpy()]})


def _location_keys(rules: CompiledRules, conds: Iterable[int]) -> dict[tuple, list[int]]:
    """The location tests the conditions ``conds`` make, each with the conditions making it: keys
    ``("near", zone ids, zone kinds, metres)`` and ``("in", zone ids, zone kinds, 0)``."""
    keys: dict[tuple, list[int]] = {}
    for cond in conds:
        condition, unless = rules.conditions[int(cond)]
        for node in (*walk(condition), *walk(unless)):
            if isinstance(node, WithinDistance):
                keys.setdefault(("near", node.zones, node.zone_kinds, float(node.distance)), []).append(int(cond))
            elif isinstance(node, Inside):
                keys.setdefault(("in", node.zones, node.zone_kinds, 0.0), []).append(int(cond))
    return keys


def _buffers(geoms: np.ndarray, metres: float) -> np.ndarray:
    """Each lon/lat geometry grown by ``metres`` (geodesic), drawn in its local Gauss-Krüger projection."""
    out = np.empty(len(geoms), dtype=object)
    centre = shapely.get_x(shapely.centroid(geoms))
    meridian = nearest_meridians(centre)
    for cm in np.unique(meridian):
        at = np.flatnonzero(meridian == cm)
        forward, back = local_projection(int(cm))
        local = shapely.transform(geoms[at], forward.transform, interleaved=False)
        easting = shapely.get_x(shapely.centroid(local)) - _FALSE_EASTING
        scale = 1.0 + easting**2 / (2 * _EARTH_RADIUS_M**2)  # Gauss-Krüger scale away from the meridian
        radius = metres * scale
        grown = np.empty(len(at), dtype=object)
        for segs in np.unique(_quad_segs(radius)):  # a few distinct values: one call each
            same = _quad_segs(radius) == segs
            grown[same] = shapely.buffer(local[same], radius[same], quad_segs=int(segs))
        grown = shapely.segmentize(grown, _SEGMENT_M)
        out[at] = shapely.make_valid(shapely.transform(grown, back.transform, interleaved=False))
    return out


def _quad_segs(radius: np.ndarray) -> np.ndarray:
    """Segments per quarter circle so that chords stay within :data:`CHORD_TOLERANCE_M` of the arc."""
    ratio = np.clip(1.0 - CHORD_TOLERANCE_M / np.maximum(radius, CHORD_TOLERANCE_M * 2), -1.0, 1.0)
    step = 2.0 * np.arccos(ratio)
    return np.clip(np.ceil((math.pi / 2) / np.maximum(step, 1e-9)), 8, 512).astype(int)


def _overlaps_in_scope(geoms: np.ndarray, scope: np.ndarray, cache: dict | None) -> pd.DataFrame:
    """:func:`_overlapping_units` for ``scope``: for a large scope, found once for the whole layer and kept
    in ``cache``; for a small one (a search around a site), found for the scope alone."""
    key = "overlapping units"
    if cache is not None and key not in cache and len(scope) > _WHOLE_LAYER_SCOPE:
        cache[key] = _overlapping_units(geoms, np.arange(len(geoms)))
    if cache is not None and key in cache:
        found = cache[key]
        return found[np.isin(found["unit"].to_numpy(), scope)]
    return _overlapping_units(geoms, scope)


def _overlapping_units(geoms: np.ndarray, scope: np.ndarray) -> pd.DataFrame:
    """(unit, "unit", other unit) for units in scope whose interiors meet another unit's: a site there is
    judged by both, so each splits the other.

    Units usually form a coverage (neighbours share edges, none overlap): GEOS checks that in one call
    (:func:`shapely.coverage_invalid_edges`), and only units it flags, with their neighbours, are
    tested pair by pair.
    """
    a, b = shapely.STRtree(geoms).query(geoms[scope], predicate="intersects")
    a = scope[a]
    other = a != b
    a, b = a[other], b[other]
    if len(a):
        near = np.unique(np.concatenate([scope, b]))
        flagged = near[~shapely.is_empty(shapely.coverage_invalid_edges(geoms[near]))]
        suspect = np.isin(a, flagged) | np.isin(b, flagged)
        a, b = a[suspect], b[suspect]
        meet = shapely.relate_pattern(geoms[a], geoms[b], "2********")
        a, b = a[meet], b[meet]
    return pd.DataFrame({"unit": a, "source": "unit", "index": b})
