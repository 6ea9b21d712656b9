"""Reading vector layers (GeoPackage, GeoJSON, Shapefile…) with geopandas.

The I/O engine is selectable: ``pyogrio`` (the default, read through Arrow)
or ``fiona``. Every failure becomes a :class:`~zoning.errors.DataError`
naming the file.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from zoning.errors import DataError
from zoning.inputs.guards import check_cells

#: the vector I/O engines geopandas can use
IO_ENGINES = ("pyogrio", "fiona")
DEFAULT_IO_ENGINE = "pyogrio"


def check_io_engine(io_engine: str) -> None:
    """Refuse an unknown I/O engine name."""
    if io_engine not in IO_ENGINES:
        raise DataError(f"unknown I/O engine {io_engine!r} (use {' or '.join(IO_ENGINES)})")


def read_vector(path: str | Path, *, io_engine: str = DEFAULT_IO_ENGINE, layer: str | int | None = None,
                what: str = "layer") -> gpd.GeoDataFrame:
    """Read a GeoPackage, GeoJSON, Shapefile… with geopandas.

    ``io_engine`` is ``pyogrio`` (default; read through Arrow, measured far
    faster) or ``fiona``. Errors become :class:`DataError` naming the file.
    """
    check_io_engine(io_engine)
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} {path}: no such file")
    kwargs: dict = {"engine": io_engine, "layer": layer}
    if io_engine == "pyogrio":
        kwargs["use_arrow"] = True
    try:
        frame = gpd.read_file(path, **kwargs)
    except ImportError as exc:
        raise DataError(f"I/O engine {io_engine!r} is not available: {exc}") from None
    except Exception as exc:  # GDAL/fiona raise many types; name the file, keep one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{what} {path}: cannot read: {first}") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise DataError(f"{what} {path}: no geometry column (not a spatial layer)")
    check_cells(frame.drop(columns=frame.geometry.name), f"{what} {path}")
    return frame
