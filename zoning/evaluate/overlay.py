"""Spatial assignment: which sites lie in which polygons (units or zones), and by how much.

An STRtree on the sites is queried with the polygons, prepared once per
polygon object, so a point-in-polygon test runs against each unit's
prepared index. A few sites (a single check) are looked up instead in a
tree of the polygons that the caller keeps (:func:`kept_tree`): the same
pairs, without testing every polygon's bounds at each call. A point on a shared boundary is in every polygon it touches;
a line or polygon site counts only where the shared part has length or area,
measured on the ellipsoid (:func:`zoning.geodesy.measure`). Zones may also be
lines or points: a site is in such a zone where they share a part of the
lower of their two dimensions (a river crossing a plot: a length in common).

:func:`inside_shares` answers the ``inside`` condition: lying inside a zone
(a part in common, not only a touching edge) and the share of the site inside.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import shapely

from zoning.evaluate.point_grid import PointGrid, build_grid
from zoning.geodesy import measure

#: a few sites (fewer than one per this many polygons: a check) are looked up in a kept tree of the
#: polygons; more (a batch) get a tree of their own, queried with every polygon
FEW_SITES = 16
#: threads that build a layer's point-in-polygon indexes (:func:`prepare_layer`)
PREPARE_THREADS = min(4, os.cpu_count() or 1)


def kept_tree(cache: dict, polygons: np.ndarray) -> shapely.STRtree:
    """An STRtree of ``polygons`` (a layer's geometry array), built once and kept in ``cache``."""
    kept = cache.get(id(polygons))
    if kept is None or kept[0] is not polygons:
        if len(cache) >= 8:  # a layer's array is one object for its lifetime; a few layers at most
            cache.clear()
        kept = cache[id(polygons)] = (polygons, shapely.STRtree(polygons))
    return kept[1]


def prepare_layer(polygons: np.ndarray, trees: dict, threads: int = PREPARE_THREADS) -> None:
    """Build a layer's point-in-polygon indexes now rather than at first use, in ``threads`` threads (GEOS
    lets go of the GIL; each thread prepares its own share of the polygons, never one another's), and its
    tree in ``trees`` (see :func:`kept_tree`)."""
    shares = np.array_split(polygons, max(1, min(threads, len(polygons) // 1000)))
    workers = [threading.Thread(target=_prepare, args=(share,), name="zoning-prepare") for share in shares[1:]]
    for worker in workers:
        worker.start()
    _prepare(shares[0])
    for worker in workers:
        worker.join()
    kept_tree(trees, polygons)  # what a check looks its site up in


def _prepare(polygons: np.ndarray) -> None:
    """Prepare ``polygons`` and make GEOS build their indexes: it does on a prepared polygon's second test,
    so two corners of its bounds are tested against each (probing vertices copied every ring: 0.5 s)."""
    corners = shapely.bounds(polygons)
    tested = np.isfinite(corners).all(axis=1)  # not empty
    shapely.prepare(polygons)  # as overlay does
    probes = shapely.points(np.concatenate([corners[tested, :2], corners[tested, 2:]]))
    shapely.STRtree(probes).query(polygons[tested], predicate="intersects")


def overlay(sites: np.ndarray, polygons: np.ndarray, trees: dict | None = None, grid: PointGrid | None = None):
    """(site index, polygon index, piece, measure) for every site-polygon overlap, by site, then polygon.

    Points count where they intersect the polygon (boundary included); lines
    and polygons only where the shared part has length or area. ``polygons``
    may hold lines and points too (zones): a site of higher dimension counts
    where the shared part has the zone's dimension (and length, for a line).

    ``trees``, a dict the caller keeps with the layer (see :func:`kept_tree`),
    lets a few sites (a single check) be looked up in a tree of the polygons
    instead of testing every polygon's bounds against a tree of the sites;
    the pairs found, and their order, are the same.

    ``grid``, a :class:`~zoning.evaluate.point_grid.PointGrid` of ``polygons``
    (see :func:`layer_grid`), answers the points that lie away from every
    boundary; the other sites are tested as above. The pairs are the same.
    """
    if len(sites) == 0 or len(polygons) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.array([], dtype=object), np.zeros(0)
    if grid is not None:
        site_idx, poly_idx = _point_pairs(sites, polygons, trees, grid)
    else:
        site_idx, poly_idx = _pairs(sites, polygons, trees)
    pieces = sites[site_idx]
    amount = np.zeros(len(site_idx))
    extended = (shapely.get_dimensions(sites) > 0)[site_idx]
    if extended.any():
        cut = shapely.intersection(pieces[extended], polygons[poly_idx[extended]])
        pieces[extended] = cut
        amount[extended] = measure(cut)
        shared = np.minimum(shapely.get_dimensions(sites[site_idx[extended]]),
                            shapely.get_dimensions(polygons[poly_idx[extended]]))
        keep = ~extended
        keep[extended] = ((amount[extended] > 0) | (shared == 0)) & (shapely.get_dimensions(cut) == shared)
        site_idx, poly_idx, pieces, amount = site_idx[keep], poly_idx[keep], pieces[keep], amount[keep]
    return site_idx, poly_idx, pieces, amount


def layer_grid(polygons: np.ndarray) -> PointGrid | None:
    """A :class:`~zoning.evaluate.point_grid.PointGrid` of a layer's geometry array, for :func:`overlay`
    (None for a layer with nothing in it)."""
    return build_grid(polygons, lambda points, layer: _pairs(points, layer, None))


def _pairs(sites: np.ndarray, polygons: np.ndarray, trees: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """(site index, polygon index) of every site and polygon that intersect, by site, then polygon."""
    if trees is not None and len(sites) * FEW_SITES < len(polygons):
        site_idx, poly_idx = kept_tree(trees, polygons).query(sites)  # bounds overlap: candidates
        candidates = polygons[poly_idx]
        shapely.prepare(candidates)  # once per polygon object: later calls find them prepared
        hit = shapely.intersects(candidates, sites[site_idx])
        site_idx, poly_idx = site_idx[hit], poly_idx[hit]
        order = np.lexsort((poly_idx, site_idx))  # by site, then polygon
    else:
        shapely.prepare(polygons)  # once per polygon object: later calls find them prepared
        poly_idx, site_idx = shapely.STRtree(sites).query(polygons, predicate="intersects")  # by polygon
        order = np.argsort(site_idx, kind="stable")  # by site, then polygon
    return site_idx[order], poly_idx[order]


def _point_pairs(sites: np.ndarray, polygons: np.ndarray, trees: dict | None,
                 grid: PointGrid) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_pairs`, with the points in clean cells of ``grid`` answered by it."""
    points = np.flatnonzero((shapely.get_type_id(sites) == 0) & ~shapely.is_empty(sites))
    decided, at, poly_idx = grid.lookup(shapely.get_x(sites[points]), shapely.get_y(sites[points]))
    site_idx = points[at].astype(np.int64)
    poly_idx = poly_idx.astype(np.int64)
    rest = np.ones(len(sites), bool)
    rest[points[decided]] = False
    if rest.any():
        others = np.flatnonzero(rest)
        other_site, other_poly = _pairs(sites[others], polygons, trees)
        site_idx = np.concatenate([site_idx, others[other_site]])
        poly_idx = np.concatenate([poly_idx, other_poly])
        order = np.argsort(site_idx, kind="stable")  # by site; a site's polygons come from one of the two
        site_idx, poly_idx = site_idx[order], poly_idx[order]
    return site_idx, poly_idx


def inside_shares(pieces: np.ndarray, zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per piece: whether it lies inside any of ``zones``, and the share of it inside them.

    Inside means a part in common that is not only a touching edge or end:
    area or length shared by a line or polygon site with a zone of its
    dimension or more, the zone's interior for a point, the zone itself
    crossing the site for a line or point zone. The share (area, or length
    for a line site, inside the union of the zones; 1 for a point inside) is
    measured against zones of at least the site's dimension, and is 0 against
    lower ones (a plot has no area inside a river line).
    """
    n = len(pieces)
    inside = np.zeros(n, bool)
    share = np.zeros(n)
    if n == 0 or len(zones) == 0:
        return inside, share
    present = ~shapely.is_missing(pieces)
    tree = shapely.STRtree(zones)
    probe = pieces.copy()
    probe[~present] = None
    p_idx, z_idx = tree.query(probe, predicate="intersects")
    if len(p_idx) == 0:
        return inside, share
    ds = shapely.get_dimensions(pieces[p_idx])
    dz = shapely.get_dimensions(zones[z_idx])
    crossing = ~shapely.touches(pieces[p_idx], zones[z_idx])  # interiors meet
    measured = (dz >= ds) & (ds > 0)
    amount = np.zeros(len(p_idx))
    cut = np.full(len(p_idx), None, dtype=object)
    if measured.any():
        cut[measured] = shapely.intersection(pieces[p_idx[measured]], zones[z_idx[measured]])
        dims = shapely.get_dimensions(cut[measured])
        amount[measured] = np.where(dims == ds[measured], measure(cut[measured]), 0.0)
        crossing &= ~measured | (amount > 0)  # two lines that only cross share no length
    np.logical_or.at(inside, p_idx, crossing)
    point = (ds == 0) & crossing
    share[p_idx[point]] = 1.0
    total = np.zeros(n)
    np.add.at(total, p_idx[measured], amount[measured])
    shared = np.flatnonzero(measured & (amount > 0))
    many = np.bincount(p_idx[shared], minlength=n) > 1  # in several zones, which may overlap: measure the union
    if many.any():
        several = shared[many[p_idx[shared]]]
        several = several[np.argsort(p_idx[several], kind="stable")]
        owners, starts = np.unique(p_idx[several], return_index=True)
        unions = [shapely.union_all(group) for group in np.split(cut[several], starts[1:])]
        total[owners] = measure(np.array(unions, dtype=object))
    whole = measure(pieces[p_idx[measured]])
    size = np.zeros(n)
    size[p_idx[measured]] = whole
    extended = size > 0
    share[extended] = np.clip(total[extended] / size[extended], 0.0, 1.0)
    return inside, share
