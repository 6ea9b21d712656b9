"""Reading vector files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from zoning.errors import DataError

ENGINES = ("pyogrio", "fiona")
DEFAULT_ENGINE = "pyogrio"


def read_vector(path, *, engine: str = DEFAULT_ENGINE, layer=None, what: str = "layer") -> gpd.GeoDataFrame:
    """Read a GeoPackage, GeoJSON, Shapefile… with geopandas.

    ``engine`` is ``pyogrio`` (default; read through Arrow, measured far
    faster) or ``fiona``. Errors become :class:`DataError` naming the file.
    """
    if engine not in ENGINES:
        raise DataError(f"unknown I/O engine {engine!r} (use {' or '.join(ENGINES)})")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} {path}: no such file")
    kwargs = {"engine": engine, "layer": layer}
    if engine == "pyogrio":
        kwargs["use_arrow"] = True
    try:
        frame = gpd.read_file(path, **kwargs)
    except ImportError as exc:
        raise DataError(f"I/O engine {engine!r} is not available: {exc}") from None
    except Exception as exc:  # GDAL/fiona raise many types; name the file, keep one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{what} {path}: cannot read: {first}") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise DataError(f"{what} {path}: no geometry column (not a spatial layer)")
    return frame
