"""GB/T 4754-2017 industry classification (国民经济行业分类).

The table is the package's own copy of the standard's codes and names
(``zoning/data/gbt4754_2017.csv``), one row per node of the four-level tree:
section letter (门类), 2-digit division (大类), 3-digit group (中类) and
4-digit class (小类).

Codes are accepted with or without the section letter (``C3120`` or ``3120``)
and normalised to the digits alone (the section of a digit code is implied).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import pandas as pd

from zoning.errors import InputError

_CODE = re.compile(r"^\s*([A-Ta-t])?\s*(\d{2,4})?\s*$")
# "C3120 炼钢", "3120-炼钢" and "炼钢（C3120）", as registries often write them
_CODE_THEN_NAME = re.compile(r"^\s*([A-Ta-t]?\s*\d{2,4})\s*[-:：、]?\s*(\D.*?)\s*$")
_NAME_THEN_CODE = re.compile(r"^\s*(.+?)\s*[（(]\s*([A-Ta-t]?\s*\d{2,4})\s*[）)]\s*$")


@dataclass(frozen=True)
class Industry:
    code: str  # digits, or a single section letter
    level: int  # 1 section, 2 division, 3 group, 4 class
    section: str
    name: str

    @property
    def label(self) -> str:
        """The code as usually written, with its section letter (``C3120``)."""
        return self.code if self.level == 1 else f"{self.section}{self.code}"

    @property
    def title(self) -> str:
        """The code and its name, as reports show them (``C3120 炼钢``)."""
        return f"{self.label} {self.name}"


class IndustryTable:
    """Lookup, validation and suggestions over the GB/T 4754-2017 tree."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._by_code = {
            row.code: Industry(row.code, int(row.level), row.section, row.name)
            for row in frame.itertuples(index=False)
        }
        self._by_name = {ind.name: ind for ind in self._by_code.values()}
        self.section_of = {
            ind.code: ind.section for ind in self._by_code.values() if ind.level <= 2
        }

    def __contains__(self, code: str) -> bool:
        try:
            return self.normalise(code) in self._by_code
        except InputError:
            return False

    def __len__(self) -> int:
        return len(self._by_code)

    @staticmethod
    def parse(code: object) -> str:
        """Strip the section letter from a well-formed code; raise on bad syntax.

        Returns the digits, or the upper-case section letter for a section.
        Does not check that the code exists (see :meth:`normalise`).
        """
        text = str(code).strip()
        match = _CODE.match(text)
        if not text or not match:
            raise InputError(f"industry code {text!r} is not a GB/T 4754 code (e.g. C3120 or 3120)")
        letter, digits = match.groups()
        if digits is None:
            return letter.upper()
        if len(digits) == 1:
            raise InputError(f"industry code {text!r} is not a GB/T 4754 code (e.g. C3120 or 3120)")
        return digits

    def normalise(self, code: object) -> str:
        """Return the canonical code, or raise :class:`InputError` with suggestions."""
        text = str(code).strip()
        parsed = self.parse(text)
        ind = self._by_code.get(parsed)
        if ind is None:
            raise InputError(f"unknown industry code {text!r}{self._suggestion_text(text)}")
        match = _CODE.match(text)
        letter = match.group(1) if match else None
        if letter and ind.level > 1 and letter.upper() != ind.section:
            raise InputError(
                f"industry code {text!r}: {parsed} belongs to section {ind.section} "
                f"({ind.section}{parsed} {ind.name}), not {letter.upper()}"
            )
        return parsed

    def resolve(self, value: object) -> str:
        """Accept a code or an exact official name; return the canonical code."""
        text = str(value).strip()
        if text in self._by_name:
            return self._by_name[text].code
        both = _CODE_THEN_NAME.match(text) or _NAME_THEN_CODE.match(text)
        if both:
            code, name = both.groups() if both.re is _CODE_THEN_NAME else both.groups()[::-1]
            canonical = self.normalise(code)
            official = self._by_code[canonical].name
            if name.strip("（）() ") != official:
                raise InputError(f"industry {text!r}: {code} is {official!r}, not {name!r}")
            return canonical
        if text and not _CODE.match(text):
            raise InputError(
                f"unknown industry {text!r}: not a GB/T 4754 code or official name"
                f"{self._suggestion_text(text)}"
            )
        return self.normalise(text)

    def get(self, code: object) -> Industry:
        return self._by_code[self.normalise(code)]

    def name(self, code: object) -> str:
        return self.get(code).name

    def suggest(self, code: object, n: int = 5) -> list[Industry]:
        """The nearest valid codes to a mistyped one, closest first.

        Candidates share the longest possible leading digits; among them the
        ones at the same level as the input come first.
        """
        text = str(code).strip()
        digits = re.sub(r"\D", "", text)
        if not digits:
            names = difflib.get_close_matches(text, list(self._by_name), n=n, cutoff=0.3)
            return [self._by_name[name] for name in names]
        level = {2: 2, 3: 3}.get(len(digits), 4)
        letter = text[:1].upper() if text[:1].isalpha() else None
        coded = [ind for ind in self._by_code.values() if ind.level > 1]
        if letter and any(ind.section == letter for ind in coded):
            coded = [ind for ind in coded if ind.section == letter]
        for keep in range(min(len(digits), 4), -1, -1):
            prefix = digits[:keep]
            hits = [ind for ind in coded if ind.code.startswith(prefix)]
            if hits:
                break
        hits.sort(key=lambda ind: (ind.level != level, abs(len(ind.code) - len(digits)),
                                   _digit_distance(ind.code, digits)))
        return hits[:n]

    def _suggestion_text(self, text: str) -> str:
        near = self.suggest(text)
        if not near:
            return ""
        return "; nearest valid: " + ", ".join(i.title for i in near)


def _digit_distance(a: str, b: str) -> int:
    width = max(len(a), len(b))
    try:
        return abs(int(a.ljust(width, "0")) - int(b.ljust(width, "0")))
    except ValueError:
        return 10**width


def level_of(code: str) -> int:
    """Tree level of a canonical code: 1 section letter, 2/3/4 by digit count."""
    return 1 if code.isalpha() else len(code)


@cache
def table() -> IndustryTable:
    """The bundled GB/T 4754-2017 table (loaded once)."""
    path = files("zoning") / "data" / "gbt4754_2017.csv"
    with path.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    frame["level"] = frame["level"].astype(int)
    return IndustryTable(frame)
