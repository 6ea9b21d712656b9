"""Pickling geometry arrays with their coordinates beside the pickle, not inside it.

A 40,000-unit layer holds millions of coordinates. :class:`GeometryPickler`
writes each geopandas geometry array as a reference into a list of raw
coordinate arrays (:attr:`GeometryPickler.raw`, written after the pickle);
:class:`GeometryUnpickler` reads them back as one numpy view each and
rebuilds the geometries with :func:`shapely.from_ragged_array`. Arrays that
would not read back identical (mixed types, empty or 3D geometries) are
pickled as geopandas does. Large numeric arrays (a layer's point grid) are
written beside the pickle too, and read back as copies. Used by
:mod:`zoning.engine_cache`.
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


#: numeric arrays of at least this size (a layer's point grid) are also written beside the pickle
RAW_ARRAY_BYTES = 1 << 20


class GeometryPickler(pickle.Pickler):
    """Pickles geometry arrays' coordinates out of the pickle, into :attr:`raw` (see :class:`GeometryUnpickler`)."""

    def __init__(self, file):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.raw: list[np.ndarray] = []
        self.size = 0
        self._done: dict[int, tuple] = {}  # id → (persistent id, the array, kept alive)

    def persistent_id(self, obj):
        if type(obj) is not np.ndarray and type(obj) is not GeometryArray:
            return None
        if id(obj) in self._done:
            return self._done[id(obj)][0]
        if type(obj) is np.ndarray and obj.dtype.kind in "biuf" and obj.nbytes >= RAW_ARRAY_BYTES:
            pid = ("array", self.size, obj.dtype.str, obj.shape)
            self._add_raw(np.ascontiguousarray(obj).reshape(-1))
        elif type(obj) is GeometryArray and (flat := _ragged(obj._data)) is not None:
            kind, coords, offsets = flat
            pid = ("geometry", self.size, coords.size, coords.shape[1], kind, offsets, obj.crs)
            self._add_raw(coords)
        else:
            return None
        self._done[id(obj)] = (pid, obj)
        return pid

    def _add_raw(self, values: np.ndarray) -> None:
        """Put ``values`` in :attr:`raw`, the next array starting at a multiple of 8 bytes."""
        self.raw.append(values)
        self.size += values.nbytes
        if self.size % 8:
            pad = np.zeros(8 - self.size % 8, np.uint8)
            self.raw.append(pad)
            self.size += pad.nbytes


class GeometryUnpickler(pickle.Unpickler):
    """Reads what :class:`GeometryPickler` wrote, the coordinates from ``raw``."""

    def __init__(self, file, raw: memoryview):
        super().__init__(file)
        self.raw = raw
        self._built: dict[int, GeometryArray | np.ndarray] = {}

    def persistent_load(self, pid):
        tag, offset = pid[:2]
        if tag not in ("geometry", "array"):
            raise pickle.UnpicklingError("unknown persistent id")
        if offset not in self._built:
            if tag == "array":  # a copy, as unpickling gives: writable, and not holding the file's bytes
                _, _, dtype, shape = pid
                count = int(np.prod(shape))
                self._built[offset] = np.frombuffer(self.raw, dtype=dtype, count=count, offset=offset).reshape(
                    shape).copy()
            else:
                _, _, count, ndim, kind, offsets, crs = pid
                coords = np.frombuffer(self.raw, dtype="<f8", count=count, offset=offset).reshape(-1, ndim)
                geometries = shapely.from_ragged_array(shapely.GeometryType(kind), coords, offsets)
                self._built[offset] = GeometryArray(geometries, crs=crs)
        return self._built[offset]
