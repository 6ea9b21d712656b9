"""The place part of siting guidance: the nearest point where a project would be less restricted."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from zoning import Engine
from zoning.geodesy import GEOGRAPHIC
from zoning.siting.places import compass, nearest_in_layer, nearest_places

GEOD = Geod(ellps="GRS80")


def layer() -> gpd.GeoDataFrame:
    """Three areas east of the site: prohibited next to it, then restricted, then permitted."""
    return gpd.GeoDataFrame(
        {"verdict": ["prohibited", "restricted", "permitted"], "unit_code": ["U1", "U2", "U3"]},
        geometry=[shapely.box(116.0, 38.9, 116.01, 39.0), shapely.box(116.01, 38.9, 116.02, 39.0),
                  shapely.box(116.02, 38.9, 116.03, 39.0)], crs=GEOGRAPHIC)


@pytest.mark.parametrize(("verdicts", "edge", "unit"), [(("permitted",), 116.02, "U3"),
                                                        (("permitted", "restricted"), 116.01, "U2")])
def test_the_nearest_area_is_found_a_metre_inside_it(verdicts, edge, unit):
    site = shapely.Point(116.005, 38.95)
    place = nearest_in_layer(site, layer(), verdicts, 50)
    assert place is not None and place["unit"] == unit
    expected = GEOD.inv(site.x, site.y, edge, site.y)[2] + 1.0  # to the edge, then a metre inside
    assert place["distance_m"] == pytest.approx(expected, abs=0.2)
    assert place["direction"] == "E" and place["bearing_deg"] == pytest.approx(90, abs=0.5)
    assert shapely.contains(layer().geometry[layer()["unit_code"] == unit].iloc[0], place["_point"])


def test_a_site_already_inside_is_at_zero_and_nothing_beyond_the_radius_is_found():
    assert nearest_in_layer(shapely.Point(116.025, 38.95), layer(), ("permitted",), 50)["distance_m"] == 0
    assert nearest_in_layer(shapely.Point(115.9, 38.95), layer(), ("permitted",), 5) is None  # 10.5 km away


@pytest.mark.parametrize(("azimuth", "name"), [(0, "N"), (44, "NE"), (90, "E"), (181, "S"), (-90, "W"), (337, "NW"),
                                                (338, "N")])
def test_compass_points(azimuth, name):
    assert compass(azimuth) == name


def test_places_for_a_prohibited_site_recheck_as_claimed():
    """A steel plant in Baoding's urban core is prohibited; the places suggested re-check as claimed."""
    engine = Engine.load()
    project = {"industry": "C3120", "type": "new"}
    site = shapely.Point(115.47, 38.87)
    assert engine.check(lon=site.x, lat=site.y, **project).verdict == "prohibited"
    places = nearest_places(engine, site, project)
    for target, allowed in (("permitted", {"permitted"}), ("at_most_restricted", {"permitted", "restricted"})):
        place = places[target]
        if place is None:
            continue
        assert place["verdict"] in allowed and place["verdict_checked"] == place["verdict"]
        again = engine.check(lon=place["lon"], lat=place["lat"], **project)
        assert again.verdict == place["verdict"]
        assert [u["code"] for u in again.units] == [place["unit"]]
        assert GEOD.inv(site.x, site.y, place["lon"], place["lat"])[2] == pytest.approx(place["distance_m"], abs=1)
