"""Arithmetic on a project's inputs, for conditions and obligations: a small closed language, parsed, never run.

Real lists compare inputs with each other and with amounts computed from them:

    replacement_capacity >= capacity             等量或减量置换 (swap at least the new capacity)
    COD_offset >= 2 * COD                        倍量削减 (offset COD two for one)
    water_use / output_value > 8                 万元产值水耗 (water per 10,000 yuan of output)
    water_use / output_value > $water_cap        the cap of the unit, from a parameter table
    min(SO2, NOx) * 2                            an amount (an obligation)

An expression is numbers, attributes (by name or alias; a name with a dash
in backquotes: ```NH3-N```), parameters (``$name``), ``+ - * /``,
parentheses, ``min(...)`` and ``max(...)``; a condition is two expressions
compared with ``< <= > >= == !=``. The text is tokenised and parsed by
recursive descent (:mod:`zoning.rules.expression_parser`) into the node
classes below; there is no other way in.

Evaluation is vectorised and three-valued like every condition: where an
operand is not given, a divisor is zero or a result is not finite, the value
is unknown, and :data:`PROBLEMS` says why. ``>=``, ``<=`` and ``==`` count
values equal to within one part in 10⁹ as equal, so that ``2 * 10.1`` meets
an offset of ``20.2``.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from zoning.vocabulary import number_text

#: why a value is unknown: 0 known, 1 an input (or parameter) not given, 2 a division by zero, 3 not finite
PROBLEMS = ("", "not given", "division by zero", "not a finite number")
COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
               "!=": operator.ne}
SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
FUNCTIONS = ("min", "max")
_RTOL = 1e-9


class ExpressionError(ValueError):
    """An expression that does not parse or names something unknown; ``position`` is where (0-based)."""

    def __init__(self, message: str, text: str, position: int):
        pointer = f" at “{text[position:position + 12]}”" if position < len(text) else " at the end"
        super().__init__(f"{message}{pointer} in {text!r}")
        self.position = position


class Inputs(Protocol):
    """What an expression reads per row: attribute values, parameter values (NaN: not given)."""

    def attribute(self, name: str) -> np.ndarray: ...

    def parameter(self, name: str) -> np.ndarray: ...


@dataclass(frozen=True)
class Expr:
    """A node of an expression."""

    def fast(self, cols: Inputs):
        """The values alone (a float for a constant part), NaN wherever ``values`` reports a problem:
        what conditions need, without the reasons the audit trail gives."""
        raise NotImplementedError

    def values(self, cols: Inputs, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(value, problem)`` per row; ``problem`` indexes :data:`PROBLEMS` (0: the value is known)."""
        raise NotImplementedError

    def names(self) -> frozenset[str]:
        """Attributes read."""
        return frozenset()

    def parameters(self) -> frozenset[str]:
        """Parameters read."""
        return frozenset()

    def text(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Num(Expr):
    value: float

    def values(self, cols, n):
        return np.full(n, self.value), np.zeros(n, np.int8)

    def fast(self, cols):
        return np.float64(self.value)  # numpy arithmetic: 0/0 is NaN, not an exception

    def text(self):
        return number_text(self.value)


@dataclass(frozen=True)
class Attr(Expr):
    name: str

    def values(self, cols, n):
        v = cols.attribute(self.name)
        return v, np.where(np.isnan(v), 1, 0).astype(np.int8)

    def fast(self, cols):
        return cols.attribute(self.name)

    def names(self):
        return frozenset({self.name})

    def text(self):
        return self.name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name) else f"`{self.name}`"


@dataclass(frozen=True)
class Param(Expr):
    name: str

    def values(self, cols, n):
        v = cols.parameter(self.name)
        return v, np.where(np.isnan(v), 1, 0).astype(np.int8)

    def fast(self, cols):
        return cols.parameter(self.name)

    def parameters(self):
        return frozenset({self.name})

    def text(self):
        return f"${self.name}"


@dataclass(frozen=True)
class Neg(Expr):
    operand: Expr

    def values(self, cols, n):
        v, p = self.operand.values(cols, n)
        return -v, p

    def fast(self, cols):
        return -self.operand.fast(cols)

    def names(self):
        return self.operand.names()

    def parameters(self):
        return self.operand.parameters()

    def text(self):
        return f"-{_wrapped(self.operand)}"


@dataclass(frozen=True)
class Bin(Expr):
    op: str  # + - * /
    left: Expr
    right: Expr

    def values(self, cols, n):
        a, pa = self.left.values(cols, n)
        b, pb = self.right.values(cols, n)
        problem = np.maximum(pa, pb)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.op == "+":
                v = a + b
            elif self.op == "-":
                v = a - b
            elif self.op == "*":
                v = a * b
            else:
                v = a / b
                problem = np.where((problem == 0) & (b == 0), 2, problem)
        return v, _finite(v, problem)

    def fast(self, cols):
        a, b = self.left.fast(cols), self.right.fast(cols)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            v = a + b if self.op == "+" else a - b if self.op == "-" else a * b if self.op == "*" else a / b
        return _nan_unless_finite(v)

    def names(self):
        return self.left.names() | self.right.names()

    def parameters(self):
        return self.left.parameters() | self.right.parameters()

    def text(self):
        symbol = {"*": "×", "/": "÷"}.get(self.op, self.op)
        return f"{_wrapped(self.left)} {symbol} {_wrapped(self.right)}"


@dataclass(frozen=True)
class Call(Expr):
    fn: str  # min | max
    args: tuple[Expr, ...]

    def values(self, cols, n):
        parts = [a.values(cols, n) for a in self.args]
        stack = np.vstack([v for v, _ in parts])
        with np.errstate(invalid="ignore"):
            v = stack.min(axis=0) if self.fn == "min" else stack.max(axis=0)
        return v, np.max(np.vstack([p for _, p in parts]), axis=0)

    def fast(self, cols):
        combine = np.minimum if self.fn == "min" else np.maximum  # both keep NaN, as values() does
        result = self.args[0].fast(cols)
        for arg in self.args[1:]:
            result = combine(result, arg.fast(cols))
        return result

    def names(self):
        return frozenset().union(*(a.names() for a in self.args))

    def parameters(self):
        return frozenset().union(*(a.parameters() for a in self.args))

    def text(self):
        return f"{self.fn}({', '.join(a.text() for a in self.args)})"


@dataclass(frozen=True)
class Comparison:
    """Two expressions compared: the body of an ``expr`` condition."""

    op: str
    left: Expr
    right: Expr

    def truth(self, cols: Inputs, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(true, false, problem)`` per row; neither true nor false where ``problem`` is not 0."""
        a, pa = self.left.values(cols, n)
        b, pb = self.right.values(cols, n)
        problem = np.maximum(pa, pb)
        known = problem == 0
        with np.errstate(invalid="ignore"):
            close = np.isclose(a, b, rtol=_RTOL, atol=0.0)
            if self.op in ("<=", ">=", "=="):
                result = COMPARISONS[self.op](a, b) | close
            elif self.op in ("<", ">"):
                result = COMPARISONS[self.op](a, b) & ~close
            else:
                result = ~close
        return result & known, ~result & known, problem

    def mask(self, cols: Inputs, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(true, false)`` per row, as :meth:`truth` gives them, without the reasons (the fast path
        conditions take: NaN stands for every problem)."""
        a, b = self.left.fast(cols), self.right.fast(cols)
        with np.errstate(invalid="ignore", over="ignore"):
            d = np.broadcast_to(np.asarray(a - b, dtype=float), (n,))  # NaN where either side is unknown
            tol = _RTOL * np.abs(b)  # equal within tol, as np.isclose(a, b, rtol, atol=0) has it
            if self.op == ">":
                result = d > tol
            elif self.op == "<":
                result = -d > tol
            elif self.op == ">=":
                result = d >= -tol
            elif self.op == "<=":
                result = -d >= -tol
            elif self.op == "==":
                result = np.abs(d) <= tol
            else:
                result = np.abs(d) > tol
            known = np.isfinite(d)  # (two finite sides whose difference overflows count as unknown)
        return result & known, ~result & known

    def names(self) -> frozenset[str]:
        return self.left.names() | self.right.names()

    def parameters(self) -> frozenset[str]:
        return self.left.parameters() | self.right.parameters()

    def leaves(self) -> list[Expr]:
        """The attributes and parameters read, each once, in order."""
        return list(dict.fromkeys(_leaves(self.left) + _leaves(self.right)))

    def text(self) -> str:
        return f"{self.left.text()} {SYMBOLS[self.op]} {self.right.text()}"


def _nan_unless_finite(v):
    """``v`` with infinities made NaN (an array, or a float for constant parts)."""
    if isinstance(v, np.ndarray):
        return np.where(np.isfinite(v), v, np.nan)
    return v if np.isfinite(v) else np.nan


def _finite(v: np.ndarray, problem: np.ndarray) -> np.ndarray:
    return np.where((problem == 0) & ~np.isfinite(v), 3, problem).astype(np.int8)


def _wrapped(e: Expr) -> str:
    return f"({e.text()})" if isinstance(e, Bin) else e.text()


def _leaves(e: Expr) -> list[Expr]:
    if isinstance(e, (Attr, Param)):
        return [e]
    if isinstance(e, Neg):
        return _leaves(e.operand)
    if isinstance(e, Bin):
        return _leaves(e.left) + _leaves(e.right)
    if isinstance(e, Call):
        return [leaf for a in e.args for leaf in _leaves(a)]
    return []
