"""Registries kept as spreadsheets: ``.xlsx``/``.xlsm``, ``.xlsb``, ``.xls`` and ``.ods``, read in chunks.

Workbooks are read by python-calamine (Rust; about ten times faster than
openpyxl), cells typed as the workbook has them: numbers, TRUE/FALSE,
dates, text; an empty cell is None. An ``.xlsx`` whose sheet would expand
beyond :data:`STREAM_MB` megabytes is streamed by openpyxl's read-only mode
instead, a row at a time, so that it never sits in memory whole.

Before anything is read, the file passes :mod:`zoning.inputs.guards`: the
zip-based formats (``.xlsx``, ``.xlsm``, ``.xlsb``, ``.ods``) may not
expand beyond the limit nor hold a text longer than a cell may be, an
``.ods`` may not repeat cells (``number-columns-repeated``…) beyond it, and
an ``.xls`` (not compressed) may not be larger than it.

The header is found as for CSV (:func:`zoning.inputs.headers.header_row`),
title rows above it skipped. Bureaus' registries often have a two-row
header under merged cells (排放量 over SO2 | NOx | VOCs, 坐标 over 经度 |
纬度): the two rows are joined into one header per column, upper and lower
level with ``·`` (``排放量·SO2``, ``坐标·经度``; a cell merged down over both
rows keeps its one name), and recognised as any header is.
"""

from __future__ import annotations

import itertools
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoning.errors import DataError
from zoning.inputs.guards import check_archive, check_cells, check_ods_repeats, check_size
from zoning.inputs.headers import LEVEL, header_row, recognised, refuse_repeated_fields

#: workbook formats by extension
WORKBOOKS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xlsb": "xlsb", ".xls": "xls", ".ods": "ods"}
#: an .xlsx sheet larger than this (uncompressed XML) is streamed by openpyxl rather than loaded by calamine
STREAM_MB = 512
#: rows looked at for the header
HEAD_ROWS = 12

Merges = list[tuple[tuple[int, int], tuple[int, int]]]


@dataclass
class Workbook:
    """A sheet opened for reading: its headers, the rows it has, notes, and a reader of chunks."""

    format: str
    headers: list[str]
    total: int | None
    sheet: str
    sheets: list[str]
    notes: list[str] = field(default_factory=list)
    #: yields (rows, spreadsheet row numbers)
    chunks: Iterator[tuple[pd.DataFrame, np.ndarray]] = field(default_factory=lambda: iter(()))


def open_workbook(path: Path, sheet=None, chunk_size: int = 250_000) -> Workbook:
    """Open a sheet of the workbook ``path`` (the first unless ``sheet``: a name or 1-based number)."""
    fmt = WORKBOOKS[path.suffix.lower()]
    if fmt == "xls":
        check_size(path, "registry")
    else:
        check_archive(path, "registry")
    if fmt == "ods":
        check_ods_repeats(path, "registry")
    if fmt == "xlsx" and _largest_sheet_mb(path) > STREAM_MB:
        return _streamed(path, sheet, chunk_size)
    import python_calamine  # here, not at module level: only workbooks need it

    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        names = [m.name for m in book.sheets_metadata if str(m.typ).endswith("WorkSheet")] or book.sheet_names
        name = _sheet_name(path, sheet, names)
        ws = book.get_sheet_by_name(name)
        rows = ws.iter_rows()
        first: list[list] = list(itertools.islice(rows, HEAD_ROWS))
    except python_calamine.CalamineError as exc:
        kind = "an OpenDocument spreadsheet" if fmt == "ods" else "an Excel workbook"
        raise DataError(f"registry {path}: cannot read as {kind} (damaged, or not a {path.suffix.lower()}?): "
                        f"{type(exc).__name__}: {_first_line(exc)}") from None
    first_row, first_col = ws.start or (0, 0)
    merges = None if ws.merged_cell_ranges is None else [
        ((r0 - first_row, c0 - first_col), (r1 - first_row, c1 - first_col))
        for (r0, c0), (r1, c1) in ws.merged_cell_ranges]
    head = [[None if v == "" else v for v in row] for row in first]
    at, header, taken = header_rows(head, merges)
    headers = _named(path, name, header)
    notes = [f"skipped {first_row + at} row(s) above the header row"] if first_row + at else []
    if taken == 2:
        notes.append(f"two header rows (sheet rows {first_row + at + 1} and {first_row + at + 2}) joined: "
                     + ", ".join(h for h in headers if LEVEL in h)[:300])
    total = max(ws.height - at - taken, 0)

    def chunks() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        position = [first_row + at + taken]  # the sheet row (1-based) of the last row read
        try:
            yield from _row_chunks(itertools.chain(head[at + taken:], rows), position, headers, path, chunk_size,
                                   notes)
        except python_calamine.CalamineError as exc:
            raise DataError(f"registry {path}: the workbook is damaged near row {position[0] + 1}: "
                            f"{type(exc).__name__}: {_first_line(exc)}") from None
        book.close()

    return Workbook(fmt, headers, total, name, list(names), notes, chunks())


def header_rows(head: Sequence[Sequence[object]], merges: Merges | None) -> tuple[int, list[object], int]:
    """``(index of the first header row, the header's cells, 1 or 2 header rows)`` among a sheet's first rows.

    Two rows are one header when both hold only text, their joined names
    name more fields than either row alone, and (where the reader knows the
    merged cells) a merged cell spans them or spans columns of the upper
    one. ``merges`` are ``((row, column), (last row, last column))`` relative
    to ``head``; None when unknown (``.ods``, streamed ``.xlsx``).
    """
    if not head:
        return 0, [], 1
    at = max(header_row(head), 0)
    best = (recognised(head[at]), at, list(head[at]), 1)
    for top in (at - 1, at):
        if top < 0 or top + 1 >= len(head) or not (_text_only(head[top]) and _text_only(head[top + 1])):
            continue
        if merges is not None and not any(r0 == top and (r1 == top + 1 or c1 > c0)
                                          for (r0, c0), (r1, c1) in merges):
            continue
        joined = join_levels(head[top], head[top + 1], merges, top)
        n = recognised(joined)
        if n > max(recognised(head[top]), recognised(head[top + 1])) and n > best[0]:
            best = (n, top, joined, 2)
    return best[1], best[2], best[3]


def join_levels(upper: Sequence[object], lower: Sequence[object], merges: Merges | None, row: int) -> list[object]:
    """One name per column from a two-row header: ``upper·lower``, or the one that is there.

    An upper cell merged across columns names each of them; without merge
    information an upper cell is carried right over blank upper cells while
    the lower row has names under them (and had one under it).
    """
    width = max(len(upper), len(lower))
    top = [_text(v) for v in upper] + [""] * (width - len(upper))
    bottom = [_text(v) for v in lower] + [""] * (width - len(lower))
    filled = list(top)
    if merges is not None:
        for (r0, c0), (r1, c1) in merges:
            if r0 == row and r1 == row and 0 <= c0 < width:
                for c in range(c0 + 1, min(c1, width - 1) + 1):
                    filled[c] = filled[c] or top[c0]
    else:
        carry = ""
        for c in range(width):
            if top[c]:
                carry = top[c] if bottom[c] else ""
            elif bottom[c] and carry:
                filled[c] = carry
            else:
                carry = ""
    return [f"{t}{LEVEL}{b}" if t and b and t != b else (t or b or None) for t, b in zip(filled, bottom)]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _text_only(row: Sequence[object]) -> bool:
    """A row of text (and blanks) only: a header row, never a data row with numbers, flags or dates."""
    return all(v is None or isinstance(v, str) for v in row) and any(_text(v) for v in row)


def _frame(block: list, width: int) -> pd.DataFrame:
    """Rows of cells as a frame of ``width`` object columns; empty cells None."""
    frame = pd.DataFrame(block, dtype=object)
    if frame.shape[1] < width:
        for c in range(frame.shape[1], width):
            frame[c] = None
    frame = frame.iloc[:, :width]
    for c in frame.columns:
        column = frame[c]
        empty = (column == "").to_numpy(dtype=bool)
        if empty.any():
            frame[c] = column.where(~empty, None)
    return frame


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose cells are all empty or whitespace."""
    blank = np.ones(len(frame), dtype=bool)
    for c in frame.columns:
        blank &= blank_cells(frame[c])
    return blank


def blank_cells(values: pd.Series) -> np.ndarray:
    """Missing cells, and text cells that are empty or whitespace (by Arrow where the column is all text)."""
    missing = values.isna().to_numpy(dtype=bool)
    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)) or missing.all():
        return missing
    try:
        text = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # mixed cells
        try:
            stripped = values.str.strip()  # NaN for cells that are not text
        except AttributeError:  # no text at all
            return missing
        return missing | (stripped == "").to_numpy(dtype=bool, na_value=False)
    empty = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(text), ""), False)
    return missing | empty.to_numpy(zero_copy_only=False)


def _named(path: Path, sheet: str, header: Sequence[object]) -> list[str]:
    """Column names from the header's cells: a blank one ``column_N``, a repeat ``name.1``."""
    if not header or all(v is None or not str(v).strip() for v in header):
        raise DataError(f"registry {path}: sheet {sheet!r} has no header row")
    raw = [str(h).strip() for h in header if h is not None and str(h).strip()]
    refuse_repeated_fields(path, sorted({h for h in raw if raw.count(h) > 1}))
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        name = str(h).strip() if h is not None and str(h).strip() else f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def _sheet_name(path: Path, sheet, names: list[str]) -> str:
    if not names:
        raise DataError(f"registry {path}: the workbook has no sheet")
    if sheet is None:
        return names[0]
    if str(sheet) in names:
        return str(sheet)
    if str(sheet).isdigit() and 1 <= int(sheet) <= len(names):
        return names[int(sheet) - 1]
    raise DataError(f"registry {path}: no sheet {sheet!r} (sheets: {', '.join(names)})")


def _largest_sheet_mb(path: Path) -> float:
    with zipfile.ZipFile(path) as archive:
        sizes = [m.file_size for m in archive.infolist() if m.filename.startswith("xl/worksheets/")]
    return max(sizes, default=0) / 2**20


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""


def _streamed(path: Path, sheet, chunk_size: int) -> Workbook:
    """A large ``.xlsx`` sheet read a row at a time by openpyxl's read-only mode (bounded memory)."""
    import openpyxl  # here, not at module level: it adds 0.1 s to every command's start-up

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds (even TypeError) for a damaged file
        raise DataError(f"registry {path}: cannot read as an Excel workbook (damaged?): "
                        f"{type(exc).__name__}: {_first_line(exc)}") from None
    name = _sheet_name(path, sheet, book.sheetnames)
    ws = book[name]
    position = [0]  # 1-based sheet row of the last row read

    def guarded(rows):
        try:
            yield from rows
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged sheet
            raise DataError(f"registry {path}: the workbook is damaged near row {position[0] + 1}: "
                            f"{type(exc).__name__}: {_first_line(exc)}") from None

    rows = guarded(ws.iter_rows(values_only=True))
    head = [list(row) for row in itertools.islice(rows, HEAD_ROWS)]
    at, header, taken = header_rows(head, None)
    headers = _named(path, name, header)
    notes = [f"skipped {at} row(s) above the header row"] if at else []
    total = max((ws.max_row or 0) - at - taken, 0) if ws.max_row else None

    def chunks() -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        position[0] = at + taken
        yield from _row_chunks(itertools.chain(head[at + taken:], rows), position, headers, path, chunk_size, notes)
        book.close()

    return Workbook("xlsx", headers, total, name, list(book.sheetnames), notes, chunks())


def _row_chunks(pending: Iterator, position: list[int], headers: list[str], path: Path, chunk_size: int,
                notes: list[str]) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    """Rows in frames of ``chunk_size`` with their sheet row numbers, fully blank rows dropped (and counted
    in ``notes``), cells checked against the limits; ``position[0]``, the sheet row (1-based) of the last row
    read, is kept current for messages about a damaged sheet."""
    blank = 0
    while block := [list(r) for r in itertools.islice(pending, chunk_size)]:
        numbers = np.arange(position[0] + 1, position[0] + 1 + len(block))
        position[0] += len(block)
        frame = _frame(block, len(headers))
        empty = _blank_rows(frame)
        blank += int(empty.sum())
        frame, numbers = frame[~empty].reset_index(drop=True), numbers[~empty]
        frame.columns = headers
        check_cells(frame, f"registry {path}", rows=numbers)
        yield frame, numbers
    if blank:
        notes.append(f"skipped {blank} empty row(s)")
