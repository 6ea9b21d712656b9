"""Units cut into faces by the shapes that split them, and faces with one answer merged again.

:func:`split` cuts every unit by each of its cutters in turn, all units at
once per round (round *k* applies each unit's *k*-th cutter to the faces
the earlier rounds left), so a million faces cost as many GEOS calls as one.
Each face lies wholly inside or wholly outside every cutter of its unit.
:func:`merge` unions the faces of a unit that got the same answer, so the
map is only split where the answer changes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

_POLYGON = 3


def split(geoms: np.ndarray, owner: np.ndarray, cut_owner: np.ndarray, cut_geoms: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Cut each polygon ``geoms[i]`` (of unit ``owner[i]``) by every cutter whose ``cut_owner`` is that
    unit; returns ``(faces, face_owner)``: single polygons that together cover each input polygon."""
    faces, face_owner = _polygons(geoms, owner)
    if not len(cut_owner):
        return faces, face_owner
    order = np.argsort(cut_owner, kind="stable")
    cut_owner, cut_geoms = cut_owner[order], cut_geoms[order]
    first = np.searchsorted(cut_owner, cut_owner, side="left")
    rank = np.arange(len(cut_owner)) - first  # the k-th cutter of its unit
    size = int(max(owner.max(initial=-1), cut_owner.max(initial=-1))) + 1
    for k in range(int(rank.max()) + 1):
        at = rank == k
        cutter = np.full(size, None, dtype=object)
        cutter[cut_owner[at]] = cut_geoms[at]
        mine = cutter[face_owner]
        touched = np.flatnonzero(pd.notna(mine))
        touched = touched[shapely.intersects(faces[touched], mine[touched])]
        if not len(touched):
            continue
        inside = shapely.intersection(faces[touched], mine[touched])
        outside = shapely.difference(faces[touched], mine[touched])
        cut, cut_owner_k = _polygons(np.concatenate([inside, outside]), np.tile(face_owner[touched], 2))
        kept = np.ones(len(faces), bool)
        kept[touched] = False
        faces = np.concatenate([faces[kept], cut])
        face_owner = np.concatenate([face_owner[kept], cut_owner_k])
    return faces, face_owner


def merge(faces: gpd.GeoDataFrame, by: list[str]) -> gpd.GeoDataFrame:
    """Union the faces that share every column of ``by`` (a unit and its answer); faces alone in their
    group are kept as they are."""
    group = faces.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
    counts = np.bincount(group)
    alone = counts[group] == 1
    single = faces[alone]
    if alone.all():
        return single.reset_index(drop=True)
    several = faces[~alone].copy()
    several["_group"] = group[~alone]
    merged = several.dissolve(by="_group", sort=False, aggfunc="first")
    merged.geometry = shapely.make_valid(merged.geometry.to_numpy())
    out = pd.concat([single, merged.reset_index(drop=True)[faces.columns]], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=faces.geometry.name, crs=faces.crs)


def _polygons(geoms: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygon parts of ``geoms`` with area (lines and points an overlay leaves are dropped), each
    with its owner."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    multi = shapely.get_type_id(parts) >= 4  # a collection from an overlay may hold multi-parts: open them too
    while multi.any():
        inner, inner_index = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], inner])
        index = np.concatenate([index[~multi], index[multi][inner_index]])
        multi = shapely.get_type_id(parts) >= 4
    keep = (shapely.get_type_id(parts) == _POLYGON) & (shapely.area(parts) > 0)
    return parts[keep], owner[index[keep]]
