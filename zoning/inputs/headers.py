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
from zoning.vocabulary import Vocabulary, builtin

# Header names per field, best first: when two headers match one field, the
# better-ranked one is used (行业代码 over 行业类别); two equally ranked matches,
# or two columns for one attribute, are an error. Ten-character forms are
# what a Shapefile's DBF keeps of the longer names.
_BASE_HEADERS: dict[str, tuple[str, ...]] = {
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
    # the day the project was filed or approved: the lists in force that day judge it
    "date": ("受理日期", "审批日期", "批复日期", "环评批复日期", "环评审批日期", "审批时间", "批复时间", "受理时间",
             "申报日期", "立项日期", "备案日期", "date", "approval_date", "approved_on", "filed_on", "日期"),
}
#: the fields that are not attributes
BASE_FIELDS = tuple(_BASE_HEADERS)


class _Headers:
    """The fields of one vocabulary and the headers that name them, ranked (built once per vocabulary)."""

    def __init__(self, vocabulary: Vocabulary):
        lists = dict(_BASE_HEADERS)
        for name, spec in vocabulary.attributes.items():
            lists[name] = tuple(dict.fromkeys(header_key(h) for h in (name, *spec.aliases)))
        self.fields = tuple(lists)
        self.lists = lists
        self.rank: dict[str, tuple[str, int]] = {}
        for f, names in lists.items():
            for i, h in enumerate(names):
                self.rank.setdefault(h, (f, i))


def _headers(vocabulary: Vocabulary | None) -> _Headers:
    vocabulary = vocabulary or builtin()
    found = vocabulary.cache.get("headers")
    if not isinstance(found, _Headers):
        found = vocabulary.cache["headers"] = _Headers(vocabulary)
    return found


def fields(vocabulary: Vocabulary | None = None) -> tuple[str, ...]:
    """Every field a registry column may give: name, location, industry, type, then the attributes."""
    return _headers(vocabulary).fields


# words around an attribute's name in headers: "VOCs排放量(t/a)", "年排放二氧化硫"
_AFFIXES = re.compile(r"(年?排放总?量|年?排放|排放|总量|年用量|用量|年|量|_t_a|t/a)$|^(年排放|年|排放)")
_TRAILING_BRACKETS = re.compile(r"^(.*?)[(\[]([^()\[\]]*)[)\]]$")
# Bracketed text in a header is a note — （以NO2计）, （非甲烷总烃）, （PM10） — or a unit. Anything
# that looks like a unit (Latin letters, a slash, or a unit character) is taken as one, so an
# unknown unit (MW, kgce, L) is an error instead of silently unconverted values.
_NOTE = re.compile(r"以|计|^(pm10|pm2\.?5|tsp|nmhc|vocs?|codcr|cod|bod5?|nox|so2|no2|nh3-?n|非甲烷总烃)$")
_UNITLIKE = re.compile(r"/|^[万千]?[a-zμ0-9.·]+$|[吨克升方米煤时年瓦焦亩顷元头只羽里]")


#: no recognised header is longer than this (with its unit and notes)
_LONGEST_HEADER = 200
#: joins the levels of a two-row header (排放量·SO2, 坐标·经度; see :mod:`zoning.inputs.workbooks`)
LEVEL = "·"


def header_key(header: object) -> str:
    """A header reduced for matching: NFKC, lower case, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(header))).lower()


def _split_header(header: str) -> tuple[str, str | None]:
    """(name, unit) of a header: trailing bracketed notes are dropped; a unit-like one is the unit. A header of
    two levels (``排放量(t/a)·SO2``) is named by its lower level, with the upper level's unit if it has none."""
    levels = header_key(header).split(LEVEL)
    key, unit = _split_level(levels[-1])
    for upper in reversed(levels[:-1]):
        unit = unit or _split_level(upper)[1]
    return key, unit


def _split_level(key: str) -> tuple[str, str | None]:
    unit = None
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


def field_name(name: str, vocabulary: Vocabulary | None = None) -> str:
    """The field a column override (``columns``, ``--col``) names (case-insensitive; attribute aliases accepted)."""
    vocabulary = vocabulary or builtin()
    known = fields(vocabulary)
    lowered = {f.lower(): f for f in known}
    if name.strip().lower() in lowered:
        return lowered[name.strip().lower()]
    found = vocabulary.lookup(name)
    if found is None:
        raise InputError(f"{parameter('columns', (name, '…'))}: unknown field {name!r} "
                         f"(fields: {', '.join(known)})")
    return found


def recognise_columns(headers: Iterable[object], overrides: Mapping[str, str] | None = None,
                      vocabulary: Vocabulary | None = None) -> ColumnMap:
    """Map input headers to fields (see :func:`fields`); ``overrides`` is ``{field: header}``."""
    vocabulary = vocabulary or builtin()
    names = [str(h) for h in headers]
    chosen = {field_name(f, vocabulary): header for f, header in (overrides or {}).items()}
    for wanted, header in chosen.items():
        if header not in names:
            raise InputError(f"{parameter('columns', (wanted, header))}: no column {header!r} in the input "
                             f"(columns: {', '.join(names)})")
    best: dict[str, tuple[int, list[str]]] = {}
    taken = set(chosen.values())
    for header in names:
        if header in taken:
            continue
        f, rank = match_header(header, vocabulary)
        if f is None or f in chosen:
            continue
        if f in vocabulary:
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
        if f in vocabulary and vocabulary[f].kind == "number":
            unit = _split_header(header)[1]
            if unit:
                factor = vocabulary.factor(f, unit)
                if factor is None:
                    known = list(vocabulary[f].units)
                    raise InputError(f"column {header!r}: unit {unit!r} is not a unit of {f} "
                                     f"(expected {vocabulary[f].unit or 'no unit'} or e.g. {', '.join(known[:6])}); "
                                     "rename the column or convert the values")
                scales[f] = factor
    ordered = {f: columns[f] for f in fields(vocabulary) if f in columns}
    return ColumnMap(ordered, scales)


def match_header(header: str, vocabulary: Vocabulary | None = None) -> tuple[str | None, int]:
    """(field, rank) for one header."""
    if len(header) > _LONGEST_HEADER:  # a long text is a value, never a header
        return None, 0
    rank = _headers(vocabulary).rank
    key = _split_header(header)[0]
    candidates = [key, _AFFIXES.sub("", key)]
    levels = header_key(header).split(LEVEL)
    if len(levels) > 1:  # 坐标·经度 by its lower level (above); SO2·排放量 by the levels read together
        joined = "".join(_split_level(level)[0] for level in levels)
        candidates += [joined, _AFFIXES.sub("", joined)]
    for candidate in candidates:
        if candidate in rank:
            return rank[candidate]
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
    return list(_headers(None).lists[name][:n])
