"""Whom a row without a unit code applies to, for ``zoning rules import``.

A province's Excel list often carries, beside one row per unit, rows with no
unit code: the province-wide requirements (河北省 / 全省 / 省级总体管控要求),
a city's (保定市 / 全市 / 市级), a county's, sometimes per unit type
(全省优先保护单元). Such a row becomes a province, city or county list whose
scope is the GB/T 2260 prefix of that division (and the unit types it names),
told from, in order:

* a name the row gives: a province (the 34 provincial-level divisions), or a
  city or county that the unit layer (``--units``: its PROV/CITY/AREA fields)
  or the workbook's own province/city/county columns tie to unit codes;
* the unit codes of the workbook's other rows (``ZH`` + 6-digit division
  code): when all of them share one city's 4 digits, "全市" is that city;
* the unit codes of the rows just below it (a city's block of units).

A row that names something else (a unit without its code, an area such as a
new district that no layer places) or nothing at all is not guessed at: the
reason is returned, and the import reports the row as skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

#: GB/T 2260 provincial-level divisions
PROVINCES = {"11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区", "21": "辽宁省",
             "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省",
             "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省",
             "44": "广东省", "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省",
             "53": "云南省", "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省",
             "64": "宁夏回族自治区", "65": "新疆维吾尔自治区", "71": "台湾省", "81": "香港特别行政区",
             "82": "澳门特别行政区"}
_SHORT = {code: re.sub(r"(?:壮族|回族|维吾尔)?(?:自治区|特别行政区|省|市)$", "", name)
          for code, name in PROVINCES.items()}
_MUNICIPALITIES = ("11", "12", "31", "50")  # province-level cities: their "全市" is the province
_ADMIN = re.compile(r"^ZH(\d{6})", re.IGNORECASE)
_TYPES = {"优先保护": 1, "重点管控": 2, "一般管控": 3}
_PROVINCE_WORDS = re.compile(r"全省|省级|省域|本省|省内")
_CITY_WORDS = re.compile(r"全市|市级|市域|本市|市内|全州|州级|全盟|盟级")
_COUNTY_WORDS = re.compile(r"全县|县级|县域|本县|县内|区县级")
_GENERAL_WORDS = re.compile(r"总体|普适|通用|共性|基本要求|所有|全部|各类")
_CITY_NAME = re.compile(r"[^\W\d_省市县区级]{1,6}?(?:自治州|市|地区|州(?!市)|盟)")
_NOT_A_CITY = re.compile(r"^(?:全|本|该|各|每|城|设区|地级|县级|所在)")
#: words a general row's label may hold besides place names; what is left names a place zoning cannot tell
_FILLER = re.compile(r"生态环境|环境|分区|管控|准入|清单|要求|总体|普适性?|通用|共性|基本|全部|所有|各类|单元|优先保护"
                     r"|重点|一般|保护|范围|区域|层面|陆域|适用|其他|以及|省内|市内|县内|行政区"
                     r"|[省市县州盟区级全本各类的和与及、/\-—\s]|[^\u4e00-\u9fff]")


@dataclass(frozen=True)
class Reach:
    """Whom a list from a row without a unit code applies to."""

    level: str  # province | city | county
    admin: str  # the GB/T 2260 prefix: 2, 4 or 6 digits
    unit_types: tuple[int, ...]
    basis: str  # how it was told, for the draft's comment and the report


class Places:
    """What a workbook and a unit layer tell about divisions: names tied to division-code prefixes."""

    def __init__(self, coded: pd.DataFrame, *, context: str = "", units: pd.DataFrame | None = None):
        """``coded``: the workbook's rows with a unit code (``row``, ``code`` and, when the workbook has
        them, ``province``, ``city``, ``county``); ``context``: titles, sheet name, issuer and document (a
        province or city named there); ``units``: a unit layer (``admin``, ``province``, ``city``, ``county``)."""
        self.context = context
        admins = coded["code"].astype(str).str.extract(_ADMIN)[0]
        national = coded.assign(admin=admins)[admins.notna()]
        self.rows = list(zip(national["row"].astype(int), national["admin"]))
        self.layer = sorted({str(a) for a in units["admin"] if a}) if units is not None and "admin" in units else []
        #: digits of the prefix → a division's name → the prefixes of the unit codes it goes with
        self.names: dict[int, dict[str, set[str]]] = {2: {}, 4: {}, 6: {}}
        for frame in (national, units if units is not None and "admin" in units else None):
            for column, size in (("province", 2), ("city", 4), ("county", 6)):
                if frame is None or column not in frame:
                    continue
                for name, admin in zip(frame[column], frame["admin"]):
                    name = re.sub(r"\s+", "", str(name or ""))
                    if len(name) >= 2 and admin and str(admin).isdigit():
                        self.names[size].setdefault(name, set()).add(str(admin)[:size])

    def reach(self, row: int, label: str, before_next: int | None = None) -> Reach | str:
        """Whom the row ``row`` (its non-text cells joined in ``label``) applies to, or why that cannot be told.
        ``before_next``: the next row without a unit code (its block of units ends there)."""
        text = re.sub(r"[(（【\[《][^)）】\]》]*[)）】\]》]", "", label)
        types = tuple(sorted({t for word, t in _TYPES.items() if word in text}))
        province = self._province(text)
        county = self._known(text, 6)
        city = self._known(text, 4) or self._city_name(text.replace(province[1], "") if province else text)
        rest = text
        for name in (*province[1:], _SHORT[province[0]], PROVINCES[province[0]]) if province else ():
            rest = rest.replace(name, "")
        for named in (city, county):
            rest = rest.replace(named, "") if named else rest
        rest = _FILLER.sub("", rest)
        if len(rest) >= 2:
            what = "a unit" if "单元" in label else "an area"
            return (f"no unit code, and the row names {what} ({_quote(label)}) that is not a province, city or county "
                    "zoning can place: give the unit code, or the units layer (--units) whose PROV/CITY/AREA "
                    "fields name it")
        block = [a for r, a in self.rows if r > row and (before_next is None or r < before_next)]
        if county or _COUNTY_WORDS.search(text):
            return self._resolve("county", county, types, block, label)
        if province and province[0] in _MUNICIPALITIES and not (city and city != PROVINCES[province[0]]):
            return Reach("province", province[0], types, f"{province[1]} named on the row")
        whole = _shared([a for _, a in self.rows], 2)
        if not city and whole in _MUNICIPALITIES and _CITY_WORDS.search(text):  # 全市 in Tianjin: all of it
            return Reach("province", whole, types, f"{_quote(label)} on the row; every unit code of the workbook "
                                                   f"starts ZH{whole} ({PROVINCES[whole]})")
        if city or _CITY_WORDS.search(text):
            return self._resolve("city", city, types, block, label)
        if province:
            return Reach("province", province[0], types, f"{province[1]} named on the row")
        if _PROVINCE_WORDS.search(text):
            return self._resolve("province", None, types, block, label)
        if types or _GENERAL_WORDS.search(text):
            for size, level in ((4, "city"), (2, "province")):
                prefix = _shared([a for _, a in self.rows], size)
                if prefix:
                    return Reach(level, prefix, types, f"{_quote(label)} on the row; every unit code of the "
                                                       f"workbook starts ZH{prefix} (one {level})")
        return (f"no unit code, and nothing on the row ({_quote(label) if label.strip() else 'no name'}) says "
                "whose list it is: name the province (河北省, 全省, 省级…) or city (保定市, 全市, 市级…), "
                "or give the unit code")

    def _province(self, text: str) -> tuple[str, str] | None:
        """(code, the name as found) of a provincial-level division named in ``text``."""
        for code, name in PROVINCES.items():
            if name in text:
                return code, name
        for code, short in _SHORT.items():
            m = re.search(re.escape(short) + r"(?![区县市州路街镇乡村])", text)
            if m and len(short) >= 2:
                return code, short
        return None

    def _known(self, text: str, size: int) -> str | None:
        """The longest name in ``text`` that the workbook or the layer ties to prefixes of ``size`` digits."""
        found = [name for name in self.names[size]
                 if (name in text or (len(short := re.sub(r"(?:市|县|区|地区|盟|自治州)$", "", name)) >= 2
                                       and short in text))]
        return max(found, key=len) if found else None

    @staticmethod
    def _city_name(text: str) -> str | None:
        """A city's name as written (保定市, 锡林郭勒盟, 甘孜藏族自治州), not 全市 or 城市."""
        for m in _CITY_NAME.finditer(text):
            if not _NOT_A_CITY.match(m[0]):
                return m[0]
        return None

    def _resolve(self, level: str, name: str | None, types, block: list[str], label: str) -> Reach | str:
        """The prefix of the ``level`` named ``name`` (or only said: 全市), from the names the workbook and the
        layer tie to codes, then the codes of the whole workbook, then those of the rows below."""
        size = {"province": 2, "city": 4, "county": 6}[level]
        said = _quote(name or label)
        known = self.names[size].get(name or "", set())
        if len(known) == 1:
            (prefix,) = known
            return Reach(level, prefix, types, f"{said} on the row; its units' codes start ZH{prefix}")
        unchecked = "" if not name or name in self.context else f" ({said} is not checked against the codes: confirm)"
        for shared, where in ((_shared([a for _, a in self.rows], size), "every unit code of the workbook starts"),
                              (_shared(block, size), "the unit codes on the rows below it start")):
            others = {n for n, ps in self.names[size].items() if shared in ps and n != name}
            if shared and not known and not (name and others):  # another name goes with those codes
                return Reach(level, shared, types, f"{said} on the row; {where} ZH{shared}{unchecked}")
        if level == "province":
            named = {code for code, full in PROVINCES.items() if full in self.context}
            layer = _shared(self.layer, 2)
            if layer or len(named) == 1:
                prefix = layer or named.pop()
                return Reach(level, prefix, types, f"{said} on the row; province {prefix} from "
                                                   + ("the unit layer" if layer else "the title, issuer or document"))
        field = {"province": "PROV", "city": "CITY", "county": "AREA"}[level]
        why = "goes with several division codes" if len(known) > 1 else "has no division code zoning can tell"
        return (f"no unit code; the row reads as a {level}-wide list, but {said} {why}: give the units layer "
                f"(--units) whose {field} field names it, or unit codes of that {level} in the workbook")


def _shared(admins: list[str], size: int) -> str | None:
    """The prefix of ``size`` digits all ``admins`` share, or None (none given, or they differ)."""
    prefixes = {str(a)[:size] for a in admins if a}
    return prefixes.pop() if len(prefixes) == 1 else None


def _quote(text: str) -> str:
    """``text`` on one line, at most 60 characters, quoted for a message."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return repr(flat[:60] + ("…" if len(flat) > 60 else ""))
