"""Parts of a registry that a cluster's workers read themselves, and the reading of each.

* A CSV (UTF-8, UTF-8 with BOM, GB18030/GBK: encodings in which the bytes of ``"``
  and of a newline never occur inside another character) is cut into byte
  ranges at record boundaries (:func:`csv_ranges`): a vectorised scan counts
  the quotes before every newline, and a newline after an odd number is inside
  a quoted value, never a cut. A quote that opens a value in the middle of a
  cell (``abc"def``, which the parser keeps as text) would upset the count:
  the file is only cut before the first one. A worker parses its range with the
  delimiter, header and encoding the driver recognised
  (:func:`zoning.inputs.csvfile.read_range`), malformed rows in place; its rows
  are numbered from 1 and the driver offsets them (it knows how many records
  the ranges before held).
* A vector layer read by pyogrio is cut into feature ranges (``skip_features``,
  ``max_features``), a whole number of chunks each, so that rows come in the
  same chunks as in one process.
* Anything else (workbooks, UTF-16 CSV, database tables, site files, layers read
  by fiona) is read by the driver, chunk by chunk, and each chunk is sent to a
  worker (:class:`Sent`).
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning.chunks import Item
from zoning.inputs.csvfile import read_range
from zoning.inputs.registry import Registry, read_features

#: bytes read at a time when scanning a CSV for cut points
SCAN_BLOCK = 1 << 24
#: encodings whose bytes for ``"`` and newline never occur inside another character
SPLITTABLE = {"utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312", "ascii"}

Raw = tuple[pd.DataFrame, "gpd.GeoSeries | None", np.ndarray, "np.ndarray | None"]


@dataclass(frozen=True)
class CsvRange:
    """Bytes ``[start, end)`` of a CSV, beginning and ending at record boundaries after the header."""

    path: str
    encoding: str
    sep: str
    headers: tuple[str, ...]
    start: int
    end: int
    numbered: bool = False  # whether the row numbers read are the file's (else from 1, offset by the driver)

    def read(self, chunk_size: int) -> Iterator[Raw]:
        for rows, numbers, problems in read_range(Path(self.path), self.encoding, self.sep, list(self.headers),
                                                  self.start, self.end, chunk_size):
            yield rows, None, numbers, problems


@dataclass(frozen=True)
class FeatureRange:
    """``count`` features of a vector layer from the ``start``-th (numbered from ``start + 1``)."""

    path: str
    layer: object
    crs: object
    start: int
    count: int
    numbered: bool = True

    def read(self, chunk_size: int) -> Iterator[Raw]:
        yield from read_features(Path(self.path), self.layer, self.crs, chunk_size, self.start, self.count)


@dataclass
class Sent:
    """A chunk the driver read and normalised itself (see the module doc)."""

    item: Item
    numbered: bool = True


Part = CsvRange | FeatureRange


def plan_parts(registry: Registry, chunk_size: int, workers: int, rows: int | None = None) -> list[Part] | None:
    """The parts workers read of ``registry`` (about ``rows`` rows each, default: the chunk size, or fewer so
    that every worker gets two), or None when the driver must read it (see the module doc)."""
    settings = registry.settings
    path = registry.path.resolve()  # workers may run elsewhere: never relative to the driver's folder
    if registry.format == "csv" and "sep" in settings and _splittable(registry.encoding):
        return [*csv_ranges(path, registry.encoding or "utf-8", settings["sep"], settings["header_at"],
                          registry.headers, rows or chunk_size, workers)]
    if registry.format in {"gpkg", "shp", "geojson", "geojsons"} and settings.get("io_engine") == "pyogrio" \
            and registry.total is not None:
        total = registry.total
        per = rows or chunk_size
        per = min(per, max(math.ceil(total / (2 * max(workers, 1))), 1))
        per = max(chunk_size * max(round(per / chunk_size), 1), chunk_size)  # a whole number of chunks
        return [FeatureRange(str(path), settings["layer"], settings["crs"], start, min(per, total - start))
                for start in range(0, max(total, 1), per)]
    return None


def _splittable(encoding: str | None) -> bool:
    try:
        return encoding is not None and codecs.lookup(encoding).name in {codecs.lookup(e).name for e in SPLITTABLE}
    except LookupError:
        return False


def csv_ranges(path: Path, encoding: str, sep: str, header_at: int, headers: list[str], rows: int,
               workers: int) -> list[CsvRange]:
    """Byte ranges of about ``rows`` records each (fewer, when that gives each worker at least two)."""
    size = path.stat().st_size
    start = data_start(path, header_at)
    with open(path, "rb") as f:
        f.seek(start)
        sample = np.frombuffer(f.read(1 << 20), dtype=np.uint8)
    lines = int(np.count_nonzero(sample == 10)) or 1
    per_row = max(len(sample) / lines, 1.0)
    estimate = (size - start) / per_row
    rows = max(min(rows, math.ceil(estimate / (2 * max(workers, 1)))), 1)
    step = max(int(per_row * rows), 1)
    targets = [start + k * step for k in range(1, math.ceil((size - start) / step))]
    cuts = cut_points(path, start, size, ord(sep), targets)
    bounds = [start, *cuts, size]
    return [CsvRange(str(path), encoding, sep, tuple(headers), a, b) for a, b in zip(bounds, bounds[1:]) if b > a] \
        or [CsvRange(str(path), encoding, sep, tuple(headers), start, size)]


def data_start(path: Path, header_at: int) -> int:
    """The byte after the header row (``header_at`` lines above it, each ending in a newline)."""
    wanted = header_at + 1
    offset = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            found = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
            if len(found) >= wanted:
                return offset + int(found[wanted - 1]) + 1
            wanted -= len(found)
            offset += len(block)
    return offset


def cut_points(path: Path, start: int, size: int, sep: int, targets: list[int]) -> list[int]:
    """For each target offset, the byte after the first newline at or after it that ends a record (an even
    number of quotes since ``start``); none after a quote that opens a value mid-cell (see the module doc)."""
    cuts: list[int] = []
    pending = sorted(targets)
    quotes = 0  # quotes seen since ``start``
    previous = 10  # the byte before the block (``start`` follows a newline)
    offset = start
    with open(path, "rb") as f:
        f.seek(start)
        while pending and (block := f.read(SCAN_BLOCK)):
            data = np.frombuffer(block, dtype=np.uint8)
            is_quote = data == 34
            seen = np.cumsum(is_quote, dtype=np.int64) + quotes  # quotes up to and including each byte
            before = seen - is_quote  # quotes before each byte
            prior = np.empty_like(data)
            prior[0], prior[1:] = previous, data[:-1]
            opening = is_quote & (before % 2 == 0)
            stray = opening & ~np.isin(prior, (sep, 10, 13, 34))
            ends = np.flatnonzero((data == 10) & (before % 2 == 0)) + offset + 1
            limit = offset + int(np.argmax(stray)) if stray.any() else None
            if limit is not None:
                ends = ends[ends <= limit]
            while pending and len(ends):
                at = np.searchsorted(ends, pending[0] + 1)  # the first record end after the target
                if at == len(ends):
                    break
                cut = int(ends[at])
                if cut < size and (not cuts or cut > cuts[-1]):
                    cuts.append(cut)
                pending.pop(0)
            if limit is not None:
                break
            quotes = int(seen[-1])
            previous = int(data[-1])
            offset += len(block)
    return cuts
