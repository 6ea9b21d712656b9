"""Screening registries whose coordinates are survey (Gauss-Krüger) or web-map ones."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import Transformer

from tests.conftest import TWO_UNITS, make_list, make_units
from zoning import Engine
from zoning.cli import main
from zoning.errors import InputError
from zoning.inputs import webmap
from zoning.screening import screen


@pytest.fixture(scope="module")
def engine():
    lst = make_list([{"id": "STEEL", "effect": "prohibit",
                      "conditions": {"all": [{"industry": ["C31"]}, {"type": ["new"]}]}}])
    return Engine(make_units(TWO_UNITS), [lst])


def _read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_survey_coordinates_with_x_as_northing(engine, tmp_path):
    # independent reference: pyproj into the prefixed 3° zone 39 (EPSG:4527)
    to_gk = Transformer.from_crs(4490, 4527, always_xy=True)
    lon = np.array([116.05, 115.95, 116.05, 116.05])
    lat = np.array([38.95, 38.95, 38.95, 38.95])
    east, north = to_gk.transform(lon, lat)
    frame = pd.DataFrame({"项目名称": ["东", "西", "颠倒", "错带"],
                          "X坐标": [north[0], north[1], east[2], north[3]],
                          "Y坐标": [east[0], east[1], north[2], east[3] - 1_000_000],  # last: zone 38 prefix
                          "行业代码": "C3120", "建设性质": "新建"})
    frame.to_csv(tmp_path / "gk.csv", index=False)
    summary = screen(engine, tmp_path / "gk.csv", tmp_path / "out.csv", crs="cgcs2000-3")
    out = _read(tmp_path / "out.csv")
    # the family reads each row's zone from its prefix: the last row is read in zone 38, far west
    assert list(out["verdict"]) == ["prohibited", "prohibited", "prohibited", "not_covered"]
    assert list(out["unit_codes"][:3]) == [TWO_UNITS[1][0], TWO_UNITS[0][0], TWO_UNITS[1][0]]
    notes = " ".join(summary.notes)
    assert "swapped" in notes and "(1 rows)" in notes
    assert "zone 39" in notes and "zone 38" in notes
    # with the zone named, a prefix that disagrees is a row error
    screen(engine, tmp_path / "gk.csv", tmp_path / "out39.csv", crs="cgcs2000-3:39")
    out = _read(tmp_path / "out39.csv")
    assert list(out["verdict"]) == ["prohibited", "prohibited", "prohibited", "error"]
    assert "zone prefix is 38" in out["error"][3] and "'Y坐标'" in out["error"][3]


def test_survey_eastings_without_a_prefix_need_the_zone(engine, tmp_path):
    to_gk = Transformer.from_crs(4490, 4548, always_xy=True)  # CM 117°E, no prefix
    east, north = to_gk.transform(116.05, 38.95)
    pd.DataFrame({"Y坐标": [east], "X坐标": [north], "行业代码": "C3120", "建设性质": "新建"}).to_csv(
        tmp_path / "gk.csv", index=False)
    screen(engine, tmp_path / "gk.csv", tmp_path / "a.csv", crs="cgcs2000-3")
    out = _read(tmp_path / "a.csv")
    assert out["verdict"][0] == "error" and "zone is unknown" in out["error"][0]
    screen(engine, tmp_path / "gk.csv", tmp_path / "b.csv", crs="cgcs2000-3:39")
    assert _read(tmp_path / "b.csv")["verdict"][0] == "prohibited"


def test_gcj02_registry_gives_the_same_units_as_wgs84(engine, tmp_path):
    rng = np.random.default_rng(3)
    lon = rng.uniform(115.91, 116.09, 40)
    lat = rng.uniform(38.91, 38.99, 40)
    g_lon, g_lat = webmap.wgs84_to_gcj02(lon, lat)  # the published forward formula
    base = {"行业代码": "C3120", "建设性质": "新建"}
    pd.DataFrame({"经度": lon, "纬度": lat, **base}).to_csv(tmp_path / "wgs.csv", index=False)
    pd.DataFrame({"经度": g_lon, "纬度": g_lat, **base}).to_csv(tmp_path / "gcj.csv", index=False)
    screen(engine, tmp_path / "wgs.csv", tmp_path / "wgs_out.csv")
    screen(engine, tmp_path / "gcj.csv", tmp_path / "gcj_out.csv", crs="gcj02")
    a, b = _read(tmp_path / "wgs_out.csv"), _read(tmp_path / "gcj_out.csv")
    assert list(a["unit_codes"]) == list(b["unit_codes"])
    # read without --crs, the GCJ-02 offset (hundreds of metres) moves some points across the boundary
    screen(engine, tmp_path / "gcj.csv", tmp_path / "raw_out.csv")
    assert list(_read(tmp_path / "raw_out.csv")["unit_codes"]) != list(a["unit_codes"])


def test_output_in_gcj02_for_web_maps(engine, tmp_path):
    pd.DataFrame({"经度": [116.05], "纬度": [38.95], "行业代码": "C3120", "建设性质": "新建"}).to_csv(
        tmp_path / "r.csv", index=False)
    summary = screen(engine, tmp_path / "r.csv", tmp_path / "o.geojson", output_crs="gcj02")
    feature = json.loads((tmp_path / "o.geojson").read_text())["features"][0]
    expected = webmap.wgs84_to_gcj02(116.05, 38.95)
    assert feature["geometry"]["coordinates"] == pytest.approx([float(expected[0]), float(expected[1])], abs=1e-7)
    assert any("GCJ02" in n for n in summary.notes)
    with pytest.raises(InputError, match="no EPSG code"):
        screen(engine, tmp_path / "r.csv", tmp_path / "o.gpkg", output_crs="gcj02")


def test_cli_check_with_survey_crs_and_min_overlap():
    runner = CliRunner()
    result = runner.invoke(main, ["check", "--lon", "39448481.6", "--lat", "4419565.4", "--crs", "cgcs2000-3:39",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    # Tiananmen is outside the sample region
    assert json.loads(result.stdout)["verdict"] == "not_covered"
    bad = runner.invoke(main, ["check", "--site", "POLYGON((115.96 38.92, 115.98 38.92, 115.98 38.94, 115.96 38.92))",
                               "--min-overlap", "5 parsecs"])
    assert bad.exit_code == 1 and "unknown unit" in bad.output


def test_cli_check_geojson_in_bd09():
    result = CliRunner().invoke(main, ["check", "--lon", "115.97", "--lat", "38.93", "--format", "geojson",
                                       "--output-crs", "bd09"])
    assert result.exit_code == 0, result.output
    expected = webmap.wgs84_to_bd09(115.97, 38.93)
    got = json.loads(result.stdout)["geometry"]["coordinates"]
    assert got == pytest.approx([float(expected[0]), float(expected[1])], abs=1e-7)


def test_output_crs_where_it_cannot_apply_is_refused(engine, tmp_path):
    pd.DataFrame({"经度": [116.05], "纬度": [38.95]}).to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(InputError, match="no geometry to convert"):
        screen(engine, tmp_path / "r.csv", tmp_path / "o.csv", output_crs="gcj02")
    result = CliRunner().invoke(main, ["check", "--lon", "115.97", "--lat", "38.93", "--output-crs", "gcj02"])
    assert result.exit_code == 2 and "--format geojson" in result.output
    feature = json.loads(CliRunner().invoke(main, ["check", "--lon", "115.97", "--lat", "38.93", "--format",
                                                   "geojson", "--output-crs", "gcj02"]).stdout)
    assert feature["properties"]["geometry_crs"] == "GCJ02"


def test_min_overlap_without_a_threshold_for_the_site_kind_says_so(engine):
    site = "POLYGON((115.95 38.92, 116.05 38.92, 116.05 38.98, 115.95 38.98, 115.95 38.92))"
    result = engine.check(site=site, industry="C3120", type="new", min_overlap=["100m"])
    assert any("sets no threshold for a polygon site" in n for n in result.notes)
    result = engine.check(site=site, industry="C3120", type="new", min_overlap=["100ha"])
    assert not any("sets no threshold" in n for n in result.notes)
