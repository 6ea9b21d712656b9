"""Spatial assignment: which sites lie in which polygons (units or zones), and by how much.

An STRtree on the sites is queried with the polygons, prepared once per
polygon object, so a point-in-polygon test runs against each unit's
prepared index. A point on a shared boundary is in every polygon it touches;
a line or polygon site counts only where the shared part has length or area,
measured on the ellipsoid (:func:`zoning.geodesy.measure`). Zones may also be
lines or points: a site is in such a zone where they share a part of the
lower of their two dimensions (a river crossing a plot: a length in common).

:func:`inside_shares` answers the ``inside`` condition: lying inside a zone
(a part in common, not only a touching edge) and the share of the site inside.
"""

from __future__ import annotations

import numpy as np
import shapely

from zoning.geodesy import measure


def overlay(sites: np.ndarray, polygons: np.ndarray):
    """(site index, polygon index, piece, measure) for every site-polygon overlap.

    Points count where they intersect the polygon (boundary included); lines
    and polygons only where the shared part has length or area. ``polygons``
    may hold lines and points too (zones): a site of higher dimension counts
    where the shared part has the zone's dimension (and length, for a line).
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
        shared = np.minimum(shapely.get_dimensions(sites[site_idx[extended]]),
                            shapely.get_dimensions(polygons[poly_idx[extended]]))
        keep = ~extended
        keep[extended] = ((amount[extended] > 0) | (shared == 0)) & (shapely.get_dimensions(cut) == shared)
        site_idx, poly_idx, pieces, amount = site_idx[keep], poly_idx[keep], pieces[keep], amount[keep]
    return site_idx, poly_idx, pieces, amount


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
