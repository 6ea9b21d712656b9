"""The engine's own coordinate systems, and measuring geometry on the ellipsoid.

Geometries are held in CGCS2000 geographic coordinates (EPSG:4490, x = lon,
y = lat as geopandas and pyproj use them). Areas are measured in an Albers
equal-area projection for China and lengths as GRS80 geodesics, never in
degrees. The systems users bring their coordinates in are read by
:mod:`zoning.inputs.crs`.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

#: CGCS2000 geographic, the national datum; the engine's working CRS.
GEOGRAPHIC = CRS.from_epsg(4490)

#: Albers equal-area conic for China on the CGCS2000 ellipsoid (areas in m²).
EQUAL_AREA = CRS.from_proj4(
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 "
    "+ellps=GRS80 +units=m +no_defs"
)

#: the ellipsoid geodesic lengths and distances are measured on (CGCS2000's is GRS80 to 0.1 mm)
GEOD = Geod(ellps="GRS80")


_TO_AREA = Transformer.from_crs(GEOGRAPHIC, EQUAL_AREA, always_xy=True)


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

