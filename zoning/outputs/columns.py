"""Typed columns for the outputs that have types (GeoPackage, GeoParquet, GeoJSON, Excel), one type per column
for the whole file.

A column's type is decided on the first chunk written and kept to the end
(a GeoPackage's or a Parquet file's schema is fixed when it is created):

* a typed column keeps its type: numbers from a typed input (an Excel
  number, a layer's Real or Integer field), flags (booleans) and dates;
* a column of an input read as text (a CSV: ``parse`` names its columns) is
  a number when every non-blank cell of it is a plain number (``12.5``,
  ``-3``, ``1e3``; not ``0311``, whose leading zero is part of a code, nor
  more than 15 digits, which a float cannot hold), a flag when every one is
  ``true`` or ``false``, else text;
* the result columns (``text``) are text whatever they look like;
* blank cells (``""``, whitespace, NaN, None) are null.

A later cell that does not fit its column's type (text in a column that was
all numbers in the first chunk) is written as null and counted:
:meth:`ColumnTypes.notes` says how many, per column; a CSV output keeps
every cell as read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoning.inputs.workbooks import blank_cells

TEXT, REAL, INTEGER, FLAG, DATE, DATETIME = "text", "real", "integer", "flag", "date", "datetime"
ARROW_TYPES = {TEXT: pa.string(), REAL: pa.float64(), INTEGER: pa.int64(), FLAG: pa.bool_(), DATE: pa.date32(),
               DATETIME: pa.timestamp("ms")}
#: words for notes
_NAMES = {REAL: "numbers", INTEGER: "whole numbers", FLAG: "true/false", DATE: "dates", DATETIME: "dates"}
#: a number as text: no leading zero before other digits (0311 is a code), at most 15 digits before the point
_PLAIN_NUMBER = r"^[-+]?(0|[1-9][0-9]{0,14})(\.[0-9]+)?([eE][-+]?[0-9]{1,3})?$|^[-+]?\.[0-9]+$"
_NUMERIC_INFERRED = ("floating", "integer", "mixed-integer-float", "decimal")


class ColumnTypes:
    """Decides each column's type on the first chunk, then gives every chunk as an Arrow table of those types."""

    def __init__(self, *, text: Iterable[str] = (), parse: Iterable[str] = ()):
        self.text = {str(c) for c in text}
        self.parse = {str(c) for c in parse}
        self.kinds: dict[str, str] = {}
        self.first_rows = 0
        self.unfit: Counter = Counter()  # column -> cells written as null because they did not fit

    def table(self, frame: pd.DataFrame) -> pa.Table:
        """``frame`` as an Arrow table with the file's column types (decided now, for columns not seen yet)."""
        names = [str(c) for c in frame.columns]
        if not self.kinds:
            self.first_rows = len(frame)
        arrays = []
        for name, column in zip(names, frame.columns):
            values = frame[column]
            if name not in self.kinds:
                self.kinds[name] = TEXT if name in self.text else kind_of(values, parse=name in self.parse)
            array, unfit = conform(values, self.kinds[name], parse=name in self.parse)
            if unfit:
                self.unfit[name] += unfit
            arrays.append(array)
        return pa.Table.from_arrays(arrays, names=names)

    def schema(self, names: Iterable[str]) -> pa.Schema:
        return pa.schema([(n, ARROW_TYPES[self.kinds[n]]) for n in names])

    def notes(self) -> list[str]:
        """One line per column with cells written as null because they did not fit its type."""
        return [f"column {name!r}: {n:,} cell(s) that are not {_NAMES.get(self.kinds[name], 'text')} like the "
                f"column's first {self.first_rows:,} rows are empty in this output (a .csv output keeps every "
                "cell as read)" for name, n in self.unfit.items()]


def kind_of(values: pd.Series, *, parse: bool = False) -> str:
    """The type a column is written with (see the module doc); ``parse``: its text came from a text file."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return FLAG
    if pd.api.types.is_integer_dtype(dtype):
        return INTEGER
    if pd.api.types.is_float_dtype(dtype):
        return REAL
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred in _NUMERIC_INFERRED:
        return REAL
    if inferred == "boolean":
        return FLAG
    if inferred in ("datetime", "datetime64"):
        return DATETIME
    if inferred == "date":
        return DATE
    if inferred == "string" and parse:
        text = _stripped(values)
        present = pc.fill_null(pc.not_equal(text, ""), False)
        if not pc.any(present).as_py():
            return TEXT
        numbers = pc.fill_null(pc.match_substring_regex(text, _PLAIN_NUMBER), False)
        if pc.all(pc.or_(numbers, pc.invert(present))).as_py():
            return REAL
        flags = pc.is_in(pc.utf8_lower(pc.fill_null(text, "")), value_set=pa.array(["true", "false", ""]))
        if pc.all(flags).as_py():
            return FLAG
    return TEXT


def conform(values: pd.Series, kind: str, *, parse: bool = False) -> tuple[pa.Array, int]:
    """``values`` as an Arrow array of ``kind``, and how many non-blank cells did not fit (written as null)."""
    if kind == TEXT:
        return text_array(values, blank_null=True), 0
    blank = blank_cells(values)
    if kind in (REAL, INTEGER):
        if pd.api.types.is_bool_dtype(values.dtype):
            number = np.full(len(values), np.nan)
        elif pd.api.types.is_numeric_dtype(values.dtype):
            number = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            number = _numbers(values, parse)
        if kind == INTEGER:
            whole = np.isfinite(number) & (np.abs(number) < 2**53)
            whole &= number == np.round(np.where(whole, number, 0))
            number = np.where(whole, number, np.nan)
            array = pa.array(np.where(whole, number, 0).astype(np.int64), mask=~whole)
        else:
            array = pa.array(number, from_pandas=True)
        unfit = ~blank & np.isnan(number)
    elif kind == FLAG:
        flags = _flags(values)
        array = pa.array(flags, type=pa.bool_(), from_pandas=True)
        unfit = ~blank & pd.isna(flags)
    else:
        stamps = _dates(values)
        if kind == DATE:
            array = pa.array(stamps.dt.date, type=pa.date32(), from_pandas=True)
        else:
            array = pa.array(stamps.dt.tz_localize(None) if stamps.dt.tz is not None else stamps,
                             type=pa.timestamp("ms"), from_pandas=True)
        unfit = ~blank & stamps.isna().to_numpy()
    return array, int(np.count_nonzero(unfit))


def text_array(values: pd.Series, *, blank_null: bool = False) -> pa.Array:
    """Cells as Arrow strings: text as it is, numbers as they read (``-5``, not ``-5.0``); missing cells null,
    and with ``blank_null`` empty texts too."""
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        try:  # all text already (the usual case): no per-cell conversion
            array = pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            try:  # one type (numbers, flags): Arrow's own text for it (True, as Python writes it, for a flag)
                array = pa.array(values, from_pandas=True)
                array = pc.if_else(array, "True", "False") if array.type == pa.bool_() else \
                    pc.cast(array, pa.string())
            except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):  # mixed (Excel)
                text = values.map(_cell_text, na_action="ignore")
                array = pa.array(text, type=pa.string(), from_pandas=True)
    else:
        array = pa.array(values, from_pandas=True)
        array = pc.if_else(array, "True", "False") if array.type == pa.bool_() else pc.cast(array, pa.string())
    if blank_null and len(array):
        array = pc.if_else(pc.equal(pc.utf8_trim_whitespace(array), ""), pa.scalar(None, pa.string()), array)
    return array


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _stripped(values: pd.Series) -> pa.Array:
    return pc.utf8_trim_whitespace(pa.array(values, type=pa.string(), from_pandas=True))


def _numbers(values: pd.Series, parse: bool) -> np.ndarray:
    """Numbers of an object column; cells of another type (text, flags) NaN. Text cells are numbers only when
    the column's text is parsed (a CSV's)."""
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred in (*_NUMERIC_INFERRED, "empty"):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if inferred == "string":
        if not parse:
            return np.full(len(values), np.nan)
        text = _stripped(values)
        plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_NUMBER), False)
        text = pc.if_else(plain, text, pa.scalar(None, pa.string()))
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    # mixed cells: only real numbers (not flags) count, and text when parsed
    number = values.map(lambda v: v if isinstance(v, (int, float, np.integer, np.floating))
                        and not isinstance(v, (bool, np.bool_)) else np.nan)
    if parse:
        text = values.map(lambda v: v if isinstance(v, str) else None)
        number = number.where(number.notna(), pd.Series(_numbers(text.astype(object), True), index=values.index))
    return pd.to_numeric(number, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _flags(values: pd.Series) -> pd.Series:
    """True/False/NA: booleans as they are, text ``true``/``false`` (any case); anything else NA."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred in ("boolean", "empty"):
        return values.astype("boolean")
    if inferred == "string":
        text = pc.utf8_lower(_stripped(values))
        flag = pc.if_else(pc.is_in(text, value_set=pa.array(["true", "false"])), pc.equal(text, "true"),
                          pa.scalar(None, pa.bool_()))
        return pd.Series(flag.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get), index=values.index)
    flag = values.map(lambda v: bool(v) if isinstance(v, (bool, np.bool_)) else  # mixed cells: rare
                      {"true": True, "false": False}.get(v.strip().lower()) if isinstance(v, str) else None)
    return flag.astype("boolean")


def _dates(values: pd.Series) -> pd.Series:
    """Dates and times; anything else NaT."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    if pd.api.types.infer_dtype(values, skipna=True) not in ("datetime", "datetime64", "date", "empty"):
        values = values.map(lambda v: v if hasattr(v, "year") and hasattr(v, "month") else None)  # mixed: rare
    return pd.to_datetime(values, errors="coerce")

