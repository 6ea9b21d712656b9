"""Which changes to a project's inputs could make a condition tree true or false: candidates for guidance.

:func:`options` walks a clause's condition tree with the truth each node had for
the project (from the audit trail, :mod:`zoning.evaluate.explanation`) and
proposes, for a wanted truth, alternative sets of :class:`Change` s, smallest
first: a flag or category value, a project type, a bound on a number (for a
comparison with a constant, its threshold; for an expression, the threshold
on one operand holding the others at the project's values). Industry and
location appear as changes of their own kind (:data:`FIXED`): a project
cannot change its industry, and where it lies is the place part of guidance.

These are only candidates: :mod:`zoning.siting.counterfactuals` re-checks
each one with the engine and keeps those the engine confirms.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from zoning.industries import table as industry_table
from zoning.projects import PROJECT_TYPES
from zoning.rules.conditions import (
    AllOf,
    Always,
    AnyOf,
    CategoryIn,
    Compare,
    Condition,
    ExprCompare,
    IndustryIn,
    Inside,
    Not,
    TypeIn,
    WithinDistance,
    walk,
)
from zoning.rules.expressions import Attr, Comparison
from zoning.vocabulary import Vocabulary, number_text

#: inputs a project cannot change by itself: suggested never, only named
FIXED = ("industry", "location")
#: alternatives kept per node (smallest first)
MAX_OPTIONS = 12
_NEGATED = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt", "eq": "ne", "ne": "eq"}
_SYMBOL = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "eq": "=", "ne": "≠"}
_OP = {v: k for k, v in _SYMBOL.items()}
_GRID = np.concatenate([[0.0], 10.0 ** np.arange(-3, 10, 0.5)])


@dataclass(frozen=True)
class Change:
    """One input change: ``input`` (an attribute, ``type``, or one of :data:`FIXED`) ``op`` (``=``, ``≤``,
    ``<``, ``≥``, ``>``, ``≠``) ``value`` (the bound or value said); ``test`` is the value a re-check applies."""

    input: str
    op: str
    value: Any
    test: Any = None

    def text(self, vocabulary: Vocabulary) -> str:
        """``in_park = true``, ``VOCs ≤ 0 t/a``, ``type = relocation``."""
        if self.input == "location":
            return str(self.value)
        if isinstance(self.value, bool):
            return f"{self.input} {self.op} {'true' if self.value else 'false'}"
        if isinstance(self.value, float):
            unit = vocabulary[self.input].unit if self.input in vocabulary else ""
            return f"{self.input} {self.op} {number_text(_shown(self.value))} {unit}".rstrip()
        return f"{self.input} {self.op} {self.value}"

    def as_dict(self, vocabulary: Vocabulary) -> dict:
        """JSON-ready: input, op, value, the value re-checked, and the text."""
        out = {"input": self.input, "op": self.op, "value": self.value, "text": self.text(vocabulary)}
        if self.test is not None and self.test != self.value:
            out["tested"] = self.test
        if isinstance(self.value, float) and self.input in vocabulary:
            out["unit"] = vocabulary[self.input].unit
        return out


Option = tuple[Change, ...]


@dataclass
class Context:
    """What the walk knows about the project: each node's truth (by ``id``), the attribute values held as
    floats (NaN: not given), the parameters the clause read, and the vocabulary."""

    truths: dict[int, str]
    values: dict[str, float]
    parameters: dict[str, float]
    vocabulary: Vocabulary

    def truth(self, node: Condition) -> str:
        return self.truths.get(id(node), "unknown")


def node_truths(condition: Condition | None, unless: Condition | None, entry: dict) -> dict[int, str]:
    """Each node's truth for the project, by ``id``, from its audit-trail ``entry`` (nodes depth first)."""
    out: dict[int, str] = {}
    for tree, trail in ((condition, entry.get("conditions", [])), (unless, entry.get("unless", []))):
        for node, record in zip(walk(tree), trail):
            out[id(node)] = record["truth"]
    return out


def lifting_options(condition: Condition, unless: Condition | None, ctx: Context) -> list[Option]:
    """Change sets that would make "condition and not unless" false: the clause would not apply."""
    found = options(unless, True, ctx) if unless is not None else []  # the clause's own exception first
    return _smallest(found + options(condition, False, ctx))


def options(node: Condition, want: bool, ctx: Context) -> list[Option]:
    """Alternative change sets, smallest first, each of which would give ``node`` the truth ``want``
    (``[()]``: it has it already; ``[]``: nothing can)."""
    if ctx.truth(node) == ("true" if want else "false"):
        return [()]
    if isinstance(node, Not):
        return options(node.part, not want, ctx)
    if isinstance(node, (AllOf, AnyOf)):
        every = isinstance(node, AllOf) == want  # all parts must reach want, or any one part
        parts = [options(p, want, ctx) for p in node.parts]
        return _product(parts) if every else _smallest([o for part in parts for o in part])
    if isinstance(node, Always):
        return []
    if isinstance(node, IndustryIn):
        labels = ", ".join(industry_table().get(code).label for code in node.codes)
        return [(Change("industry", "∈" if want else "∉", labels),)]
    if isinstance(node, (WithinDistance, Inside)):
        return [(Change("location", "", ("" if want else "not ") + node.describe()),)]
    if isinstance(node, TypeIn):
        return [(Change("type", "=", t, t),) for t in PROJECT_TYPES if (t in node.types) == want]
    if isinstance(node, Compare):
        return _compare(node, want, ctx)
    if isinstance(node, CategoryIn):
        return [(Change(node.attr, "=", c, c),) for i, c in enumerate(node.choices) if (i in node.codes) == want]
    if isinstance(node, ExprCompare):
        return _expression(node.comparison, want, ctx)
    return []


def _compare(node: Compare, want: bool, ctx: Context) -> list[Option]:
    if node.kind in ("flag", "category"):
        domain = range(2) if node.kind == "flag" else range(len(node.choices))
        held = [v for v in domain if all(_holds(op, float(v), t) for op, t in node.tests) == want]
        return [(Change(node.attr, "=", bool(v) if node.kind == "flag" else node.choices[v],
                        bool(v) if node.kind == "flag" else node.choices[v]),) for v in held]
    current = ctx.values.get(node.attr, math.nan)
    if want:  # every test must hold
        bounds = [_bound(node.attr, op, t, current) for op, t in node.tests]
        merged = merge(tuple(b for b in bounds if b is not None)) if None not in bounds else None
        return [merged] if merged else []
    found = (_bound(node.attr, _NEGATED[op], t, current) for op, t in node.tests)
    return [(b,) for b in found if b is not None]


def _holds(op: str, value: float, threshold: float) -> bool:
    return {"gt": value > threshold, "ge": value >= threshold, "lt": value < threshold, "le": value <= threshold,
            "eq": value == threshold, "ne": value != threshold}[op]


def _bound(attr: str, op: str, t: float, current: float) -> Change | None:
    """A number's change to meet ``op t`` (numbers are never negative), tested at the value nearest the
    project's own (or at the threshold when it gave none); None when no value meets it."""
    step = max(abs(t) * 1e-6, 1e-6)
    if op == "ne":
        return Change(attr, "≠", float(t), float(t + 1))
    if t < 0 and op in ("le", "lt", "eq") or (t == 0 and op == "lt"):
        return None
    test = {"le": t, "ge": t, "eq": t, "lt": t - step, "gt": t + step}[op]
    if not math.isnan(current) and _holds(op, current, t):
        test = current
    return Change(attr, _SYMBOL[op], float(max(t, 0.0) if op == "ge" else t), float(max(test, 0.0)))


def merge(changes: Option) -> Option | None:
    """One consistent set of changes, or None when two of them contradict each other (two values for
    one input, bounds on a number that no value meets). Bounds on one number share one tested value."""
    by_input: dict[str, list[Change]] = {}
    for change in changes:
        same = by_input.setdefault(change.input, [])
        if change not in same:
            same.append(change)
    out: list[Change] = []
    for name, group in by_input.items():
        if len(group) == 1 or name in FIXED:
            out += group
            continue
        if any(c.op not in ("≤", "<", "≥", ">") for c in group):
            return None  # two different values for one input
        test = max(c.test for c in group if c.op in ("≥", ">")) if any(c.op in ("≥", ">") for c in group) \
            else min(c.test for c in group)
        if not all(_holds(_OP[c.op], test, c.value) for c in group):
            return None
        out += [Change(c.input, c.op, c.value, test) for c in group]
    return tuple(out)


def _product(parts: list[list[Option]]) -> list[Option]:
    if any(not p for p in parts):
        return []
    found = []
    for combo in itertools.islice(itertools.product(*parts), 512):
        merged = merge(tuple(c for option in combo for c in option))
        if merged is not None:
            found.append(merged)
    return _smallest(found)


def _smallest(found: list[Option]) -> list[Option]:
    """Distinct options, smallest first (then as found, type changes last), without those that contain a
    smaller one; at most two that change the same inputs (one category's many values); options needing
    another industry or place last."""
    unique = sorted(dict.fromkeys(found), key=lambda o: (any(c.input in FIXED for c in o), len(o),
                                                         any(c.input == "type" for c in o)))
    kept: list[Option] = []
    per_inputs: dict[frozenset[str], int] = {}
    loosest: dict[tuple[str, bool], Change] = {}  # one bound on one number: keep the loosest of each side
    for option in unique:
        if len(option) == 1 and option[0].op in ("≤", "<", "≥", ">"):
            c = option[0]
            side = (c.input, c.op in ("≤", "<"))
            best = loosest.get(side)
            if best is None or (c.test > best.test if side[1] else c.test < best.test):
                loosest[side] = c
    unique = [o for o in unique if not (len(o) == 1 and o[0].op in ("≤", "<", "≥", ">")
                                        and loosest[(o[0].input, o[0].op in ("≤", "<"))] != o[0])]
    for option in unique:
        inputs = frozenset(c.input for c in option)
        if any(set(k) <= set(option) for k in kept) or per_inputs.get(inputs, 0) >= 2:
            continue
        per_inputs[inputs] = per_inputs.get(inputs, 0) + 1
        kept.append(option)
    return kept[:MAX_OPTIONS]


# -- expressions: the threshold on one operand, the others held --------------------------------------
class _Inputs:
    """Expression inputs for ``n`` trial values of one attribute, the others as the project has them."""

    def __init__(self, values: dict[str, float], parameters: dict[str, float], name: str, trial: np.ndarray):
        self.values, self.params, self.name, self.trial = values, parameters, name, trial

    def attribute(self, name: str) -> np.ndarray:
        if name == self.name:
            return self.trial
        return np.full(len(self.trial), self.values.get(name, math.nan))

    def parameter(self, name: str) -> np.ndarray:
        return np.full(len(self.trial), self.parameters_value(name))

    def parameters_value(self, name: str) -> float:
        return self.params.get(name, math.nan)


def _truth(comparison: Comparison, ctx: Context, name: str, xs: np.ndarray) -> np.ndarray:
    """Per trial value: 1 true, 0 false, -1 unknown."""
    true, false = comparison.mask(_Inputs(ctx.values, ctx.parameters, name, xs), len(xs))
    return np.where(true, 1, np.where(false, 0, -1))


def _expression(comparison: Comparison, want: bool, ctx: Context) -> list[Option]:
    """For each attribute operand whose partners are all given: the bound on it that gives ``want``."""
    names = [leaf.name for leaf in comparison.leaves() if isinstance(leaf, Attr)]
    found: list[Option] = []
    for name in names:
        others = [n for n in names if n != name]
        if any(math.isnan(ctx.values.get(n, math.nan)) for n in others):
            continue
        if any(math.isnan(ctx.parameters.get(p, math.nan)) for p in comparison.parameters()):
            continue
        change = solve(comparison, want, ctx, name)
        if change is not None:
            found.append((change,))
    return _smallest(found)


def solve(comparison: Comparison, want: bool, ctx: Context, name: str) -> Change | None:
    """The bound on attribute ``name`` (the other operands held) where ``comparison`` is ``want``: exact
    when the difference of the two sides is linear in it, else found by bisection on a grid."""
    goal = 1 if want else 0
    current = ctx.values.get(name, math.nan)
    inputs = _Inputs(ctx.values, ctx.parameters, name, np.array([0.0, 1.0, 2.0]))
    with np.errstate(all="ignore"):
        d = np.broadcast_to(np.asarray(comparison.left.fast(inputs) - comparison.right.fast(inputs), float), (3,))
    if np.isfinite(d).all() and math.isclose(d[2] - d[1], d[1] - d[0], rel_tol=1e-9, abs_tol=1e-12):
        slope = float(d[1] - d[0])
        if slope == 0:
            return None
        root = -float(d[0]) / slope
        wide = max(abs(root), 1.0)
        at = _truth(comparison, ctx, name, np.array([root - wide, root, root + wide]))
        above = at[2] == goal
        if not above and at[0] != goal:
            return None
        if above:
            op = "ge" if at[1] == goal or root < 0 else "gt"
            return _bound(name, op, max(root, 0.0), current)
        return _bound(name, "le" if at[1] == goal else "lt", root, current)
    return _by_grid(comparison, goal, ctx, name, current)


def _by_grid(comparison: Comparison, goal: int, ctx: Context, name: str, current: float) -> Change | None:
    grid = _GRID
    truth = _truth(comparison, ctx, name, grid)
    hits = np.flatnonzero(truth == goal)
    if not len(hits):
        return None
    near = hits[np.argmin(np.abs(np.log1p(grid[hits]) - np.log1p(0.0 if math.isnan(current) else current)))]
    side = near - 1 if near > 0 and truth[near - 1] != goal else near + 1 if near + 1 < len(grid) and \
        truth[near + 1] != goal else None
    if side is None:
        return Change(name, "≥", float(grid[near]), float(grid[near]))
    good, bad = float(grid[near]), float(grid[side])
    for _ in range(80):
        mid = (good + bad) / 2
        if _truth(comparison, ctx, name, np.array([mid]))[0] == goal:
            good = mid
        else:
            bad = mid
    return Change(name, "≥" if good > bad else "≤", good, good)


def _shown(value: float) -> float:
    """A threshold as people read it: 6 significant digits."""
    return float(f"{value:.6g}") if value else 0.0

