"""Registry headers as bureaus write them, recognised as the fields the engine reads.

Headers are recognised from common Chinese and English names (项目名称/name,
经度/lon, 纬度/lat, 行业代码/industry, 建设性质/type, ``VOCs(t/a)``,
``二氧化硫``…), with case, spaces, full-width brackets and words such as
排放量 ignored. A unit in the header's brackets (``kg/a``, ``万吨/年``)
scales the values to the unit the rule vocabulary uses; a unit that does not
fit the quantity is refused rather than guessed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from zoning.errors import DataError, InputError, parameter
from zoning.projects import ATTRIBUTES, attribute_name

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


#: no recognised header is longer than this (with its unit and notes)
_LONGEST_HEADER = 200


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
    """The field a column override (``columns``, ``--col``) names (case-insensitive; attribute aliases accepted)."""
    lowered = {f.lower(): f for f in FIELDS}
    if name.strip().lower() in lowered:
        return lowered[name.strip().lower()]
    try:
        return attribute_name(name)
    except InputError:
        raise InputError(f"{parameter('columns', (name, '…'))}: unknown field {name!r} "
                         f"(fields: {', '.join(FIELDS)})") from None


def recognise_columns(headers: Iterable[object], overrides: Mapping[str, str] | None = None) -> ColumnMap:
    """Map input headers to fields (see :data:`FIELDS`); ``overrides`` is ``{field: header}``."""
    names = [str(h) for h in headers]
    chosen = {field_name(f): header for f, header in (overrides or {}).items()}
    for wanted, header in chosen.items():
        if header not in names:
            raise InputError(f"{parameter('columns', (wanted, header))}: no column {header!r} in the input "
                             f"(columns: {', '.join(names)})")
    best: dict[str, tuple[int, list[str]]] = {}
    taken = set(chosen.values())
    for header in names:
        if header in taken:
            continue
        f, rank = match_header(header)
        if f is None or f in chosen:
            continue
        if f in ATTRIBUTES:
            rank = 0  # two columns for one quantity are ambiguous whatever their names
        if f not in best or rank < best[f][0]:
            best[f] = (rank, [header])
        elif rank == best[f][0]:
            best[f][1].append(header)
    columns = dict(chosen)
    for f, (_, found) in best.items():
        if len(found) > 1:
            raise InputError(f"columns {', '.join(repr(h) for h in found)} all look like {f}; "
                             f"choose one with {parameter('columns', (f, 'HEADER'))}")
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


def match_header(header: str) -> tuple[str | None, int]:
    """(field, rank) for one header."""
    if len(header) > _LONGEST_HEADER:  # a long text is a value, never a header
        return None, 0
    key = _split_header(header)[0]
    for candidate in (key, _AFFIXES.sub("", key)):
        if candidate in _RANK:
            return _RANK[candidate]
    return None, 0



def recognised(row: Sequence[object]) -> int:
    """How many distinct fields the cells of ``row`` name."""
    return len({match_header(str(v))[0] for v in row if v is not None and str(v).strip()} - {None})


def header_row(rows: Sequence[Sequence[object]]) -> int:
    """Index of the header among a file's first rows: the first naming two or more fields; -1 if none does.

    Registries often start with a title row (``XX市建设项目清单``) above the header.
    """
    for i, row in enumerate(rows):
        if recognised(row) >= 2:
            return i
    return -1


def refuse_repeated_fields(path: object, repeated: Iterable[str]) -> None:
    """A header naming one field twice (two 经度 columns) is refused: which one to use is unclear."""
    for h in repeated:
        if match_header(h)[0] is not None:
            raise DataError(f"registry {path}: the header has {h!r} twice; rename one so it is clear which "
                            f"gives {match_header(h)[0]}")


def example_headers(name: str, n: int = 4) -> list[str]:
    """The first ``n`` headers recognised for field ``name``, for messages."""
    return list(_FIELD_HEADERS[name][:n])
