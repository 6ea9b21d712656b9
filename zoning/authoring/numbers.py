"""Numbers with units in a clause's text, proposed as thresholds for ``zoning rules import``.

A number followed by a unit that a declared number attribute converts
(``zoning/data/attributes.yaml``: 35蒸吨/小时 → ``boiler_capacity`` in t/h,
10万立方米 → ``water_use`` in m3/a, 5万头 → ``livestock_stock``…) becomes a
proposed comparison on that attribute, converted to the attribute's unit; a
distance (1公里, 500米) becomes a proposed ``within_distance`` in metres. When
a unit fits several attributes, the attribute the text names nearest the
number (its aliases, or a few words such as 锅炉, 用水, 存栏) is chosen. A
number whose unit no attribute has (8立方米/吨, 50mg/m3, 30%) is named in a
comment instead. The comparison comes from the words around the number, read
as Chinese legal texts use them: 以上、以下、以内 include the number itself;
超过、不满、低于 do not. A limit the project must keep (不超过 X, 应低于 X,
控制在 X 以内) is proposed as the projects that break it (over X).

The text given is NFKC-normalised (full-width digits and punctuation as
ASCII), as :mod:`zoning.authoring.drafting` passes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from zoning.vocabulary import Vocabulary, builtin, number_text

#: distance units, in metres
DISTANCE = {"公里": 1000.0, "千米": 1000.0, "km": 1000.0, "米": 1.0, "m": 1.0}
#: units no built-in attribute has, still worth naming in a comment
OTHER_UNITS = ("mg/m3", "mg/nm3", "mg/l", "毫克/立方米", "毫克/标准立方米", "毫克/升", "微克/立方米", "μg/m3", "ug/m3",
               "%", "‰", "倍", "个百分点", "分贝", "db(a)", "db")
#: more words that name an attribute in list texts, besides its declared aliases (used only when declared)
WORDS = {"boiler_capacity": ("锅炉",), "coal_use": ("耗煤", "用煤", "煤炭消费", "煤炭消耗"),
         "water_use": ("用水", "取水", "新鲜水"), "energy_use": ("能耗", "能源消费"),
         "capacity": ("产能", "生产能力"), "product_output": ("年产", "产量"), "land_area": ("用地", "占地"),
         "livestock_stock": ("存栏",), "livestock_output": ("出栏",), "capacity_mw": ("装机",)}
#: zone kinds guessed from the words near a distance (the sample layer's kinds; a layer may name its own)
ZONE_WORDS = (("生态保护红线", "red_line"), ("红线", "red_line"), ("一级保护区", "water_source_grade1"),
              ("二级保护区", "water_source_grade2"), ("禁燃区", "fuel_ban"), ("园区", "industrial_park"),
              ("河", "river"), ("江", "river"), ("干流", "river"), ("岸", "river"))
_CN = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
#: comparisons as the text states them (the project's value OP the number)
_BEFORE = {"不超过": "le", "不大于": "le", "不高于": "le", "不多于": "le", "小于等于": "le", "≤": "le",
           "不低于": "ge", "不少于": "ge", "不小于": "ge", "大于等于": "ge", "≥": "ge", "达到": "ge",
           "超过": "gt", "大于": "gt", "高于": "gt", "多于": "gt", ">": "gt",
           "不足": "lt", "不满": "lt", "未满": "lt", "不到": "lt", "低于": "lt", "小于": "lt", "少于": "lt", "<": "lt"}
_AFTER = {"及以上": "ge", "以上": "ge", "及以下": "le", "以下": "le", "以内": "le", "之内": "le"}
_OPPOSITE = {"le": "gt", "lt": "ge", "ge": "lt", "gt": "le"}
_WORDS_OF = {"le": "at most", "lt": "under", "ge": "at least", "gt": "over"}
_MUST = re.compile(r"(?:应当?|须|必须|需|要|控制在|不得|不应|严禁|禁止)\s*$")
_TOTAL = re.compile(r"总量|总规模|全[省市县]|区域内")  # an area's total (煤炭消费总量控制在…), not a project's
_NEGATED = re.compile(r"(?:不得|不应|不能|严禁|禁止)\s*$")


@dataclass(frozen=True)
class Number:
    """A number with its unit found in a clause, and what it is proposed as."""

    start: int  # where the phrase (comparison words included) lies in the normalised text
    end: int
    phrase: str
    node: dict | None  # a condition node, or None when no attribute fits
    note: str  # how it was read, for the draft's comment


def cn_number(text: str) -> int | None:
    """An integer written in Chinese numerals (一, 十五, 五百, 二〇二四); None if it is not one."""
    if not text or any(c not in _CN and c not in _CN_UNITS for c in text):
        return None
    if not any(c in _CN_UNITS for c in text):  # digit by digit: 二〇二四
        return int("".join(str(_CN[c]) for c in text))
    total, digit = 0, None
    for c in text:
        if c in _CN:
            digit = _CN[c]
        else:
            total += (1 if digit is None else digit) * _CN_UNITS[c]
            digit = None
    return total + (digit or 0)


@cache
def _tables(vocabulary: Vocabulary):
    """The number pattern, and each word that names a number attribute, for ``vocabulary``."""
    numbers = {name: spec for name, spec in vocabulary.attributes.items() if spec.kind == "number"}
    units = {u.lower() for spec in numbers.values() for u in spec.units} | set(DISTANCE) | set(OTHER_UNITS)
    alternation = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    pattern = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?|[〇零一二两三四五六七八九十百千]+)\s*([万亿])?\s*"
                         rf"({alternation})(/[A-Za-z\u4e00-\u9fff0-9]{{1,4}})?(?![A-Za-z0-9])", re.IGNORECASE)
    words: dict[str, str] = {}
    for name, spec in numbers.items():
        for word in (*spec.aliases, *WORDS.get(name, ())):
            if len(word) >= 2 and not word.isascii() or (word.isascii() and len(word) >= 3):
                words.setdefault(word.lower(), name)
    return pattern, words


def find_numbers(text: str, vocabulary: Vocabulary | None = None) -> list[Number]:
    """Every number with a unit in ``text`` (NFKC-normalised), with its proposed threshold."""
    vocabulary = vocabulary or builtin()
    pattern, words = _tables(vocabulary)
    lowered = text.lower()
    found = []
    for m in pattern.finditer(text):
        value = float(m[1]) if m[1][0].isdigit() else cn_number(m[1])
        if value is None:
            continue
        value *= {"万": 1e4, "亿": 1e8}.get(m[2] or "", 1.0)
        start, end = m.start(), m.end()
        before = re.search(r"(" + "|".join(map(re.escape, sorted(_BEFORE, key=len, reverse=True))) + r")\s*$",
                           text[max(0, start - 5):start])
        after = re.match(r"\s*(?:\(含\))?\s*(" + "|".join(_AFTER) + ")", text[end:])
        op, said = None, ""
        if before:
            op, said, start = _BEFORE[before[1]], before[1], start - len(before[0])
        elif after:
            op, said = _AFTER[after[1]], after[1]
            end += after.end()
        unit = m[3].lower()
        phrase = text[start:end]
        if m[4] or unit in OTHER_UNITS:
            found.append(Number(start, end, phrase, None, f"{phrase!r}: no declared attribute is measured in "
                                                          f"{(m[2] or '') + m[3] + (m[4] or '')}; not proposed as a "
                                                          "threshold"))
            continue
        if _TOTAL.search(text[max(0, start - 12):start]):
            found.append(Number(start, end, phrase, None, f"{phrase!r} reads as a total for the whole area, not a "
                                                          "project's; not proposed as a threshold"))
            continue
        if unit in DISTANCE:
            found.append(_distance(text, start, end, phrase, value * DISTANCE[unit]))
            continue
        name = _attribute(vocabulary, words, lowered, unit, start)
        if isinstance(name, list):
            listed = ", ".join(name) if name else "none"
            found.append(Number(start, end, phrase, None, f"{phrase!r}: which attribute? measured in {m[3]}: "
                                                          f"{listed}; the text names none of them"))
            continue
        amount = round(value * (vocabulary.factor(name, m[3]) or 1.0), 9)
        found.append(_threshold(vocabulary, name, amount, op, said, text[:start], start, end, phrase))
    return found


def _attribute(vocabulary: Vocabulary, words: dict[str, str], lowered: str, unit: str, at: int) -> str | list[str]:
    """The attribute measured in ``unit`` that the text names nearest the number at ``at`` (before it
    first); the candidates when none is named and more than one fits."""
    candidates = [n for n, spec in vocabulary.attributes.items()
                  if spec.kind == "number" and vocabulary.factor(n, unit) is not None]
    named = []
    for word, name in words.items():
        if name in candidates:
            for m in re.finditer(re.escape(word), lowered):
                named.append((0 if m.end() <= at else 1, abs(at - m.end()) if m.end() <= at else m.start() - at,
                              name))
    if named:
        return min(named)[2]
    return candidates[0] if len(candidates) == 1 else candidates


def _threshold(vocabulary, name, amount, op, said, preceding, start, end, phrase) -> Number:
    """The comparison proposed for ``amount`` of attribute ``name``, from the comparison words ``said``."""
    unit = vocabulary[name].unit
    shown = f"{number_text(amount)} {unit}".rstrip()
    if op is None:
        return Number(start, end, phrase, {"attr": name, "ge": _plain(amount)},
                      f"{phrase!r} → {name} at least {shown} (no comparison word: 'ge' assumed; choose gt/ge/lt/le)")
    limit = said.startswith("不") and said not in ("不足", "不满", "不到") or bool(_MUST.search(preceding))
    if _NEGATED.search(preceding) and op in ("gt", "lt"):  # 不得超过 X: must stay at most X
        op = _OPPOSITE[op]
    if limit:
        broken = _OPPOSITE[op]
        return Number(start, end, phrase, {"attr": name, broken: _plain(amount)},
                      f"{phrase!r} is a limit a project must keep: proposed for projects that break it, "
                      f"{name} {_WORDS_OF[broken]} {shown}")
    included = " (以上/以下/以内 include the number itself)" if said in _AFTER else ""
    return Number(start, end, phrase, {"attr": name, op: _plain(amount)},
                  f"{phrase!r} → {name} {_WORDS_OF[op]} {shown}{included}")


def _distance(text: str, start: int, end: int, phrase: str, metres: float) -> Number:
    """A distance proposed as ``within_distance``, its zone kind guessed from the words before it."""
    if not 0 < metres <= 100_000:
        return Number(start, end, phrase, None, f"{phrase!r}: a distance outside 0-100 km; not proposed")
    window = text[max(0, start - 30):start]
    guesses = [(window.rfind(word), kind, word) for word, kind in ZONE_WORDS if word in window]
    if guesses:
        _, kind, word = max(guesses)
        how = f"zone kind guessed from {word!r}: use the kind your zone layer gives it"
    else:
        kind, how = "ZONE_KIND", "name the zone kind it is measured from"
    node = {"within_distance": {"zone_kinds": [kind], "distance_m": _plain(metres)}}
    return Number(start, end, phrase, node, f"{phrase!r} → within {number_text(metres)} m ({how})")


def _plain(value: float) -> int | float:
    """A value as YAML should show it: 35, not 35.0."""
    return int(value) if float(value).is_integer() else value
