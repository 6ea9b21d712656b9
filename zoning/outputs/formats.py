"""Output formats, chosen by file extension, and the coordinate system geometries are written in."""

from __future__ import annotations

from pathlib import Path

from zoning.errors import DataError, InputError, ParameterError
from zoning.inputs import webmap

#: output formats by file extension
OUTPUT_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson",
                  ".geojsons": "geojsons", ".geojsonl": "geojsons", ".geojsonseq": "geojsons",
                  ".parquet": "parquet", ".geoparquet": "parquet"}
GEO_FORMATS = ("gpkg", "geojson", "geojsons", "parquet")


def output_format(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        known = ", ".join(sorted(OUTPUT_FORMATS))
        raise DataError(f"output {path}: unknown format {suffix or '(no extension)'!r} (known: {known})")
    return OUTPUT_FORMATS[suffix]



def output_system(value: str | None, fmt: str) -> str | None:
    """The web-map system geometries are written in (None: CGCS2000 lon/lat), checked against the format."""
    if value is None:
        return None
    key = str(value).strip().lower().replace("-", "")
    if key in ("cgcs2000", "wgs84", "4490", "epsg:4490", "4326", "epsg:4326"):
        return None
    if key not in webmap.SYSTEMS:
        raise InputError(f"output CRS {value!r}: use gcj02 or bd09 (web maps), or cgcs2000 (the default)")
    if fmt in ("gpkg", "parquet"):
        raise ParameterError(f"output CRS {value}: a .{fmt} file declares its CRS and {key} has no EPSG code; "
                         "write .geojson, .geojsons or .csv for web maps")
    return key
