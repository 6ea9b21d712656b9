"""Project registries as bureaus keep them: reading, header recognition, coordinates.

A registry is a table of projects: an Excel workbook, a CSV saved by Excel
(often GBK in a Chinese locale), or a vector layer (GeoPackage, Shapefile,
GeoJSON, GeoJSON text sequences). :func:`open_registry` reads it in chunks
of raw rows, exactly as they are in the file; :func:`projects_from` turns a
chunk into the frame :func:`zoning.projects.normalise` expects, recording a
one-line reason for each row that has no usable location.

Headers are recognised from common Chinese and English names (项目名称/name,
经度/lon, 纬度/lat, 行业代码/industry, 建设性质/type, ``VOCs(t/a)``,
``二氧化硫``…); a unit in the header (``kg/a``, ``万吨/年``) scales the values
to the unit the rule vocabulary uses. Coordinates may be decimal degrees or
degrees-minutes-seconds (``116°23'45.6"``, ``116度23分45.6秒``, ``E116°23.5'``).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from zoning.crs import GEOGRAPHIC, LONLAT, SourceCRS, from_pyproj
from zoning.errors import DataError, InputError
from zoning.io import DEFAULT_ENGINE, check_engine
from zoning.projects import ATTRIBUTES, RowErrors, attribute_name
from zoning.sites import SITE_FORMATS, is_red_line, read_site_layer, to_lonlat

TABULAR = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
VECTOR = {".gpkg": "gpkg", ".shp": "shp", ".geojson": "geojson", ".json": "geojson",
          ".geojsons": "geojsons", ".geojsonl": "geojsons", ".geojsonseq": "geojsons"}
#: site-file formats screened one feature per row (read whole, see zoning.sites); .txt may also be a red-line file
SITE_ONLY = {".kml": "kml", ".dxf": "dxf"}
DEFAULT_CHUNK = 250_000

# Header names per field, best first: when two headers match one field, the
# better-ranked one is used (行业代码 over 行业类别); two equally ranked matches,
# or two columns for one attribute, are an error. Ten-character forms are
# what a Shapefile's DBF keeps of the longer names.
_FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("项目名称", "建设项目名称", "name", "project_name", "projectname", "项目", "名称", "企业名称",
             "project"),
    # survey coordinates go in the same fields (with --crs): Y坐标 is the easting, X坐标 the northing
    "lon": ("经度", "lon", "longitude", "lng", "long", "东经", "中心经度", "经度坐标", "x经度",
            "easting", "东坐标", "y坐标"),
    "lat": ("纬度", "lat", "latitude", "北纬", "中心纬度", "纬度坐标", "y纬度", "northing", "北坐标", "x坐标"),
    "wkt": ("wkt", "geometry", "geom", "几何", "空间范围wkt"),
    "industry": ("行业代码", "国民经济行业代码", "所属行业代码", "industry_code", "industry", "industry_c",
                 "行业类别代码", "行业类别", "国民经济行业类别", "国民经济行业分类", "所属行业", "行业", "gbt4754"),
    "type": ("建设性质", "type", "project_type", "建设类型", "项目类型", "项目性质", "nature"),
    "SO2": ("so2", "二氧化硫", "so₂"),
    "NOx": ("nox", "氮氧化物"),
    "particulate": ("particulate", "particulat", "颗粒物", "烟粉尘", "粉尘", "烟尘", "pm", "dust"),
    "VOCs": ("vocs", "挥发性有机物", "voc", "挥发性有机物vocs"),
    "COD": ("cod", "化学需氧量", "codcr"),
    "NH3-N": ("nh3-n", "氨氮", "nh3n", "nh3_n", "ammonia"),
    "coal_use": ("coal_use", "煤炭消费量", "燃煤量", "耗煤量", "用煤量", "煤炭消耗量", "煤耗"),
    "water_use": ("water_use", "新鲜水用量", "用水量", "取水量", "新鲜水量"),
    "energy_use": ("energy_use", "energy_use", "综合能耗", "能耗"),
    "capacity": ("capacity", "产能", "设计产能", "生产能力"),
    "boiler_capacity": ("boiler_capacity", "boiler_cap", "锅炉容量", "锅炉规模"),
    "in_park": ("in_park", "是否入园", "入园", "是否位于园区", "位于园区"),
    "chp": ("chp", "热电联产", "是否热电联产"),
    "capacity_replacement": ("capacity_replacement", "capacity_r", "产能置换", "是否产能置换"),
    "hazardous_chemicals": ("hazardous_chemicals", "hazardous_", "危化品", "涉及危险化学品", "危险化学品"),
    "wastewater_discharge": ("wastewater_discharge", "wastewater", "废水排放", "是否排放废水"),
    "emission_offset": ("emission_offset", "emission_o", "替代削减", "是否替代削减", "总量替代"),
}
FIELDS = tuple(_FIELD_HEADERS)
_RANK = {h: (f, i) for f, names in _FIELD_HEADERS.items() for i, h in enumerate(names)}
# words around an attribute's name in headers: "VOCs排放量(t/a)", "年排放二氧化硫"
_AFFIXES = re.compile(r"(年?排放总?量|年?排放|排放|总量|年用量|用量|年|量|_t_a|t/a)$|^(年排放|年|排放)")
_TRAILING_BRACKETS = re.compile(r"^(.*?)[(\[]([^()\[\]]*)[)\]]$")
# Header units → factor to the unit the rules use, per kind of quantity.
_MASS = {"t/a": 1.0, "t/y": 1.0, "t": 1.0, "吨/年": 1.0, "吨": 1.0, "吨/a": 1.0, "t/年": 1.0,
         "kg/a": 1e-3, "kg/y": 1e-3, "kg": 1e-3, "千克/年": 1e-3, "公斤/年": 1e-3, "千克": 1e-3, "kg/年": 1e-3,
         "公斤": 1e-3, "万吨/年": 1e4, "万t/a": 1e4, "万吨": 1e4, "万t": 1e4}
_UNITS = {
    "mass": _MASS,  # emissions, coal, capacity: t/a
    "water": {"m3/a": 1.0, "m3": 1.0, "立方米/年": 1.0, "立方米": 1.0, "方/年": 1.0, "吨/年": 1.0, "t/a": 1.0,
              "吨": 1.0, "吨水/年": 1.0, "万m3/a": 1e4, "万立方米/年": 1e4, "万立方米": 1e4, "万吨/年": 1e4,
              "万吨": 1e4, "万t/a": 1e4, "万吨水/年": 1e4},  # fresh water: m3/a (a tonne of water is a m3)
    "energy": {"tce/a": 1.0, "tce": 1.0, "吨标煤/年": 1.0, "吨标准煤/年": 1.0, "吨标煤": 1.0, "吨标准煤": 1.0,
               "万吨标煤/年": 1e4, "万吨标准煤/年": 1e4, "万吨标煤": 1e4, "万tce/a": 1e4, "万tce": 1e4},
    "boiler": {"t/h": 1.0, "蒸吨/小时": 1.0, "蒸吨/时": 1.0, "蒸吨": 1.0, "吨/小时": 1.0, "吨/时": 1.0},
}
_KIND = {"water_use": "water", "energy_use": "energy", "boiler_capacity": "boiler"}  # others: mass
# Bracketed text in a header is a note — （以NO2计）, （非甲烷总烃）, （PM10） — or a unit. Anything
# that looks like a unit (Latin letters, a slash, or a unit character) is taken as one, so an
# unknown unit (MW, kgce, L) is an error instead of silently unconverted values.
_NOTE = re.compile(r"以|计|^(pm10|pm2\.?5|tsp|nmhc|vocs?|codcr|cod|bod5?|nox|so2|no2|nh3-?n|非甲烷总烃)$")
_UNITLIKE = re.compile(r"/|^[万千]?[a-zμ0-9.·]+$|[吨克升方米煤时年瓦焦]")


def header_key(header: object) -> str:
    """A header reduced for matching: NFKC, lower case, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(header))).lower()


def _split_header(header: str) -> tuple[str, str | None]:
    """(name, unit) of a header: trailing bracketed notes are dropped; a unit-like one is the unit."""
    key, unit = header_key(header), None
    while (m := _TRAILING_BRACKETS.match(key)) and m.group(1):
        key, inner = m.group(1), m.group(2)
        if unit is None and _UNITLIKE.search(inner) and not _NOTE.search(inner):
            unit = inner
    return key, unit


@dataclass
class ColumnMap:
    """Which input header gives each field, and the scale applied to its values."""

    columns: dict[str, str]  # field -> header
    scales: dict[str, float] = field(default_factory=dict)  # field -> factor (attributes only)

    def describe(self, *, location_from_geometry: bool = False) -> str:
        parts = ["location←the layer's geometry"] if location_from_geometry else []
        for f, header in self.columns.items():
            if location_from_geometry and f in ("lon", "lat", "wkt"):
                continue
            scale = self.scales.get(f, 1.0)
            parts.append(f"{f}←{header}" + (f" (×{scale:g})" if scale != 1.0 else ""))
        return ", ".join(parts)


def field_name(name: str) -> str:
    """The field a ``--col`` name refers to (case-insensitive; attribute aliases accepted)."""
    lowered = {f.lower(): f for f in FIELDS}
    if name.strip().lower() in lowered:
        return lowered[name.strip().lower()]
    try:
        return attribute_name(name)
    except InputError:
        raise InputError(f"--col {name}=…: unknown field {name!r} (fields: {', '.join(FIELDS)})") from None


def recognise_columns(headers, overrides: dict[str, str] | None = None) -> ColumnMap:
    """Map input headers to fields (see :data:`FIELDS`); ``overrides`` is ``{field: header}``."""
    headers = [str(h) for h in headers]
    overrides = {field_name(f): header for f, header in (overrides or {}).items()}
    for f, header in overrides.items():
        if header not in headers:
            raise InputError(f"--col {f}={header}: no column {header!r} in the input "
                             f"(columns: {', '.join(headers)})")
    best: dict[str, tuple[int, list[str]]] = {}
    taken = set(overrides.values())
    for header in headers:
        if header in taken:
            continue
        f, rank = _match(header)
        if f is None or f in overrides:
            continue
        if f in ATTRIBUTES:
            rank = 0  # two columns for one quantity are ambiguous whatever their names
        if f not in best or rank < best[f][0]:
            best[f] = (rank, [header])
        elif rank == best[f][0]:
            best[f][1].append(header)
    columns = dict(overrides)
    for f, (_, found) in best.items():
        if len(found) > 1:
            raise InputError(f"columns {', '.join(repr(h) for h in found)} all look like {f}; "
                             f"choose one with --col {f}=HEADER")
        columns[f] = found[0]
    scales: dict[str, float] = {}
    for f, header in columns.items():
        if f in ATTRIBUTES and not ATTRIBUTES[f].flag:
            unit = _split_header(header)[1]
            if unit:
                known = _UNITS[_KIND.get(f, "mass")]
                if unit not in known:
                    raise InputError(f"column {header!r}: unit {unit!r} is not a unit of {f} "
                                     f"(expected {ATTRIBUTES[f].unit} or e.g. {', '.join(list(known)[:6])}); "
                                     "rename the column or convert the values")
                scales[f] = known[unit]
    ordered = {f: columns[f] for f in FIELDS if f in columns}
    return ColumnMap(ordered, scales)


def _match(header: str) -> tuple[str | None, int]:
    """(field, rank) for one header."""
    key = _split_header(header)[0]
    for candidate in (key, _AFFIXES.sub("", key)):
        if candidate in _RANK:
            return _RANK[candidate]
    return None, 0


# ---- coordinates ----------------------------------------------------------------

_DMS = re.compile(
    r"^\s*(?P<h1>[NSEWnsew东西南北]|北纬|南纬|东经|西经)?\s*(?P<sign>[-+])?\s*(?P<d>\d+(?:\.\d+)?)\s*(?:°|º|度|:|\s)?\s*"
    r"(?:(?P<m>\d+(?:\.\d+)?)\s*(?:'|′|’|‘|分|:|\s)?\s*)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)\s*(?:\"|″|”|“|''|′′|秒)?\s*)?"
    r"(?P<h2>[NSEWnsew东西南北])?\s*$"
)
_NEGATIVE = {"S", "W", "s", "w", "西", "南", "南纬", "西经"}
_HEMISPHERES = {"lon": set("EWew东西") | {"东经", "西经"}, "lat": set("NSns南北") | {"北纬", "南纬"}}


def parse_coordinates(values: pd.Series, axis: str) -> tuple[np.ndarray, np.ndarray]:
    """Decimal degrees from numbers or DMS strings; returns (values, problem messages).

    Vectorised: numbers by :func:`pandas.to_numeric`, the rest by one regex
    extraction. ``axis`` is ``lon`` or ``lat`` (for the hemisphere letter check).
    Problems are "" where the value parsed; blank values give "missing".
    """
    text = values.astype("string").str.normalize("NFKC").str.strip().fillna("")  # full-width digits too
    number = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=float)
    problem = np.full(len(values), "", dtype=object)
    problem[(text == "").to_numpy()] = "missing"
    other = np.isnan(number) & (problem == "")
    if other.any():
        parts = text[other].astype(object).str.extract(_DMS)
        d = pd.to_numeric(parts["d"], errors="coerce")
        m = pd.to_numeric(parts["m"], errors="coerce").fillna(0.0)
        s = pd.to_numeric(parts["s"], errors="coerce").fillna(0.0)
        hemi = parts["h1"].fillna(parts["h2"]).fillna("")
        negative = hemi.isin(_NEGATIVE) | (parts["sign"].fillna("") == "-")
        wrong_hemi = (hemi != "") & ~hemi.isin(_HEMISPHERES[axis])
        out_of_range = (m >= 60) | (s >= 60)
        value = (d + m / 60 + s / 3600) * np.where(negative, -1, 1)
        ok = d.notna() & ~wrong_hemi & ~out_of_range
        number[other] = np.where(ok, value, np.nan)
        raw = text[other].to_numpy(dtype=object)
        why = np.where(wrong_hemi, "hemisphere letter is for the other axis",
                       np.where(out_of_range, "minutes and seconds must be below 60",
                                "not a number or degrees-minutes-seconds"))
        bad = ~ok.to_numpy()
        problem_other = problem[other]
        problem_other[bad] = [f"{r!r}: {w}" for r, w in zip(raw[bad], why[bad])]
        problem[other] = problem_other
    return number, problem


def locate(chunk: pd.DataFrame, columns: ColumnMap, problems: RowErrors) -> np.ndarray:
    """Site geometries (in the registry's coordinates) from a tabular chunk's lon/lat or WKT column.

    Rows without a usable location get ``None`` and a reason in ``problems``.
    Ranges are checked later, once the coordinates' CRS is applied.
    """
    n = len(chunk)
    geoms = np.full(n, None, dtype=object)
    if "wkt" in columns.columns:
        header = columns.columns["wkt"]
        text = chunk[header].astype("string").fillna("").str.strip().to_numpy(dtype=object)
        filled = text != ""
        parsed = shapely.from_wkt(np.where(filled, text, None), on_invalid="ignore")
        geoms = parsed.astype(object)
        bad = filled & (shapely.is_missing(parsed) | shapely.is_empty(parsed))
        problems.add(bad, "bad coordinate", f"field {header!r}: not valid WKT")
        if "lon" not in columns.columns:
            problems.add(~filled, "missing location", f"field {header!r}: missing")
            return geoms
    if "lon" in columns.columns and "lat" in columns.columns:
        todo = shapely.is_missing(geoms)
        lon_h, lat_h = columns.columns["lon"], columns.columns["lat"]
        lon, lon_problem = parse_coordinates(chunk[lon_h], "lon")
        lat, lat_problem = parse_coordinates(chunk[lat_h], "lat")
        for header, why in ((lon_h, lon_problem), (lat_h, lat_problem)):
            missing = todo & (why == "missing")
            problems.add(missing, "missing location", f"field {header!r}: missing")
            other = todo & (why != "") & (why != "missing")
            if other.any():  # messages only for the bad rows
                message = np.full(len(why), "", dtype=object)
                message[other] = f"field {header!r}: " + why[other].astype(object)
                problems.add(other, "bad coordinate", message)
        usable = todo & (lon_problem == "") & (lat_problem == "")
        points = shapely.points(np.where(usable, lon, np.nan), np.where(usable, lat, np.nan))
        geoms = np.where(usable, points, geoms)
        geoms[todo & ~usable] = None
    elif "wkt" not in columns.columns:
        lacking = [f for f in ("lon", "lat") if f not in columns.columns]
        raise InputError(
            f"no {' or '.join(lacking)} column found (looked for headers such as "
            f"{', '.join(_FIELD_HEADERS[lacking[0]][:4])}); name it with --col {lacking[0]}=HEADER")
    return geoms


def projects_from(chunk: pd.DataFrame, columns: ColumnMap, *, geometry=None, source: SourceCRS | None = None,
                  notes: dict[str, int] | None = None):
    """The project frame for one raw chunk, and the rows' problems so far.

    ``geometry`` is the chunk's geometry for vector inputs (an array or
    GeoSeries); tabular inputs are located from their lon/lat or WKT columns.
    ``source`` is the coordinates' system (default CGCS2000 lon/lat for
    tabular inputs; a vector input without one is refused). Returns
    ``(projects, problems)``; finish with :func:`zoning.projects.normalise`
    (``errors="collect"``). An invalid geometry (a self-intersecting ring…)
    is a row problem but is kept in the frame, so the output shows what was
    wrong. ``notes``, when given, counts rows per conversion note (X/Y
    swapped back, zone read from the eastings…).
    """
    problems = RowErrors(chunk.index)
    if geometry is None:
        arr = locate(chunk, columns, problems)
        source = source or LONLAT
        where = ("field " + repr(columns.columns["wkt"]) if "wkt" in columns.columns
                 else f"fields {columns.columns.get('lon')!r}/{columns.columns.get('lat')!r}")
    else:
        if source is None:
            raise InputError("the input layer has no CRS; give --crs")
        arr = np.asarray(geometry, dtype=object)
        problems.add(shapely.is_missing(arr) | shapely.is_empty(arr), "missing location",
                     "field 'geometry': missing or empty")
        where = "the geometry"
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    invalid = present & ~shapely.is_valid(arr)
    if invalid.any():
        message = np.full(len(arr), "", dtype=object)
        message[invalid] = [f"field {columns.columns.get('wkt', 'geometry')!r}: invalid geometry ({r})"
                            for r in shapely.is_valid_reason(arr[invalid])]
        problems.add(invalid, "bad geometry", message)
    lonlat, converted = to_lonlat(np.where(present, arr, None), source)
    bad = present & (converted.problem != "")
    message = np.full(len(arr), "", dtype=object)
    message[bad] = [f"{where}: {p}" for p in converted.problem[bad]]
    problems.add(bad, "bad coordinate", message)
    if notes is not None:
        for note, count in pd.Series(converted.note[present & ~bad]).value_counts().items():
            if note:
                notes[note] = notes.get(note, 0) + int(count)
    usable = present & ~bad
    frame = gpd.GeoDataFrame(index=chunk.index, geometry=gpd.GeoSeries(np.where(usable, lonlat, None),
                                                                        index=chunk.index, crs=GEOGRAPHIC))
    for f, header in columns.columns.items():
        if f in ("industry", "type") or f in ATTRIBUTES:
            frame[f] = chunk[header]
    return frame, problems


def scale_attributes(projects: gpd.GeoDataFrame, columns: ColumnMap) -> None:
    """Convert attributes whose header gave another unit (kg/a…), in place."""
    for f, factor in columns.scales.items():
        if factor != 1.0:  # rounded: 0.0003 万吨 is 3 t, not 2.9999999999999996 (thresholds are exact)
            projects[f] = np.round(projects[f] * factor, 9)


# ---- reading ----------------------------------------------------------------------

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
    _chunks: Iterator | None = None
    sheet: str | None = None  # Excel: the sheet (or layer) read, and all of them
    sheets: list[str] = field(default_factory=list)

    @property
    def is_vector(self) -> bool:
        return self.format in {*VECTOR.values(), *SITE_ONLY.values(), "red-line"}

    def chunks(self) -> Iterator[tuple[pd.DataFrame, gpd.GeoSeries | None, np.ndarray]]:
        """Yield ``(rows, geometry or None, row numbers)``; row numbers are 1-based data rows."""
        yield from self._chunks


def open_registry(path, *, encoding: str | None = None, sheet=None, layer=None,
                  engine: str = DEFAULT_ENGINE, chunk_size: int = DEFAULT_CHUNK) -> Registry:
    """Open a registry for chunked reading (format from the file extension)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"registry {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise DataError(f"registry {path}: old .xls workbooks are not supported; save it as .xlsx")
    if suffix in SITE_ONLY or (suffix == ".txt" and is_red_line(path)):
        return _open_site_file(path, engine)
    if suffix in TABULAR:
        fmt = TABULAR[suffix]
        if fmt == "csv":
            return _open_csv(path, encoding, chunk_size)
        return _open_xlsx(path, sheet, chunk_size)
    if suffix in VECTOR:
        check_engine(engine)
        return _open_vector(path, VECTOR[suffix], layer, engine, chunk_size)
    known = ", ".join(sorted({*TABULAR, *VECTOR, *SITE_ONLY}))
    raise DataError(f"registry {path}: unknown format {suffix or '(no extension)'!r} (known: {known})")


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (BOM), ``utf-16`` (BOM), ``utf-8`` when the whole file decodes, else ``gb18030``.

    GB18030 is a superset of GBK and GB2312, which Excel uses when saving CSV
    in a Chinese locale.
    """
    with open(path, "rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := f.read(1 << 24):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _refuse_repeated_fields(path, repeated) -> None:
    """A header naming one field twice (two 经度 columns) is refused: which one to use is unclear."""
    for h in repeated:
        if _match(h)[0] is not None:
            raise DataError(f"registry {path}: the header has {h!r} twice; rename one so it is clear which "
                            f"gives {_match(h)[0]}")


def _open_csv(path: Path, encoding: str | None, chunk_size: int) -> Registry:
    encoding = encoding or detect_encoding(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}") from None
    try:
        with open(path, encoding=encoding, newline="") as f:
            head = [f.readline() for _ in range(12)]
    except UnicodeDecodeError as exc:
        raise DataError(f"registry {path}: not readable as {encoding} ({exc.reason}); try --encoding") from None
    rows_by_sep = {sep: [next(csv.reader([line], delimiter=sep), []) for line in head] for sep in ",\t;|"}
    # the delimiter: the one whose header row is recognised, else the one that splits lines most
    sep = max(rows_by_sep, key=lambda d: (_recognised(rows_by_sep[d][_header_row(rows_by_sep[d])]),
                                          sum(len(r) for r in rows_by_sep[d]), d == ","))
    rows = rows_by_sep[sep]
    header_at = _header_row(rows)
    duplicated = sorted({h for h in rows[header_at] if rows[header_at].count(h) > 1 and h.strip()}) if rows else []
    _refuse_repeated_fields(path, duplicated)
    skipped = [f"skipped {header_at} line(s) above the header row"] if header_at else []
    skipped += [f"the header has {h!r} more than once; later copies are named {h}.1…" for h in duplicated]
    if sep != ",":
        skipped.append(f"columns separated by {'tab' if sep == chr(9) else repr(sep)}")
    try:
        reader = pd.read_csv(path, encoding=encoding, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                             chunksize=chunk_size, skiprows=header_at, skip_blank_lines=True)
        first_chunk = next(reader, None)
    except UnicodeDecodeError as exc:
        raise DataError(f"registry {path}: not readable as {encoding} ({exc.reason}); try --encoding") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"registry {path}: cannot parse as CSV: {str(exc).strip().splitlines()[0]}") from None
    if first_chunk is None:
        raise DataError(f"registry {path}: no header row")

    def chunks():
        start = 0
        chunk = first_chunk
        while chunk is not None:
            # row numbers as a spreadsheet shows the file: the header is row header_at + 1
            yield chunk, None, np.arange(start + 1, start + len(chunk) + 1) + header_at + 1
            start += len(chunk)
            try:
                chunk = next(reader, None)
            except UnicodeDecodeError as exc:
                raise DataError(f"registry {path}: row {start + 1} onwards is not readable as {encoding} "
                                f"({exc.reason}); try --encoding gb18030") from None
            except pd.errors.ParserError as exc:
                raise DataError(f"registry {path}: cannot parse as CSV near row {start + 1}: "
                                f"{str(exc).strip().splitlines()[0]}") from None

    return Registry(path, "csv", [str(c) for c in first_chunk.columns], None, encoding=encoding,
                    skipped=skipped, _chunks=chunks())


def _recognised(row) -> int:
    return len({_match(str(v))[0] for v in row if v is not None and str(v).strip()} - {None})


def _header_row(rows: list[tuple]) -> int:
    """Index of the header among the first rows: the first with two or more recognised headers.

    Registries often start with a title row (``XX市建设项目清单``) above the header.
    """
    for i, row in enumerate(rows):
        if _recognised(row) >= 2:
            return i
    return 0


def _open_xlsx(path: Path, sheet, chunk_size: int) -> Registry:
    import openpyxl  # here, not at module level: it adds 0.1 s to every command's start-up
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, zlib.error,
            ElementTree.ParseError, EOFError) as exc:
        raise DataError(f"registry {path}: cannot read as an Excel workbook: {type(exc).__name__}: {exc}") from None
    if sheet is None:
        ws = book.worksheets[0]
    elif str(sheet) in book.sheetnames:
        ws = book[str(sheet)]
    elif str(sheet).isdigit() and 1 <= int(sheet) <= len(book.worksheets):
        ws = book.worksheets[int(sheet) - 1]
    else:
        raise DataError(f"registry {path}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})")
    position = [0]  # 1-based sheet row of the last row read
    rows = _guarded(ws.iter_rows(values_only=True), path, position)
    head = []
    for row in rows:
        position[0] += 1
        head.append(row)
        if len(head) == 12:
            break
    header_at = _header_row(head)
    header = head[header_at] if head else ()
    if not header or all(v is None for v in header):
        raise DataError(f"registry {path}: sheet {ws.title!r} has no header row")
    raw_names = [str(h).strip() for h in header if h is not None and str(h).strip()]
    _refuse_repeated_fields(path, sorted({h for h in raw_names if raw_names.count(h) > 1}))
    headers = _unique_headers(header)
    total = max((ws.max_row or 0) - header_at - 1, 0) if ws.max_row else None
    skipped = [f"skipped {header_at} row(s) above the header row"] if header_at else []
    blank = []

    def chunks():
        pending = iter(head[header_at + 1:])
        sheet_row = header_at + 1  # the header's row
        data, numbers = [], []
        for row in itertools.chain(pending, rows):
            sheet_row += 1
            position[0] = sheet_row
            values = list(row[:len(headers)]) + [None] * (len(headers) - len(row))
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                blank.append(sheet_row)
                continue
            data.append(values)
            numbers.append(sheet_row)
            if len(data) == chunk_size:
                yield pd.DataFrame(data, columns=headers, dtype=object), None, np.array(numbers)
                data, numbers = [], []
        if data:
            yield pd.DataFrame(data, columns=headers, dtype=object), None, np.array(numbers)
        if blank:
            skipped.append(f"skipped {len(blank)} empty row(s)")
        book.close()

    return Registry(path, "xlsx", headers, total, skipped=skipped, _chunks=chunks(), sheet=ws.title,
                    sheets=list(book.sheetnames))


def _guarded(rows, path: Path, position: list[int]):
    """Rows of a workbook, with a damaged file reported as a one-line error (``position[0]``: last row read)."""
    try:
        yield from rows
    except (ElementTree.ParseError, zlib.error, zipfile.BadZipFile, EOFError, KeyError, ValueError) as exc:
        raise DataError(f"registry {path}: the workbook is damaged near row {position[0] + 1}: "
                        f"{type(exc).__name__}: {exc}") from None


def _unique_headers(header) -> list[str]:
    out, seen = [], {}
    for i, h in enumerate(header):
        name = str(h).strip() if h is not None and str(h).strip() else f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def _open_vector(path: Path, fmt: str, layer, engine: str, chunk_size: int) -> Registry:
    notes = []
    if layer is None:
        try:
            layers = [str(x) for x in pyogrio.list_layers(path)[:, 0]]
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
            layers = []
        if len(layers) > 1:
            layer = layers[0]
            notes.append(f"read layer {layer!r} of {len(layers)} ({', '.join(layers)}); --layer to choose")
    try:
        info = pyogrio.read_info(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"registry {path}: cannot read: {first}") from None
    crs = info.get("crs")
    headers = [str(f) for f in info["fields"]]
    total = int(info["features"]) if info.get("features", -1) >= 0 else None

    def chunks_pyogrio():
        start = 0
        with pyogrio.raw.open_arrow(path, layer=layer, batch_size=chunk_size, use_pyarrow=True) as (meta, reader):
            geom_col = meta["geometry_name"] or "wkb_geometry"
            for batch in reader:
                frame = batch.to_pandas()
                wkb = frame.pop(geom_col).to_numpy() if geom_col in frame else np.full(len(frame), None)
                geometry = gpd.GeoSeries(shapely.from_wkb(wkb), index=frame.index, crs=crs)
                yield frame, geometry, np.arange(start + 1, start + len(frame) + 1)
                start += len(frame)

    def chunks_fiona():
        import fiona  # imported only when chosen: it is the slower engine and costs start-up time

        start = 0
        with fiona.open(path, layer=layer) as src:
            batch = []
            for feature in src:
                batch.append(feature)
                if len(batch) == chunk_size:
                    yield _fiona_frame(batch, headers, crs, start)
                    start += len(batch)
                    batch = []
            if batch:
                yield _fiona_frame(batch, headers, crs, start)

    chunks = chunks_pyogrio() if engine == "pyogrio" else chunks_fiona()
    source = from_pyproj(CRS.from_user_input(crs)) if crs else None
    return Registry(path, fmt, headers, total, source=source, _chunks=chunks, skipped=notes)


def _open_site_file(path: Path, engine: str) -> Registry:
    """KML, DXF and red-line files: small, read whole through :mod:`zoning.sites`, one feature per row."""
    layer = read_site_layer(path, engine=engine)
    raw = layer.attributes.reset_index(drop=True)
    raw.columns = [str(c) for c in raw.columns]
    fmt = SITE_FORMATS[path.suffix.lower()]

    def chunks():
        yield raw, layer.geometry, np.arange(1, len(raw) + 1)

    return Registry(path, fmt, list(raw.columns), len(raw), source=layer.source, _chunks=chunks(),
                    skipped=list(layer.notes))


def _fiona_frame(features, headers, crs, start):
    frame = pd.DataFrame([dict(f["properties"]) for f in features], columns=headers)
    geometry = gpd.GeoSeries([shapely.geometry.shape(f["geometry"]) if f["geometry"] else None
                              for f in features], index=frame.index, crs=crs)
    return frame, geometry, np.arange(start + 1, start + len(frame) + 1)
