"""Reading a CSV registry as Excel saves one: encoding, delimiter and title rows detected, read in chunks.

The encoding is detected (UTF-8 with or without BOM, UTF-16, else GB18030,
which Excel uses in a Chinese locale); the delimiter is the one under which
the header is recognised; title rows above the header are skipped. Rows are
parsed by Arrow's streaming CSV reader, every cell as text, in bounded
blocks. A malformed row never stops the run: a row with more cells than the
header (an unquoted comma in an address) comes out as an error row naming
its line and cell counts, with the extra cells in the message; a row with
fewer cells is read with the missing cells empty, as pandas reads it. A cell
longer than the ``cell_chars`` limit refuses the file, naming row and column.
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from zoning import limits
from zoning.errors import DataError, parameter
from zoning.inputs.headers import header_row, recognised, refuse_repeated_fields

#: lines read to find the delimiter and the header row, and the characters of each considered
HEAD_LINES = 12
HEAD_CHARS = 1 << 16
_DELIMITERS = ",\t;|"


@dataclass
class CsvRegistry:
    """A CSV opened for reading: its headers, the encoding, notes, and a reader of chunks."""

    headers: list[str]
    encoding: str
    notes: list[str] = field(default_factory=list)
    #: yields (rows, spreadsheet row numbers, per-row problem messages or None)
    chunks: Callable[[], Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray | None]]] = lambda: iter(())
    #: the delimiter recognised, and the lines above the header row (see :func:`read_range`)
    sep: str = ","
    header_at: int = 0


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (BOM), ``utf-16`` (BOM), ``utf-8`` when the whole file decodes, else ``gb18030``.

    GB18030 is a superset of GBK and GB2312, which Excel uses when saving CSV
    in a Chinese locale.
    """
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        return "utf-8" if _is_utf8(f) else "gb18030"


def _is_utf8(f: BinaryIO, block_size: int = 1 << 24) -> bool:
    """Whether the rest of binary file ``f`` is valid UTF-8, checked block by block by Arrow: the bytes of a
    character cut by a block's end are checked with the next block."""
    tail = b""
    while block := f.read(block_size):
        data = tail + block
        cut = len(data)  # before the last character's first byte, unless it is plain ASCII
        while cut > 0 and len(data) - cut < 3 and data[cut - 1] & 0xC0 == 0x80:
            cut -= 1
        if cut > 0 and data[cut - 1] >= 0xC0:
            cut -= 1
        if not _valid_utf8(memoryview(data)[:cut]):
            return False
        tail = data[cut:]
    return _valid_utf8(tail)


def _valid_utf8(data: bytes | memoryview) -> bool:
    """Whether ``data`` is valid UTF-8 (Arrow's check of a one-string array over it, without a copy)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def open_csv(path: Path, encoding: str | None, chunk_size: int) -> CsvRegistry:
    """Open ``path`` for chunked reading (see the module doc)."""
    encoding = encoding or detect_encoding(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}") from None
    head = _head(path, encoding)
    rows_by_sep = {sep: [_split(line, sep) for line in head] for sep in _DELIMITERS}
    # the delimiter: the one whose header row is recognised, else the one that splits lines most
    sep = max(rows_by_sep, key=lambda d: (recognised(rows_by_sep[d][max(header_row(rows_by_sep[d]), 0)]),
                                          sum(len(r) for r in rows_by_sep[d]), d == ","))
    rows = rows_by_sep[sep]
    header_at = max(header_row(rows), 0)
    if not rows or not any(cell.strip() for cell in rows[header_at]):
        raise DataError(f"registry {path}: cannot parse as CSV: no header row (the file is empty)")
    names = rows[header_at]
    duplicated = sorted({h for h in names if names.count(h) > 1 and h.strip()})
    refuse_repeated_fields(path, duplicated)
    notes = [f"skipped {header_at} line(s) above the header row"] if header_at else []
    notes += [f"the header has {h!r} more than once; later copies are named {h}.1…" for h in duplicated]
    if sep != ",":
        notes.append(f"columns separated by {'tab' if sep == chr(9) else repr(sep)}")
    headers = column_names(names)

    def chunks() -> Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray | None]]:
        yield from _chunks(path, encoding, sep, header_at, headers, chunk_size)

    return CsvRegistry(headers, encoding, notes, chunks, sep=sep, header_at=header_at)


class _Range(io.BytesIO):
    """A byte range of a CSV, named in messages as its file."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.label = name

    def __str__(self) -> str:
        return self.label


def read_range(path: Path, encoding: str, sep: str, headers: list[str], start: int, end: int,
               chunk_size: int) -> Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray | None]]:
    """The records in bytes ``[start, end)`` of ``path``, a range that begins and ends at record boundaries
    after the header (see :mod:`zoning.cluster.partitions`), parsed as :func:`open_csv`'s reader parses the
    whole file with the ``encoding``, delimiter and ``headers`` it recognised: the same chunks, malformed rows
    in place, but numbered from 1 within the range (the caller offsets them)."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    yield from _chunks(_Range(data, str(path)), encoding, sep, -1, headers, chunk_size)  # type: ignore[arg-type]


def _head(path: Path, encoding: str) -> list[str]:
    """The first lines, for finding the delimiter and the header; each is cut at :data:`HEAD_CHARS`
    characters (the rest of a longer line is skipped unread into memory)."""
    lines = []
    try:
        with open(path, encoding=encoding, newline="") as f:
            for _ in range(HEAD_LINES):
                line = f.readline(HEAD_CHARS)
                rest = line
                while rest and not rest.endswith(("\n", "\r")):  # a longer line: skip to its end
                    rest = f.readline(HEAD_CHARS)
                lines.append(line)
        return lines
    except UnicodeDecodeError as exc:
        raise DataError(f"registry {path}: not readable as {encoding} ({exc.reason}); "
                        f"try {parameter('encoding')}") from None


def _split(line: str, sep: str) -> list[str]:
    """One line's cells (the csv module's field limit lifted: cell lengths are checked on the data)."""
    previous = csv.field_size_limit(sys.maxsize)
    try:
        return next(csv.reader([line], delimiter=sep), [])
    finally:
        csv.field_size_limit(previous)


def column_names(header: list[str]) -> list[str]:
    """Column names as pandas gives them: an empty header ``Unnamed: i``, repeats ``name.1``, ``name.2``…"""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = raw if raw != "" else f"Unnamed: {i}"
        base, k = name, seen.get(name, 0)
        while name in seen:
            k += 1
            name = f"{base}.{k}"
        seen[base] = k
        seen.setdefault(name, 0)
        out.append(name)
    return out


def _chunks(path: Path, encoding: str, sep: str, header_at: int, headers: list[str],
            chunk_size: int) -> Iterator[tuple[pd.DataFrame, np.ndarray, np.ndarray | None]]:
    """Rows in chunks of ``chunk_size``, with spreadsheet row numbers and malformed rows as problems."""
    width = len(headers)
    invalid: list[tuple[int, list[str] | None, str]] = []  # (record index, cells to keep, problem)
    malformed_at: list[int] = []  # the record index of every malformed row so far (kept: rows are numbered by it)
    skip = header_at + 1

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        index = (row.number or 0) - skip - 1  # Arrow counts the skipped lines and each record from 1
        cells = _split(row.text or "", sep)
        malformed_at.append(index)
        if row.actual_columns < row.expected_columns:  # too few: the missing cells are empty, as pandas has it
            invalid.append((index, cells + [None] * (width - len(cells)), ""))  # type: ignore[list-item]
        else:
            extra = ", ".join(repr(c) for c in cells[width:])
            invalid.append((index, cells[:width], f"line has {row.actual_columns} cells but the header has "
                                                  f"{row.expected_columns} (a comma inside an unquoted value?); "
                                                  f"the cells beyond the header: {extra[:200]}"))
        return "skip"

    cell_limit = limits.current().cell_chars
    block = max(1 << 20, min(cell_limit * 8, 1 << 28))  # a row within the limits fits in one block
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=block, skip_rows=skip,
                                            column_names=headers, encoding=_arrow_encoding(encoding)),
            parse_options=pa_csv.ParseOptions(delimiter=sep, newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(column_types={h: pa.string() for h in headers},
                                                  strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        raise _read_error(path, encoding, 0, exc, header_at, block) from None
    pending: list[pa.RecordBatch] = []
    done = 0  # records yielded so far (valid and malformed)
    empty = pd.DataFrame(columns=headers, dtype="str")
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            batch = None
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _read_error(path, encoding, done + sum(len(b) for b in pending), exc, header_at, block) from None
        if batch is not None:
            valid_before = done - (len(malformed_at) - len(invalid)) + sum(len(b) for b in pending)
            _check_cells(batch, path, header_at, valid_before, cell_limit, malformed_at)
            pending.append(batch)
        while pending and (batch is None or sum(len(b) for b in pending) >= chunk_size):
            table = pa.Table.from_batches(pending)
            take = min(chunk_size, len(table))
            pending = table.slice(take).to_batches() if take < len(table) else []
            frame, problems = _with_invalid(table.slice(0, take).to_pandas(), invalid, done, headers,
                                            last=batch is None and not pending)
            yield frame, np.arange(done + 1, done + len(frame) + 1) + header_at + 1, problems
            done += len(frame)
        if batch is None:
            if invalid or not done:  # malformed rows after the last valid one; or no rows: an empty chunk
                frame, problems = _with_invalid(empty, invalid, done, headers, last=True)
                yield frame, np.arange(done + 1, done + len(frame) + 1) + header_at + 1, problems
            return


def _with_invalid(frame: pd.DataFrame, invalid: list[tuple[int, list[str] | None, str]], done: int,
                  headers: list[str], *, last: bool) -> tuple[pd.DataFrame, np.ndarray | None]:
    """``frame`` (valid rows following ``done`` records) with the malformed rows that fall among them put
    back in place; consumed entries are removed from ``invalid``. Returns the frame and per-row problems."""
    if not invalid:
        return frame, None
    invalid.sort(key=lambda item: item[0])
    end = done + len(frame)
    placed: list[tuple[int, list[str] | None, str]] = []
    while invalid and (invalid[0][0] < end + len(placed) or last):
        placed.append(invalid.pop(0))
    if not placed:
        return frame, None
    cells = pd.DataFrame([p[1] for p in placed], columns=headers, dtype="str")
    total = len(frame) + len(placed)
    positions = np.array([p[0] - done for p in placed])
    # strictly increasing and in range, whatever the reader's numbering (a malformed row is never lost)
    positions = np.maximum(positions, np.arange(len(placed)))
    positions = np.maximum.accumulate(positions - np.arange(len(placed))) + np.arange(len(placed))
    positions = np.minimum(positions, total - len(placed) + np.arange(len(placed)))
    order = np.full(total, -1)
    order[positions] = np.arange(len(placed))
    out = pd.concat([frame, cells], ignore_index=True)
    index = np.empty(len(order), dtype=np.int64)
    index[order < 0] = np.arange(len(frame))
    index[order >= 0] = len(frame) + order[order >= 0]
    problems = np.full(len(order), "", dtype=object)
    problems[positions] = [p[2] for p in placed]
    return out.iloc[index].reset_index(drop=True), problems


def _check_cells(batch: pa.RecordBatch, path: Path, header_at: int, before: int, limit: int,
                 malformed_at: list[int]) -> None:
    """Refuse a cell longer than the limit, naming its row and column; ``before`` well-formed records come
    before ``batch``, and the malformed ones (not in it) are at the record indexes ``malformed_at``."""
    for name, column in zip(batch.schema.names, batch.columns):
        lengths = pc.utf8_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > limit:
            row = _record_index(before + int(pc.index(lengths, longest).as_py()), malformed_at)
            raise DataError(f"registry {path}: row {row + header_at + 2}, column {name!r}: a cell of "
                            f"{longest:,} characters, more than the limit of {limit:,} "
                            f"({limits.how_to_raise('cell_chars')})")


def _record_index(valid: int, malformed_at: list[int]) -> int:
    """The index among all records (malformed ones included) of the ``valid``-th well-formed record."""
    malformed = np.sort(np.asarray(malformed_at, dtype=np.int64))
    index = valid
    while True:  # each malformed record at or before it moves it one on
        moved = valid + int(np.searchsorted(malformed, index, side="right"))
        if moved == index:
            return index
        index = moved


def _arrow_encoding(encoding: str) -> str:
    return "utf8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding


def _read_error(path: Path, encoding: str, before: int, exc: Exception, header_at: int, block: int) -> DataError:
    """A reading failure as a one-line error at (or near) the spreadsheet row where it happened; ``before``
    data rows were read."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    row = before + header_at + 2
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "decode" in text.lower():
        return DataError(f"registry {path}: row {row} onwards is not readable as {encoding} "
                         f"({getattr(exc, 'reason', text)}); try {parameter('encoding', 'gb18030')}")
    if "straddl" in text or "block" in text:
        return DataError(f"registry {path}: row {row} is longer than the {block / 2**20:,.0f} MB a row may take "
                         f"with cells of at most {limits.current().cell_chars:,} characters: a cell is too long, or "
                         f"the file is not a CSV ({limits.how_to_raise('cell_chars')})")
    return DataError(f"registry {path}: cannot parse as CSV near row {row}: {text}")
