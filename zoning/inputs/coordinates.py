"""Locating registry rows: coordinates in degrees or degrees-minutes-seconds, WKT, or a layer's geometry.

:func:`projects_from` turns a chunk of raw rows into the frame
:func:`zoning.projects.normalise` expects, recording a one-line reason for
each row that has no usable location. Coordinates may be decimal degrees or
degrees-minutes-seconds (``116°23'45.6"``, ``116度23分45.6秒``,
``E116°23.5'``); they are converted from the registry's CRS to CGCS2000
lon/lat row by row, vectorised.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from zoning.errors import InputError, parameter
from zoning.geodesy import GEOGRAPHIC
from zoning.inputs.crs import LONLAT, SourceCRS
from zoning.inputs.headers import BASE_FIELDS, ColumnMap, example_headers
from zoning.inputs.sites import to_lonlat
from zoning.projects import RowErrors

_DMS = re.compile(
    r"^\s*(?P<h1>[NSEWnsew东西南北]|北纬|南纬|东经|西经)?\s*(?P<sign>[-+])?\s*(?P<d>\d+(?:\.\d+)?)\s*(?:°|º|度|:|\s)?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*(?:'|′|’|‘|分|:|\s)?\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|”|“|''|′′|秒)?\s*)?"
    r"(?P<h2>[NSEWnsew东西南北])?\s*$"
)
#: a plain decimal number, as Arrow parses it exactly as pandas does
_PLAIN_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_NEGATIVE = {"S", "W", "s", "w", "西", "南", "南纬", "西经"}
_HEMISPHERES = {"lon": set("EWew东西") | {"东经", "西经"}, "lat": set("NSns南北") | {"北纬", "南纬"}}


def parse_coordinates(values: pd.Series, axis: str) -> tuple[np.ndarray, np.ndarray]:
    """Decimal degrees from numbers or DMS strings; returns (values, problem messages).

    Vectorised: numbers by :func:`pandas.to_numeric`, the rest by one regex
    extraction. ``axis`` is ``lon`` or ``lat`` (for the hemisphere letter check).
    Problems are "" where the value parsed; blank values give "missing".
    """
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow" and len(values):
        # text read from a CSV: plain decimal numbers (nearly every cell) parsed in Arrow, the rest as below
        plain = pc.utf8_trim_whitespace(pa.array(values))
        is_plain = pc.fill_null(pc.match_substring_regex(plain, _PLAIN_NUMBER), False)
        number = pc.cast(pc.if_else(is_plain, plain, pa.scalar(None, pa.string())), pa.float64())
        number = number.to_numpy(zero_copy_only=False).astype(float, copy=True)
        rest = ~is_plain.to_numpy(zero_copy_only=False)
        problem = np.full(len(values), "", dtype=object)
        if rest.any():
            number[rest], problem[rest] = _parse_text(values[rest], axis)
        return number, problem
    return _parse_text(values, axis)


def _parse_text(values: pd.Series, axis: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_coordinates` for any cells: full-width forms normalised, numbers, then DMS."""
    text = values.astype("string").str.normalize("NFKC").str.strip().fillna("")  # full-width digits too
    number = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
    problem = np.full(len(values), "", dtype=object)
    problem[(text == "").to_numpy()] = "missing"
    other = np.isnan(number) & (problem == "")
    if other.any():
        parts = text[other].astype(object).str.extract(_DMS)
        d = pd.to_numeric(parts["d"], errors="coerce")
        m = pd.to_numeric(parts["m"], errors="coerce").fillna(0.0)
        s = pd.to_numeric(parts["s"], errors="coerce").fillna(0.0)
        hemi = parts["h1"].fillna(parts["h2"]).fillna("")
        negative = hemi.isin(_NEGATIVE) | (parts["sign"].fillna("") == "-")
        wrong_hemi = (hemi != "") & ~hemi.isin(_HEMISPHERES[axis])
        out_of_range = (m >= 60) | (s >= 60)
        value = (d + m / 60 + s / 3600) * np.where(negative, -1, 1)
        ok = d.notna() & ~wrong_hemi & ~out_of_range
        number[other] = np.where(ok, value, np.nan)
        raw = text[other].to_numpy(dtype=object)
        why = np.where(wrong_hemi, "hemisphere letter is for the other axis",
                       np.where(out_of_range, "minutes and seconds must be below 60",
                                "not a number or degrees-minutes-seconds"))
        bad = ~ok.to_numpy()
        problem_other = problem[other]
        problem_other[bad] = [f"{r!r}: {w}" for r, w in zip(raw[bad], why[bad])]
        problem[other] = problem_other
    return number, problem


def locate(chunk: pd.DataFrame, columns: ColumnMap, problems: RowErrors) -> np.ndarray:
    """Site geometries (in the registry's coordinates) from a tabular chunk's lon/lat or WKT column.

    Rows without a usable location get ``None`` and a reason in ``problems``.
    Ranges are checked later, once the coordinates' CRS is applied.
    """
    n = len(chunk)
    geoms = np.full(n, None, dtype=object)
    if "wkt" in columns.columns:
        header = columns.columns["wkt"]
        text = chunk[header].astype("string").fillna("").str.strip().to_numpy(dtype=object)
        filled = text != ""
        parsed = shapely.from_wkt(np.where(filled, text, None), on_invalid="ignore")
        geoms = parsed.astype(object)
        bad = filled & (shapely.is_missing(parsed) | shapely.is_empty(parsed))
        problems.add(bad, "bad coordinate", f"field {header!r}: not valid WKT")
        if "lon" not in columns.columns:
            problems.add(~filled, "missing location", f"field {header!r}: missing")
            return geoms
    if "lon" in columns.columns and "lat" in columns.columns:
        todo = shapely.is_missing(geoms)
        lon_h, lat_h = columns.columns["lon"], columns.columns["lat"]
        lon, lon_problem = parse_coordinates(chunk[lon_h], "lon")
        lat, lat_problem = parse_coordinates(chunk[lat_h], "lat")
        for header, why in ((lon_h, lon_problem), (lat_h, lat_problem)):
            missing = todo & (why == "missing")
            problems.add(missing, "missing location", f"field {header!r}: missing")
            other = todo & (why != "") & (why != "missing")
            if other.any():  # messages only for the bad rows
                message = np.full(len(why), "", dtype=object)
                message[other] = f"field {header!r}: " + why[other].astype(object)
                problems.add(other, "bad coordinate", message)
        usable = todo & (lon_problem == "") & (lat_problem == "")
        points = shapely.points(np.where(usable, lon, np.nan), np.where(usable, lat, np.nan))
        geoms = np.where(usable, points, geoms)
        geoms[todo & ~usable] = None
    elif "wkt" not in columns.columns:
        lacking = [f for f in ("lon", "lat") if f not in columns.columns]
        raise InputError(
            f"no {' or '.join(lacking)} column found (looked for headers such as "
            f"{', '.join(example_headers(lacking[0]))}); name it with {parameter('columns', (lacking[0], 'HEADER'))}")
    return geoms


def projects_from(chunk: pd.DataFrame, columns: ColumnMap, *, geometry=None, source: SourceCRS | None = None,
                  notes: dict[str, int] | None = None):
    """The project frame for one raw chunk, and the rows' problems so far.

    ``geometry`` is the chunk's geometry for vector inputs (an array or
    GeoSeries); tabular inputs are located from their lon/lat or WKT columns.
    ``source`` is the coordinates' system (default CGCS2000 lon/lat for
    tabular inputs; a vector input without one is refused). Returns
    ``(projects, problems)``; finish with :func:`zoning.projects.normalise`
    (``errors="collect"``). An invalid geometry (a self-intersecting ring…)
    is a row problem but is kept in the frame, so the output shows what was
    wrong. ``notes``, when given, counts rows per conversion note (X/Y
    swapped back, zone read from the eastings…).
    """
    problems = RowErrors(chunk.index)
    if geometry is None:
        arr = locate(chunk, columns, problems)
        source = source or LONLAT
        where = ("field " + repr(columns.columns["wkt"]) if "wkt" in columns.columns
                 else f"fields {columns.columns.get('lon')!r}/{columns.columns.get('lat')!r}")
    else:
        if source is None:
            raise InputError(f"the input layer has no CRS; give {parameter('crs')}")
        arr = np.asarray(geometry, dtype=object)
        problems.add(shapely.is_missing(arr) | shapely.is_empty(arr), "missing location",
                     "field 'geometry': missing or empty")
        where = "the geometry"
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    invalid = present & ~shapely.is_valid(arr)
    if invalid.any():
        message = np.full(len(arr), "", dtype=object)
        message[invalid] = [f"field {columns.columns.get('wkt', 'geometry')!r}: invalid geometry ({r})"
                            for r in shapely.is_valid_reason(arr[invalid])]
        problems.add(invalid, "bad geometry", message)
    sites = arr.copy()
    sites[~present] = None
    lonlat, converted = to_lonlat(sites, source)
    bad = present & (converted.problem != "")
    message = np.full(len(arr), "", dtype=object)
    message[bad] = [f"{where}: {p}" for p in converted.problem[bad]]
    problems.add(bad, "bad coordinate", message)
    if notes is not None:
        for note, count in pd.Series(converted.note[present & ~bad]).value_counts().items():
            if note:
                notes[note] = notes.get(note, 0) + int(count)
    usable = present & ~bad
    lonlat[~usable] = None
    frame = gpd.GeoDataFrame(index=chunk.index, geometry=gpd.GeoSeries(lonlat, index=chunk.index, crs=GEOGRAPHIC))
    for f, header in columns.columns.items():
        if f in ("industry", "type", "date") or f not in BASE_FIELDS:  # the project's fields, not its name or location
            frame[f] = chunk[header]
    return frame, problems


def scale_attributes(projects: gpd.GeoDataFrame, columns: ColumnMap) -> None:
    """Convert attributes whose header gave another unit (kg/a…), in place."""
    for f, factor in columns.scales.items():
        if factor != 1.0:  # rounded: 0.0003 万吨 is 3 t, not 2.9999999999999996 (thresholds are exact)
            projects[f] = np.round(projects[f] * factor, 9)

