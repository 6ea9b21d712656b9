"""Distances from sites to overlay zones, for ``within_distance`` conditions.

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

from zoning.geodesy import GEOD, GEOGRAPHIC
from zoning.inputs.crs import GaussKruger, to_geographic
from zoning.inputs.units import zone_mask
from zoning.rules.conditions import TOLERANCE_M

#: metres per degree of longitude at 60°N, less than anywhere in China: a safe search radius in degrees
_METRES_PER_DEGREE = 55_000.0


@functools.cache
def _local(central_meridian: int) -> tuple[Transformer, Transformer]:
    """To and from the CGCS2000 3° Gauss-Krüger projection with this central meridian."""
    local = CRS.from_epsg(GaussKruger("cgcs2000", 3).epsg(central_meridian // 3, prefixed=False))
    return Transformer.from_crs(GEOGRAPHIC, local, always_xy=True), to_geographic(local)


def _project(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    return shapely.transform(geoms, transformer.transform, interleaved=False)


def nearest_within(sites: np.ndarray, targets: np.ndarray, max_distance: float):
    """For each site, the nearest target within ``max_distance`` metres.

    Returns ``(distance, target)`` arrays aligned with ``sites``: distance in
    metres (``inf`` and target -1 where none is that close).
    """
    n = len(sites)
    distance = np.full(n, np.inf)
    target = np.full(n, -1, np.int64)
    if n == 0 or len(targets) == 0:
        return distance, target
    tree = shapely.STRtree(targets)
    s_idx, t_idx = tree.query(sites, predicate="dwithin", distance=max_distance / _METRES_PER_DEGREE)
    if len(s_idx) == 0:
        return distance, target
    measured = np.zeros(len(s_idx))
    touching = shapely.intersects(sites[s_idx], targets[t_idx])
    apart = np.flatnonzero(~touching)
    if len(apart):
        centre = shapely.get_x(shapely.centroid(sites[s_idx[apart]]))
        meridian = np.clip(np.round(centre / 3) * 3, 75, 135).astype(int)
        for cm in np.unique(meridian):
            at = apart[meridian == cm]
            forward, back = _local(int(cm))
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
    close = measured <= max_distance + TOLERANCE_M
    s_idx, t_idx, measured = s_idx[close], t_idx[close], measured[close]
    order = np.lexsort((measured, s_idx))  # by site, nearest first
    s_idx, t_idx, measured = s_idx[order], t_idx[order], measured[order]
    first = np.ones(len(s_idx), bool)
    first[1:] = s_idx[1:] != s_idx[:-1]
    distance[s_idx[first]] = measured[first]
    target[s_idx[first]] = t_idx[first]
    return distance, target


class Proximity:
    """Distances from each project's site to the zones a condition names, computed on demand.

    ``distances(key, rows)`` returns the distance for each project index in
    ``rows`` (``inf`` beyond the search limit); each (condition, project) is
    measured once per evaluation.
    """

    def __init__(self, sites: np.ndarray, zones):
        self.sites = sites
        self.zones = zones
        self._cache: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def measure(self, key: tuple, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``key`` is (zone ids, zone kinds, limit in metres); returns (distance, zone index) per row."""
        if key not in self._cache:
            n = len(self.sites)
            self._cache[key] = (np.zeros(n, bool), np.full(n, np.inf), np.full(n, -1, np.int64))
        done, distance, zone = self._cache[key]
        todo = np.unique(rows[~done[rows]])
        if len(todo):
            chosen = np.flatnonzero(zone_mask(self.zones, key[0], key[1]))
            if len(chosen):
                d, t = nearest_within(self.sites[todo], self.zones.geometry.to_numpy()[chosen], key[2])
                distance[todo] = d
                zone[todo] = np.where(t >= 0, chosen[np.maximum(t, 0)], -1)
        done[todo] = True  # with no zone selected, nothing is near: inf
        return distance[rows], zone[rows]
