"""Screened parts cut again into the chunks one process would have written.

A typed writer (GeoPackage, Parquet, workbook) may type a column by the rows of its
first ``write`` call, and Parquet makes a row group of each: the output is only the
same, byte for byte, when the rows come in the same chunks. One process reads a
CSV in chunks of ``chunk_size`` rows that the parser accepted, each with the
malformed (or short) rows that fall among them put back in place; rows after the
last full chunk's last accepted row go to the next chunk. :class:`Rebatch` cuts the
parts' rows the same way, whatever the parts' sizes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from zoning.chunks import Screened


class Rebatch:
    """Screened rows in, the chunks of one process out (the first ``skip`` of them dropped: resuming)."""

    def __init__(self, chunk_size: int, skip: int = 0):
        self.size = chunk_size
        self.skip = skip
        self.held: list[tuple[Screened, np.ndarray]] = []  # pieces not yet given out, with their placed rows
        self.valid = 0  # rows held that the parser accepted (not placed)
        self.given = False

    def add(self, pieces: list[Screened], placed: list[np.ndarray]) -> Iterator[Screened]:
        """The chunks complete once ``pieces`` (with masks of their placed rows) are added."""
        for piece, mask in zip(pieces, placed):
            if not self.held and len(piece.out) == self.size and not mask.any():  # one chunk as it is
                yield from self._give([piece])
                continue
            self.held.append((piece, mask))
            self.valid += int(np.count_nonzero(~mask))
            while self.valid >= self.size:
                masks = np.concatenate([m for _, m in self.held])
                cut = int(np.flatnonzero(~masks)[self.size - 1]) + 1  # up to the chunk's last accepted row
                yield from self._give(self._take(cut))
                self.valid -= self.size

    def finish(self) -> Iterator[Screened]:
        """The last chunk: the rows left (or an empty chunk, when there were no rows at all)."""
        rows = sum(len(p.out) for p, _ in self.held)
        if rows or not self.given:
            pieces = [p for p, _ in self.held]
            self.held = []
            if pieces:
                yield from self._give(pieces)

    def _take(self, rows: int) -> list[Screened]:
        """The first ``rows`` rows held, as pieces; the rest stay held."""
        out: list[Screened] = []
        while rows:
            piece, mask = self.held[0]
            n = len(piece.out)
            if n <= rows:
                out.append(piece)
                self.held.pop(0)
                rows -= n
            else:
                out.append(_slice(piece, 0, rows))
                self.held[0] = (_slice(piece, rows, n), mask[rows:])
                rows = 0
        return out

    def _give(self, pieces: list[Screened]) -> Iterator[Screened]:
        self.given = True
        if self.skip:
            self.skip -= 1
            return
        yield join(pieces)


def _slice(piece: Screened, start: int, stop: int) -> Screened:
    return Screened(piece.out.iloc[start:stop], piece.sites[start:stop], piece.results.iloc[start:stop],
                    piece.numbers[start:stop], piece.kinds[start:stop],
                    None if piece.raw is None else piece.raw.iloc[start:stop],
                    None if piece.projects is None else piece.projects.iloc[start:stop])


def join(pieces: list[Screened]) -> Screened:
    """Pieces of screened rows as one chunk, indexed from 0 as a chunk read in one process is."""
    if len(pieces) == 1 and isinstance(pieces[0].out.index, pd.RangeIndex) and pieces[0].out.index.start == 0:
        return pieces[0]

    def frames(items: list) -> pd.DataFrame:
        return pd.concat(items, ignore_index=True) if len(items) > 1 else items[0].reset_index(drop=True)

    first = pieces[0]
    return Screened(frames([p.out for p in pieces]), np.concatenate([p.sites for p in pieces]),
                    frames([p.results for p in pieces]), np.concatenate([p.numbers for p in pieces]),
                    np.concatenate([p.kinds for p in pieces]),
                    None if first.raw is None else frames([p.raw for p in pieces]),
                    None if first.projects is None else frames([p.projects for p in pieces]))
