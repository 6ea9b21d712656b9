"""Site input for single checks: CRS, repair, and refusals with clear messages."""

import warnings

import pytest
import shapely

from zoning.errors import DataWarning, InputError
from zoning.inputs.sites import site_geometry


def test_gauss_kruger_point_converts_to_lon_lat():
    # DOMAIN.md check value: Tiananmen in EPSG:4527 is E 39,448,481.6, N 4,419,565.4
    point = site_geometry(lon=39448481.6, lat=4419565.4, crs="4527")
    assert point.x == pytest.approx(116.3975, abs=2e-4)
    assert point.y == pytest.approx(39.9087, abs=2e-4)


def test_swapped_easting_northing_is_read_back_with_a_warning():
    with pytest.warns(DataWarning, match="X and Y swapped"):
        point = site_geometry(site="POINT(4419565.4 39448481.6)", crs="EPSG:4527")
    assert (point.x, point.y) == pytest.approx((116.3975, 39.9087), abs=2e-4)


def test_swapped_lon_lat_is_refused_with_a_hint():
    with pytest.raises(InputError, match="swapped"):
        site_geometry(lon=38.93, lat=115.97)


def test_bow_tie_is_repaired_with_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        geom = site_geometry(site="POLYGON((118.4 38.9, 118.6 38.9, 118.4 39.1, 118.6 39.1, 118.4 38.9))")
    assert geom.is_valid and geom.area > 0
    assert any(issubclass(w.category, DataWarning) and "Self-intersection" in str(w.message) for w in caught)


@pytest.mark.parametrize("wkt", ["POLYGON((118.5 39, 118.5 39, 118.5 39, 118.5 39))",
                                 "POLYGON((118 39, 118.1 39, 118.2 39, 118 39))"])
def test_polygon_without_area_is_refused(wkt):
    with pytest.raises(InputError, match="no area"):
        site_geometry(site=wkt)


@pytest.mark.parametrize("site, message", [("POINT EMPTY", "empty"), ("POLYGON((1 2", "neither a file nor")])
def test_bad_wkt(site, message):
    with pytest.raises(InputError, match=message):
        site_geometry(site=site)


def test_site_file_without_features(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputError, match="no features"):
        site_geometry(site=str(path))


def test_site_file_in_projected_crs(tmp_path):
    import geopandas as gpd

    path = tmp_path / "site.gpkg"
    box = shapely.box(39448400, 4419500, 39448500, 4419600)
    gpd.GeoDataFrame(geometry=[box], crs=4527).to_file(path)
    geom = site_geometry(site=str(path))
    assert geom.centroid.x == pytest.approx(116.3975, abs=2e-3)


def test_attribute_given_twice(sample_engine):
    with pytest.raises(InputError, match="given twice"):
        sample_engine.check(lon=115.97, lat=38.93, emissions={"SO2": 1}, attributes={"so2": 2})


def test_a_site_file_with_an_invalid_polygon_is_repaired_with_a_note(sample_engine, tmp_path):
    import geopandas as gpd

    bowtie = shapely.Polygon([(115.96, 38.92), (115.98, 38.94), (115.98, 38.92), (115.96, 38.94)])
    gpd.GeoDataFrame(geometry=[bowtie], crs=4490).to_file(tmp_path / "site.gpkg")
    result = sample_engine.check(site=str(tmp_path / "site.gpkg"), industry="C3120", type="new")
    assert result.verdict == "prohibited"
    # the repair is part of the result (JSON and the report), with the repaired area in m²
    assert any("make_valid" in n and "m²" in n for n in result.notes)
    assert result.project["input_crs"].startswith("China Geodetic Coordinate System 2000")


def test_conversion_notes_and_caveats_reach_the_result(sample_engine):
    result = sample_engine.check(lon=4309316.22, lat=39387241.08, crs="4527")  # X/Y the surveying way
    assert any("swapped" in n for n in result.notes)
    result = sample_engine.check(lon=39448481.6, lat=4419565.4, crs="xian80-3")
    assert any("tens of metres" in n for n in result.notes)
    assert "Xi'an 1980" in result.project["input_crs"]


@pytest.mark.parametrize("site", ["POINT(NaN NaN)", "POINT(115.7 NaN)", "POINT(inf 38)"])
def test_non_finite_coordinates_are_refused(site):
    with pytest.raises(InputError, match="not finite"):
        site_geometry(site=site)


@pytest.mark.parametrize("wkt", [
    "POLYGON((386357.73 4308218.43, 388092.79 4308193.70, 388124.20 4310414.10, 386357.73 4308218.43))",
    "POLYGON((115.69 38.90, 115.71 38.90, 115.71 38.92, 115.69 38.92, 115.69 38.90))",
])
def test_refused_gauss_kruger_polygons_give_a_message_not_a_traceback(wkt):
    with pytest.raises(InputError):
        site_geometry(site=wkt, crs="cgcs2000-3")


def test_refused_gauss_kruger_rows_do_not_stop_a_screening(sample_engine, tmp_path):
    import pandas as pd

    from zoning.screening import screen

    good = "POLYGON((39448400 4419500, 39448500 4419500, 39448500 4419600, 39448400 4419500))"
    bad = "POLYGON((386357.73 4308218.43, 388092.79 4308193.70, 388124.20 4310414.10, 386357.73 4308218.43))"
    pd.DataFrame({"wkt": [good, bad]}).to_csv(tmp_path / "r.csv", index=False)
    screen(sample_engine, tmp_path / "r.csv", tmp_path / "o.csv", crs="cgcs2000-3")
    out = pd.read_csv(tmp_path / "o.csv", encoding="utf-8-sig", keep_default_na=False)
    assert list(out["verdict"]) == ["not_covered", "error"] and "zone" in out["error"][1]
