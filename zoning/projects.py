"""Projects: the attributes a project can carry, and their normalisation.

A project is a site (point, line or polygon in CGCS2000 lon/lat), an industry
code, a project type and named numeric attributes. Rules may only refer to the
attributes registered here, so a typo in a rule file or on the command line is
caught instead of silently never matching.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from zoning.errors import InputError
from zoning.geodesy import GEOGRAPHIC
from zoning.industries import table as industry_table


@dataclass(frozen=True)
class Attribute:
    name: str
    unit: str
    description: str
    flag: bool = False  # true/false attribute, stored as 1.0/0.0


ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in [
        Attribute("SO2", "t/a", "sulphur dioxide emission (二氧化硫)"),
        Attribute("NOx", "t/a", "nitrogen oxides emission (氮氧化物)"),
        Attribute("particulate", "t/a", "particulate matter emission (颗粒物)"),
        Attribute("VOCs", "t/a", "volatile organic compounds emission (挥发性有机物)"),
        Attribute("COD", "t/a", "chemical oxygen demand discharge (化学需氧量)"),
        Attribute("NH3-N", "t/a", "ammonia nitrogen discharge (氨氮)"),
        Attribute("coal_use", "t/a", "coal consumption (煤炭消费量)"),
        Attribute("water_use", "m3/a", "fresh water use (新鲜水用量)"),
        Attribute("energy_use", "tce/a", "comprehensive energy use (综合能耗)"),
        Attribute("capacity", "t/a", "production capacity (产能)"),
        Attribute("boiler_capacity", "t/h", "boiler rated capacity (锅炉容量)"),
        Attribute("in_park", "", "located in a designated industrial/chemical park (入园)", True),
        Attribute("chp", "", "combined heat and power (热电联产)", True),
        Attribute("capacity_replacement", "", "equal or reduced capacity swap (产能置换)", True),
        Attribute("hazardous_chemicals", "", "stores or handles hazardous chemicals (危化品)", True),
        Attribute("wastewater_discharge", "", "discharges wastewater (排放废水)", True),
        Attribute("emission_offset", "", "new emissions offset by reductions elsewhere (替代削减)", True),
    ]
}
EMISSIONS = ("SO2", "NOx", "particulate", "VOCs", "COD", "NH3-N")

_ATTRIBUTE_ALIASES = {
    **{name.lower(): name for name in ATTRIBUTES},
    "nh3n": "NH3-N", "nh3_n": "NH3-N", "nh3": "NH3-N", "ammonia": "NH3-N",
    "pm": "particulate", "dust": "particulate", "voc": "VOCs",
    "二氧化硫": "SO2", "氮氧化物": "NOx", "颗粒物": "particulate", "烟粉尘": "particulate",
    "挥发性有机物": "VOCs", "化学需氧量": "COD", "氨氮": "NH3-N",
}

PROJECT_TYPES = ("new", "expansion", "renovation", "relocation")
_TYPE_ALIASES = {
    **{t: t for t in PROJECT_TYPES},
    "新建": "new", "扩建": "expansion", "改扩建": "expansion", "改建": "renovation",
    "技改": "renovation", "技术改造": "renovation", "迁建": "relocation", "搬迁": "relocation",
    "expand": "expansion", "extension": "expansion", "renovate": "renovation",
    "reconstruction": "renovation", "relocate": "relocation",
}

_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"  # what a plain decimal number looks like
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")
#: what registries write for "none given"; read as not supplied, never as zero
_PLACEHOLDERS = {"/", "-", "--", "—", "——", "－", "无", "n/a", "N/A", "NA", "暂无", "\\"}
_TRUE = {"true", "yes", "y", "1", "是", "t", "√", "✓", "✔", "有"}
_FALSE = {"false", "no", "n", "0", "否", "f", "×", "✗", "✘", "无"}


def attribute_name(name: str) -> str:
    """Canonical attribute name for ``name`` (case-insensitive, common aliases)."""
    key = str(name).strip()
    canonical = _ATTRIBUTE_ALIASES.get(key.lower()) or _ATTRIBUTE_ALIASES.get(key)
    if canonical is None:
        near = difflib.get_close_matches(key, list(ATTRIBUTES), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise InputError(
            f"unknown project attribute {key!r}{hint} (known: {', '.join(ATTRIBUTES)})"
        )
    return canonical


def project_type(value: object) -> str:
    """Canonical project type for ``value`` (English or Chinese)."""
    key = str(value).strip().lower()
    canonical = _TYPE_ALIASES.get(key)
    if canonical is None:
        raise InputError(
            f"unknown project type {str(value)!r} (use one of {', '.join(PROJECT_TYPES)}; "
            "新建/扩建/改扩建/改建/迁建 are accepted)"
        )
    return canonical


def attribute_value(name: str, value: object) -> float:
    """Parse one attribute value: a number, or true/false for flags.

    Returns NaN for the placeholders registries use for "none given" (``/``,
    ``—``, ``无``…). Numbers may use full-width digits or thousands
    separators (``1,234.5``); a flag may carry a note (``是（化工园区）``).
    """
    attr = ATTRIBUTES[attribute_name(name)]
    if isinstance(value, bool):
        if not attr.flag:
            raise InputError(f"attribute {attr.name} must be a number ({attr.unit}), not {value}")
        return 1.0 if value else 0.0
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text in _PLACEHOLDERS and not (attr.flag and text in _FALSE):
        return np.nan
    if attr.flag:
        word = re.sub(r"[(（].*[)）]$", "", text).strip().lower()
        if word in _TRUE:
            return 1.0
        if word in _FALSE:
            return 0.0
        try:
            if float(word) in (0.0, 1.0):
                return float(word)
        except ValueError:
            pass
        raise InputError(f"attribute {attr.name} is true/false, not {str(value)!r}")
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        raise InputError(f"attribute {attr.name} must be a number ({attr.unit}), not {str(value)!r}") from None
    if not np.isfinite(number) or number < 0:
        raise InputError(f"attribute {attr.name} must be a non-negative number, not {str(value)!r}")
    return number


def normalise(projects: gpd.GeoDataFrame, *, errors: str = "raise", labels: dict[str, str] | None = None):
    """Validate and canonicalise a frame of projects for evaluation.

    Expects a geometry column with a CRS, optional ``industry`` and ``type``
    columns and optional attribute columns (canonical names or aliases).
    Returns a new frame in :data:`~zoning.crs.GEOGRAPHIC` with ``industry``
    (canonical code or None), ``type`` (canonical or None) and one float column
    per registered attribute (NaN = not supplied).

    With ``errors="raise"`` the first bad value raises :class:`InputError`
    naming the row and field. With ``errors="collect"`` returns
    ``(frame, problems)`` instead: ``problems`` is a :class:`RowErrors` with a
    one-line message and a kind for each bad row (the first problem found in
    the row); those rows' values are left missing. ``labels`` maps column
    names to the names messages should use (e.g. the input file's headers).
    """
    labels = labels or {}
    if errors not in ("raise", "collect"):
        raise ValueError(f"errors must be 'raise' or 'collect', not {errors!r}")
    if projects.crs is None:
        raise InputError("project geometries have no CRS")
    problems = RowErrors(projects.index)
    geoms = projects.geometry.array
    absent = np.asarray(geoms.isna() | geoms.is_empty)
    coords, owner = shapely.get_coordinates(np.asarray(geoms), return_index=True)
    absent[owner[~np.isfinite(coords).all(axis=1)]] = True  # e.g. POINT (nan 38.9) from a blank lon
    problems.add(absent, "missing location", "field 'geometry': missing, empty or non-numeric location")
    geometry = projects.geometry.where(~absent, None) if absent.any() else projects.geometry
    out = gpd.GeoDataFrame(index=projects.index, geometry=geometry.to_crs(GEOGRAPHIC))
    table = industry_table()

    industries = projects["industry"] if "industry" in projects else pd.Series(None, index=projects.index)
    out["industry"] = _map_unique(industries, lambda v: table.resolve(_industry_text(v)),
                                  labels.get("industry", "industry"), problems, "unknown industry")
    types = projects["type"] if "type" in projects else pd.Series(None, index=projects.index)
    out["type"] = _map_unique(types, project_type, labels.get("type", "type"), problems, "unknown project type")

    seen: dict[str, str] = {}
    for column in projects.columns:
        if column in ("industry", "type", projects.geometry.name):
            continue
        try:
            name = attribute_name(column)
        except InputError:
            continue  # not an attribute: an identifier or descriptive column
        if name in seen:
            raise InputError(f"columns {seen[name]!r} and {column!r} both give attribute {name}")
        seen[name] = column
        kind = "non-numeric emission" if name in EMISSIONS else "bad attribute value"
        label = labels.get(column, column)
        if ATTRIBUTES[name].flag:
            out[name] = _map_unique(projects[column], lambda v, n=name: attribute_value(n, v), label, problems, kind)
        else:
            out[name] = _numbers(projects[column], name, label, problems, kind)
    for name in ATTRIBUTES:
        if name not in out:
            out[name] = np.nan
        out[name] = out[name].astype(float)
    if errors == "raise":
        problems.raise_first()
        return out
    return out, problems


def _industry_text(value: object) -> str:
    """An industry cell as text; a number from a spreadsheet must still have all its digits.

    Excel drops leading zeros from codes stored as numbers: A0311 (cattle)
    becomes 311, which is a valid but different code (C311, iron smelting).
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if float(value) != int(value) or not 1000 <= int(value) <= 9999:
            raise InputError(f"industry {value!r} is stored as a number: codes with a leading zero (A01-A05) "
                             "lose it, so numbers below 1000 are ambiguous; store codes as text ('0311') or with "
                             "the section letter (A0311, C26)")
        return str(int(value))
    return str(value)


class RowErrors:
    """Per-row problems found while reading or normalising projects.

    ``message[i]`` is a one-line reason ("" when row ``i`` is fine) and
    ``kind[i]`` a short category for summaries; the first problem of a row wins.
    """

    def __init__(self, index: pd.Index):
        self.index = index
        self.message = np.full(len(index), "", dtype=object)
        self.kind = np.full(len(index), "", dtype=object)

    @property
    def bad(self) -> np.ndarray:
        return self.message != ""

    def add(self, mask: np.ndarray, kind: str, message) -> None:
        """Record ``message`` (a string, or an array aligned with the rows) where ``mask`` is true."""
        new = np.asarray(mask, bool) & ~self.bad
        if not new.any():
            return
        self.message[new] = message[new] if isinstance(message, np.ndarray) else message
        self.kind[new] = kind

    def merge(self, other: RowErrors) -> None:
        """Add ``other``'s problems for rows that have none yet."""
        new = other.bad & ~self.bad
        self.message[new] = other.message[new]
        self.kind[new] = other.kind[new]

    def raise_first(self) -> None:
        bad = np.flatnonzero(self.bad)
        if len(bad):
            raise InputError(f"row {self.index[bad[0]]}, {self.message[bad[0]]}")


def _numbers(values: pd.Series, name: str, field: str, problems: RowErrors, kind: str) -> np.ndarray:
    """Numeric attribute values, parsed vectorised; blanks are NaN, bad values recorded in ``problems``."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        # text read from a CSV: parse in Arrow, without making a Python object per cell
        text = pc.utf8_trim_whitespace(pa.array(values))
        blank = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
        numeric = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
        parsed = pc.cast(pc.if_else(numeric, text, pa.scalar(None, pa.string())), pa.float64())
        number = parsed.to_numpy(zero_copy_only=False).astype(float, copy=True)
    else:
        raw = values.to_numpy(dtype=object)
        series = pd.Series(raw, dtype=object)  # as objects: no conversion to Arrow strings
        number = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, copy=True)
        blank = pd.isna(raw) | (series.astype(str).str.strip() == "").to_numpy()
        if values.dtype == object:  # mixed cells (Excel): TRUE/FALSE are not numbers
            number[series.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)] = np.nan
    other = ~blank & ~(np.isfinite(number) & (number >= 0))
    if other.any():  # the per-value parser reads the rest (1,234.5, full-width digits, "/") or words the error
        parsed = _map_unique(values.where(other, None), lambda v: attribute_value(name, v), field, problems, kind)
        number[other] = parsed[other].astype(float).to_numpy()
    return np.where(blank, np.nan, number)


def _map_unique(values: pd.Series, parse, field: str, problems: RowErrors, kind: str) -> pd.Series:
    """Apply ``parse`` once per distinct non-blank value, then map by integer codes.

    Rows whose value does not parse are recorded in ``problems`` and left missing.
    """
    # numpy objects hash faster than pandas' Arrow-backed strings
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    parsed = np.full(len(uniques) + 1, None, dtype=object)  # last slot: missing values (code -1)
    failed = np.full(len(uniques) + 1, "", dtype=object)
    for i, value in enumerate(uniques):
        if isinstance(value, str) and not value.strip():
            continue
        try:
            parsed[i] = parse(value)
        except InputError as exc:
            failed[i] = f"field {field!r}: {exc}"
    messages = failed[codes]
    problems.add(messages != "", kind, messages)
    return pd.Series(parsed[codes], index=values.index, dtype=object)
