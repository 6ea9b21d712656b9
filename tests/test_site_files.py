"""Site files in every supported format, read whole and as a single site.

Each fixture is built in ``tmp_path``; expected geometry comes from the
shapes constructed here and from pyproj used directly.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from zoning.errors import DataWarning, InputError
from zoning.inputs.sites import read_site_layer, site_geometry
from zoning.screening import screen

GEOD = Geod(ellps="GRS80")
#: DOMAIN.md check value: Tiananmen in EPSG:4527 (CGCS2000 3° zone 39, easting with zone prefix)
E0, N0 = 39_448_481.6, 4_419_565.4
#: a rectangle in Baoding (sample region) across the boundary of two sample units (Anxin / Xiong county)
BAODING = (116.010, 38.952, 116.015, 38.956)


def to_lonlat(epsg, x, y):
    return Transformer.from_crs(CRS.from_epsg(epsg), CRS.from_epsg(4490), always_xy=True).transform(x, y)


def to_projected(epsg, lon, lat):
    return Transformer.from_crs(CRS.from_epsg(4490), CRS.from_epsg(epsg), always_xy=True).transform(lon, lat)


def ground_area(geom) -> float:
    """Geodesic area (m²) of a lon/lat geometry, by pyproj."""
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def rect(e, n, width, height):
    """Corners (easting, northing) of a rectangle, counter-clockwise, not closed."""
    return [(e, n), (e + width, n), (e + width, n + height), (e, n + height)]


def write_without_crs(frame, path, **kwargs):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'crs' was not provided")
        frame.to_file(path, **kwargs)


def convert(**kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        geom = site_geometry(**kwargs)
    return geom, [str(w.message) for w in caught if issubclass(w.category, DataWarning)]


def lonlat_polygon(epsg, corners, holes=()):
    """The polygon with these projected corners (and holes), vertices converted by pyproj."""
    def ring(points):
        lon, lat = to_lonlat(epsg, [p[0] for p in points], [p[1] for p in points])
        return list(zip(lon, lat))
    return shapely.Polygon(ring(corners), [ring(h) for h in holes])


# ---- WKT files ---------------------------------------------------------------------------

def test_wkt_file_with_one_geometry(tmp_path):
    path = tmp_path / "site.wkt"
    path.write_text("POLYGON((115.96 38.92, 115.98 38.92, 115.98 38.94, 115.96 38.94, 115.96 38.92))\n")
    layer = read_site_layer(path)
    assert len(layer.geometry) == 1 and layer.source.geographic  # WKT is lon/lat unless --crs says otherwise
    geom, _ = convert(site=str(path), crs="cgcs2000")
    assert geom.equals(shapely.box(115.96, 38.92, 115.98, 38.94))


def test_wkt_file_without_crs_is_lon_lat(tmp_path):
    # README: without --crs a site is "CGCS2000 or WGS84 lon/lat degrees, or the site file's own CRS";
    # a WKT file states no CRS, like inline WKT, so it is read as lon/lat (only a DXF must be given --crs)
    path = tmp_path / "site.wkt"
    path.write_text("POLYGON((115.96 38.92, 115.98 38.92, 115.98 38.94, 115.96 38.94, 115.96 38.92))\n")
    geom, _ = convert(site=str(path))
    assert geom.equals(shapely.box(115.96, 38.92, 115.98, 38.94))


def test_wkt_file_spread_over_lines_is_one_geometry(tmp_path):
    path = tmp_path / "site.wkt"
    path.write_text("POLYGON((\n  115.96 38.92,\n  115.98 38.92,\n  115.98 38.94,\n"
                    "  115.96 38.94,\n  115.96 38.92\n))\n")
    layer = read_site_layer(path)
    assert len(layer.geometry) == 1
    assert layer.geometry[0].equals(shapely.box(115.96, 38.92, 115.98, 38.94))


def test_wkt_file_with_one_geometry_per_line(tmp_path):
    path = tmp_path / "sites.wkt"
    path.write_text("POINT(115.90 38.90)\n\nLINESTRING(115.96 38.92, 115.98 38.94)\n"
                    "POLYGON((116.01 38.95, 116.02 38.95, 116.02 38.96, 116.01 38.95))\n")
    layer = read_site_layer(path)
    assert [g.geom_type for g in layer.geometry] == ["Point", "LineString", "Polygon"]
    # a single check would merge them, but parts of different kinds are judged differently: refused
    with pytest.raises(InputError, match="mixes points and lines and polygons"):
        convert(site=str(path), crs="EPSG:4490")


def test_wkt_file_in_gauss_kruger_with_crs(tmp_path):
    path = tmp_path / "site.txt"  # .txt that is not a red-line file: read as WKT
    corners = rect(E0, N0, 200, 100)
    path.write_text("POLYGON((" + ", ".join(f"{e} {n}" for e, n in corners + corners[:1]) + "))")
    geom, _ = convert(site=str(path), crs="EPSG:4527")
    assert geom.symmetric_difference(lonlat_polygon(4527, corners)).area < 1e-14
    with pytest.raises(InputError, match="crs"):  # Gauss-Krüger numbers but no CRS named
        site_geometry(site=str(path))


def test_unclosed_ring_in_a_wkt_file_is_closed_with_a_warning(tmp_path):
    path = tmp_path / "site.wkt"
    path.write_text("POLYGON((115.96 38.92, 115.98 38.92, 115.98 38.94, 115.96 38.94))")
    geom, messages = convert(site=str(path), crs="cgcs2000")
    assert geom.equals(shapely.box(115.96, 38.92, 115.98, 38.94))
    assert any("not closed" in m for m in messages), messages


def test_unclosed_ring_in_a_wkt_file_spread_over_lines_is_closed(tmp_path):
    # the same WKT as above, pretty-printed over several lines: still one polygon to close, not refused
    path = tmp_path / "site.wkt"
    path.write_text("POLYGON((\n  115.96 38.92,\n  115.98 38.92,\n  115.98 38.94,\n  115.96 38.94\n))\n")
    geom, messages = convert(site=str(path), crs="cgcs2000")
    assert geom.equals(shapely.box(115.96, 38.92, 115.98, 38.94))
    assert any("not closed" in m for m in messages), messages


# ---- GeoJSON, Shapefile, GeoPackage ------------------------------------------------------

def gk_frame():
    """Two rectangles in EPSG:4527 (prefixed eastings) near Tiananmen, and their areas on the plane."""
    a, b = rect(E0, N0, 300, 200), rect(E0 + 500, N0, 100, 100)
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[shapely.Polygon(a), shapely.Polygon(b)], crs=4527)
    return frame, [a, b]


@pytest.mark.parametrize("suffix, driver", [(".geojson", "GeoJSON"), (".shp", "ESRI Shapefile"), (".gpkg", "GPKG")])
def test_vector_files_in_gauss_kruger(tmp_path, suffix, driver):
    frame, corners = gk_frame()
    path = tmp_path / f"site{suffix}"
    frame.to_file(path, driver=driver)
    layer = read_site_layer(path)
    assert list(layer.attributes["name"]) == ["a", "b"]
    assert [g.area for g in layer.geometry] == pytest.approx([60_000, 10_000])
    assert layer.source is not None and layer.source.gk is not None and layer.source.gk.zone == 39
    geom, _ = convert(site=str(path))
    expected = shapely.union_all([lonlat_polygon(4527, c) for c in corners])
    assert geom.symmetric_difference(expected).area < 1e-14
    assert ground_area(geom) == pytest.approx(70_000, rel=1e-3)


@pytest.mark.parametrize("suffix, driver", [(".geojson", "GeoJSON"), (".shp", "ESRI Shapefile"), (".gpkg", "GPKG")])
def test_vector_files_in_lon_lat(tmp_path, suffix, driver):
    box = shapely.box(*BAODING)
    path = tmp_path / f"site{suffix}"
    gpd.GeoDataFrame({"name": ["plant"]}, geometry=[box], crs=4490).to_file(path, driver=driver)
    geom, _ = convert(site=str(path))
    assert geom.symmetric_difference(box).area < 1e-14


def test_crs_argument_overrides_the_files_own(tmp_path):
    # a shapefile whose .prj was lost: coordinates are zone-39 numbers, named with crs
    frame, corners = gk_frame()
    path = tmp_path / "site.shp"
    write_without_crs(frame.set_crs(None, allow_override=True), path)
    with pytest.raises(InputError, match="crs"):
        site_geometry(site=str(path))
    geom, _ = convert(site=str(path), crs="cgcs2000-3:39")
    assert geom.symmetric_difference(shapely.union_all([lonlat_polygon(4527, c) for c in corners])).area < 1e-14


# ---- KML ----------------------------------------------------------------------------------

def kml(*folders) -> str:
    """KML text: folders of (name, [(placemark name, geometry KML)])."""
    body = []
    for folder, placemarks in folders:
        body.append(f"<Folder><name>{folder}</name>")
        body += [f"<Placemark><name>{name}</name>{geometry}</Placemark>" for name, geometry in placemarks]
        body.append("</Folder>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            "<name>sites</name>" + "".join(body) + "</Document></kml>\n")


def kml_polygon(box) -> str:
    x0, y0, x1, y1 = box
    coords = " ".join(f"{x},{y},0" for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])
    return ("<Polygon><outerBoundaryIs><LinearRing><coordinates>"
            f"{coords}</coordinates></LinearRing></outerBoundaryIs></Polygon>")


WORKSHOP = ("workshop", kml_polygon(BAODING))
OUTFALL = ("outfall", "<Point><coordinates>115.97,38.93,0</coordinates></Point>")


def test_kml_every_folder_is_read(tmp_path):
    path = tmp_path / "sites.kml"
    path.write_text(kml(("plant", [WORKSHOP]), ("discharge", [OUTFALL])), encoding="utf-8")
    layer = read_site_layer(path)
    assert len(layer.geometry) == 2
    names = dict(zip(layer.attributes["Name"], layer.attributes["kml_folder"]))
    assert names == {"workshop": "plant", "outfall": "discharge"}
    assert shapely.box(*BAODING).symmetric_difference(
        next(g for g in layer.geometry if g.geom_type == "Polygon")).area < 1e-14
    with pytest.raises(InputError, match="mixes points and polygons"):  # a boundary and an outfall point
        convert(site=str(path))


def test_kml_folder_names_stay_with_their_placemarks_when_a_folder_is_empty(tmp_path):
    path = tmp_path / "sites.kml"
    path.write_text(kml(("drafts", []), ("plant", [WORKSHOP]), ("discharge", [OUTFALL])), encoding="utf-8")
    layer = read_site_layer(path)
    names = dict(zip(layer.attributes["Name"], layer.attributes["kml_folder"]))
    assert names == {"workshop": "plant", "outfall": "discharge"}


def test_kml_is_not_given_a_tens_of_metres_caveat(tmp_path):
    # KML is WGS84 by definition, the same as CGCS2000 to centimetres (DOMAIN.md)
    path = tmp_path / "site.kml"
    path.write_text(kml(("plant", [WORKSHOP])), encoding="utf-8")
    _, messages = convert(site=str(path))
    assert not any("tens of metres" in m for m in messages), messages


# ---- DXF -----------------------------------------------------------------------------------

def dxf_text(*entities) -> str:
    """A minimal DXF (ENTITIES section only), as small CAD exports are."""
    lines = ["0", "SECTION", "2", "ENTITIES"]
    for entity in entities:
        lines += entity
    return "\n".join(lines + ["0", "ENDSEC", "0", "EOF"]) + "\n"


def lwpolyline(points, *, closed, layer="boundary"):
    out = ["0", "LWPOLYLINE", "8", layer, "90", str(len(points)), "70", "1" if closed else "0"]
    for x, y in points:
        out += ["10", f"{x:.3f}", "20", f"{y:.3f}"]
    return out


OUTER = rect(E0, N0, 400, 300)
HOLE = rect(E0 + 100, N0 + 100, 100, 100)


def test_dxf_closed_polylines_nested_make_a_polygon_with_a_hole(tmp_path):
    path = tmp_path / "site.dxf"
    path.write_text(dxf_text(lwpolyline(OUTER, closed=True), lwpolyline(HOLE, closed=True)))
    layer = read_site_layer(path)
    assert layer.source is None
    polygons = [g for g in layer.geometry if g.geom_type == "Polygon"]
    assert len(polygons) == 1 and len(polygons[0].interiors) == 1
    assert polygons[0].area == pytest.approx(400 * 300 - 100 * 100)
    geom, _ = convert(site=str(path), crs="EPSG:4527")
    assert geom.symmetric_difference(lonlat_polygon(4527, OUTER, [HOLE])).area < 1e-14


def test_dxf_open_polyline_is_a_line_with_a_note(tmp_path):
    path = tmp_path / "site.dxf"
    road = [(E0 + 500, N0), (E0 + 600, N0 + 50), (E0 + 700, N0)]
    path.write_text(dxf_text(lwpolyline(OUTER, closed=True), lwpolyline(road, closed=False, layer="road")))
    layer = read_site_layer(path)
    kinds = sorted(g.geom_type for g in layer.geometry)
    assert kinds == ["LineString", "Polygon"]
    assert any("open" in n for n in layer.notes), layer.notes


def test_dxf_open_polyline_alone(tmp_path):
    path = tmp_path / "route.dxf"
    road = [(E0 + 500, N0), (E0 + 600, N0 + 50), (E0 + 700, N0)]
    path.write_text(dxf_text(lwpolyline(road, closed=False)))
    geom, messages = convert(site=str(path), crs="EPSG:4527")
    assert geom.geom_type == "LineString"
    lon, lat = to_lonlat(4527, [p[0] for p in road], [p[1] for p in road])
    assert np.allclose(np.asarray(geom.coords), np.column_stack([lon, lat]), atol=1e-9)
    assert any("open" in m for m in messages), messages


def test_dxf_written_by_gdal_hatch_with_hole(tmp_path):
    # GDAL's DXF writer stores polygons as HATCH entities; these come back as polygons
    path = tmp_path / "site.dxf"
    polygon = shapely.Polygon(OUTER, [HOLE])
    write_without_crs(gpd.GeoDataFrame(geometry=[polygon]), path, driver="DXF")
    layer = read_site_layer(path)
    polygons = [g for g in layer.geometry if g.geom_type == "Polygon"]
    assert len(polygons) == 1 and polygons[0].area == pytest.approx(110_000)
    geom, _ = convert(site=str(path), crs="cgcs2000-3")
    assert geom.symmetric_difference(lonlat_polygon(4527, OUTER, [HOLE])).area < 1e-14


def test_dxf_without_crs_asks_for_one(tmp_path):
    path = tmp_path / "site.dxf"
    write_without_crs(gpd.GeoDataFrame(geometry=[shapely.Polygon(OUTER)]), path, driver="DXF")
    with pytest.raises(InputError, match="give crs"):  # the API names its parameter (the CLI says --crs)
        site_geometry(site=str(path))


# ---- the land red-line coordinate TXT (界址点坐标) --------------------------------------------

def red_line_header(datum="2000国家大地坐标系", width=3, zone=39):
    return ["[属性描述]", "格式版本号=1.01版本", "数据产生单位=测试单位", "数据产生日期=2024-05-01",
            f"坐标系={datum}", f"几度分带={width}", "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}",
            "精度=0.01", "转换参数=,,,,,,", "[地块坐标]"]


def vertex_lines(corners, ring, *, start=1, close=True):
    """``point,ring,X,Y`` lines: X is the northing, Y the easting (the Chinese surveying way)."""
    points = list(corners) + ([corners[0]] if close else [])
    return [f"J{start + i},{ring},{n:.3f},{e:.3f}" for i, (e, n) in enumerate(points)]


def parcel_line(points, hectares, number, name, use="工业用地"):
    return f"{points},{hectares:.4f},{number},{name},面,,{use},,@"


def write_red_line(path, lines, encoding="utf-8"):
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


PARCEL_2 = rect(E0 + 600, N0, 100, 100)


def two_parcels():
    return [*red_line_header(),
            parcel_line(10, 11, 1, "地块一"), *vertex_lines(OUTER, 1), *vertex_lines(HOLE, 2, start=6),
            parcel_line(5, 1, 2, "地块二", use="仓储用地"), *vertex_lines(PARCEL_2, 1)]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "utf-8-sig"])
def test_red_line_parcels_with_a_hole(tmp_path, encoding):
    path = write_red_line(tmp_path / "红线.txt", two_parcels(), encoding)
    layer = read_site_layer(path)
    assert list(layer.attributes["name"]) == ["地块一", "地块二"]
    assert list(layer.attributes["use"]) == ["工业用地", "仓储用地"]
    # in the file's own coordinates (easting, northing): area = outer − hole
    assert [g.area for g in layer.geometry] == pytest.approx([400 * 300 - 100 * 100, 100 * 100])
    assert layer.geometry[0].contains(shapely.Point(E0 + 50, N0 + 50))
    assert not layer.geometry[0].contains(shapely.Point(E0 + 150, N0 + 150))  # in the hole
    assert layer.source.gk is not None and layer.source.gk.zone == 39 and layer.source.gk.width == 3
    geom, _ = convert(site=str(path))
    expected = shapely.union_all([lonlat_polygon(4527, OUTER, [HOLE]), lonlat_polygon(4527, PARCEL_2)])
    assert geom.symmetric_difference(expected).area < 1e-14
    assert ground_area(geom) == pytest.approx(120_000, rel=1e-3)


def test_red_line_unclosed_ring_is_closed_with_a_note(tmp_path):
    lines = [*red_line_header(), parcel_line(4, 12, 1, "地块一"), *vertex_lines(OUTER, 1, close=False)]
    path = write_red_line(tmp_path / "红线.txt", lines)
    layer = read_site_layer(path)
    assert layer.geometry[0].area == pytest.approx(120_000)
    assert any("not closed" in n for n in layer.notes), layer.notes
    _, messages = convert(site=str(path))
    assert any("not closed" in m for m in messages), messages


def test_red_line_second_ring_outside_the_first_is_another_part(tmp_path):
    lines = [*red_line_header(), parcel_line(10, 13, 1, "地块一"), *vertex_lines(OUTER, 1),
             *vertex_lines(PARCEL_2, 2, start=6)]
    layer = read_site_layer(write_red_line(tmp_path / "红线.txt", lines))
    assert len(layer.geometry) == 1
    assert layer.geometry[0].area == pytest.approx(120_000 + 10_000)
    assert len(shapely.get_parts(layer.geometry[0])) == 2


@pytest.mark.parametrize("datum", ["1980西安坐标系", "1954北京坐标系"])
def test_red_line_legacy_datum_carries_a_caveat(tmp_path, datum):
    path = write_red_line(tmp_path / "红线.txt", [*red_line_header(datum=datum), parcel_line(5, 12, 1, "地块一"),
                                                  *vertex_lines(OUTER, 1)])
    geom, messages = convert(site=str(path))
    assert any("tens of metres" in m for m in messages), messages
    cgcs = lonlat_polygon(4527, OUTER)
    assert GEOD.inv(geom.centroid.x, geom.centroid.y, cgcs.centroid.x, cgcs.centroid.y)[2] < 200


def test_red_line_six_degree_zone(tmp_path):
    # 6° zone 20 (CM 117°E) with the zone prefix: EPSG:4498, named so in PROJ's database
    assert CRS.from_epsg(4498).name == "CGCS2000 / Gauss-Kruger zone 20"
    lon, lat = to_lonlat(4527, E0, N0)
    e, n = to_projected(4498, lon, lat)
    corners = rect(e, n, 300, 200)
    path = write_red_line(tmp_path / "红线.txt", [*red_line_header(width=6, zone=20), parcel_line(5, 6, 1, "地块一"),
                                                  *vertex_lines(corners, 1)])
    geom, _ = convert(site=str(path))
    assert geom.symmetric_difference(lonlat_polygon(4498, corners)).area < 1e-14


def test_red_line_without_zone_reads_it_from_the_prefix(tmp_path):
    lines = [line for line in two_parcels() if not line.startswith("带号")]
    geom, messages = convert(site=str(write_red_line(tmp_path / "红线.txt", lines)))
    assert any("zone 39" in m for m in messages), messages
    assert ground_area(geom) == pytest.approx(120_000, rel=1e-3)


def test_red_line_without_datum_is_refused(tmp_path):
    lines = [line for line in two_parcels() if not line.startswith("坐标系")]
    with pytest.raises(InputError, match="坐标系"):
        read_site_layer(write_red_line(tmp_path / "红线.txt", lines))


def test_red_line_parcel_without_area_is_refused(tmp_path):
    flat = [(E0, N0), (E0 + 100, N0), (E0 + 200, N0)]  # collinear
    path = write_red_line(tmp_path / "红线.txt", [*red_line_header(), parcel_line(4, 0, 1, "地块一"),
                                                  *vertex_lines(flat, 1)])
    with pytest.raises(InputError, match="no area"):
        site_geometry(site=str(path))


# ---- the acceptance test: the same boundary as red-line TXT and as lon/lat WKT ---------------

def test_red_line_and_lon_lat_wkt_give_the_same_units_and_areas(tmp_path, sample_engine):
    lon0, lat0, lon1, lat1 = BAODING
    e0, n0 = to_projected(4527, lon0, lat0)
    corners = rect(round(e0, 3), round(n0, 3), 430.0, 445.0)  # about BAODING, in zone-39 metres
    path = write_red_line(tmp_path / "红线.txt", [*red_line_header(), parcel_line(5, 19.135, 1, "厂区"),
                                                  *vertex_lines(corners, 1)], "gbk")
    lon, lat = to_lonlat(4527, [c[0] for c in corners], [c[1] for c in corners])
    wkt = "POLYGON((" + ", ".join(f"{a:.9f} {b:.9f}" for a, b in [*zip(lon, lat), (lon[0], lat[0])]) + "))"

    from_red_line = sample_engine.check(site=str(path))
    from_wkt = sample_engine.check(site=wkt)
    units = {u["code"]: u["overlap_m2"] for u in from_wkt.units}
    assert len(units) >= 2  # the fixture does cross a unit boundary
    assert {u["code"] for u in from_red_line.units} == set(units)
    for unit in from_red_line.units:
        assert unit["overlap_m2"] == pytest.approx(units[unit["code"]], rel=1e-3)
    assert sum(units.values()) == pytest.approx(430 * 445, rel=1e-3)
    assert from_red_line.verdict == from_wkt.verdict


# ---- bad geometry --------------------------------------------------------------------------

def test_bow_tie_in_a_geojson_is_repaired_with_a_warning(tmp_path):
    x0, y0, x1, y1 = BAODING
    bow_tie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    path = tmp_path / "site.geojson"
    gpd.GeoDataFrame(geometry=[bow_tie], crs=4490).to_file(path)
    geom, messages = convert(site=str(path))
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    lobes = shapely.union_all([shapely.Polygon([(x0, y0), (xm, ym), (x0, y1)]),
                               shapely.Polygon([(x1, y0), (x1, y1), (xm, ym)])])
    assert geom.is_valid and geom.symmetric_difference(lobes).area < 1e-14
    assert any("Self-intersection" in m and "make_valid" in m for m in messages), messages


def test_unclosed_wkt_ring_is_closed_with_a_warning():
    geom, messages = convert(site="POLYGON((115.96 38.92, 115.98 38.92, 115.98 38.94, 115.96 38.94))")
    assert geom.equals(shapely.box(115.96, 38.92, 115.98, 38.94))
    assert any("not closed" in m for m in messages), messages


@pytest.mark.parametrize("wkt", ["POLYGON EMPTY", "GEOMETRYCOLLECTION EMPTY"])
def test_empty_geometry_is_refused(wkt):
    with pytest.raises(InputError, match="empty"):
        site_geometry(site=wkt)


def test_file_with_only_an_empty_geometry_is_refused(tmp_path):
    path = tmp_path / "site.geojson"
    path.write_text('{"type": "FeatureCollection", "features": '
                    '[{"type": "Feature", "properties": {"name": "x"}, "geometry": null}]}')
    with pytest.raises(InputError, match="no geometry|empty"):
        site_geometry(site=str(path))


def test_zero_area_polygon_in_a_file_is_refused(tmp_path):
    path = tmp_path / "site.wkt"
    path.write_text("POLYGON((115.96 38.92, 115.97 38.93, 115.98 38.94, 115.96 38.92))")
    with pytest.raises(InputError, match="no area"):
        site_geometry(site=str(path), crs="cgcs2000")


# ---- screening site files as registries ------------------------------------------------------

def test_screen_a_red_line_file_one_row_per_parcel(tmp_path, sample_engine):
    lon0, lat0, _, _ = BAODING
    e0, n0 = to_projected(4527, lon0, lat0)
    first, second = rect(e0, n0, 400, 400), rect(e0 - 3000, n0 - 3000, 200, 200)
    lines = [*red_line_header(), parcel_line(5, 16, 1, "地块一"), *vertex_lines(first, 1),
             parcel_line(5, 4, 2, "地块二"), *vertex_lines(second, 1)]
    path = write_red_line(tmp_path / "红线.txt", lines, "gbk")
    out = tmp_path / "out.csv"
    summary = screen(sample_engine, path, out)
    table = pd.read_csv(out)
    assert summary.rows == 2 and len(table) == 2
    assert list(table["name"]) == ["地块一", "地块二"]
    assert table["error"].isna().all()
    assert set(table["verdict"]) <= {"prohibited", "restricted", "undetermined", "permitted"}
    expected = lonlat_polygon(4527, first)
    # the wkt column is rounded to 7 decimals (about 1 cm)
    assert shapely.hausdorff_distance(shapely.from_wkt(table["wkt"][0]), expected) < 2e-7


def test_screen_a_kml_one_row_per_placemark(tmp_path, sample_engine):
    path = tmp_path / "sites.kml"
    path.write_text(kml(("plant", [WORKSHOP]), ("discharge", [OUTFALL])), encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = screen(sample_engine, path, out)
    table = pd.read_csv(out)
    assert summary.rows == 2 and len(table) == 2
    assert dict(zip(table["Name"], table["kml_folder"])) == {"workshop": "plant", "outfall": "discharge"}
    assert table["error"].isna().all()
    codes = dict(zip(table["Name"], table["unit_codes"]))
    assert len(codes["workshop"].split(";")) == 2  # the rectangle crosses a unit boundary


# ---- review findings: header variants, declared areas ------------------------------------

def test_red_line_declared_area_that_disagrees_is_noted(tmp_path):
    corners = rect(E0, N0, 200, 100)  # 2 ha
    lines = [*red_line_header(), parcel_line(5, 0.2, 1, "厂区"), *vertex_lines(corners, 1)]
    layer = read_site_layer(write_red_line(tmp_path / "a.txt", lines))
    assert any("declares 0.2 ha" in n and "2.0000 ha" in n for n in layer.notes), layer.notes
    lines = [*red_line_header(), parcel_line(5, 2.0, 1, "厂区"), *vertex_lines(corners, 1)]
    assert not read_site_layer(write_red_line(tmp_path / "b.txt", lines)).notes


@pytest.mark.parametrize("width_line, zone", [(None, 39), ("几度分带=3度", 39), (None, 20)])
def test_red_line_zone_width_read_from_words_or_the_zone_number(tmp_path, width_line, zone):
    header = [line for line in red_line_header(zone=zone) if not line.startswith("几度分带")]
    if width_line:
        header.insert(5, width_line)
    width = 3 if zone >= 25 else 6
    epsg = 4527 if width == 3 else 4498  # prefixed zones 39 (3°) and 20 (6°)
    e, n = to_projected(epsg, 116.0125, 38.954)
    path = write_red_line(tmp_path / "z.txt", [*header, parcel_line(5, 1.0, 1, "厂区"),
                                                *vertex_lines(rect(e, n, 100, 100), 1)])
    geom, _ = convert(site=str(path))
    assert geom.exterior.coords[0] == pytest.approx((116.0125, 38.954), abs=1e-7)


def test_red_line_without_width_or_zone_is_refused(tmp_path):
    header = [line for line in red_line_header() if not line.startswith(("几度分带", "带号"))]
    path = write_red_line(tmp_path / "z.txt", [*header, parcel_line(5, 1.0, 1, "厂区"),
                                                *vertex_lines(rect(E0, N0, 100, 100), 1)])
    with pytest.raises(InputError, match="neither the zone width"):
        read_site_layer(path)


def test_full_width_digits_in_a_red_line_file(tmp_path):
    lines = [*red_line_header(), parcel_line(5, 1.0, 1, "厂区"), *vertex_lines(rect(E0, N0, 100, 100), 1)]
    text = "\n".join(lines).translate(str.maketrans("0123456789.,", "０１２３４５６７８９．，"))
    path = tmp_path / "fw.txt"
    path.write_text(text, encoding="gbk")
    assert read_site_layer(path).geometry[0].area == pytest.approx(10_000, rel=1e-9)
