"""Writing result rows in chunks: CSV, Excel, GeoPackage, GeoJSON, GeoJSON sequences, GeoParquet.

:func:`open_writer` gives a :class:`TableWriter` for a format; ``write`` is
called once per chunk and ``close`` at the end, so memory is bounded by the
chunk, not the registry. Callers write to a temporary path from
:func:`zoning.outputs.atomic.atomic_path`.
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

from zoning.errors import DataError
from zoning.geodesy import GEOGRAPHIC
from zoning.geojson import geojson_geometries
from zoning.outputs.atomic import atomic_path
from zoning.outputs.formats import output_format

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELL = 32_767
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

    def __init__(self, path: Path, *, layer: str, geometry_type: str = "Unknown", verdict_column: str = "verdict"):
        self.path = path
        self.layer = layer
        self.geometry_type = geometry_type
        self.verdict_column = verdict_column  # where the verdict is (``zoning_verdict`` if the input had one)
        self.rows = 0

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


class XlsxWriter(TableWriter):
    """An Excel workbook, streamed (openpyxl write-only mode).

    Sheets: ``screened`` (every row, input order), ``prohibited`` and
    ``restricted`` (those rows again, for review), and ``summary``. Text
    that begins with ``=`` is stored as text, never as a formula.
    """

    FLAGGED = ("prohibited", "restricted")

    def __init__(self, path, **kw):
        import openpyxl  # here, not at module level: it adds 0.1 s to every command's start-up

        super().__init__(path, **kw)
        self.book = openpyxl.Workbook(write_only=True)
        self.sheets = {name: self.book.create_sheet(name) for name in ("screened", *self.FLAGGED, "summary")}
        for name in ("screened", *self.FLAGGED):
            self.sheets[name].freeze_panes = "A2"
        self.columns = None

    def write(self, frame, geometry, raw_json=None):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell

        frame = _with_text_columns(frame, raw_json)
        if self.rows + len(frame) >= XLSX_MAX_ROWS:
            raise DataError(f"output {self.path.name}: more than {XLSX_MAX_ROWS - 1:,} rows do not fit in an "
                            "Excel sheet; write .csv, .gpkg or .parquet instead")
        screened = self.sheets["screened"]
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
            for name in ("screened", *self.FLAGGED):
                self.sheets[name].append(self.columns)
        cells = frame.astype(object).where(frame.notna(), None)
        formula_rows = np.zeros(len(cells), bool)
        for column in cells.columns:
            values = cells[column]
            text = values.map(lambda v: isinstance(v, str))
            if text.any():
                cleaned = values[text].str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True)
                long = cleaned.str.len() > XLSX_MAX_CELL
                cleaned[long] = cleaned[long].str.slice(0, XLSX_MAX_CELL - 1) + "…"
                cells.loc[text, column] = cleaned
                formula_rows[text.to_numpy(dtype=bool)] |= cleaned.str.startswith("=").to_numpy(dtype=bool)
        rows = cells.to_numpy(dtype=object).tolist()
        # text that begins with "=" would be stored as a formula: those few rows get text cells
        formula = set(np.flatnonzero(formula_rows).tolist())

        def as_text_cells(row, sheet):
            out = []
            for v in row:
                if isinstance(v, str) and v.startswith("="):
                    cell = WriteOnlyCell(sheet, value=v)
                    cell.data_type = "s"
                    v = cell
                out.append(v)
            return out

        verdicts = frame[self.verdict_column].to_numpy() if self.verdict_column in frame else np.array([])
        for i, row in enumerate(rows):  # openpyxl's streaming API takes one row at a time
            screened.append(as_text_cells(row, screened) if i in formula else row)
        for name in self.FLAGGED:
            sheet = self.sheets[name]
            for i in np.flatnonzero(verdicts == name):
                sheet.append(as_text_cells(rows[i], sheet) if i in formula else rows[i])
        self.rows += len(frame)

    def abort(self):
        for sheet in self.sheets.values():  # finish each sheet's temporary stream before the file goes
            sheet.close()

    def close(self, summary=None):
        sheet = self.sheets["summary"]
        sheet.append(["section", "value", "rows"])
        for row in summary or []:
            sheet.append(list(row))
        self.book.save(self.path)


class GpkgWriter(TableWriter):
    """A GeoPackage layer, appended chunk by chunk.

    GeoPackage column names are case-insensitive and ``fid`` is the feature
    id, so an input column ``FID``, or ``Remark`` beside ``remark``, gets a
    suffix (``FID_1``, ``remark_1``); :attr:`renamed` lists what changed.
    """

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        self.renamed: dict[str, str] = {}

    def write(self, frame, geometry, raw_json=None):
        frame = _as_text(_with_text_columns(frame, raw_json))
        if self.rows == 0:
            seen = {"fid", "geom", "geometry"}
            for column in frame.columns:
                name, k = column, 0
                while name.lower() in seen:
                    k += 1
                    name = f"{column}_{k}"
                seen.add(name.lower())
                if name != column:
                    self.renamed[column] = name
        out = gpd.GeoDataFrame(frame.rename(columns=self.renamed), geometry=geometry, crs=GEOGRAPHIC)
        pyogrio.write_dataframe(out, self.path, layer=self.layer, driver="GPKG", append=self.rows > 0,
                                geometry_type=self.geometry_type,
                                promote_to_multi=self.geometry_type.startswith("Multi"))
        self.rows += len(frame)

    def close(self, summary=None):
        if self.rows == 0:  # an empty input still gives a (empty) layer
            pyogrio.write_dataframe(gpd.GeoDataFrame(geometry=[], crs=GEOGRAPHIC), self.path,
                                    layer=self.layer, driver="GPKG", geometry_type=self.geometry_type)


class GeoJsonWriter(TableWriter):
    """RFC 7946 FeatureCollection, streamed; no ``crs`` member (lon/lat is implied)."""

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        self.file = open(path, "w", encoding="utf-8", newline="\n")
        self.file.write('{"type":"FeatureCollection","name":' + json.dumps(self.layer, ensure_ascii=False)
                        + ',"features":[\n')

    def write(self, frame, geometry, raw_json=None):
        features = feature_strings(frame, geometry, raw_json)
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
        features = feature_strings(frame, geometry, raw_json)
        if len(features):
            self.file.write("".join(RS + features + "\n"))
        self.rows += len(frame)

    def close(self, summary=None):
        self.file.close()


class ParquetWriter(TableWriter):
    """GeoParquet 1.1: WKB geometry with the ``geo`` metadata, written row group by row group."""

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        self.writer = None

    def write(self, frame, geometry, raw_json=None):
        frame = _with_text_columns(frame, raw_json)
        table = arrow_table(frame)
        wkb = shapely.to_wkb(np.asarray(geometry, dtype=object))
        table = table.append_column("geometry", pa.array(wkb, type=pa.binary()))
        if self.writer is None:
            types = [] if self.geometry_type == "Unknown" else [self.geometry_type]
            geo = {"version": "1.1.0", "primary_column": "geometry",
                   "columns": {"geometry": {"encoding": "WKB", "crs": GEOGRAPHIC.to_json_dict(),
                                            "geometry_types": types}}}
            metadata = {**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()}
            self.schema = table.schema.with_metadata(metadata)
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table.cast(self.schema))
        self.rows += len(frame)

    def close(self, summary=None):
        if self.writer is not None:
            self.writer.close()


#: what a spreadsheet runs as a formula when a cell starts with it (OWASP, "CSV injection")
_FORMULA_CHARS = pa.array(["=", "+", "-", "@", "\t", "\r"])
#: a plain number, which stays as it is (a negative number is not a formula)
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Text cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, that are not plain
    numbers, prefixed with ``'`` so that a spreadsheet shows them as text instead of running them."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            # the first character alone, over the whole column; the number test only where it is needed
            risky = pc.fill_null(pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=_FORMULA_CHARS), False)
            if pc.any(risky).as_py():
                risky = pc.and_(risky, pc.invert(pc.fill_null(pc.match_substring_regex(column, _NUMBER), False)))
                column = pc.if_else(risky, pc.utf8_replace_slice(column, 0, 0, "'"), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


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


_WRITERS = {"csv": CsvWriter, "xlsx": XlsxWriter, "gpkg": GpkgWriter, "geojson": GeoJsonWriter,
            "geojsons": GeoJsonSeqWriter, "parquet": ParquetWriter}


def open_writer(path, fmt: str, *, layer: str, geometry_type: str = "Unknown",
                verdict_column: str = "verdict") -> TableWriter:
    """A chunk writer for ``fmt`` (see :data:`zoning.outputs.formats.OUTPUT_FORMATS`) at ``path``
    (usually a temporary path)."""
    return _WRITERS[fmt](Path(path), layer=layer, geometry_type=geometry_type, verdict_column=verdict_column)


def _with_text_columns(frame: pd.DataFrame, raw_json) -> pd.DataFrame:
    """Formats without nested properties keep JSON values as text columns."""
    if not raw_json:
        return frame
    return frame.assign(**{f"{name}_json": values for name, values in raw_json.items()})


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table whose schema does not depend on the chunk.

    Text and mixed (object) columns become Arrow strings, cell by cell as
    ``str`` (missing cells stay null), so a column that is empty, numeric or
    mixed in one chunk has the same type in the next.
    """
    arrays = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            try:  # all text already (the usual case): no per-cell conversion
                arrays.append(pa.array(values, type=pa.string(), from_pandas=True))
            except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers, dates… among the text (Excel)
                text = values.where(values.isna(), values.astype(str))
                arrays.append(pa.array(text, type=pa.string(), from_pandas=True))
        else:
            arrays.append(pa.array(values, from_pandas=True))
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns as strings (None kept), so chunks of mixed cell types share one schema."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            values = out[column]
            out[column] = values.where(values.isna(), values.astype(str)).astype(object)
    out.columns = [str(c) for c in out.columns]
    return out
