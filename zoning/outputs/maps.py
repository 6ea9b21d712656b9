"""Maps for reports: a site over the management units, and a registry's projects by verdict.

Both are drawn with matplotlib (through geopandas' plotting) in a projected
CRS chosen for the frame, in metres, so that the scale bar measures true
distance: a transverse Mercator centred on the frame for extents up to
:data:`TM_SPAN` degrees of longitude, an Albers equal-area conic beyond.
The frame is labelled in longitude and latitude where graticule lines cross
it; the north arrow points to true north at the frame's centre. Text is set in
the fonts of :mod:`zoning.outputs.fonts`, so Chinese renders without a system font.
Background layers (:mod:`zoning.outputs.backgrounds`: county boundaries, rivers,
roads) are drawn over the unit fills and under the zones and the site; labels
(:mod:`zoning.outputs.labels`) never overlap.

:func:`location_figure` and :func:`registry_figure` draw the matplotlib
figures; :func:`location_map` and :func:`registry_map` return them encoded
(PNG, SVG or PDF); :func:`write_map` writes one atomically.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.crs import ProjectedCRS
from pyproj.crs.coordinate_operation import AlbersEqualAreaConversion, TransverseMercatorConversion

from zoning.errors import InputError
from zoning.inputs.units import UNIT_TYPES
from zoning.outputs import backgrounds, fonts, labels
from zoning.outputs.atomic import atomic_path
from zoning.outputs.backgrounds import Background
from zoning.outputs.cartography import graticule, north_arrow, scale_bar
from zoning.verdicts import Verdict

#: unit fills by type, pale so that no verdict colour resembles them (CIEDE2000 above 25 from each):
#: priority protection pale green, key control pale salmon, general control light grey
TYPE_COLOURS = {1: "#c8e3c0", 2: "#f1cdbf", 3: "#e9e9e4"}
#: verdicts (registry dots, siting areas), most serious first (drawn last, on top): the Okabe–Ito
#: colour-blind-safe palette (vermillion, orange, reddish purple, bluish green, blue), dots outlined in black
VERDICT_COLOURS = {Verdict.PROHIBITED.key: "#d55e00", Verdict.RESTRICTED.key: "#e69f00",
                   Verdict.UNDETERMINED.key: "#cc79a7", Verdict.PERMITTED.key: "#009e73",
                   Verdict.NOT_COVERED.key: "#0072b2"}
SITE_COLOUR = "#e0001b"
ZONE_COLOUR = "#1f5fa8"
ZONE_LABEL_COLOUR = "#17477e"
#: widest longitude span drawn in transverse Mercator
TM_SPAN = 6.0
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: most unit codes labelled on a location map
MAX_LABELS = 40
_CGCS2000 = CRS.from_epsg(4490)


def map_format(path) -> str:
    """The image format for an output path, from its extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"output {path}: a map is written as {', '.join(FORMATS)}, not {suffix or '(none)'}")
    return FORMATS[suffix]


def frame_crs(west: float, south: float, east: float, north: float) -> CRS:
    """A projected CGCS2000 CRS for a frame: transverse Mercator on its central meridian, or an
    Albers equal-area conic (standard parallels at 1/6 and 5/6 of its latitudes) when wider than
    :data:`TM_SPAN` degrees."""
    lon0 = (west + east) / 2
    conversion: TransverseMercatorConversion | AlbersEqualAreaConversion
    if east - west <= TM_SPAN:
        conversion = TransverseMercatorConversion(latitude_natural_origin=0, longitude_natural_origin=lon0,
                                                  false_easting=0, false_northing=0, scale_factor_natural_origin=1)
    else:
        span = north - south
        conversion = AlbersEqualAreaConversion(latitude_first_parallel=south + span / 6,
                                               latitude_second_parallel=north - span / 6,
                                               latitude_false_origin=(south + north) / 2,
                                               longitude_false_origin=lon0)
    return ProjectedCRS(conversion=conversion, geodetic_crs=_CGCS2000)


def location_map(engine, result, *, fmt: str = "png", dpi: int = 200, **options) -> bytes:
    """:func:`location_figure` encoded as ``fmt`` (png, svg or pdf)."""
    return _encode(location_figure(engine, result, **options), fmt, dpi)


def registry_map(engine, lon, lat, verdict, *, fmt: str = "png", dpi: int = 200, **options) -> bytes:
    """:func:`registry_figure` encoded as ``fmt`` (png, svg or pdf)."""
    return _encode(registry_figure(engine, lon, lat, verdict, **options), fmt, dpi)


def location_figure(engine, result, *, width_m: float | None = None, title: str | None = None,
                    size_cm: tuple[float, float] = (16.0, 14.0), background: list[Background] | None = None):
    """The site of ``result`` (a :class:`zoning.verdicts.Result` from ``engine``) over the units
    around it, coloured by type, with the unit codes labelled (those the site lies in, boxed),
    overlay zones outlined and named, background layers with their names, a scale bar, a north
    arrow and a longitude/latitude frame.

    ``width_m`` is the frame's width in metres (default: 2.5 times the site's extent, at least 8 km);
    ``background``: layers of :mod:`zoning.outputs.backgrounds` (default: :func:`~zoning.outputs.
    backgrounds.resolve`'s, i.e. the sample's county boundaries on the sample units).
    """
    if result.geometry is None:
        raise InputError("the result has no site geometry to map")
    import matplotlib

    with matplotlib.rc_context(fonts.rc()):
        site = gpd.GeoSeries([result.geometry], crs=_CGCS2000)
        west, south, east, north = site.total_bounds
        aspect = _aspect(size_cm, title)
        for _ in range(2):  # the frame, in a CRS chosen for the site; then a CRS chosen for that frame
            crs = frame_crs(west, south, east, north)
            local = site.to_crs(crs)
            x0, y0, x1, y1 = local.total_bounds
            size = width_m or max(8000.0, 2.5 * max(x1 - x0, y1 - y0))
            if not (np.isfinite(size) and size > 0):
                raise InputError(f"map width {width_m!r} m must be a positive number")
            frame = _centred((x0 + x1) / 2, (y0 + y1) / 2, size, aspect)
            west, south, east, north = _outline(frame, crs).bounds

        fig, ax = _figure(size_cm, title)
        units = _in_frame(engine.units, frame, crs)
        _draw_units(ax, units, edge=0.6)
        shown = draw_backgrounds(ax, engine, background, frame, crs)
        zones = _in_frame(engine.zones, frame, crs) if len(engine.zones) else engine.zones.iloc[:0]
        if len(zones):
            zones.plot(ax=ax, facecolor="none", edgecolor=ZONE_COLOUR, linewidth=0.9, linestyle="--", zorder=3)
            zones.plot(ax=ax, facecolor="none", edgecolor=ZONE_COLOUR, linewidth=0, hatch="//", alpha=0.35,
                       zorder=3)
        labeller = labels.Labeller(ax, frame)
        labels.furniture(labeller)
        site = local.iloc[0]
        if shapely.get_dimensions(site) == 0:
            labeller.reserve(site, pad_pt=7)
        inside = {u["code"] for u in result.units}
        labels.label_units(labeller, units, inside, site, MAX_LABELS, mine=True)  # boxed, always
        labels.label_zones(labeller, zones, ZONE_LABEL_COLOUR)
        labels.label_units(labeller, units, inside, site, MAX_LABELS, mine=False)
        label_backgrounds(labeller, shown)
        _draw_site(ax, site)
        handles = _type_handles()
        if len(zones):
            handles.append(_patch(facecolor="none", edgecolor=ZONE_COLOUR, hatch="///", linestyle="--",
                                  label="叠加管控区 overlay zone"))
        handles += [backgrounds.handle(b) for b, _ in shown]
        handles.append(_site_handle(site))
        _finish(fig, ax, frame, crs, title, handles)
        _footer(fig, crs, engine, extra=f"管控要求执行日期 rules as of {engine.as_of}", shown=shown)
        return fig


def registry_figure(engine, lon: np.ndarray, lat: np.ndarray, verdict: np.ndarray, *, title: str | None = None,
                    size_cm: tuple[float, float] = (16.0, 14.0), background: list[Background] | None = None):
    """Every located project of a screened registry as a dot coloured by verdict, outlined in black
    (the most serious drawn last, on top), over the units of the frame and the background layers
    (default as :func:`location_figure`'s)."""
    import matplotlib

    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    verdict = np.asarray(verdict, dtype=object)
    located = np.isfinite(lon) & np.isfinite(lat) & pd.Series(verdict).isin(list(VERDICT_COLOURS)).to_numpy()
    with matplotlib.rc_context(fonts.rc()):
        if located.any():
            west, east = lon[located].min(), lon[located].max()
            south, north = lat[located].min(), lat[located].max()
        else:
            west, south, east, north = engine.units.total_bounds
        crs = frame_crs(west, south, east, north)
        x, y = Transformer.from_crs(_CGCS2000, crs, always_xy=True).transform(lon[located], lat[located])
        if located.any():
            x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
        else:  # nothing to place: the units' extent
            box = shapely.segmentize(shapely.box(west, south, east, north), (east - west) / 16)
            x0, y0, x1, y1 = gpd.GeoSeries([box], crs=_CGCS2000).to_crs(crs).total_bounds
        aspect = _aspect(size_cm, title)
        width = max(x1 - x0, (y1 - y0) / aspect, 4000.0) * 1.1
        frame = _centred((x0 + x1) / 2, (y0 + y1) / 2, width, aspect)

        fig, ax = _figure(size_cm, title)
        units = _in_frame(engine.units, frame, crs, simplify=width / 1500)
        _draw_units(ax, units, edge=0.5 if len(units) < 2000 else 0.0)
        layers = draw_backgrounds(ax, engine, background, frame, crs, simplify=width / 1500)
        shown = verdict[located]
        n = int(located.sum())
        dot, outline = (16.0, 0.4) if n <= 1_000 else (5.0, 0.2) if n <= 50_000 else (0.6, 0.0)
        selected = {v: shown == v for v in VERDICT_COLOURS}
        for v in reversed(list(VERDICT_COLOURS)):  # prohibited last, on top
            sel = selected[v]
            ax.scatter(x[sel], y[sel], s=dot, c=VERDICT_COLOURS[v], edgecolors="black" if outline else "none",
                       linewidths=outline, zorder=5, rasterized=n > 1_000)
        labeller = labels.Labeller(ax, frame)
        labels.furniture(labeller)
        label_backgrounds(labeller, layers)
        handles = _type_handles() + [backgrounds.handle(b) for b, _ in layers]
        for v in VERDICT_COLOURS:
            count = int(selected[v].sum())
            handles.append(matplotlib.lines.Line2D([], [], marker="o", linestyle="none", markersize=5,
                                                   markerfacecolor=VERDICT_COLOURS[v], markeredgecolor="black",
                                                   markeredgewidth=0.4,
                                                   label=f"{Verdict.of(v).zh_short} {Verdict.of(v).en} ({count:,})"))
        _finish(fig, ax, frame, crs, title, handles)
        unplaced = len(lon) - n
        _footer(fig, crs, engine, extra=f"{n:,} 个项目 projects mapped"
                + (f"; {unplaced:,} without a location or verdict not shown" if unplaced else ""), shown=layers)
        return fig


def write_map(data: bytes, path) -> None:
    """Write an encoded map atomically (the format is checked against the path's extension first)."""
    map_format(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


#: margins around the map, in cm: left, right, bottom (coordinates, legend, footer), top (coordinates)
_MARGINS = (1.2, 1.0, 2.9, 0.9)
_TITLE_CM = 0.8


def _aspect(size_cm, title) -> float:
    """The map's height to width, in the figure's layout."""
    left, right, bottom, top = _MARGINS
    return (size_cm[1] - bottom - top - (_TITLE_CM if title else 0)) / (size_cm[0] - left - right)


def _figure(size_cm, title):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w, h = size_cm
    left, right, bottom, top = _MARGINS
    top += _TITLE_CM if title else 0
    fig = Figure(figsize=(w / 2.54, h / 2.54))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((left / w, bottom / h, 1 - (left + right) / w, 1 - (bottom + top) / h))
    ax.set_facecolor("#f4f6f8")
    return fig, ax


def _centred(cx: float, cy: float, width: float, aspect: float) -> tuple[float, float, float, float]:
    """A frame ``width`` wide and ``width × aspect`` high around (cx, cy)."""
    return cx - width / 2, cy - width * aspect / 2, cx + width / 2, cy + width * aspect / 2


def _outline(frame, crs: CRS, to=_CGCS2000):
    """The frame (projected in ``crs``) as a polygon in ``to``, its edges densified so they bend."""
    outline = gpd.GeoSeries([shapely.box(*frame)], crs=crs).segmentize((frame[2] - frame[0]) / 16)
    return outline.to_crs(to).iloc[0]


def _in_frame(layer: gpd.GeoDataFrame, frame, crs: CRS, simplify: float = 0.0) -> gpd.GeoDataFrame:
    """The features of ``layer`` that reach into ``frame`` (projected), in ``crs``, clipped to it."""
    reach = _outline(frame, crs, to=layer.crs)
    hits = np.sort(layer.sindex.query(reach, predicate="intersects"))
    found = layer.iloc[hits]
    if simplify:  # for drawing only: fewer vertices to project and draw (40,000 detailed units: 14 M)
        # a degree of latitude is ~111.3 km and one of longitude less, so no vertex moves more than
        # ``simplify`` metres; without topology preservation it is ~20 times faster, and a unit too
        # small to see may vanish
        tolerance = simplify / 111_320 if layer.crs.is_geographic else simplify
        geoms = shapely.simplify(found.geometry.to_numpy(), tolerance, preserve_topology=False)
        found = found.set_geometry(geoms)
    found = found.to_crs(crs)
    found = found.set_geometry(shapely.clip_by_rect(found.geometry.to_numpy(), *frame))
    return found[~found.geometry.is_empty]


def _draw_units(ax, units: gpd.GeoDataFrame, *, edge: float, alpha: float = 1.0) -> None:
    for t, colour in TYPE_COLOURS.items():
        sel = units[units["type"].astype(int) == t]
        if len(sel):
            sel.plot(ax=ax, facecolor=colour, edgecolor="#5a5a5a" if edge else "none", linewidth=edge,
                     alpha=alpha, zorder=1)


def draw_backgrounds(ax, engine, given: list[Background] | None, frame, crs: CRS, simplify: float = 0.0) -> list:
    """Draw the map's background layers (:func:`zoning.outputs.backgrounds.resolve`) in ``frame``;
    returns (layer, its features in the frame) for each layer that has some there."""
    shown = []
    for layer in backgrounds.resolve(engine, given):
        features = _in_frame(layer.features, frame, crs, simplify=simplify)
        if backgrounds.draw(ax, layer, features):
            shown.append((layer, features))
    return shown


def label_backgrounds(labeller, shown: list) -> None:
    """Name the features of the background layers ``shown`` (after the units and zones)."""
    for layer, features in shown:
        backgrounds.label(layer, features, labeller)


def _draw_site(ax, geom) -> None:
    dims = shapely.get_dimensions(geom)
    site = gpd.GeoSeries([geom])
    if dims == 0:
        coords = shapely.get_coordinates(geom)
        ax.plot(coords[:, 0], coords[:, 1], marker="*", markersize=17, color=SITE_COLOUR, markeredgecolor="black",
                markeredgewidth=0.8, linestyle="none", zorder=8)
    elif dims == 1:
        site.plot(ax=ax, color=SITE_COLOUR, linewidth=2.4, zorder=8)
    else:
        site.plot(ax=ax, facecolor=SITE_COLOUR, alpha=0.18, edgecolor="none", zorder=7)
        site.boundary.plot(ax=ax, color=SITE_COLOUR, linewidth=1.8, zorder=8)


def _patch(**kw):
    from matplotlib.patches import Patch

    return Patch(**kw)


def _type_handles() -> list:
    return [_patch(facecolor=TYPE_COLOURS[t], edgecolor="#5a5a5a", linewidth=0.5, label=f"{name} {english}")
            for t, (_, name, english) in UNIT_TYPES.items()]


def _site_handle(geom):
    from matplotlib.lines import Line2D

    if shapely.get_dimensions(geom) == 0:
        return Line2D([], [], marker="*", markersize=10, color=SITE_COLOUR, markeredgecolor="black",
                      markeredgewidth=0.6, linestyle="none", label="项目位置 project site")
    return _patch(facecolor=(0.88, 0.0, 0.1, 0.18), edgecolor=SITE_COLOUR, linewidth=1.5,
                  label="项目位置 project site")


def _finish(fig, ax, frame, crs: CRS, title: str | None, handles: list) -> None:
    """Frame, graticule, scale bar, north arrow, title, and the legend below the map."""
    ax.set_xlim(frame[0], frame[2])
    ax.set_ylim(frame[1], frame[3])
    ax.set_aspect("equal")
    ax.set_xlabel("")
    ax.set_ylabel("")
    back = Transformer.from_crs(crs, _CGCS2000, always_xy=True)
    forth = Transformer.from_crs(_CGCS2000, crs, always_xy=True)
    graticule(ax, frame, back, forth)
    scale_bar(ax, frame)
    north_arrow(ax, frame, back, forth)
    if title:
        ax.set_title(title, fontsize=10, pad=16)
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.95 / fig.get_figheight() / 2.54),
               ncol=3, fontsize=6.5, frameon=False, columnspacing=1.4, handletextpad=0.5)


def _footer(fig, crs: CRS, engine, extra: str, shown: Sequence = ()) -> None:
    operation = crs.coordinate_operation
    assert operation is not None  # frame_crs makes projected CRSs
    method = operation.method_name
    lon0 = next(p.value for p in operation.params if "longitude" in p.name.lower())
    projection = ("横轴墨卡托 transverse Mercator" if "Mercator" in method else "Albers 等积圆锥 equal-area conic")
    source = Path(engine.sources[0]).name if engine.sources else "units layer"
    illustrative = engine.illustrative
    units = f"管控单元 units: {source}" + ("（示例数据，仅供演示 illustrative sample）" if illustrative else "")
    credits = "；".join(dict.fromkeys(layer.credit for layer, _ in shown))
    fig.text(0.5, 0.01, f"坐标系 CGCS2000，{projection}，中央经线 central meridian {lon0:.4f}°E\n{units}；{extra}"
             + (f"\n背景 background: {credits}" if credits else ""),
             ha="center", va="bottom", fontsize=5.5, color="#444444", linespacing=1.4)


def _encode(fig, fmt: str, dpi: int) -> bytes:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context(fonts.rc()):
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata={"Software": None} if fmt == "png" else None)
    return buffer.getvalue()
