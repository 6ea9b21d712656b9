"""Notebooks (issue 20, point 6): check_many on plain DataFrames, registry headers recognised, HTML results."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from zoning import Engine, InputError
from zoning.errors import DataWarning
from zoning.sample import registry_path
from zoning.screening import screen

CHINESE = {"industry": "行业代码", "type": "建设性质", "lon": "经度", "lat": "纬度", "NOx": "氮氧化物排放量"}


@pytest.fixture(scope="module")
def engine():
    return Engine.load()


@pytest.fixture(scope="module")
def screened(engine, tmp_path_factory):
    out = tmp_path_factory.mktemp("screen") / "screened.csv"
    screen(engine, registry_path(), out)
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def test_a_plain_dataframe_with_lon_lat_gets_the_cli_verdicts(engine, screened):
    frame = pd.read_csv(registry_path(), dtype=str)
    out = engine.check_many(frame)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs.to_epsg() == 4490
    assert out["verdict"].tolist() == screened["verdict"].tolist()
    assert out["clauses"].fillna("").tolist() == screened["clauses"].tolist()


def test_chinese_headers_are_recognised_and_said(engine, screened):
    frame = pd.read_csv(registry_path(), dtype=str).rename(columns=CHINESE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = engine.check_many(frame)
    said = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert said and "行业代码" in said[0] and "建设性质" in said[0]
    assert out.attrs["zoning_columns"]["industry"] == "行业代码"
    assert out["verdict"].tolist() == screened["verdict"].tolist()


def test_a_geodataframe_with_chinese_headers_and_a_wkt_frame(engine):
    points = gpd.GeoDataFrame({"行业代码": ["C2614", "C3120"], "建设性质": ["新建", "新建"]},
                              geometry=[shapely.Point(115.97, 38.93), shapely.Point(115.5, 38.9)], crs=4490)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        out = engine.check_many(points)
        wkt = engine.check_many(pd.DataFrame({"wkt": ["POINT (115.97 38.93)"], "industry": ["C2614"],
                                              "type": ["new"]}))
    single = [engine.check(lon=p.x, lat=p.y, industry=i, type="new").verdict
              for p, i in zip(points.geometry, ["C2614", "C3120"])]
    assert out["verdict"].tolist() == single
    assert wkt["verdict"].iloc[0] == single[0]


def test_a_frame_without_a_location_is_refused_saying_what_to_do(engine):
    with pytest.raises(InputError, match="lon/lat or WKT"):
        engine.check_many(pd.DataFrame({"industry": ["C2614"]}))
    shifted = pd.DataFrame({"x": [115.97], "y": [38.93], "industry": ["C2614"]})
    out = engine.check_many(shifted, columns={"lon": "x", "lat": "y"})
    assert out["verdict"].iloc[0] == engine.check(lon=115.97, lat=38.93, industry="C2614").verdict


def test_a_result_shows_itself_in_a_notebook(engine):
    result = engine.check(lon=115.97, lat=38.93, industry="C2614", type="new", name="<b>x</b>")
    html = result._repr_html_()
    assert "禁止 PROHIBITED" in html and "ZH13063210001" in html
    assert any(c["clause"] in html for c in result.citations if c["status"] == "applies")
    assert "<b>x</b>" not in html
