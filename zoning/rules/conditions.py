"""Clause conditions: a small closed vocabulary compiled to vectorised masks.

A condition is a tree of nodes:

* ``industry: [codes]``  the project's industry is one of, or under, the codes
  (GB/T 4754; a section letter covers its divisions, a division its classes);
* ``type: [types]``  the project type is one of these;
* ``{attr: NAME, gt|ge|lt|le|eq|ne: VALUE}``  numeric comparison(s) on a
  registered project attribute (all given operators must hold);
* ``within_distance: {zones|zone_kinds: [...], distance_m: D}``  the site
  lies within D metres of one of those overlay zones (geodesic distance
  between nearest points, 0 inside or touching; see :mod:`zoning.evaluate.proximity`);
* ``inside: {zones|zone_kinds: [...], min_share: S}``  the site lies inside
  one of those zones (area, length or a point in common, not only touching),
  with at least the share S of the site inside polygon zones when given;
* ``all: [nodes]``, ``any: [nodes]``, ``not: node``.

Evaluation is three-valued (Kleene): each node yields two boolean arrays,
``true`` and ``false``; where neither is set the answer is *unknown*, because
the project did not supply what the node needs (or gave an industry code too
coarse to decide). ``all`` is false as soon as one part is false, ``any`` is
true as soon as one part is true, and ``not`` swaps true and false.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from zoning.industries import level_of, table
from zoning.projects import PROJECT_TYPES
from zoning.rules.expressions import Comparison
from zoning.vocabulary import number_text

#: a measured distance counts as "at" a within_distance limit within this many metres (floating-point noise)
TOLERANCE_M = 1e-3
_KEY_LIMIT = 9999  # integer keys of codes: 4-digit numbers, or a section letter's ordinal


def code_key(code: str) -> int:
    """Integer key of a canonical code prefix: the number, or a letter's ordinal."""
    return ord(code) if code.isalpha() else int(code)

_OPERATORS = {
    "gt": operator.gt, "ge": operator.ge, "lt": operator.lt,
    "le": operator.le, "eq": operator.eq, "ne": operator.ne,
}
OPERATOR_SYMBOLS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "eq": "=", "ne": "≠"}


@dataclass(frozen=True)
class Truth:
    """Three-valued result: ``true`` and ``false`` masks; neither = unknown."""

    true: np.ndarray
    false: np.ndarray

    @property
    def unknown(self) -> np.ndarray:
        return ~(self.true | self.false)

    @classmethod
    def constant(cls, value: bool, n: int) -> Truth:
        return cls(np.full(n, value), np.full(n, not value))


class ProjectColumns(Protocol):
    """What a condition reads: project columns aligned with the rows evaluated."""

    n: int
    #: industry code prefixes by level (1 section … 4 class) as :func:`code_key`
    #: integers, -1 where the project's code is coarser or missing
    industry: dict[int, np.ndarray]
    industry_level: np.ndarray  # finest level of the project's code, 0 = not supplied
    type: np.ndarray  # index into PROJECT_TYPES, -1 = not supplied

    def attribute(self, name: str) -> np.ndarray: ...  # float, NaN = not supplied

    def parameter(self, name: str) -> np.ndarray: ...  # float per row (its unit's or zone's), NaN = none

    def distance(self, condition: WithinDistance) -> np.ndarray | None: ...  # metres; None = no sites

    #: per row, whether the site lies inside the zones, and the share of it inside; None = no sites
    def inside(self, condition: Inside) -> tuple[np.ndarray, np.ndarray] | None: ...


class Condition:
    """A compiled condition node."""

    def evaluate(self, cols: ProjectColumns) -> Truth:
        raise NotImplementedError

    def attributes(self) -> frozenset[str]:
        """Project inputs this condition reads (attribute names, 'industry', 'type')."""
        raise NotImplementedError

    def parameters(self) -> frozenset[str]:
        """Parameters this condition reads (see :mod:`zoning.rules.parameters`)."""
        return frozenset().union(*(p.parameters() for p in getattr(self, "parts", ())),
                                 *([self.part.parameters()] if isinstance(self, Not) else []))

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Always(Condition):
    """No conditions: the clause applies to every project in scope."""

    def evaluate(self, cols):
        return Truth.constant(True, cols.n)

    def attributes(self):
        return frozenset()

    def describe(self):
        return "always"


@dataclass(frozen=True)
class IndustryIn(Condition):
    codes: tuple[str, ...]  # canonical codes (digits or a section letter)

    @cached_property
    def _lookups(self) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """Per level, a boolean table indexed by (integer key + 1): the codes
        themselves, and their ancestors. A key of -1 (no code at that level)
        lands on index 0, which is always false."""
        exact: dict[int, set[int]] = {}
        coarse: dict[int, set[int]] = {}
        for code in self.codes:
            level = level_of(code)
            exact.setdefault(level, set()).add(code_key(code))
            ancestors = {1: table().get(code).section, 2: code[:2], 3: code[:3]}
            for coarser in range(1, level):
                coarse.setdefault(coarser, set()).add(code_key(ancestors[coarser]))

        def lookup(keys: set[int]) -> np.ndarray:
            out = np.zeros(_KEY_LIMIT + 1, bool)
            out[np.fromiter(keys, np.int64) + 1] = True
            return out

        return ({k: lookup(v) for k, v in exact.items()}, {k: lookup(v) for k, v in coarse.items()})

    def evaluate(self, cols):
        exact, coarse = self._lookups
        true = np.zeros(cols.n, bool)
        for level, hit in exact.items():
            true |= hit[cols.industry[level] + 1]
        unknown = cols.industry_level == 0  # industry not supplied
        # A project coded more coarsely than the clause (division 26 against
        # class 2614) is unknown when the clause's code lies under its code.
        for level, hit in coarse.items():
            unknown |= (cols.industry_level == level) & hit[cols.industry[level] + 1]
        unknown &= ~true
        return Truth(true, ~true & ~unknown)

    def attributes(self):
        return frozenset({"industry"})

    def describe(self):
        return "industry in " + ", ".join(table().get(code).label for code in self.codes)


@dataclass(frozen=True)
class TypeIn(Condition):
    types: tuple[str, ...]

    def evaluate(self, cols):
        wanted = np.zeros(len(PROJECT_TYPES) + 1, bool)  # index: type + 1 (0 = not given)
        wanted[[PROJECT_TYPES.index(t) + 1 for t in self.types]] = True
        true = wanted[cols.type + 1]
        missing = cols.type < 0
        return Truth(true, ~true & ~missing)

    def attributes(self):
        return frozenset({"type"})

    def describe(self):
        return "type in " + ", ".join(self.types)


@dataclass(frozen=True)
class Compare(Condition):
    """Comparisons of one attribute with constants; every one must hold. A flag is held as 1/0 and a
    category as the index of its value (``choices`` names them)."""

    attr: str
    tests: tuple[tuple[str, float], ...]  # (operator name, value)
    kind: str = "number"  # number | flag | category
    choices: tuple[str, ...] = ()  # a category's values, by index

    def evaluate(self, cols):
        values = cols.attribute(self.attr)
        known = ~np.isnan(values)
        result = np.ones(cols.n, bool)
        for op, value in self.tests:
            with np.errstate(invalid="ignore"):
                result &= _OPERATORS[op](values, value)
        return Truth(result & known, ~result & known)

    def attributes(self):
        return frozenset({self.attr})

    def describe(self):
        if self.kind == "flag":  # stored as 1.0/0.0
            return " and ".join(f"{self.attr} {OPERATOR_SYMBOLS[op]} {'true' if v else 'false'}"
                                for op, v in self.tests)
        if self.kind == "category":
            return " and ".join(f"{self.attr} {OPERATOR_SYMBOLS[op]} {self.choices[int(v)]}" for op, v in self.tests)
        parts = [f"{self.attr} {OPERATOR_SYMBOLS[op]} {number_text(v)}" for op, v in self.tests]
        return " and ".join(parts)


@dataclass(frozen=True)
class ExprCompare(Condition):
    """Two arithmetic expressions of inputs compared (see :mod:`zoning.rules.expressions`); unknown where an
    operand is not given, a divisor is zero or a result is not finite."""

    comparison: Comparison

    def evaluate(self, cols):
        true, false = self.comparison.mask(cols, cols.n)
        return Truth(true, false)

    def attributes(self):
        return self.comparison.names()

    def parameters(self):
        return self.comparison.parameters()

    def describe(self):
        return self.comparison.text()


@dataclass(frozen=True)
class CategoryIn(Condition):
    """A category attribute has one of the values (held as their indexes)."""

    attr: str
    codes: tuple[int, ...]
    choices: tuple[str, ...]

    def evaluate(self, cols):
        values = cols.attribute(self.attr)
        known = ~np.isnan(values)
        true = np.isin(values, np.asarray(self.codes, dtype=float)) & known
        return Truth(true, ~true & known)

    def attributes(self):
        return frozenset({self.attr})

    def describe(self):
        return f"{self.attr} in " + ", ".join(self.choices[c] for c in self.codes)


@dataclass(frozen=True)
class WithinDistance(Condition):
    """The site lies within ``distance`` metres of a zone that has one of ``zones`` (if
    given) and one of ``zone_kinds`` (if given): ids and kinds combine like a scope's."""

    zones: tuple[str, ...]
    zone_kinds: tuple[str, ...]
    distance: float  # metres

    @property
    def key(self) -> tuple:
        return self.zones, self.zone_kinds, self.distance

    def evaluate(self, cols):
        measured = cols.distance(self)
        if measured is None:  # evaluated without sites (see zoning.evaluate.prefilter): unknown
            return Truth(np.zeros(cols.n, bool), np.zeros(cols.n, bool))
        true = measured <= self.distance + TOLERANCE_M
        return Truth(true, ~true)

    def attributes(self):
        return frozenset()

    def describe(self):
        named = ", ".join([*self.zones, *(f"kind {k}" for k in self.zone_kinds)])
        return f"within {number_text(self.distance)} m of zone {named}"


@dataclass(frozen=True)
class Inside(Condition):
    """The site lies inside a zone with one of ``zones`` (if given) and one of ``zone_kinds`` (if
    given): it has area, length or (for a point) a point in common with the zone, not only a
    touching edge; with ``min_share``, at least that share of the site (by area, or by length for
    a line site) lies inside such zones."""

    zones: tuple[str, ...]
    zone_kinds: tuple[str, ...]
    min_share: float | None = None

    @property
    def key(self) -> tuple:
        """The zone selection (shares are measured once per selection, whatever the threshold)."""
        return self.zones, self.zone_kinds

    def evaluate(self, cols):
        measured = cols.inside(self)
        if measured is None:  # evaluated without sites (see zoning.evaluate.prefilter): unknown
            return Truth(np.zeros(cols.n, bool), np.zeros(cols.n, bool))
        inside, share = measured
        true = inside if self.min_share is None else inside & (share >= self.min_share - 1e-9)
        return Truth(true, ~true)

    def attributes(self):
        return frozenset()

    def describe(self):
        named = ", ".join([*self.zones, *(f"kind {k}" for k in self.zone_kinds)])
        percent = None if self.min_share is None else number_text(round(self.min_share * 100, 6))
        share = "" if percent is None else f" (at least {percent}% of the site)"
        return f"inside zone {named}{share}"


@dataclass(frozen=True)
class AllOf(Condition):
    parts: tuple[Condition, ...]

    def evaluate(self, cols):
        true = np.ones(cols.n, bool)
        false = np.zeros(cols.n, bool)
        for part in self.parts:
            t = part.evaluate(cols)
            true &= t.true
            false |= t.false
        return Truth(true & ~false, false)

    def attributes(self):
        return frozenset().union(*(p.attributes() for p in self.parts))

    def describe(self):
        return "(" + " AND ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def evaluate(self, cols):
        true = np.zeros(cols.n, bool)
        false = np.ones(cols.n, bool)
        for part in self.parts:
            t = part.evaluate(cols)
            true |= t.true
            false &= t.false
        return Truth(true, false & ~true)

    def attributes(self):
        return frozenset().union(*(p.attributes() for p in self.parts))

    def describe(self):
        return "(" + " OR ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class Not(Condition):
    part: Condition

    def evaluate(self, cols):
        t = self.part.evaluate(cols)
        return Truth(t.false, t.true)

    def attributes(self):
        return self.part.attributes()

    def describe(self):
        return "NOT " + self.part.describe()


def applies(conditions: Condition, unless: Condition | None, cols: ProjectColumns) -> Truth:
    """Truth of "conditions hold and the exception does not"."""
    if unless is None:
        return conditions.evaluate(cols)
    return AllOf((conditions, Not(unless))).evaluate(cols)


def walk(condition: Condition | None):
    """Every node of a condition tree, depth first."""
    if condition is None:
        return
    yield condition
    if isinstance(condition, (AllOf, AnyOf)):
        for part in condition.parts:
            yield from walk(part)
    elif isinstance(condition, Not):
        yield from walk(condition.part)


def named_industries(condition: Condition) -> tuple[str, ...]:
    """Industry codes a condition names in a positive position (not under ``not``).

    For summaries such as "industries this clause prohibits"; codes under a
    ``not`` are exceptions, not targets, and are left out.
    """
    if isinstance(condition, IndustryIn):
        return condition.codes
    if isinstance(condition, (AllOf, AnyOf)):
        return tuple(code for part in condition.parts for code in named_industries(part))
    return ()
