"""Clause conditions: a small closed vocabulary compiled to vectorised masks.

A condition is a tree of nodes:

* ``industry: [codes]``  the project's industry is one of, or under, the codes
  (GB/T 4754; a section letter covers its divisions, a division its classes);
* ``type: [types]``  the project type is one of these;
* ``{attr: NAME, gt|ge|lt|le|eq|ne: VALUE}``  numeric comparison(s) on a
  registered project attribute (all given operators must hold);
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
from typing import Protocol

import numpy as np

from zoning.industries import level_of, table
from zoning.projects import PROJECT_TYPES


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


class Condition:
    """A compiled condition node."""

    def evaluate(self, cols: ProjectColumns) -> Truth:
        raise NotImplementedError

    def attributes(self) -> frozenset[str]:
        """Project inputs this condition reads (attribute names, 'industry', 'type')."""
        raise NotImplementedError

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

    def evaluate(self, cols):
        true = np.zeros(cols.n, bool)
        unknown = cols.industry_level == 0  # industry not supplied
        for code in self.codes:
            level = level_of(code)
            true |= cols.industry[level] == code_key(code)
            # A project coded more coarsely than the clause (division 26 against
            # class 2614) is unknown when the clause's code lies under its code.
            ancestors = {1: table().get(code).section, 2: code[:2], 3: code[:3]}
            for coarser in range(1, level):
                unknown |= (cols.industry_level == coarser) & (
                    cols.industry[coarser] == code_key(ancestors[coarser])
                )
        unknown &= ~true
        return Truth(true, ~true & ~unknown)

    def attributes(self):
        return frozenset({"industry"})

    def describe(self):
        return "industry in " + ", ".join(self.codes)


@dataclass(frozen=True)
class TypeIn(Condition):
    types: tuple[str, ...]

    def evaluate(self, cols):
        true = np.isin(cols.type, [PROJECT_TYPES.index(t) for t in self.types])
        missing = cols.type < 0
        return Truth(true, ~true & ~missing)

    def attributes(self):
        return frozenset({"type"})

    def describe(self):
        return "type in " + ", ".join(self.types)


@dataclass(frozen=True)
class Compare(Condition):
    attr: str
    tests: tuple[tuple[str, float], ...]  # (operator name, value)

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
        parts = [f"{self.attr} {OPERATOR_SYMBOLS[op]} {_fmt(v)}" for op, v in self.tests]
        return " and ".join(parts)


@dataclass(frozen=True)
class All(Condition):
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
class Any(Condition):
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
    return All((conditions, Not(unless))).evaluate(cols)


def _fmt(value: float) -> str:
    return f"{value:g}"


def named_industries(condition: Condition) -> tuple[str, ...]:
    """Industry codes a condition names in a positive position (not under ``not``).

    For summaries such as "industries this clause prohibits"; codes under a
    ``not`` are exceptions, not targets, and are left out.
    """
    if isinstance(condition, IndustryIn):
        return condition.codes
    if isinstance(condition, (All, Any)):
        return tuple(code for part in condition.parts for code in named_industries(part))
    return ()
