"""Projects: their types, and normalising a frame of projects for evaluation.

A project is a site (point, line or polygon in CGCS2000 lon/lat), an industry
code, a project type and named attributes: numbers, flags and categories
declared in a :class:`~zoning.vocabulary.Vocabulary` (the built-in one, or an
engine's, which adds what its rule set declares). :func:`normalise` turns a
frame of projects into those canonical columns, recording a one-line reason
for each row it cannot use.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from zoning.errors import InputError
from zoning.geodesy import GEOGRAPHIC
from zoning.industries import table as industry_table
from zoning.vocabulary import Vocabulary, builtin

PROJECT_TYPES = ("new", "expansion", "renovation", "relocation")
_TYPE_ALIASES = {
    **{t: t for t in PROJECT_TYPES},
    "新建": "new", "扩建": "expansion", "改扩建": "expansion", "改建": "renovation",
    "技改": "renovation", "技术改造": "renovation", "迁建": "relocation", "搬迁": "relocation",
    "expand": "expansion", "extension": "expansion", "renovate": "renovation",
    "reconstruction": "renovation", "relocate": "relocation",
}

#: a date as registries write it: 2024-07-01, 2024/7/1, 2024.7.1, 2024年7月1日, 20240701 (a time after it ignored)
_DATE = re.compile(r"^(\d{4})(?:[-/.年]\s*(\d{1,2})[-/.月]\s*(\d{1,2})日?|(\d{2})(\d{2}))(?:[ T日].*)?$")
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"  # what a plain decimal number looks like


def project_type(value: object) -> str:
    """Canonical project type for ``value`` (English or Chinese)."""
    key = str(value).strip().lower()
    canonical = _TYPE_ALIASES.get(key)
    if canonical is None:
        raise InputError(
            f"unknown project type {str(value)!r} (use one of {', '.join(PROJECT_TYPES)}; "
            "新建/扩建/改扩建/改建/迁建 are accepted)"
        )
    return canonical


def normalise(projects: gpd.GeoDataFrame, *, errors: str = "raise", labels: dict[str, str] | None = None,
              vocabulary: Vocabulary | None = None):
    """Validate and canonicalise a frame of projects for evaluation.

    Expects a geometry column with a CRS, optional ``industry`` and ``type``
    columns and optional attribute columns (canonical names or aliases).
    Returns a new frame in :data:`~zoning.crs.GEOGRAPHIC` with ``industry``
    (canonical code or None), ``type`` (canonical or None) and one float column
    per attribute of ``vocabulary`` (default: the built-in one; NaN = not supplied).

    With ``errors="raise"`` the first bad value raises :class:`InputError`
    naming the row and field. With ``errors="collect"`` returns
    ``(frame, problems)`` instead: ``problems`` is a :class:`RowErrors` with a
    one-line message and a kind for each bad row (the first problem found in
    the row); those rows' values are left missing. ``labels`` maps column
    names to the names messages should use (e.g. the input file's headers).
    """
    labels = labels or {}
    vocabulary = vocabulary or builtin()
    if errors not in ("raise", "collect"):
        raise ValueError(f"errors must be 'raise' or 'collect', not {errors!r}")
    if projects.crs is None:
        raise InputError("project geometries have no CRS")
    problems = RowErrors(projects.index)
    site = projects.geometry  # made anew at each access: once
    geoms = site.array
    absent = np.asarray(geoms.isna() | geoms.is_empty)
    coords, owner = shapely.get_coordinates(np.asarray(geoms), return_index=True)
    absent[owner[~np.isfinite(coords).all(axis=1)]] = True  # e.g. POINT (nan 38.9) from a blank lon
    problems.add(absent, "missing location", "field 'geometry': missing, empty or non-numeric location")
    geometry = site.where(~absent, None) if absent.any() else site
    table = industry_table()
    # the columns are gathered, then the frame is made once: a column added to a frame at a time costs
    # more than a one-row check's whole evaluation
    columns: dict[str, object] = {}
    industries = projects["industry"] if "industry" in projects else pd.Series(None, index=projects.index)
    columns["industry"] = _map_unique(industries, lambda v: table.resolve(_industry_text(v)),
                                      labels.get("industry", "industry"), problems, "unknown industry")
    types = projects["type"] if "type" in projects else pd.Series(None, index=projects.index)
    columns["type"] = _map_unique(types, project_type, labels.get("type", "type"), problems, "unknown project type")
    if "date" in projects:  # the lists in force on each row's own date judge it
        columns["date"] = _map_unique(projects["date"], project_date, labels.get("date", "date"), problems,
                                      "bad date")

    seen: dict[str, str] = {}
    emissions = set(vocabulary.emissions)
    for column in projects.columns:
        if column in ("industry", "type", "date", site.name):
            continue
        name = vocabulary.lookup(column)
        if name is None:
            continue  # not an attribute: an identifier or descriptive column
        if name in seen:
            raise InputError(f"columns {seen[name]!r} and {column!r} both give attribute {name}")
        seen[name] = column
        kind = "non-numeric emission" if name in emissions else "bad attribute value"
        label = labels.get(column, column)
        if vocabulary[name].kind == "number":
            columns[name] = _numbers(projects[column], name, label, problems, kind, vocabulary)
        else:
            columns[name] = _map_unique(projects[column], lambda v, n=name: vocabulary.value(n, v), label, problems,
                                        kind)
    n = len(projects)
    for name in vocabulary:
        given = columns.get(name)
        columns[name] = np.full(n, np.nan) if given is None else np.asarray(given, dtype=float)
    for name in ("industry", "type", "date"):  # as objects: pandas would make text columns strings
        if name in columns:
            columns[name] = pd.Series(np.asarray(columns[name], dtype=object), index=projects.index, dtype=object)
    # the columns are fresh arrays: not copied into one block (copying a chunk's attributes costs more than
    # parsing them)
    out = gpd.GeoDataFrame({"geometry": geometry.to_crs(GEOGRAPHIC).array, **columns}, index=projects.index,
                           geometry="geometry", copy=False)
    if errors == "raise":
        problems.raise_first()
        return out
    return out, problems


def project_date(value: object) -> dt.date:
    """The date a project was filed or approved (per-row dates in a registry select the lists in force).

    Accepts dates and datetimes (from spreadsheets and layers) and the usual written forms:
    ``2024-07-01``, ``2024/7/1``, ``2024.7.1``, ``2024年7月1日``, ``20240701``, with any time after it.
    """
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value))  # 20240701 read as a number
    text = unicodedata.normalize("NFKC", str(value)).strip()
    m = _DATE.match(text)
    try:
        if m is None:
            raise ValueError
        year, month, day = int(m[1]), int(m[2] or m[4]), int(m[3] or m[5])
        date = dt.date(year, month, day)
    except ValueError:
        raise InputError(f"not a date: {str(value)[:40]!r} (write 2024-07-01, 2024/7/1 or 2024年7月1日)") from None
    if not 1949 <= date.year <= 2100:
        raise InputError(f"date {date} is out of range (1949 to 2100)")
    return date


def _industry_text(value: object) -> str:
    """An industry cell as text; a number from a spreadsheet must still have all its digits.

    Excel drops leading zeros from codes stored as numbers: A0311 (cattle)
    becomes 311, which is a valid but different code (C311, iron smelting).
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if float(value) != int(value) or not 1000 <= int(value) <= 9999:
            raise InputError(f"industry {value!r} is stored as a number: codes with a leading zero (A01-A05) "
                             "lose it, so numbers below 1000 are ambiguous; store codes as text ('0311') or with "
                             "the section letter (A0311, C26)")
        return str(int(value))
    return str(value)


class RowErrors:
    """Per-row problems found while reading or normalising projects.

    ``message[i]`` is a one-line reason ("" when row ``i`` is fine) and
    ``kind[i]`` a short category for summaries; the first problem of a row wins.
    """

    def __init__(self, index: pd.Index):
        self.index = index
        self.message = np.full(len(index), "", dtype=object)
        self.kind = np.full(len(index), "", dtype=object)

    @property
    def bad(self) -> np.ndarray:
        return self.message != ""

    def add(self, mask: np.ndarray, kind: str, message) -> None:
        """Record ``message`` (a string, or an array aligned with the rows) where ``mask`` is true."""
        new = np.asarray(mask, bool) & ~self.bad
        if not new.any():
            return
        self.message[new] = message[new] if isinstance(message, np.ndarray) else message
        self.kind[new] = kind

    def merge(self, other: RowErrors) -> None:
        """Add ``other``'s problems for rows that have none yet."""
        new = other.bad & ~self.bad
        self.message[new] = other.message[new]
        self.kind[new] = other.kind[new]

    def raise_first(self) -> None:
        bad = np.flatnonzero(self.bad)
        if len(bad):
            raise InputError(f"row {self.index[bad[0]]}, {self.message[bad[0]]}")


def _numbers(values: pd.Series, name: str, field: str, problems: RowErrors, kind: str,
             vocabulary: Vocabulary) -> np.ndarray:
    """Numeric attribute values, parsed vectorised; blanks are NaN, bad values recorded in ``problems``."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        # text read from a CSV: parse in Arrow, without making a Python object per cell
        text = pc.utf8_trim_whitespace(pa.array(values))
        empty = pc.fill_null(pc.equal(text, ""), True)
        blank = empty.to_numpy(zero_copy_only=False)
        try:  # the usual column: every cell a plain number or blank (what else Arrow reads is inf or nan)
            parsed = pc.cast(pc.if_else(empty, pa.scalar(None, pa.string()), text), pa.float64())
        except pa.ArrowInvalid:  # some cell is not: only the plain numbers are read here
            numeric = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
            parsed = pc.cast(pc.if_else(numeric, text, pa.scalar(None, pa.string())), pa.float64())
        number = parsed.to_numpy(zero_copy_only=False).astype(float, copy=True)
    elif isinstance(values.dtype, np.dtype) and values.dtype.kind in "iuf":  # numbers already: blank is NaN
        number = values.to_numpy(dtype=float, copy=True)
        blank = np.isnan(number)
    else:
        raw = values.to_numpy(dtype=object)
        series = pd.Series(raw, dtype=object)  # as objects: no conversion to Arrow strings
        number = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, copy=True)
        blank = pd.isna(raw) | (series.astype(str).str.strip() == "").to_numpy()
        if values.dtype == object:  # mixed cells (Excel): TRUE/FALSE are not numbers
            number[series.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)] = np.nan
    other = ~blank & ~(np.isfinite(number) & (number >= 0))
    if other.any():  # the per-value parser reads the rest (1,234.5, full-width digits, "/") or words the error
        parsed = _map_unique(values.where(other, None), lambda v: vocabulary.value(name, v), field, problems, kind)
        number[other] = parsed[other].astype(float).to_numpy()
    return np.where(blank, np.nan, number)


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1: missing) and the distinct values, in order of first appearance; text read from a
    CSV is encoded in Arrow, without a Python object per cell."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        text = pa.array(values)
        encoded = pc.dictionary_encode(text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text)
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    # numpy objects hash faster than pandas' Arrow-backed strings
    return pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)


def _map_unique(values: pd.Series, parse, field: str, problems: RowErrors, kind: str) -> pd.Series:
    """Apply ``parse`` once per distinct non-blank value, then map by integer codes.

    Rows whose value does not parse are recorded in ``problems`` and left missing.
    """
    codes, uniques = _factorize(values)
    parsed = np.full(len(uniques) + 1, None, dtype=object)  # last slot: missing values (code -1)
    failed = np.full(len(uniques) + 1, "", dtype=object)
    for i, value in enumerate(uniques):
        if isinstance(value, str) and not value.strip():
            continue
        try:
            parsed[i] = parse(value)
        except InputError as exc:
            failed[i] = f"field {field!r}: {exc}"
    messages = failed[codes]
    problems.add(messages != "", kind, messages)
    return pd.Series(parsed[codes], index=values.index, dtype=object)
