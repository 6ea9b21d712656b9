"""Project registries as bureaus keep them, opened for reading in chunks of raw rows.

A registry is a table of projects: a workbook (``.xlsx``, ``.xlsb``, ``.xls``,
``.ods``; :mod:`zoning.inputs.workbooks`), a CSV saved by Excel
(often GBK in a Chinese locale), a vector layer (GeoPackage, Shapefile,
GeoJSON, GeoJSON text sequences) or a site file (KML, DXF, red-line TXT:
one row per feature). :func:`open_registry` reads it in chunks of raw rows,
exactly as they are in the file, with spreadsheet row numbers; headers are
recognised by :mod:`zoning.inputs.headers` and rows located by
:mod:`zoning.inputs.coordinates`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from zoning.errors import DataError, parameter
from zoning.inputs.crs import SourceCRS, from_pyproj
from zoning.inputs.csvfile import open_csv
from zoning.inputs.guards import check_cells
from zoning.inputs.sitefiles import SITE_FORMATS, is_red_line
from zoning.inputs.sites import read_site_layer
from zoning.inputs.vector import DEFAULT_IO_ENGINE, check_io_engine
from zoning.inputs.workbooks import WORKBOOKS, open_workbook

TABULAR = {".csv": "csv", ".txt": "csv", ".tsv": "csv", **WORKBOOKS}
VECTOR = {".gpkg": "gpkg", ".shp": "shp", ".geojson": "geojson", ".json": "geojson",
          ".geojsons": "geojsons", ".geojsonl": "geojsons", ".geojsonseq": "geojsons"}
#: site-file formats screened one feature per row (read whole, see zoning.sites); .txt may also be a red-line file
SITE_ONLY = {".kml": "kml", ".dxf": "dxf"}
DEFAULT_CHUNK = 250_000


@dataclass
class Registry:
    """An opened registry: its format, headers and a chunked reader of raw rows."""

    path: Path
    format: str
    headers: list[str]
    total: int | None  # rows, when known in advance
    encoding: str | None = None
    source: SourceCRS | None = None  # vector inputs: the layer's coordinate system, when it has one
    skipped: list[str] = field(default_factory=list)  # notes on rows that are not data (titles, blanks)
    _chunks: Iterator = field(default_factory=lambda: iter(()))
    sheet: str | None = None  # Excel: the sheet (or layer) read, and all of them
    sheets: list[str] = field(default_factory=list)
    #: how the reader reads it, as recognised on opening (a CSV's delimiter and header line; a vector layer's
    #: name and CRS), for a cluster's workers to read parts of it the same way (:mod:`zoning.cluster`)
    settings: dict = field(default_factory=dict)

    @property
    def is_vector(self) -> bool:
        return self.format in {*VECTOR.values(), *SITE_ONLY.values(), "red-line"}

    def chunks(self) -> Iterator[tuple[pd.DataFrame, gpd.GeoSeries | None, np.ndarray, np.ndarray | None]]:
        """Yield ``(rows, geometry or None, row numbers, problems)``: row numbers are the rows a spreadsheet
        shows; problems, when not None, give a one-line reason for each row the reader found malformed."""
        yield from self._chunks


def open_registry(path, *, encoding: str | None = None, sheet=None, layer=None,
                  io_engine: str = DEFAULT_IO_ENGINE, chunk_size: int = DEFAULT_CHUNK) -> Registry:
    """Open a registry for chunked reading (format from the file extension)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"registry {path}: no such file")
    suffix = path.suffix.lower()
    if suffix in SITE_ONLY or (suffix == ".txt" and is_red_line(path)):
        return _open_site_file(path, io_engine)
    if suffix in TABULAR:
        fmt = TABULAR[suffix]
        if fmt == "csv":
            return _open_csv(path, encoding, chunk_size)
        return _open_workbook(path, sheet, chunk_size)
    if suffix in VECTOR:
        check_io_engine(io_engine)
        return _open_vector(path, VECTOR[suffix], layer, io_engine, chunk_size)
    known = ", ".join(sorted({*TABULAR, *VECTOR, *SITE_ONLY}))
    raise DataError(f"registry {path}: unknown format {suffix or '(no extension)'!r} (known: {known})")


def _open_csv(path: Path, encoding: str | None, chunk_size: int) -> Registry:
    opened = open_csv(path, encoding, chunk_size)

    def chunks():
        for rows, numbers, problems in opened.chunks():
            yield rows, None, numbers, problems

    return Registry(path, "csv", opened.headers, None, encoding=opened.encoding, skipped=opened.notes,
                    _chunks=chunks(), settings={"sep": opened.sep, "header_at": opened.header_at})


def _open_workbook(path: Path, sheet, chunk_size: int) -> Registry:
    book = open_workbook(path, sheet, chunk_size)

    def chunks():
        for rows, numbers in book.chunks:
            yield rows, None, numbers, None

    return Registry(path, book.format, book.headers, book.total, skipped=book.notes, _chunks=chunks(),
                    sheet=book.sheet, sheets=book.sheets)


def _open_vector(path: Path, fmt: str, layer, io_engine: str, chunk_size: int) -> Registry:
    notes = []
    if layer is None:
        try:
            layers = [str(x) for x in pyogrio.list_layers(path)[:, 0]]
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
            layers = []
        if len(layers) > 1:
            layer = layers[0]
            notes.append(f"read layer {layer!r} of {len(layers)} ({', '.join(layers)}); {parameter('layer')} to choose")
    try:
        info = pyogrio.read_info(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"registry {path}: cannot read: {first}") from None
    crs = info.get("crs")
    headers = [str(f) for f in info["fields"]]
    total = int(info["features"]) if info.get("features", -1) >= 0 else None

    def chunks_pyogrio():
        yield from read_features(path, layer, crs, chunk_size)

    def chunks_fiona():
        import fiona  # imported only when chosen: it is the slower engine and costs start-up time

        start = 0
        with fiona.open(path, layer=layer) as src:
            batch = []
            for feature in src:
                batch.append(feature)
                if len(batch) == chunk_size:
                    yield (*_fiona_frame(batch, headers, crs, start), None)
                    start += len(batch)
                    batch = []
            if batch:
                yield (*_fiona_frame(batch, headers, crs, start), None)

    chunks = chunks_pyogrio() if io_engine == "pyogrio" else chunks_fiona()
    source = from_pyproj(CRS.from_user_input(crs)) if crs else None
    return Registry(path, fmt, headers, total, source=source, _chunks=chunks, skipped=notes,
                    settings={"layer": layer, "crs": crs, "io_engine": io_engine})


def read_features(path: Path, layer, crs, chunk_size: int, start: int = 0, count: int | None = None
                  ) -> Iterator[tuple[pd.DataFrame, gpd.GeoSeries, np.ndarray, None]]:
    """A vector layer's features (all, or ``count`` from the ``start``-th) in chunks of ``chunk_size``, read
    by pyogrio, with their row numbers (the feature's position, from 1)."""
    left = count
    with pyogrio.raw.open_arrow(path, layer=layer, batch_size=chunk_size, use_pyarrow=True,
                                skip_features=start) as (meta, reader):
        geom_col = meta["geometry_name"] or "wkb_geometry"
        for batch in reader:
            if left is not None:  # (Arrow reading takes no max_features)
                if left <= 0:
                    return
                batch = batch.slice(0, left)
                left -= len(batch)
            frame = batch.to_pandas()
            wkb = frame.pop(geom_col).to_numpy() if geom_col in frame else np.full(len(frame), None)
            check_cells(frame, f"registry {path}", first_row=start + 1)
            geometry = gpd.GeoSeries(shapely.from_wkb(wkb), index=frame.index, crs=crs)
            yield frame, geometry, np.arange(start + 1, start + len(frame) + 1), None
            start += len(frame)


def _open_site_file(path: Path, io_engine: str) -> Registry:
    """KML, DXF and red-line files: small, read whole through :mod:`zoning.inputs.sites`, one feature per row."""
    layer = read_site_layer(path, io_engine=io_engine)
    raw = layer.attributes.reset_index(drop=True)
    raw.columns = [str(c) for c in raw.columns]
    fmt = SITE_FORMATS[path.suffix.lower()]

    def chunks():
        yield raw, layer.geometry, np.arange(1, len(raw) + 1), None

    return Registry(path, fmt, list(raw.columns), len(raw), source=layer.source, _chunks=chunks(),
                    skipped=list(layer.notes))


def _fiona_frame(features, headers, crs, start):
    frame = pd.DataFrame([dict(f["properties"]) for f in features], columns=headers)
    geometry = gpd.GeoSeries([shapely.geometry.shape(f["geometry"]) if f["geometry"] else None
                              for f in features], index=frame.index, crs=crs)
    return frame, geometry, np.arange(start + 1, start + len(frame) + 1)
