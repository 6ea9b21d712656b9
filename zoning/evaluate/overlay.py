"""Spatial assignment: which sites lie in which polygons (units or zones), and by how much.

An STRtree on the sites is queried with the polygons, prepared once per
polygon object, so a point-in-polygon test runs against each unit's
prepared index. A point on a shared boundary is in every polygon it touches;
a line or polygon site counts only where the shared part has length or area,
measured on the ellipsoid (:func:`zoning.geodesy.measure`).
"""

from __future__ import annotations

import numpy as np
import shapely

from zoning.geodesy import measure


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
