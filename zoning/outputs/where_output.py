"""A siting map's outputs: the layer as GPKG, GeoJSON, GeoParquet or CSV, and a figure by verdict.

:func:`write_where` writes the polygons of :meth:`zoning.engine.Engine.where`
atomically (CSV without geometry); :func:`where_figure` draws them coloured
by verdict, with the cartography of :mod:`zoning.outputs.maps` (projected
frame, scale bar, north arrow, graticule, footer, background layers with
their names), encouraged areas hatched and overlay zones outlined and named.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from zoning.errors import DataError, ParameterError
from zoning.outputs import backgrounds, fonts, labels, maps
from zoning.outputs.atomic import atomic_path
from zoning.outputs.backgrounds import Background
from zoning.outputs.formats import output_format
from zoning.outputs.writers import open_writer, write_table
from zoning.verdicts import Verdict

#: formats a siting map is written in
WHERE_FORMATS = ("gpkg", "geojson", "parquet", "csv")


def write_where(layer: gpd.GeoDataFrame, path, *, sources=()) -> int:
    """Write ``layer`` to ``path`` (.gpkg, .geojson, .parquet or .csv: no geometry); returns the polygon
    count. ``sources`` are the files the engine read, which an output must not replace."""
    fmt = output_format(path)
    if fmt not in WHERE_FORMATS:
        raise DataError(f"output {path}: a siting map is written as .gpkg, .geojson, .parquet or .csv")
    if Path(path).resolve() in {Path(p).resolve() for p in sources}:
        raise ParameterError(f"output {path}: that is one of the files the units or lists were loaded from")
    properties = pd.DataFrame(layer.drop(columns=layer.geometry.name))
    if fmt == "csv":
        write_table(properties, path)
        return len(layer)
    with atomic_path(path) as tmp:
        writer = open_writer(tmp, fmt, layer=Path(path).stem, geometry_type="MultiPolygon" if fmt == "gpkg"
                             else "Unknown")
        try:
            writer.write(properties, layer.geometry.to_numpy())
            writer.close()
        except BaseException:
            writer.abort()
            raise
    return len(layer)


def where_map(engine, layer: gpd.GeoDataFrame, *, fmt: str = "png", dpi: int = 200, **options) -> bytes:
    """:func:`where_figure` encoded as ``fmt`` (png, svg or pdf)."""
    return maps._encode(where_figure(engine, layer, **options), fmt, dpi)


def where_figure(engine, layer: gpd.GeoDataFrame, *, title: str | None = None,
                 size_cm: tuple[float, float] = (16.0, 14.0), background: list[Background] | None = None):
    """The polygons of a siting map filled by verdict, unit edges over them, encouraged areas hatched,
    overlay zones dashed and named, background layers (default as
    :func:`zoning.outputs.maps.location_figure`'s) with their names; the legend gives each verdict's area."""
    import matplotlib

    with matplotlib.rc_context(fonts.rc()):
        extent = layer.total_bounds if len(layer) else engine.units.total_bounds
        crs = maps.frame_crs(*extent)
        x0, y0, x1, y1 = gpd.GeoSeries([shapely.segmentize(shapely.box(*extent), (extent[2] - extent[0]) / 16)],
                                       crs=maps._CGCS2000).to_crs(crs).total_bounds
        aspect = maps._aspect(size_cm, title)
        width = max(x1 - x0, (y1 - y0) / aspect, 2000.0) * 1.06
        frame = maps._centred((x0 + x1) / 2, (y0 + y1) / 2, width, aspect)
        fig, ax = maps._figure(size_cm, title)
        simplify = width / 1500 if len(layer) > 2000 else 0.0
        shown = maps._in_frame(layer, frame, crs, simplify=simplify)
        handles = []
        for verdict, colour in maps.VERDICT_COLOURS.items():
            chosen = shown[shown["verdict"] == verdict]
            if len(chosen):
                chosen.plot(ax=ax, facecolor=colour, edgecolor="none", alpha=0.75, zorder=1)
            area = float(layer.loc[layer["verdict"] == verdict, "area_ha"].sum())
            if area:
                handles.append(maps._patch(facecolor=colour, alpha=0.75, label=f"{Verdict.of(verdict).zh_short} "
                                           f"{Verdict.of(verdict).en} {_hectares_text(area)}"))
        encouraged = shown[shown["encouraged"].astype(bool)]
        if len(encouraged):
            encouraged.plot(ax=ax, facecolor="none", edgecolor="#0b5d1e", hatch="...", linewidth=0, zorder=2)
            handles.append(maps._patch(facecolor="none", edgecolor="#0b5d1e", hatch="...",
                                       label="鼓励 encouraged"))
        shown_backgrounds = maps.draw_backgrounds(ax, engine, background, frame, crs, simplify=width / 1500)
        units = maps._in_frame(engine.units, frame, crs, simplify=simplify)
        units.plot(ax=ax, facecolor="none", edgecolor="#333333", linewidth=0.5 if len(units) < 2000 else 0.1,
                   zorder=3)
        zones = maps._in_frame(engine.zones, frame, crs) if len(engine.zones) else engine.zones.iloc[:0]
        if len(zones):
            zones.plot(ax=ax, facecolor="none", edgecolor=maps.ZONE_COLOUR, linewidth=0.8, linestyle="--", zorder=4)
            handles.append(maps._patch(facecolor="none", edgecolor=maps.ZONE_COLOUR, linestyle="--",
                                       label="叠加管控区 overlay zone"))
        labeller = labels.Labeller(ax, frame)
        labels.furniture(labeller)
        labels.label_zones(labeller, zones, maps.ZONE_LABEL_COLOUR)
        maps.label_backgrounds(labeller, shown_backgrounds)
        handles += [backgrounds.handle(b) for b, _ in shown_backgrounds]
        maps._finish(fig, ax, frame, crs, title, handles)
        project = layer.attrs.get("project", {})
        described = "，".join(f"{k}={v}" for k, v in project.items())
        maps._footer(fig, crs, engine, extra=f"选址引导 siting map for {described}; rules as of {engine.as_of}",
                     shown=shown_backgrounds)
        return fig


def _hectares_text(area: float) -> str:
    return f"{area / 100:,.1f} km²" if area >= 100 else f"{area:,.1f} ha"

