"""Pickling geometry arrays with their coordinates beside the pickle, not inside it.

A 40,000-unit layer holds millions of coordinates. :class:`GeometryPickler`
writes each geopandas geometry array as a reference into a list of raw
coordinate arrays (:attr:`GeometryPickler.raw`, written after the pickle);
:class:`GeometryUnpickler` reads them back as one numpy view each and
rebuilds the geometries with :func:`shapely.from_ragged_array`. Arrays that
would not read back identical (mixed types, empty or 3D geometries) are
pickled as geopandas does. Used by :mod:`zoning.engine_cache`.
"""

from __future__ import annotations

import pickle

import numpy as np
import shapely
from geopandas.array import GeometryArray


def _ragged(data: np.ndarray) -> tuple[int, np.ndarray, tuple] | None:
    """(geometry type, coordinates, offsets) of geometries that all have one type and two dimensions, and
    read back identical; None for others (pickled as geopandas does)."""
    if len(data) == 0:
        return None
    types = shapely.get_type_id(data)
    if (types != types[0]).any() or types[0] not in (0, 1, 3, 4, 5, 6) \
            or shapely.is_empty(data).any() or shapely.has_z(data).any():
        return None
    if types[0] == 3 and not shapely.get_num_interior_rings(data).any():  # polygons without holes: no copies
        kind, coords = shapely.GeometryType.POLYGON, shapely.get_coordinates(data)
        offsets = (np.concatenate([[0], np.cumsum(shapely.get_num_coordinates(data))]), np.arange(len(data) + 1))
    else:
        kind, coords, offsets = shapely.to_ragged_array(data, include_z=False)
    if not shapely.equals_identical(shapely.from_ragged_array(kind, coords, offsets), data).all():
        return None
    return int(kind), np.ascontiguousarray(coords, dtype="<f8"), tuple(offsets)


class GeometryPickler(pickle.Pickler):
    """Pickles geometry arrays' coordinates out of the pickle, into :attr:`raw` (see :class:`GeometryUnpickler`)."""

    def __init__(self, file):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.raw: list[np.ndarray] = []
        self.size = 0
        self._done: dict[int, tuple] = {}  # id → (persistent id, the array, kept alive)

    def persistent_id(self, obj):
        if type(obj) is not GeometryArray:
            return None
        if id(obj) in self._done:
            return self._done[id(obj)][0]
        flat = _ragged(obj._data)
        if flat is None:
            return None
        kind, coords, offsets = flat
        pid = ("geometry", self.size, coords.size, coords.shape[1], kind, offsets, obj.crs)
        self.raw.append(coords)
        self.size += coords.nbytes
        self._done[id(obj)] = (pid, obj)
        return pid


class GeometryUnpickler(pickle.Unpickler):
    """Reads what :class:`GeometryPickler` wrote, the coordinates from ``raw``."""

    def __init__(self, file, raw: memoryview):
        super().__init__(file)
        self.raw = raw
        self._built: dict[int, GeometryArray] = {}

    def persistent_load(self, pid):
        tag, offset, count, ndim, kind, offsets, crs = pid
        if tag != "geometry":
            raise pickle.UnpicklingError("unknown persistent id")
        if offset not in self._built:
            coords = np.frombuffer(self.raw, dtype="<f8", count=count, offset=offset).reshape(-1, ndim)
            geometries = shapely.from_ragged_array(shapely.GeometryType(kind), coords, offsets)
            self._built[offset] = GeometryArray(geometries, crs=crs)
        return self._built[offset]
