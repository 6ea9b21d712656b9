"""Coordinate systems users bring: Gauss-Krüger zones, legacy datums, web-map systems.

Expected values come from pyproj used directly, the DOMAIN.md check value
(Tiananmen in EPSG:4527) and published GCJ-02/BD-09 values, never from
running the code under test.
"""

from __future__ import annotations

import functools
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod, Transformer
from pyproj.database import query_crs_info

from zoning.errors import DataWarning, InputError
from zoning.inputs import webmap
from zoning.inputs.crs import gauss_kruger, parse_crs
from zoning.inputs.sites import site_geometry

# DOMAIN.md check value: Tiananmen in EPSG:4527 (CGCS2000 3° zone 39, zone prefix in the easting)
TIANANMEN_E, TIANANMEN_N = 39_448_481.6, 4_419_565.4
GEOD = Geod(ellps="GRS80")


def pyproj_lonlat(epsg, x, y):
    """(lon, lat) in CGCS2000 of (x = easting, y = northing) in ``epsg``, by pyproj alone."""
    return Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(4490), always_xy=True).transform(x, y)


def pyproj_projected(epsg, lon, lat):
    return Transformer.from_crs(CRS.from_epsg(4490), CRS.from_epsg(epsg), always_xy=True).transform(lon, lat)


@functools.cache
def epsg_named(name: str) -> int:
    """The EPSG code of the CRS with exactly this name in the PROJ database."""
    codes = [int(i.code) for i in query_crs_info(auth_name="EPSG") if i.name == name and not i.deprecated]
    assert len(codes) == 1, (name, codes)
    return codes[0]


def metres(lon1, lat1, lon2, lat2):
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def convert(**kwargs):
    """site_geometry with every DataWarning message collected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        geom = site_geometry(**kwargs)
    return geom, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


TIANANMEN = pyproj_lonlat(4527, TIANANMEN_E, TIANANMEN_N)


def test_the_check_value_is_tiananmen():
    # the fixture itself: pyproj puts the DOMAIN.md numbers on Tiananmen
    assert TIANANMEN == pytest.approx((116.3975, 39.9087), abs=1e-4)


# ---- Gauss-Krüger: the same point named in every way ------------------------------------

@pytest.mark.parametrize("easting, crs", [
    (TIANANMEN_E, "4527"),
    (TIANANMEN_E, "EPSG:4527"),
    (TIANANMEN_E - 39e6, "EPSG:4548"),  # the prefix-less series: CM 117°E
    (TIANANMEN_E - 39e6, "4548"),
    (TIANANMEN_E, "cgcs2000-3:39"),
    (TIANANMEN_E - 39e6, "cgcs2000-3:39"),
    (TIANANMEN_E, "CGCS2000-3:39"),
])
def test_tiananmen_in_3_degree_zone_39(easting, crs):
    point, _ = convert(lon=easting, lat=TIANANMEN_N, crs=crs)
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-7)


def test_family_without_zone_reads_it_from_the_easting_prefix():
    point, messages = convert(lon=TIANANMEN_E, lat=TIANANMEN_N, crs="cgcs2000-3")
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-7)
    assert any(re.search(r"zone 39\b", m) for m in messages), messages


def test_prefix_less_series_given_a_prefixed_easting():
    # EPSG:4548 is zone 39 without the prefix; an easting carrying "39" still means zone 39
    point, _ = convert(lon=TIANANMEN_E, lat=TIANANMEN_N, crs="EPSG:4548")
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-7)


def test_prefixed_series_given_a_prefix_less_easting():
    point, _ = convert(lon=TIANANMEN_E - 39e6, lat=TIANANMEN_N, crs="EPSG:4527")
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-7)


def test_six_degree_zones():
    # Tiananmen (116.4°E) lies in 6° zone 20 (114–120°E, CM 117°E): find its codes by name in PROJ's database
    prefixed = epsg_named("CGCS2000 / Gauss-Kruger zone 20")
    plain = epsg_named("CGCS2000 / Gauss-Kruger CM 117E")
    e20, n20 = pyproj_projected(prefixed, *TIANANMEN)
    e_plain, n_plain = pyproj_projected(plain, *TIANANMEN)
    assert e20 == pytest.approx(20e6 + e_plain, abs=1e-3) and n20 == pytest.approx(n_plain, abs=1e-3)

    point, messages = convert(lon=e20, lat=n20, crs="cgcs2000-6")
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-7)
    assert any(re.search(r"zone 20\b", m) for m in messages), messages
    for easting, crs in [(e20, "cgcs2000-6:20"), (e_plain, "cgcs2000-6:20"), (e20, str(prefixed)),
                         (e_plain, f"EPSG:{plain}")]:
        point, _ = convert(lon=easting, lat=n20, crs=crs)
        assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-7), crs


def test_a_polygon_in_gauss_kruger_keeps_its_area():
    # a 200 m × 100 m rectangle in zone 39: 20,000 m² on the plane, and on the ground to within scale (~1e-4)
    e, n = TIANANMEN_E, TIANANMEN_N
    wkt = f"POLYGON(({e} {n}, {e + 200} {n}, {e + 200} {n + 100}, {e} {n + 100}, {e} {n}))"
    polygon, _ = convert(site=wkt, crs="EPSG:4527")
    lon, lat = np.asarray(polygon.exterior.coords).T
    area = abs(GEOD.polygon_area_perimeter(lon, lat)[0])
    assert area == pytest.approx(20_000, rel=1e-3)


# ---- Gauss-Krüger: orientation and zone checks -------------------------------------------

def test_x_northing_y_easting_is_swapped_back_with_a_warning():
    point, messages = convert(site=f"POINT({TIANANMEN_N} {TIANANMEN_E})", crs="EPSG:4527")
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-7)
    assert any("swapped" in m for m in messages), messages


def test_swapped_polygon_is_read_back_whole():
    e, n = TIANANMEN_E, TIANANMEN_N
    ring = [(n, e), (n, e + 300), (n + 200, e + 300), (n + 200, e), (n, e)]  # (X = northing, Y = easting)
    wkt = "POLYGON((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    polygon, messages = convert(site=wkt, crs="cgcs2000-3")
    assert any("swapped" in m for m in messages), messages
    lon, lat = pyproj_lonlat(4527, [p[1] for p in ring], [p[0] for p in ring])
    assert polygon.bounds == pytest.approx((min(lon), min(lat), max(lon), max(lat)), abs=1e-7)


def south_china_sea_point():
    """A point at 112.3°E, 5°N in the prefix-less CM 111°E zone: easting and northing both 300–900 km."""
    code = epsg_named("CGCS2000 / 3-degree Gauss-Kruger CM 111E")
    e, n = pyproj_projected(code, 112.3, 5.0)
    assert 300_000 < e < 900_000 and 300_000 < n < 900_000
    return code, e, n


@pytest.mark.parametrize("crs", ["code", "cgcs2000-3:37"])
@pytest.mark.parametrize("swap", [False, True])
def test_ambiguous_orientation_is_refused(crs, swap):
    code, e, n = south_china_sea_point()
    x, y = (n, e) if swap else (e, n)
    with pytest.raises(InputError, match="refused"):
        site_geometry(lon=x, lat=y, crs=f"EPSG:{code}" if crs == "code" else crs)


def test_the_same_point_with_a_zone_prefix_is_not_ambiguous():
    code, e, n = south_china_sea_point()
    point, _ = convert(lon=37e6 + e, lat=n, crs="cgcs2000-3")
    assert (point.x, point.y) == pytest.approx((112.3, 5.0), abs=1e-7)


@pytest.mark.parametrize("crs", ["EPSG:4527", "4548", "cgcs2000-3:39"])
def test_wrong_zone_prefix_is_refused(crs):
    with pytest.raises(InputError, match="38"):
        site_geometry(lon=TIANANMEN_E - 1e6, lat=TIANANMEN_N, crs=crs)


@pytest.mark.parametrize("crs, zone_hint", [("cgcs2000-3", "cgcs2000-3:"), ("cgcs2000-6", "cgcs2000-6:")])
def test_family_without_zone_and_without_prefix_asks_for_the_zone(crs, zone_hint):
    with pytest.raises(InputError, match="zone") as raised:
        site_geometry(lon=TIANANMEN_E - 39e6, lat=TIANANMEN_N, crs=crs)
    assert zone_hint in str(raised.value)


def test_three_degree_family_given_a_six_degree_prefix_is_refused():
    e20, n20 = pyproj_projected(epsg_named("CGCS2000 / Gauss-Kruger zone 20"), *TIANANMEN)
    with pytest.raises(InputError, match="6°"):
        site_geometry(lon=e20, lat=n20, crs="cgcs2000-3")


def test_six_degree_family_given_a_three_degree_prefix_is_refused():
    with pytest.raises(InputError, match="3°"):
        site_geometry(lon=TIANANMEN_E, lat=TIANANMEN_N, crs="cgcs2000-6")


def test_lon_lat_given_with_a_projected_crs_is_refused():
    with pytest.raises(InputError):
        site_geometry(lon=116.3975, lat=39.9087, crs="EPSG:4527")


@pytest.mark.parametrize("zone", [24, 46])
def test_three_degree_zone_outside_china_is_refused(zone):
    with pytest.raises(InputError, match="zone"):
        parse_crs(f"cgcs2000-3:{zone}")


# ---- legacy datums -----------------------------------------------------------------------

@pytest.mark.parametrize("crs", ["EPSG:2363", "xian80-3", "xian80-3:39", "beijing54-3", "beijing54-3:39",
                                 "Beijing 1954 / 3-degree Gauss-Kruger zone 39"])
def test_legacy_datums_convert_with_a_caveat(crs):
    if "/" in crs:  # an EPSG code found by its name
        crs = f"EPSG:{epsg_named(crs)}"
    point, messages = convert(lon=TIANANMEN_E, lat=TIANANMEN_N, crs=crs)
    assert any("tens of metres" in m for m in messages), messages
    # the same numbers read as CGCS2000: legacy datums differ by tens of metres, not kilometres
    assert metres(point.x, point.y, *TIANANMEN) < 200


def test_xian80_agrees_with_pyproj():
    code = epsg_named("Xian 1980 / 3-degree Gauss-Kruger zone 39")
    point, _ = convert(lon=TIANANMEN_E, lat=TIANANMEN_N, crs=f"EPSG:{code}")
    assert (point.x, point.y) == pytest.approx(pyproj_lonlat(code, TIANANMEN_E, TIANANMEN_N), abs=1e-7)


def test_beijing54_agrees_with_pyproj():
    code = epsg_named("Beijing 1954 / 3-degree Gauss-Kruger CM 117E")
    point, _ = convert(lon=TIANANMEN_E - 39e6, lat=TIANANMEN_N, crs="beijing54-3:39")
    assert (point.x, point.y) == pytest.approx(pyproj_lonlat(code, TIANANMEN_E - 39e6, TIANANMEN_N), abs=1e-7)


def test_cgcs2000_has_no_caveat():
    _, messages = convert(lon=TIANANMEN_E, lat=TIANANMEN_N, crs="EPSG:4527")
    assert not any("tens of metres" in m for m in messages), messages


@pytest.mark.parametrize("crs", ["wgs84", "EPSG:4326"])
def test_wgs84_lon_lat_has_no_tens_of_metres_caveat(crs):
    # DOMAIN.md: CGCS2000 is "effectively the same as WGS84 (centimetre level)"; webmap.py says the same
    point, messages = convert(lon=116.3975, lat=39.9087, crs=crs)
    assert (point.x, point.y) == pytest.approx((116.3975, 39.9087), abs=1e-7)
    assert not any("tens of metres" in m for m in messages), messages


# ---- GCJ-02 and BD-09 ----------------------------------------------------------------------

def test_published_forward_values():
    # the widely published example of the coordTransform formulas
    assert webmap.wgs84_to_gcj02(116.404, 39.915) == pytest.approx((116.41024449916938, 39.91640428150164),
                                                                   abs=1e-9)
    assert webmap.gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021),
                                                                  abs=1e-9)


def china_grid():
    lon, lat = np.meshgrid(np.linspace(73.0, 136.0, 64), np.linspace(3.0, 54.0, 52))
    return lon.ravel(), lat.ravel()


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_over_china_within_a_centimetre(system):
    lon, lat = china_grid()
    web_lon, web_lat = webmap.from_wgs84(system, lon, lat)
    moved = metres(lon, lat, web_lon, web_lat)
    assert moved.min() > 1  # the obfuscation moves every point (by hundreds of metres)
    back_lon, back_lat = webmap.to_wgs84(system, web_lon, web_lat)
    assert metres(lon, lat, back_lon, back_lat).max() < 0.01
    # and the other way: the WGS84 found maps forward onto the web-map input
    wgs_lon, wgs_lat = webmap.to_wgs84(system, lon, lat)
    again_lon, again_lat = webmap.from_wgs84(system, wgs_lon, wgs_lat)
    assert metres(lon, lat, again_lon, again_lat).max() < 0.01


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(73.0, 136.0), lat=st.floats(3.0, 54.0), system=st.sampled_from(["gcj02", "bd09"]))
def test_round_trip_anywhere_in_china(lon, lat, system):
    back = webmap.to_wgs84(system, *webmap.from_wgs84(system, np.array([lon]), np.array([lat])))
    assert metres(lon, lat, back[0][0], back[1][0]) < 0.01


@pytest.mark.parametrize("lon, lat", [(10.0, 50.0), (-74.0, 40.7), (150.0, -33.9)])
def test_gcj02_outside_china_is_not_offset(lon, lat):
    assert webmap.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert webmap.to_wgs84("gcj02", np.array([lon]), np.array([lat])) == (lon, lat)


def test_non_finite_stays_non_finite():
    lon, lat = webmap.to_wgs84("gcj02", np.array([np.nan, 116.4]), np.array([39.9, 39.9]))
    assert np.isnan(lon[0]) and np.isfinite(lon[1]) and np.isfinite(lat[1])


def test_site_in_gcj02_is_the_wgs84_point_behind_it():
    # the published pair: WGS84 (116.404, 39.915) shows as GCJ-02 (116.41024449916938, 39.91640428150164)
    point, _ = convert(lon=116.41024449916938, lat=39.91640428150164, crs="gcj02")
    assert (point.x, point.y) == pytest.approx((116.404, 39.915), abs=1e-9)


def test_site_in_bd09_is_the_wgs84_point_behind_it():
    # BD-09 (116.41036949371029, 39.92133699351021) is the published image of GCJ-02 (116.404, 39.915)
    point, _ = convert(lon=116.41036949371029, lat=39.92133699351021, crs="BD-09")
    assert webmap.wgs84_to_gcj02(point.x, point.y) == pytest.approx((116.404, 39.915), abs=1e-9)


def test_gcj02_polygon_site():
    wkt = "POLYGON((116.41 39.91, 116.42 39.91, 116.42 39.92, 116.41 39.92, 116.41 39.91))"
    polygon, _ = convert(site=wkt, crs="gcj02")
    lon, lat = np.asarray(polygon.exterior.coords).T
    gcj = webmap.wgs84_to_gcj02(lon, lat)
    corners = {(round(a, 6), round(b, 6)) for a, b in zip(*gcj)}
    assert corners == {(116.41, 39.91), (116.42, 39.91), (116.42, 39.92), (116.41, 39.92)}


def test_gcj02_site_outside_china_is_refused():
    with pytest.raises(InputError, match="outside China"):
        site_geometry(lon=10, lat=50, crs="gcj02")


# ---- any CRS pyproj knows ----------------------------------------------------------------

def test_utm_epsg_code():
    e, n = Transformer.from_crs(4490, 32650, always_xy=True).transform(*TIANANMEN)
    point, _ = convert(lon=e, lat=n, crs="EPSG:32650")
    # WGS84 and CGCS2000 agree to centimetres: 1e-6° is about 0.1 m
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-6)


def test_proj_string():
    proj = "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=39500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"
    source = parse_crs(proj)
    assert source.crs is not None
    point, _ = convert(lon=TIANANMEN_E, lat=TIANANMEN_N, crs=proj)
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-6)


def test_wkt_string_is_recognised_as_the_gauss_kruger_zone():
    source = parse_crs(CRS.from_epsg(4527).to_wkt())
    assert source.gk is not None and source.gk.zone == 39 and source.gk.width == 3
    point, messages = convert(site=f"POINT({TIANANMEN_N} {TIANANMEN_E})", crs=CRS.from_epsg(4527).to_wkt())
    assert (point.x, point.y) == pytest.approx(TIANANMEN, abs=1e-7)
    assert any("swapped" in m for m in messages)


@pytest.mark.parametrize("value", ["EPSG:999999", "99999", "not a crs", "cgcs2000-4:39", "+proj=nonsense"])
def test_unknown_crs_is_refused_readably(value):
    with pytest.raises(InputError) as raised:
        parse_crs(value)
    message = str(raised.value)
    assert "\n" not in message and len(message) < 400
    assert "crs" in message.lower()


# ---- outside China, swapped lon/lat ----------------------------------------------------------

def test_lon_lat_outside_china_is_refused():
    with pytest.raises(InputError, match="outside China"):
        site_geometry(lon=10, lat=50)


def test_swapped_lon_lat_is_refused():
    with pytest.raises(InputError, match="swapped"):
        site_geometry(lon=TIANANMEN[1], lat=TIANANMEN[0])


def test_gauss_kruger_point_outside_china_is_refused():
    # zone 39 numbers that land in the sea far south-east of China's box
    e, n = pyproj_projected(4527, 117.0, 1.0)
    with pytest.raises(InputError):
        site_geometry(lon=e, lat=n, crs="EPSG:4527")


# ---- the EPSG tables -----------------------------------------------------------------------

DATUM_NAMES = {"cgcs2000": ("CGCS2000", 4490), "xian80": ("Xian 1980", 4610), "beijing54": ("Beijing 1954", 4214)}
ZONES_COVERING_CHINA = {3: range(25, 46), 6: range(13, 24)}  # central meridians 75°E–135°E


@pytest.mark.parametrize("datum", sorted(DATUM_NAMES))
@pytest.mark.parametrize("width", [3, 6])
@pytest.mark.parametrize("prefixed", [True, False])
def test_gauss_kruger_epsg_codes_match_pyproj(datum, width, prefixed):
    name, geographic = DATUM_NAMES[datum]
    for zone in ZONES_COVERING_CHINA[width]:
        cm = 3 * zone if width == 3 else 6 * zone - 3
        source = gauss_kruger(datum, width, zone, prefixed)
        code = source.gk.epsg(zone, prefixed)
        assert f"EPSG:{code}" in source.label
        crs = CRS.from_epsg(code)
        assert crs.name.startswith(name + " /"), (code, crs.name)
        assert ("3-degree" in crs.name) == (width == 3), (code, crs.name)
        label = f"zone {zone}" if prefixed else f"CM {cm}E"
        assert crs.name.endswith(label) or (not prefixed and crs.name.endswith(f" {zone}N")), (code, crs.name)
        assert crs.geodetic_crs.to_epsg() == geographic
        operation = crs.coordinate_operation
        params = {p.name: p.value for p in operation.params}
        assert operation.method_name == "Transverse Mercator"
        assert params["Longitude of natural origin"] == cm and params["Scale factor at natural origin"] == 1
        assert params["False easting"] == (zone * 1_000_000 if prefixed else 0) + 500_000, (code, params)
        # and back: the code is recognised as that zone
        assert parse_crs(f"EPSG:{code}").gk == source.gk
