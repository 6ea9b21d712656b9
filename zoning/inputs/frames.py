"""Projects from a frame a user holds in Python, read as ``zoning screen`` reads a registry.

:func:`projects_of_frame` takes a GeoDataFrame, or a plain DataFrame with
lon/lat or WKT columns, recognises its headers as a registry's (``行业代码``,
``建设性质``, units in headers…), locates and normalises the rows, and says
which headers it took under another name.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from zoning.errors import DataWarning, InputError, ParameterError, parameter
from zoning.inputs.coordinates import projects_from, scale_attributes
from zoning.inputs.crs import SourceCRS, from_pyproj, parse_crs
from zoning.inputs.headers import recognise_columns
from zoning.projects import RowErrors, normalise
from zoning.vocabulary import Vocabulary


def projects_of_frame(frame: pd.DataFrame, columns: Mapping[str, str] | None, crs: object,
                      vocabulary: Vocabulary) -> tuple[gpd.GeoDataFrame, RowErrors, dict[str, str]]:
    """Normalised projects from ``frame`` (headers recognised; ``columns`` overrides, ``{field: header}``;
    ``crs`` the coordinates' system), the rows' problems, and the mapping used (field → header). A
    warning names the headers recognised under another name."""
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"{parameter('frame', type(frame).__name__)}: give a DataFrame or GeoDataFrame")
    located = isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns
    raw = pd.DataFrame(frame.drop(columns=frame.geometry.name)) if located else pd.DataFrame(frame)
    colmap = recognise_columns(raw.columns, columns, vocabulary)
    source: SourceCRS | None
    if located:
        if crs is None and frame.crs is None:
            raise InputError("project geometries have no CRS")
        source = parse_crs(crs) if crs is not None else from_pyproj(frame.crs)
        geometry = frame.geometry.to_numpy()
    else:
        if "wkt" not in colmap.columns and not {"lon", "lat"} <= set(colmap.columns):
            raise InputError(f"no lon/lat or WKT column found among {', '.join(map(str, raw.columns))}; "
                             f"name them with {parameter('columns', ('lon', 'HEADER'))}, or give a GeoDataFrame")
        source, geometry = (parse_crs(crs) if crs is not None else None), None
    projects, problems = projects_from(raw, colmap, geometry=geometry, source=source)
    projects, more = normalise(projects, errors="collect", labels=colmap.columns, vocabulary=vocabulary)
    problems.merge(more)
    scale_attributes(projects, colmap)
    mapped = {f: str(header) for f, header in colmap.columns.items()}
    renamed = {f: h for f, h in mapped.items() if f != h and f not in (columns or {})}
    if renamed:
        warnings.warn("columns taken as " + ", ".join(f"{f} ← {h!r}" for f, h in renamed.items()), DataWarning,
                      stacklevel=4)
    return projects, problems, mapped
