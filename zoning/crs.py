"""Coordinate reference systems used throughout the engine.

Geometries are held in CGCS2000 geographic coordinates (EPSG:4490, x = lon,
y = lat as geopandas/pyproj use them); areas are measured in an Albers
equal-area projection for China, never in degrees.
"""

from pyproj import CRS

#: CGCS2000 geographic, the national datum; the engine's working CRS.
GEOGRAPHIC = CRS.from_epsg(4490)

#: Albers equal-area conic for China on the CGCS2000 ellipsoid (areas in m²).
EQUAL_AREA = CRS.from_proj4(
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 "
    "+ellps=GRS80 +units=m +no_defs"
)


def parse_crs(value) -> CRS:
    """A CRS from an EPSG code (``4527`` or ``EPSG:4527``), PROJ string or WKT."""
    from zoning.errors import InputError

    text = str(value).strip()
    try:
        return CRS.from_epsg(int(text)) if text.isdigit() else CRS.from_user_input(text)
    except Exception as exc:  # pyproj raises CRSError with a long message
        raise InputError(f"unknown CRS {text!r}: {str(exc).splitlines()[0]}") from None
