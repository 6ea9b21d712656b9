"""Writing result rows in chunks: CSV, Excel, GeoPackage, GeoJSON, GeoJSON sequences, GeoParquet.

:func:`open_writer` gives a :class:`TableWriter` for a format; ``write`` is
called once per chunk and ``close`` at the end, so memory is bounded by the
chunk, not the registry. Callers write to a temporary path from
:func:`zoning.outputs.atomic.atomic_path`.

CSV keeps every cell as read; the other formats write typed columns
(numbers, flags, dates, null for a blank; :mod:`zoning.outputs.columns`)
whose types are fixed by the first chunk. The Excel writer is
:mod:`zoning.outputs.excel`.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pyogrio
import shapely

from zoning.geodesy import GEOGRAPHIC
from zoning.geojson import geojson_geometries
from zoning.outputs.atomic import atomic_path
from zoning.outputs.columns import ColumnTypes, text_array
from zoning.outputs.excel import ExcelWriter
from zoning.outputs.formats import output_format

RS = "\x1e"  # RFC 8142 record separator


def feature_strings(properties: pd.DataFrame, geometry: np.ndarray,
                    raw_json: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """RFC 7946 Feature JSON texts, one per row, built column-wise.

    ``geometry`` must be in lon/lat. Coordinates are rounded to 7 decimals
    (about 1 cm), polygon exterior rings made counter-clockwise and holes
    clockwise; a missing geometry becomes ``null``. Properties are serialised
    by pandas (NaN as null, dates as ISO 8601); ``raw_json`` adds properties
    whose values are already JSON texts (nested arrays or objects).
    """
    geoms = np.asarray(geometry, dtype=object)
    present = ~shapely.is_missing(geoms)
    geo_json = np.full(len(geoms), "null", dtype=object)
    if present.any():
        oriented = shapely.orient_polygons(shapely.force_2d(geoms[present]), exterior_cw=False)
        geo_json[present] = geojson_geometries(oriented)
    if len(properties.columns):
        props = properties.to_json(orient="records", lines=True, force_ascii=False, date_format="iso",
                                   default_handler=str)
        prop_json = np.array(props.rstrip("\n").split("\n"), dtype=object) if len(properties) else np.array([])
    else:
        prop_json = np.full(len(geoms), "{}", dtype=object)
    for name, values in (raw_json or {}).items():
        head = np.where(prop_json == "{}", "{", pd.Series(prop_json).str.slice(0, -1).to_numpy(dtype=object) + ",")
        prop_json = head + json.dumps(name) + ":" + values + "}"
    return '{"type":"Feature","properties":' + prop_json + ',"geometry":' + geo_json + "}"


class TableWriter:
    """Writes result chunks to one output file; see :func:`open_writer`."""

    def __init__(self, path: Path, *, layer: str, geometry_type: str = "Unknown", verdict_column: str = "verdict",
                 text_columns=(), parse_columns=()):
        self.path = path
        self.layer = layer
        self.geometry_type = geometry_type
        self.verdict_column = verdict_column  # where the verdict is (``zoning_verdict`` if the input had one)
        self.rows = 0
        # typed formats: the columns that stay text, and those read as text whose numbers and flags are typed
        self.types = ColumnTypes(text=text_columns, parse=parse_columns)

    @property
    def notes(self) -> list[str]:
        """Cells that did not fit their column's type (written as null), per column."""
        return self.types.notes()

    def write(self, frame: pd.DataFrame, geometry: np.ndarray | None, raw_json=None) -> None:
        """Append rows; ``raw_json`` ({column: JSON texts}) is only for GeoJSON outputs."""
        raise NotImplementedError

    def close(self, summary: list[tuple[str, str, int]] | None = None) -> None:
        """Finish the file; ``summary`` rows (section, label, count) where the format has room."""

    def abort(self) -> None:
        """Release open handles after a failure (the caller removes the file)."""
        file = getattr(self, "file", None)
        if file is not None and not file.closed:
            file.close()
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.close()


class CsvWriter(TableWriter):
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly.

    Written by Arrow's CSV writer (about 4× faster than pandas here); fields
    are quoted only where needed, empty cells stay empty. Text that a
    spreadsheet would run as a formula is made inert
    (:func:`neutralise_formulas`).
    """

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        self.file = open(path, "wb")
        self.file.write(codecs.BOM_UTF8)
        self.writer = None

    def write(self, frame, geometry, raw_json=None):
        table = neutralise_formulas(arrow_table(_with_text_columns(frame, raw_json)))
        if self.writer is None:
            self.schema = table.schema
            self.writer = pa_csv.CSVWriter(self.file, self.schema,
                                           write_options=pa_csv.WriteOptions(quoting_style="needed"))
        self.writer.write_table(table.cast(self.schema))
        self.rows += len(frame)

    def close(self, summary=None):
        if self.writer is not None:
            self.writer.close()
        self.file.close()


class GpkgWriter(TableWriter):
    """A GeoPackage layer, appended chunk by chunk, in GeoPackage 1.2 (which GDAL 3.6 and QGIS 3.22 open
    without a warning; GDAL writes 1.4 by default).

    GeoPackage column names are case-insensitive and ``fid`` is the feature
    id, so an input column ``FID``, or ``Remark`` beside ``remark``, gets a
    suffix (``FID_1``, ``remark_1``); :attr:`renamed` lists what changed.
    """

    OPTIONS = {"VERSION": "1.2"}

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        self.renamed: dict[str, str] = {}

    def write(self, frame, geometry, raw_json=None):
        frame = _with_text_columns(frame, raw_json)
        if self.rows == 0:
            seen = {"fid", "geom", "geometry"}
            for column in frame.columns:
                name, k = str(column), 0
                while name.lower() in seen:
                    k += 1
                    name = f"{column}_{k}"
                seen.add(name.lower())
                if name != column:
                    self.renamed[str(column)] = name
        table = self.types.table(frame).rename_columns([self.renamed.get(n, n) for n in map(str, frame.columns)])
        geoms = np.asarray(geometry, dtype=object)
        if self.geometry_type.startswith("Multi"):
            geoms = _promoted(geoms, self.geometry_type)
        table = table.append_column("geom", pa.array(shapely.to_wkb(geoms), type=pa.binary()))
        pyogrio.write_arrow(table, self.path, layer=self.layer, driver="GPKG", geometry_name="geom",
                            geometry_type=self.geometry_type, crs=GEOGRAPHIC.to_wkt(), append=self.rows > 0,
                            **({} if self.rows else {"dataset_options": self.OPTIONS}))
        self.rows += len(frame)

    def close(self, summary=None):
        if self.rows == 0:  # an empty input still gives a (empty) layer
            pyogrio.write_dataframe(gpd.GeoDataFrame(geometry=[], crs=GEOGRAPHIC), self.path,
                                    layer=self.layer, driver="GPKG", geometry_type=self.geometry_type,
                                    dataset_options=self.OPTIONS)


def _promoted(geoms: np.ndarray, multi: str) -> np.ndarray:
    """Single parts (Polygon) as one-part multi-geometries (MultiPolygon), for a layer of ``multi``."""
    single = {"MultiPolygon": shapely.GeometryType.POLYGON, "MultiLineString": shapely.GeometryType.LINESTRING,
              "MultiPoint": shapely.GeometryType.POINT}.get(multi)
    parts = np.flatnonzero(shapely.get_type_id(geoms) == single) if single is not None else np.empty(0, int)
    if len(parts):
        build = {"MultiPolygon": shapely.multipolygons, "MultiLineString": shapely.multilinestrings,
                 "MultiPoint": shapely.multipoints}[multi]
        geoms = geoms.copy()
        geoms[parts] = build(geoms[parts], indices=np.arange(len(parts)))
    return geoms


class GeoJsonWriter(TableWriter):
    """RFC 7946 FeatureCollection, streamed; no ``crs`` member (lon/lat is implied)."""

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        self.file = open(path, "w", encoding="utf-8", newline="\n")
        self.file.write('{"type":"FeatureCollection","name":' + json.dumps(self.layer, ensure_ascii=False)
                        + ',"features":[\n')

    def write(self, frame, geometry, raw_json=None):
        features = feature_strings(typed_frame(self.types.table(frame)), geometry, raw_json)
        if len(features):
            self.file.write((",\n" if self.rows else "") + ",\n".join(features))
        self.rows += len(frame)

    def close(self, summary=None):
        self.file.write("\n]}\n")
        self.file.close()


class GeoJsonSeqWriter(TableWriter):
    """RFC 8142 GeoJSON text sequence: each feature preceded by RS and ended by LF."""

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        self.file = open(path, "w", encoding="utf-8", newline="\n")

    def write(self, frame, geometry, raw_json=None):
        features = feature_strings(typed_frame(self.types.table(frame)), geometry, raw_json)
        if len(features):
            self.file.write("".join(RS + features + "\n"))
        self.rows += len(frame)

    def close(self, summary=None):
        self.file.close()


class ParquetWriter(TableWriter):
    """GeoParquet 1.1: WKB geometry with the ``geo`` metadata, and a ``bbox`` covering column (a struct of
    xmin, ymin, xmax, ymax per row, declared as the geometry's ``covering``) that readers use to skip row
    groups outside a box; written row group by row group."""

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        self.writer = None

    def write(self, frame, geometry, raw_json=None):
        frame = _with_text_columns(frame, raw_json)
        table = self.types.table(frame)
        geoms = np.asarray(geometry, dtype=object)
        bbox_name = "bbox" if "bbox" not in table.column_names else "geometry_bbox"
        table = table.append_column("geometry", pa.array(shapely.to_wkb(geoms), type=pa.binary()))
        table = table.append_column(bbox_name, _bbox(geoms))
        if self.writer is None:
            types = [] if self.geometry_type == "Unknown" else [self.geometry_type]
            covering = {"bbox": {k: [bbox_name, k] for k in ("xmin", "ymin", "xmax", "ymax")}}
            geo = {"version": "1.1.0", "primary_column": "geometry",
                   "columns": {"geometry": {"encoding": "WKB", "crs": GEOGRAPHIC.to_json_dict(),
                                            "geometry_types": types, "covering": covering}}}
            metadata = {**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()}
            self.schema = table.schema.with_metadata(metadata)
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table.cast(self.schema))
        self.rows += len(frame)

    def close(self, summary=None):
        if self.writer is not None:
            self.writer.close()


_BBOX = pa.struct([(k, pa.float64()) for k in ("xmin", "ymin", "xmax", "ymax")])


def _bbox(geoms: np.ndarray) -> pa.Array:
    """Each geometry's bounds as the GeoParquet covering struct (null for a missing or empty geometry)."""
    bounds = shapely.bounds(geoms) if len(geoms) else np.empty((0, 4))
    missing = np.isnan(bounds).any(axis=1)
    fields = [pa.array(bounds[:, i], type=pa.float64()) for i in range(4)]
    return pa.StructArray.from_arrays(fields, fields=list(_BBOX), mask=pa.array(missing))


def typed_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table of typed columns as a frame whose nulls serialise as JSON null (nullable integers and
    flags, text as Python strings)."""
    mapping = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(), pa.string(): object}
    frame = table.to_pandas(types_mapper=lambda t: mapping.get(t) if t != pa.string() else None)
    for name, column in zip(table.column_names, table.columns):
        if column.type == pa.string():
            frame[name] = frame[name].astype(object)
        elif column.type == pa.date32():  # ISO dates, not timestamps
            frame[name] = pd.Series(column.to_pylist(), dtype=object).map(lambda d: d.isoformat(),
                                                                         na_action="ignore")
    return frame


#: what a spreadsheet runs as a formula when a cell starts with it (OWASP, "CSV injection")
_FORMULA_CHARS = pa.array(["=", "+", "-", "@", "\t", "\r"])
#: a plain number, which stays as it is (a negative number is not a formula)
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
#: the same characters as bytes (all ASCII: a UTF-8 cell starts with one exactly when its first byte is one)
_FORMULA_BYTES = np.isin(np.arange(256), [ord(c) for c in "=+-@\t\r"])


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, that are not plain
    numbers, prefixed with ``'`` so that a spreadsheet shows them as text instead of running them."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            # the first character alone, over the whole column; the number test only where it is needed
            if not _may_start_a_formula(column):  # the usual case: no cell to look at again
                columns.append(column)
                continue
            risky = pc.fill_null(pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=_FORMULA_CHARS), False)
            if pc.any(risky).as_py():
                risky = pc.and_(risky, pc.invert(pc.fill_null(pc.match_substring_regex(column, _NUMBER), False)))
                column = pc.if_else(risky, pc.utf8_replace_slice(column, 0, 0, "'"), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def _may_start_a_formula(column: pa.ChunkedArray) -> bool:
    """Whether some cell of a text column (null cells included, to err on the safe side) starts with a
    character of :data:`_FORMULA_CHARS`: the first byte of each cell, read in Arrow's buffers."""
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    for chunk in column.chunks:
        _, offsets, data = chunk.buffers()
        if data is None or len(chunk) == 0:
            continue
        ends = np.frombuffer(offsets, width)[chunk.offset:chunk.offset + len(chunk) + 1]
        starts = ends[:-1][ends[1:] > ends[:-1]]  # of the cells that are not empty
        if _FORMULA_BYTES[np.frombuffer(data, np.uint8)[starts]].any():
            return True
    return False


def write_table(frame: pd.DataFrame, path: str | Path, *, layer: str | None = None) -> None:
    """Write a whole frame (no geometry) in the format of ``path``'s extension, atomically."""
    with atomic_path(path) as tmp:
        writer = open_writer(tmp, output_format(path), layer=layer or Path(path).stem)
        try:
            writer.write(frame, np.full(len(frame), None, dtype=object))
            writer.close()
        except BaseException:
            writer.abort()
            raise


_WRITERS: dict[str, type] = {"csv": CsvWriter, "xlsx": ExcelWriter, "gpkg": GpkgWriter, "geojson": GeoJsonWriter,
            "geojsons": GeoJsonSeqWriter, "parquet": ParquetWriter}


def open_writer(path, fmt: str, *, layer: str, geometry_type: str = "Unknown", verdict_column: str = "verdict",
                text_columns=(), parse_columns=()) -> TableWriter:
    """A chunk writer for ``fmt`` (see :data:`zoning.outputs.formats.OUTPUT_FORMATS`) at ``path``
    (usually a temporary path). In the typed formats, ``text_columns`` stay text whatever they hold (result
    columns) and the text of ``parse_columns`` (an input read as text, a CSV) is typed where a whole column is
    numbers or flags (see :mod:`zoning.outputs.columns`)."""
    return _WRITERS[fmt](Path(path), layer=layer, geometry_type=geometry_type, verdict_column=verdict_column,
                         text_columns=text_columns, parse_columns=parse_columns)


def _with_text_columns(frame: pd.DataFrame, raw_json) -> pd.DataFrame:
    """Formats without nested properties keep JSON values as text columns."""
    if not raw_json:
        return frame
    return frame.assign(**{f"{name}_json": values for name, values in raw_json.items()})


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table of text, every cell as it reads (``-5``, ``115.97``, ``True``), missing
    cells null: the schema does not depend on the chunk (what a CSV writes)."""
    return pa.Table.from_arrays([text_array(frame[c]) for c in frame.columns], names=[str(c) for c in frame.columns])
