"""Distances from sites to overlay zones, for ``within_distance`` conditions, and lying inside zones.

Each site is measured by its piece in the unit being evaluated (a polygon
site in two units is two pieces), so a plot half inside a chemical park is
inside it for the unit the park lies in, and some distance from it for the
other. Zones may be polygons, lines or points.

Distances are geodesic (on the GRS80 ellipsoid) between the nearest points
of site and zone. The nearest points are found in a local 3° Gauss-Krüger
projection (CGCS2000, central meridian nearest the site), where scale is
within 0.03% of true, then measured with :class:`pyproj.Geod`; a site inside
or touching a zone is at 0 m. Everything runs on arrays: a spatial index
finds candidate (site, zone) pairs inside a generous search radius, and
each projection group is handled in one call.
"""

from __future__ import annotations

import functools

import numpy as np
import shapely
from pyproj import CRS, Transformer

from zoning.evaluate.overlay import inside_shares
from zoning.geodesy import GEOD, GEOGRAPHIC
from zoning.inputs.crs import GaussKruger, to_geographic
from zoning.inputs.units import zone_mask
from zoning.rules.conditions import TOLERANCE_M

#: metres per degree of longitude at 60°N, less than anywhere in China: a safe search radius in degrees
_METRES_PER_DEGREE = 55_000.0
#: more metres than one degree (of latitude or longitude) spans anywhere
_METRES_PER_DEGREE_MAX = 111_700.0


def nearest_meridians(lon) -> np.ndarray:
    """The central meridian (degrees, a multiple of 3 within China's 75–135°E) of the 3° Gauss-Krüger
    zone nearest each longitude: the projection distances are measured in."""
    return np.clip(np.round(np.asarray(lon, dtype=float) / 3) * 3, 75, 135).astype(int)


@functools.cache
def local_projection(central_meridian: int) -> tuple[Transformer, Transformer]:
    """To and from the CGCS2000 3° Gauss-Krüger projection with this central meridian."""
    local = CRS.from_epsg(GaussKruger("cgcs2000", 3).epsg(central_meridian // 3, prefixed=False))
    return Transformer.from_crs(GEOGRAPHIC, local, always_xy=True), to_geographic(local)


def _project(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    return shapely.transform(geoms, transformer.transform, interleaved=False)


def nearest_within(sites: np.ndarray, targets: np.ndarray, max_distance: float | np.ndarray):
    """For each site, the nearest target within ``max_distance`` metres (one limit, or one per site).

    Returns ``(distance, target)`` arrays aligned with ``sites``: distance in
    metres (``inf`` and target -1 where none is that close).
    """
    n = len(sites)
    distance = np.full(n, np.inf)
    target = np.full(n, -1, np.int64)
    if n == 0 or len(targets) == 0:
        return distance, target
    limit = np.broadcast_to(np.asarray(max_distance, dtype=float), (n,))
    tree = shapely.STRtree(targets)
    s_idx, t_idx = tree.query(sites, predicate="dwithin", distance=limit / _METRES_PER_DEGREE)
    if len(s_idx) == 0:
        return distance, target
    measured = _measure_pairs(sites, targets, s_idx, t_idx)
    close = measured <= limit[s_idx] + TOLERANCE_M
    s_idx, t_idx, measured = s_idx[close], t_idx[close], measured[close]
    order = np.lexsort((measured, s_idx))  # by site, nearest first
    s_idx, t_idx, measured = s_idx[order], t_idx[order], measured[order]
    first = np.ones(len(s_idx), bool)
    first[1:] = s_idx[1:] != s_idx[:-1]
    distance[s_idx[first]] = measured[first]
    target[s_idx[first]] = t_idx[first]
    return distance, target


def nearest(sites: np.ndarray, targets: np.ndarray):
    """For each site, the nearest target at any distance: ``(distance, target)`` as :func:`nearest_within`.

    The nearest target in lon/lat degrees is at most :data:`_METRES_PER_DEGREE_MAX` metres per degree
    away, which bounds the search; the geodesically nearest lies within that bound.
    """
    n = len(sites)
    if n == 0 or len(targets) == 0:
        return np.full(n, np.inf), np.full(n, -1, np.int64)
    present = ~shapely.is_missing(sites) & ~shapely.is_empty(sites)
    bound = np.full(n, np.inf)
    found, degrees = shapely.STRtree(targets).query_nearest(sites[present], return_distance=True,
                                                            all_matches=False)
    bound[np.flatnonzero(present)[found[0]]] = degrees * _METRES_PER_DEGREE_MAX + 1.0
    distance, target = np.full(n, np.inf), np.full(n, -1, np.int64)
    finite = np.flatnonzero(np.isfinite(bound))
    distance[finite], target[finite] = nearest_within(sites[finite], targets, bound[finite])
    return distance, target


def _measure_pairs(sites: np.ndarray, targets: np.ndarray, s_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
    """Geodesic distance (m) between the nearest points of each (site, target) pair; 0 where they meet."""
    measured = np.zeros(len(s_idx))
    touching = shapely.intersects(sites[s_idx], targets[t_idx])
    apart = np.flatnonzero(~touching)
    if len(apart):
        centre = shapely.get_x(shapely.centroid(sites[s_idx[apart]]))
        meridian = nearest_meridians(centre)
        for cm in np.unique(meridian):
            at = apart[meridian == cm]
            forward, back = local_projection(int(cm))
            pairs_s, pairs_t = s_idx[at], t_idx[at]
            us, inv_s = np.unique(pairs_s, return_inverse=True)
            ut, inv_t = np.unique(pairs_t, return_inverse=True)
            local_sites = _project(sites[us], forward)[inv_s]
            local_targets = _project(targets[ut], forward)[inv_t]
            lines = shapely.shortest_line(local_sites, local_targets)
            ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)
            lon0, lat0 = back.transform(ends[:, 0, 0], ends[:, 0, 1])
            lon1, lat1 = back.transform(ends[:, 1, 0], ends[:, 1, 1])
            measured[at] = GEOD.inv(lon0, lat0, lon1, lat1)[2]
    return measured


class Proximity:
    """Distances from each site piece to the zones a condition names, and whether it lies inside
    them, computed on demand and once per (selection, piece).

    ``pieces`` holds one geometry per evaluated (project, unit) pair: the part of the site in the
    unit. ``measure`` answers within a limit (what conditions need: a bounded search);
    ``nearest`` at any distance (what citations show: the margin beyond a limit); ``inside``
    whether a piece lies inside the zones and the share of it that does.
    """

    def __init__(self, pieces: np.ndarray, zones, selections: dict | None = None):
        self.pieces = pieces
        self.zones = zones
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._inside: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        #: the zones each selection names, kept by the caller with the zone layer (they depend on nothing else)
        self._selections = {} if selections is None else selections

    def _chosen(self, zone_ids, zone_kinds) -> np.ndarray:
        key = (zone_ids, zone_kinds)
        if key not in self._selections:
            self._selections[key] = np.flatnonzero(zone_mask(self.zones, zone_ids, zone_kinds))
        return self._selections[key]

    def measure(self, key: tuple, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``key`` is (zone ids, zone kinds, limit in metres; None: no limit); ``rows`` are piece
        indexes. Returns (distance, zone index) per row: inf and -1 where no zone is that close."""
        if key not in self._cache:
            n = len(self.pieces)
            self._cache[key] = (np.zeros(n, bool), np.full(n, np.inf), np.full(n, -1, np.int64))
        done, distance, zone = self._cache[key]
        todo = np.unique(rows[~done[rows]])
        if len(todo):
            chosen = self._chosen(key[0], key[1])
            if len(chosen):
                targets = self.zones.geometry.to_numpy()[chosen]
                d, t = (nearest(self.pieces[todo], targets) if key[2] is None
                        else nearest_within(self.pieces[todo], targets, key[2]))
                distance[todo] = d
                zone[todo] = np.where(t >= 0, chosen[np.maximum(t, 0)], -1)
        done[todo] = True  # with no zone selected, nothing is near: inf
        return distance[rows], zone[rows]

    def nearest(self, zone_ids, zone_kinds, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance, zone index) to the nearest selected zone at any distance, per piece in ``rows``."""
        return self.measure((zone_ids, zone_kinds, None), rows)

    def inside(self, key: tuple, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``key`` is (zone ids, zone kinds); per piece in ``rows``: inside any such zone, and the share
        of the piece inside them (see :func:`zoning.evaluate.overlay.inside_shares`)."""
        if key not in self._inside:
            n = len(self.pieces)
            self._inside[key] = (np.zeros(n, bool), np.zeros(n, bool), np.zeros(n))
        done, inside, share = self._inside[key]
        todo = np.unique(rows[~done[rows]])
        if len(todo):
            chosen = self._chosen(key[0], key[1])
            inside[todo], share[todo] = inside_shares(self.pieces[todo], self.zones.geometry.to_numpy()[chosen])
        done[todo] = True
        return inside[rows], share[rows]
