"""A single check's shortcuts (issue 17) give what the batch path gives.

A check looks its site up in a kept tree of the layer's polygons, where a
batch queries a tree of its sites with every polygon; both must find the
same (site, polygon) pairs in the same order, with the same pieces and
measures. Kept facts (trees, clause and unit facts) must follow the engine,
and repeated checks must answer as the first did.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from zoning import Engine
from zoning.evaluate.overlay import FEW_SITES, kept_tree, overlay
from zoning.geodesy import GEOGRAPHIC
from zoning.industries import table as industry_table


def _polygons() -> np.ndarray:
    """A 6 x 6 grid of unit squares with shared edges, one overlapping square, a missing entry."""
    squares = [shapely.box(x, y, x + 0.1, y + 0.1) for x in np.arange(115.0, 115.6, 0.1)
               for y in np.arange(38.0, 38.6, 0.1)]
    return np.array([*squares, shapely.box(115.05, 38.05, 115.25, 38.25), None], dtype=object)


SITES = [
    shapely.Point(115.05, 38.05),  # inside one square and the overlapping one
    shapely.Point(115.1, 38.1),  # a corner: four squares touch it
    shapely.Point(115.1, 38.15),  # on a shared edge
    shapely.Point(120.0, 30.0),  # in nothing
    shapely.box(115.08, 38.08, 115.12, 38.12),  # a polygon over four squares
    shapely.LineString([(115.01, 38.01), (115.39, 38.33)]),  # a line across several
    shapely.LineString([(115.2, 38.0), (115.2, 38.3)]),  # a line along shared edges only
    shapely.box(115.2, 38.2, 115.3, 38.3),  # exactly one square: touches its neighbours along edges
]


@pytest.mark.parametrize("site", range(len(SITES)))
def test_looking_a_site_up_in_the_polygons_tree_finds_what_the_batch_path_finds(site):
    polygons = _polygons()
    sites = np.array([SITES[site]], dtype=object)
    assert len(sites) * FEW_SITES < len(polygons)  # the check's path is taken
    batch = overlay(sites, polygons)
    single = overlay(sites, polygons, {})
    for a, b in zip(batch[:2], single[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(shapely.equals_exact(batch[2], single[2], 0)) if len(batch[2]) else not len(single[2])
    np.testing.assert_array_equal(batch[3], single[3])


def test_several_sites_at_once_keep_the_batch_order():
    polygons = _polygons()
    sites = np.array([SITES[4], None, SITES[1]], dtype=object)  # few enough for the tree; one missing
    batch, single = overlay(sites, polygons), overlay(sites, polygons, {})
    np.testing.assert_array_equal(batch[0], single[0])
    np.testing.assert_array_equal(batch[1], single[1])
    assert list(single[0]) == sorted(single[0])


def test_a_kept_tree_follows_the_array_it_was_built_for():
    cache: dict = {}
    polygons = _polygons()
    tree = kept_tree(cache, polygons)
    assert kept_tree(cache, polygons) is tree
    other = polygons.copy()
    assert kept_tree(cache, other) is not tree  # another array: its own tree


def test_repeated_checks_answer_as_the_first_and_as_a_batch():
    engine = Engine.load()
    points = [(115.97, 38.93), (115.5, 38.87), (116.1, 39.0), (115.9, 38.9)]
    projects = [dict(industry="C2614", type="new", emissions={"VOCs": 12.5}), dict(industry="C3120", type="new"),
                dict(industry="A0313", type="new"), dict(industry="C26"), dict()]
    first = {(p, i): engine.check(lon=x, lat=y, **kw).to_dict()
             for p, (x, y) in enumerate(points) for i, kw in enumerate(projects)}
    engine.warm()
    for (p, i), expected in first.items():
        x, y = points[p]
        assert engine.check(lon=x, lat=y, **projects[i]).to_dict() == expected
    rows = [{"industry": kw.get("industry"), "type": kw.get("type"), **(kw.get("emissions") or {})}
            for _ in points for kw in projects]
    frame = gpd.GeoDataFrame(rows, geometry=[shapely.Point(x, y) for x, y in points for _ in projects],
                             crs=GEOGRAPHIC)
    batch = engine.check_many(frame)
    assert list(batch["verdict"]) == [first[p, i]["verdict"] for p in range(len(points))
                                      for i in range(len(projects))]


def test_warming_every_industry_changes_no_answer_and_leaves_nothing_to_add():
    cold, warm = Engine.load(), Engine.load()
    warm.warm(industries=True)
    known = len(warm.rules.possible_cache)
    assert known >= len(industry_table()) * 5
    for industry in ("C2614", "C3120", "A0313", "C26", "B", None):
        for kind in ("new", "relocation", None):
            project = dict(industry=industry, type=kind, emissions={"VOCs": 12.5})
            assert warm.check(lon=115.97, lat=38.93, **project).to_dict() == \
                cold.check(lon=115.97, lat=38.93, **project).to_dict()
    assert len(warm.rules.possible_cache) == known
