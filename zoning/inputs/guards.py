"""Checks made before (or as) a file is read, so that a hostile or broken file cannot exhaust memory.

* :func:`check_archive`: a zip-based input (an ``.xlsx`` workbook) may expand
  to at most ``expanded_mb`` megabytes (the sizes its directory declares,
  which Python's zip reader enforces), and no text run in its XML parts may
  be longer than a cell may be: both are found by streaming the parts, never
  by building them.
* :func:`check_cells`: no text cell of a frame read from a layer or file may
  be longer than ``cell_chars`` characters.

See :mod:`zoning.limits` for the limits and how to raise them.
"""

from __future__ import annotations

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
        raise DataError(f"{what} {path}: cannot read as an Excel workbook (damaged, or not an .xlsx?): "
                        f"{type(exc).__name__}: {exc}") from None


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
