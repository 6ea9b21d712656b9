"""The point grid (zoning.evaluate.point_grid): a shortcut that must give exactly the overlay's pairs."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoning import Engine
from zoning.evaluate.overlay import layer_grid, overlay
from zoning.evaluate.point_grid import build_grid


def _same_pairs(sites: np.ndarray, polygons: np.ndarray, *, max_cells: int | None = None) -> None:
    """The overlay with a grid of ``polygons`` finds the same pairs, in the same order, as without."""
    grid = layer_grid(polygons) if max_cells is None else build_grid(
        polygons, lambda p, q: overlay(p, q)[:2], max_cells=max_cells)
    plain = overlay(sites, polygons)
    fast = overlay(sites, polygons, grid=grid)
    for a, b in zip(plain[:2], fast[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain[3], fast[3])
    assert shapely.equals_exact(plain[2], fast[2]).all() if len(plain[2]) else len(fast[2]) == 0


def _tessellation(n: int = 4) -> np.ndarray:
    """n × n unit squares sharing edges, one with a hole, and a diagonal cut of two of them."""
    squares = [shapely.box(i, j, i + 1, j + 1) for i in range(n) for j in range(n)]
    squares[5] = shapely.Polygon(shapely.get_coordinates(squares[5].exterior),
                                 [[(1.25, 1.25), (1.75, 1.25), (1.75, 1.75), (1.25, 1.75)]])
    squares[0] = shapely.Polygon([(0, 0), (1, 0), (0, 1)])
    squares.append(shapely.Polygon([(1, 0), (1, 1), (0, 1)]))
    squares.append(shapely.Polygon([(1.25, 1.25), (1.75, 1.25), (1.75, 1.75), (1.25, 1.75)]))  # the hole's plug
    return np.array(squares, dtype=object)


def test_points_in_clean_cells_are_answered_by_the_grid_and_the_rest_by_the_overlay():
    polygons = _tessellation()
    grid = layer_grid(polygons)
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-0.5, 4.5, 5000), rng.uniform(-0.5, 4.5, 5000)
    decided, point, polygon = grid.lookup(x, y)
    assert 0.5 < decided.mean() < 1  # most points, not all
    hits = shapely.intersects(polygons[polygon], shapely.points(x[point], y[point]))
    assert hits.all()
    _same_pairs(shapely.points(x, y), polygons)


def test_points_on_edges_vertices_and_cell_sides_are_in_every_polygon_they_touch():
    polygons = _tessellation()
    grid = layer_grid(polygons)
    on_edges = [(1, 1), (2, 0.5), (0.5, 0.5), (1.25, 1.5), (4, 4), (0, 2.5), (1.75, 1.75)]
    corners = [(grid.x0 + i * grid.size, grid.y0 + j * grid.size) for i in range(0, 60, 7) for j in range(0, 60, 5)]
    sites = shapely.points(np.array(on_edges + corners))
    _same_pairs(sites, polygons)
    site, polygon, _, _ = overlay(shapely.points(np.array([(1, 1)])), polygons, grid=grid)
    assert len(polygon) == 4  # the corner of four squares (two of them the cut square's halves)


def test_sites_that_are_not_points_and_points_that_are_missing_go_through_the_overlay():
    polygons = _tessellation()
    sites = np.array([shapely.Point(0.5, 2.5), None, shapely.Point(), shapely.box(0.5, 0.5, 2.5, 1.5),
                      shapely.LineString([(0.2, 3.5), (3.8, 3.5)]), shapely.MultiPoint([(0.5, 0.2), (3.5, 3.5)]),
                      shapely.Point(-50, 70), shapely.Point(3.5, 0.5)], dtype=object)
    _same_pairs(sites, polygons)


def test_overlapping_zones_lines_and_points_as_a_layer():
    zones = np.array([shapely.box(0, 0, 10, 10), shapely.box(2, 2, 6, 6), shapely.Point(3, 3).buffer(2),
                      shapely.LineString([(0, 5), (10, 5)]), shapely.Point(7, 7),
                      shapely.MultiPolygon([shapely.box(8, 0, 9, 1), shapely.box(8.5, 2, 9.5, 3)]),
                      shapely.GeometryCollection([shapely.box(0, 8, 1, 9), shapely.LineString([(1, 1), (9, 9)])]),
                      None, shapely.Polygon()], dtype=object)
    rng = np.random.default_rng(2)
    points = rng.uniform(-1, 11, (3000, 2))
    points[:100] = np.round(points[:100])  # on lines, corners and the point zone
    points[100:110] = [7, 7]
    _same_pairs(shapely.points(points), zones)


def test_a_layer_with_nothing_in_it_has_no_grid():
    assert layer_grid(np.array([None, shapely.Polygon()], dtype=object)) is None
    assert layer_grid(np.array([], dtype=object)) is None


def test_the_grid_is_bounded_by_max_cells():
    polygons = _tessellation(12)
    grid = build_grid(polygons, lambda p, q: overlay(p, q)[:2], max_cells=4096)
    assert grid.labels.size <= 4096 * 1.2
    _same_pairs(shapely.points(np.random.default_rng(3).uniform(0, 12, (2000, 2))), polygons, max_cells=4096)


def test_a_thin_layer_gets_a_grid_of_bounded_size():
    line = np.array([shapely.LineString([(0, 0), (100, 1e-9)])], dtype=object)
    grid = layer_grid(line)
    assert grid.labels.size < 100_000
    _same_pairs(shapely.points(np.array([(50, 0), (50, 5e-10), (50, 1)])), line)


_coordinate = st.floats(-2, 6, allow_nan=False).map(lambda v: round(v * 4) / 4)  # on edges and corners often


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes=st.lists(st.tuples(_coordinate, _coordinate, st.floats(0, 3), st.floats(0, 3)), min_size=1,
                      max_size=8),
       points=st.lists(st.tuples(st.one_of(_coordinate, st.floats(-3, 7)), st.one_of(_coordinate, st.floats(-3, 7))),
                       max_size=60),
       cells=st.sampled_from([64, 256, 4096]))
def test_any_layer_of_boxes_and_triangles_gives_the_overlays_pairs(boxes, points, cells):
    shapes = []
    for i, (x, y, w, h) in enumerate(boxes):
        shapes.append(shapely.box(x, y, x + w, y + h) if i % 2 else
                      shapely.Polygon([(x, y), (x + w, y), (x, y + h)]) if w > 0 and h > 0 else shapely.Point(x, y))
    polygons = np.array(shapes, dtype=object)
    sites = shapely.points(np.array(points).reshape(-1, 2)) if points else np.array([], dtype=object)
    _same_pairs(sites, polygons, max_cells=cells)


def test_the_engine_builds_its_grids_once_and_screening_gives_the_same_verdicts():
    engine = Engine.load()
    grids = engine.derived.get("grids")
    assert grids is not None and grids["units"] is not None and grids["zones"] is not None
    plain = Engine.load()
    plain.derived.pop("grids", None)
    rng = np.random.default_rng(4)
    units = engine.units.total_bounds
    lon = rng.uniform(units[0] - 0.05, units[2] + 0.05, 3000)
    lat = rng.uniform(units[1] - 0.05, units[3] + 0.05, 3000)
    import pandas as pd

    frame = pd.DataFrame({"lon": lon, "lat": lat, "industry": "C2614", "type": "new"})
    with_grid = engine.check_many(frame)
    assert plain.derived.get("grids") is None
    without = plain.check_many(frame)
    assert plain.derived.get("grids") is None  # check_many does not build them; the result is the same without
    pd.testing.assert_frame_equal(with_grid, without)


@pytest.mark.parametrize("cells", [64, 1 << 12])
def test_unit_squares_at_every_resolution(cells):
    polygons = _tessellation(6)
    xs = np.linspace(-0.5, 6.5, 71)
    sites = shapely.points(np.array(np.meshgrid(xs, xs)).reshape(2, -1).T)  # every tenth: on edges too
    _same_pairs(sites, polygons, max_cells=cells)
