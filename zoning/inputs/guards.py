"""Checks made before (or as) a file is read, so that a hostile or broken file cannot exhaust memory.

* :func:`check_archive`: a zip-based input (an ``.xlsx``, ``.xlsm``,
  ``.xlsb`` workbook or an ``.ods`` spreadsheet) may expand to at most
  ``expanded_mb`` megabytes (the sizes its directory declares, which
  Python's zip reader enforces), and no text run in its XML parts may be
  longer than a cell may be: both are found by streaming the parts, never by
  building them. (An ``.xlsb`` keeps its cells in binary parts: a long text
  there is bounded by the expanded size and refused by :func:`check_cells`
  once read.)
* :func:`check_ods_repeats`: an ``.ods`` may not repeat non-empty cells
  (``number-rows-repeated``, ``number-columns-repeated``) to more cells than
  the expanded size allows, the spreadsheet form of a compressed bomb.
* :func:`check_size`: an uncompressed workbook (``.xls``) may be at most
  ``expanded_mb`` megabytes.
* :func:`check_cells`: no text cell of a frame read from a layer or file may
  be longer than ``cell_chars`` characters.

See :mod:`zoning.limits` for the limits and how to raise them.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from zoning import limits
from zoning.errors import DataError

_BLOCK = 1 << 24  # bytes decompressed at a time
#: UTF-8 needs at most this many bytes for one character: a run longer than limit × this is surely too long
_BYTES_PER_CHAR = 4
#: what a reader holds per cell, at least: the expanded-size limit over this bounds the cells an .ods may repeat to
_BYTES_PER_CELL = 32
_KINDS = {".ods": "an OpenDocument spreadsheet", ".xlsb": "an Excel binary workbook"}


def check_archive(path: str | Path, what: str) -> None:
    """Refuse a zip-based file that would expand beyond the limit, or that holds a text longer than a cell
    may be (a "zip bomb" workbook: a few megabytes holding a gigabyte-long shared string)."""
    path = Path(path)
    allowed = limits.current()
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(m.file_size for m in members)
            if total > allowed.expanded_mb * 2**20:
                biggest = max(members, key=lambda m: m.file_size)
                raise DataError(f"{what} {path}: expands to {total / 2**20:,.0f} MB ({biggest.filename} alone "
                                f"{biggest.file_size / 2**20:,.0f} MB), more than the limit of "
                                f"{allowed.expanded_mb:,} MB ({limits.how_to_raise('expanded_mb')})")
            longest_run = allowed.cell_chars * _BYTES_PER_CHAR
            for member in members:
                if member.filename.endswith(".xml") and member.file_size > longest_run:
                    _check_runs(archive, member, longest_run, path, what)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        kind = _KINDS.get(path.suffix.lower(), "an Excel workbook")
        raise DataError(f"{what} {path}: cannot read as {kind} (damaged, or not a {path.suffix.lower() or 'zip'}?): "
                        f"{type(exc).__name__}: {exc}") from None


def check_size(path: str | Path, what: str) -> None:
    """Refuse an uncompressed workbook (``.xls``) larger than the expanded-size limit."""
    path = Path(path)
    allowed = limits.current().expanded_mb
    size = path.stat().st_size
    if size > allowed * 2**20:
        raise DataError(f"{what} {path}: {size / 2**20:,.0f} MB, more than the limit of {allowed:,} MB "
                        f"({limits.how_to_raise('expanded_mb')})")


_REPEATED_ROW = re.compile(rb'<table:table-row\b[^>]*?number-rows-repeated="(\d+)"[^>]*?(?<!/)>(.*?)</table:table-row>',
                           re.DOTALL)
#: a cell with content (not self-closing) repeated across columns
_REPEATED_CELL = re.compile(rb'<table:table-cell\b[^>]*?number-columns-repeated="(\d+)"[^>]*?(?<!/)>')
_CELL_END = b"</table:table-cell>"
_ROW_END = b"</table:table-row>"


def check_ods_repeats(path: str | Path, what: str) -> None:
    """Refuse an ``.ods`` whose repeated rows and cells with content expand to more cells than the limit allows
    (empty cells repeated to the sheet's edge, as LibreOffice writes them, cost nothing and are not counted)."""
    path = Path(path)
    allowed = limits.current().expanded_mb * 2**20 // _BYTES_PER_CELL
    cells = 0
    try:
        with zipfile.ZipFile(path) as archive, archive.open("content.xml") as stream:
            carry = b""
            while True:
                block = stream.read(_BLOCK)
                data = carry + block
                cut = len(data) if not block else data.rfind(_ROW_END) + len(_ROW_END)
                if cut < len(_ROW_END):  # no row ends in this block yet
                    carry = data
                    continue
                part, carry = data[:cut], data[cut:]
                inside = 0  # repeated cells counted within repeated rows
                for rows, content in _REPEATED_ROW.findall(part):
                    repeated = [int(n) for n in _REPEATED_CELL.findall(content)]
                    per_row = content.count(_CELL_END) + sum(repeated) - len(repeated)
                    cells += int(rows) * per_row
                    inside += sum(repeated) - len(repeated)
                cells += sum(int(n) - 1 for n in _REPEATED_CELL.findall(part)) - inside
                if cells > allowed:
                    raise DataError(f"{what} {path}: content.xml repeats cells to more than {allowed:,} cells "
                                    f"(the limit of {limits.current().expanded_mb:,} MB at {_BYTES_PER_CELL} bytes "
                                    f"a cell; {limits.how_to_raise('expanded_mb')})")
                if not block:
                    return
    except KeyError:
        raise DataError(f"{what} {path}: cannot read as an OpenDocument spreadsheet (no content.xml)") from None


def _check_runs(archive: zipfile.ZipFile, member: zipfile.ZipInfo, longest: int, path: Path, what: str) -> None:
    """Refuse an XML part with a run of more than ``longest`` bytes between two tags (one huge text)."""
    run = 0  # bytes since the last "<", carried from one block to the next
    with archive.open(member) as stream:
        while block := stream.read(_BLOCK):
            tags = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("<"))
            if len(tags) == 0:
                widest = run = run + len(block)
            else:
                widest = max(run + int(tags[0]), int(np.diff(tags).max()) - 1 if len(tags) > 1 else 0)
                run = len(block) - int(tags[-1]) - 1
            if max(widest, run) > longest:
                cells = limits.current().cell_chars
                raise DataError(f"{what} {path}: {member.filename} holds a text of more than {longest:,} bytes, "
                                f"longer than a cell may be ({cells:,} characters; "
                                f"{limits.how_to_raise('cell_chars')})")


def check_cells(frame: pd.DataFrame, what: str, first_row: int = 1, rows: Sequence[int] | None = None) -> None:
    """Refuse a text cell longer than the limit, naming its row and column: ``rows`` are the frame's row
    numbers as the file shows them, else they count from ``first_row``."""
    limit = limits.current().cell_chars
    for column in frame.columns:
        values = frame[column]
        if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
            continue
        try:
            lengths = values.str.len().fillna(0).to_numpy(dtype=np.int64)  # not text: NaN, counted as 0
        except AttributeError:  # an object column with no text at all
            continue
        if len(lengths) and lengths.max() > limit:
            at = int(lengths.argmax())
            row = rows[at] if rows is not None else first_row + at
            raise DataError(f"{what}: row {row}, column {column!r}: a cell of {lengths[at]:,} characters, "
                            f"more than the limit of {limit:,} ({limits.how_to_raise('cell_chars')})")
