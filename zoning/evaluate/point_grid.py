"""A grid over a layer that answers "which polygons is this point in?" for most points without a test.

The layer's extent is cut into square cells. A cell that no polygon boundary
touches (a *clean* cell) lies wholly inside the same polygons, whatever point
of it is asked about: every point of a clean cell is in exactly the polygons
that hold its centre. Clean cells are grouped in *runs*, maximal stretches of
a row between boundary cells; one point per run is tested exactly, once, when
the grid is built. A point in a clean cell is then answered by arithmetic and
two array lookups. Points in a cell a boundary touches (and every site that is
not a point) are left to the exact overlay (:func:`zoning.evaluate.overlay.overlay`),
which gives the same pairs: the grid is only a shortcut, never a second answer.

Boundaries are marked conservatively: each edge marks every cell its bounding
box reaches, widened by a millionth of a cell, so rounding can only make a cell
a boundary cell, never hide a boundary. An edge longer than a cell is cut into
pieces a cell long, so a long diagonal edge marks the cells along it, not a
rectangle. The
grid reaches one cell beyond the layer's bounds on every side: a point outside
it is in no polygon.

Built once per layer (a few seconds for 40,000 detailed units, kept with the
engine in :mod:`zoning.engine_cache`); its size is bounded by ``max_cells``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

#: cells per polygon of the layer, up to :data:`MAX_CELLS`: about 32 × 32 cells for an average polygon
CELLS_PER_POLYGON = 1024
#: the most cells a grid has (int32 labels: 128 MB)
MAX_CELLS = 1 << 25
#: the margin, in cells, by which an edge's cells are widened against rounding
_MARGIN = 1e-6
_BOUNDARY = -1
#: (points, polygons) -> the (point index, polygon index) pairs that intersect, by point then polygon
Exact = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class PointGrid:
    """Cells over a layer's extent: ``labels[row, col]`` is the cell's run (an index into ``offsets``), or
    -1 for a cell a boundary touches; run ``r`` lies in the polygons ``members[offsets[r]:offsets[r + 1]]``
    (ascending)."""

    x0: float
    y0: float
    size: float
    labels: np.ndarray
    offsets: np.ndarray
    members: np.ndarray

    def cells(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The label of the cell each point ``(x, y)`` falls in; -2 for a point outside the grid (in no
        polygon), -1 for a boundary cell or a coordinate that is not a number."""
        rows, cols = self.labels.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.size)
            row = np.floor((y - self.y0) / self.size)
        finite = np.isfinite(col) & np.isfinite(row)
        inside = finite & (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
        out = np.where(finite, -2, _BOUNDARY).astype(np.int64)
        out[inside] = self.labels[row[inside].astype(np.int64), col[inside].astype(np.int64)]
        return out

    def lookup(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For points ``(x, y)``: which are answered here (a mask), and for those the (point index, polygon
        index) pairs, by point then polygon."""
        label = self.cells(x, y)
        decided = label != _BOUNDARY
        found = np.flatnonzero(label >= 0)
        run = label[found]
        starts = self.offsets[run]
        counts = self.offsets[run + 1] - starts
        points = np.repeat(found, counts)
        shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        polygons = self.members[np.arange(len(points), dtype=np.int64) + shift]
        return decided, points, polygons


def build_grid(polygons: np.ndarray, exact: Exact, *, max_cells: int = MAX_CELLS) -> PointGrid | None:
    """A :class:`PointGrid` over ``polygons`` (a geometry array: polygons, lines or points), or None for a
    layer with nothing in it. ``exact(points, polygons)`` gives the (point index, polygon index) pairs of
    points that intersect polygons, by point then polygon (:func:`zoning.evaluate.overlay.overlay`'s); it
    answers one point per run."""
    present = ~(shapely.is_missing(polygons) | shapely.is_empty(polygons))
    if not present.any():
        return None
    west, south, east, north = shapely.total_bounds(polygons[present])
    cells = min(max_cells, max(64, CELLS_PER_POLYGON * int(present.sum())))
    size = max(np.sqrt(max(east - west, 0) * max(north - south, 0) / cells), (east - west) / 16384,
               (north - south) / 16384, 1e-9)
    x0, y0 = west - size, south - size  # one cell beyond the bounds on each side
    cols = int(np.ceil((east - x0) / size)) + 1
    rows = int(np.ceil((north - y0) / size)) + 1
    labels = np.zeros((rows, cols), np.int32)
    _mark_boundaries(labels, polygons[present], x0, y0, size)
    offsets, members = _label_runs(labels, x0, y0, size, polygons, exact)
    return PointGrid(float(x0), float(y0), float(size), labels, offsets, members)


def _mark_boundaries(labels: np.ndarray, geoms: np.ndarray, x0: float, y0: float, size: float) -> None:
    """Set to -1 every cell that an edge of ``geoms`` (rings, lines, points), widened by the margin, reaches."""
    parts = shapely.get_parts(geoms)
    while np.isin(shapely.get_type_id(parts), (4, 5, 6, 7)).any():  # collections of collections
        parts = shapely.get_parts(parts)
    areas = shapely.get_type_id(parts) == 3
    rings = shapely.get_rings(parts[areas]) if areas.any() else np.array([], dtype=object)
    coords, piece = shapely.get_coordinates(np.concatenate([rings, parts[~areas]]), return_index=True)
    # in cells from the grid's corner (at least 1: the grid reaches a cell beyond every coordinate)
    x, y = (coords[:, 0] - x0) / size, (coords[:, 1] - y0) / size
    # edge k joins vertices k and k + 1 of the same piece; otherwise (a piece's last vertex, a point) it
    # stands for vertex k alone
    nxt = np.append(np.arange(1, len(coords)), len(coords) - 1)
    alone = np.flatnonzero(np.append(piece[1:] != piece[:-1], True))
    nxt[alone] = alone
    # each vertex's cells, widened by the margin (truncation is the floor: the values are positive)
    c_lo, c_hi = (x - _MARGIN).astype(np.int32), (x + _MARGIN).astype(np.int32)
    r_lo, r_hi = (y - _MARGIN).astype(np.int32), (y + _MARGIN).astype(np.int32)
    c0, c1 = np.minimum(c_lo, c_lo[nxt]), np.maximum(c_hi, c_hi[nxt])
    r0, r1 = np.minimum(r_lo, r_lo[nxt]), np.maximum(r_hi, r_hi[nxt])
    rows, cols = labels.shape
    flat = labels.reshape(-1)
    short = (c1 - c0 <= 1) & (r1 - r0 <= 1)  # within 2 × 2 cells: its box's corners are all of it
    for r in (r0[short], r1[short]):
        for c in (c0[short], c1[short]):
            flat[r.astype(np.int64) * cols + c] = _BOUNDARY
    long = np.flatnonzero(~short)
    if len(long):  # cut into pieces at most a cell long on each axis, each marking its box
        dx, dy = x[nxt[long]] - x[long], y[nxt[long]] - y[long]
        steps = np.ceil(np.maximum(np.abs(dx), np.abs(dy))).astype(np.int64).clip(1)
        edge = np.repeat(np.arange(len(long)), steps)
        k = np.arange(len(edge)) - np.repeat(np.cumsum(steps) - steps, steps)
        t0, t1 = k / steps[edge], (k + 1) / steps[edge]
        ax, ay = x[long][edge], y[long][edge]
        xa, xb, ya, yb = ax + t0 * dx[edge], ax + t1 * dx[edge], ay + t0 * dy[edge], ay + t1 * dy[edge]
        _mark_boxes(flat, cols, (np.minimum(xa, xb) - _MARGIN).astype(np.int64),
                    (np.maximum(xa, xb) + _MARGIN).astype(np.int64), (np.minimum(ya, yb) - _MARGIN).astype(np.int64),
                    (np.maximum(ya, yb) + _MARGIN).astype(np.int64))


def _mark_boxes(flat: np.ndarray, cols: int, c0: np.ndarray, c1: np.ndarray, r0: np.ndarray, r1: np.ndarray) -> None:
    """Set to -1 every cell of each box of cells ``c0 .. c1`` × ``r0 .. r1`` (small boxes)."""
    width = c1 - c0 + 1
    count = width * (r1 - r0 + 1)
    box = np.repeat(np.arange(len(count)), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    flat[(r0[box] + k // width[box]) * cols + c0[box] + k % width[box]] = _BOUNDARY


def _label_runs(labels: np.ndarray, x0: float, y0: float, size: float, polygons: np.ndarray,
                exact: Exact) -> tuple[np.ndarray, np.ndarray]:
    """Number the runs of clean cells into ``labels`` (row by row, left to right) and find each run's
    polygons from the centre of its first cell: returns the runs' (offsets, members)."""
    flat = labels.reshape(-1)
    rows, cols = labels.shape
    clean = flat != _BOUNDARY
    first = clean.copy()
    first[1:] &= ~clean[:-1]
    first[::cols] = clean[::cols]  # a row starts a run
    run = np.cumsum(first) - 1
    flat[clean] = run[clean].astype(np.int32)
    starts = np.flatnonzero(first)
    centres = shapely.points(x0 + (starts % cols + 0.5) * size, y0 + (starts // cols + 0.5) * size)
    point, polygon = exact(centres, polygons)
    offsets = np.zeros(len(starts) + 1, np.int64)
    np.cumsum(np.bincount(point, minlength=len(starts)), out=offsets[1:])
    return offsets, polygon.astype(np.int32 if len(polygons) < 2**31 else np.int64)
