"""Checks of ``expr:`` conditions and obligation amounts for ``zoning rules validate``.

* **Units**: a sum, difference, ``min``/``max`` or comparison of two quantities
  with different units (``COD_offset < capacity_mw``: t/a against MW) is an
  error; a constant takes the unit of what it is added to or compared with,
  and a product or quotient of two quantities is not checked (its unit is
  compound).
* **Never true**: a comparison false for every value of its inputs (tried
  across magnitudes from 0 to 10⁹, the expression's constants and the values
  of its parameter tables) is a warning: the clause cannot apply through it.

Probe values stand in for the inputs; there is no evaluation of text.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping

import numpy as np

from zoning.rules.expression_parser import parse_comparison
from zoning.rules.expressions import Attr, Bin, Call, Comparison, Expr, Neg, Num, Param
from zoning.rules.findings import Finding
from zoning.rules.nodes import AllNode, AnyNode, ExprNode, NotNode, parse_amount_text
from zoning.rules.parameters import ParameterSpec
from zoning.rules.schema import AccessList
from zoning.vocabulary import Vocabulary

#: magnitudes an input is tried at (with the expression's constants, halved and doubled)
MAGNITUDES = (0.0, 0.001, 0.5, 1.0, 2.0, 10.0, 100.0, 1e3, 1e4, 1e6, 1e9)
#: the most value combinations tried for one comparison
MAX_COMBINATIONS = 200_000
_UNCHECKED = None  # a compound unit: not compared


def expression_findings(lists: list[AccessList], vocabulary: Vocabulary,
                        parameters: Mapping[str, list[ParameterSpec]]) -> list[Finding]:
    """Unit mismatches and never-true comparisons in every list's ``expr:`` nodes and obligation amounts.
    ``parameters`` holds the versions of each declared parameter table, by name."""
    units = {name: versions[0].unit for name, versions in parameters.items() if versions}
    values = {name: table_values(versions) for name, versions in parameters.items()}
    out = []
    for lst in lists:
        for c, clause in enumerate(lst.clauses):
            where = f"list {lst.id}, clause {clause.id}"
            for part in ("conditions", "unless"):
                for loc, node in _expr_nodes(getattr(clause, part), ("clauses", c, part)):
                    comparison = _parsed(node.expr, vocabulary)
                    line = lst.line(*loc)
                    mismatch = _mismatch(comparison.left, comparison.right, vocabulary, units)
                    if mismatch:
                        out.append(Finding("error", lst.path, line, f"{where}, field expr", mismatch,
                                           "compare quantities of one unit (convert with a factor if need be)"))
                    elif not _can_be_true(comparison, values):
                        out.append(Finding("warning", lst.path, line, f"{where}, field expr",
                                           f"{node.expr!r} is false for every value of its inputs",
                                           "check the comparison's direction and its constants"))
            for o, obligation in enumerate(clause.obligations):
                amount = parse_amount_text(obligation.amount, vocabulary, None)
                unit = _unit(amount, vocabulary, units)
                if isinstance(unit, str) and unit and obligation.unit and unit != obligation.unit:
                    out.append(Finding("warning", lst.path, lst.line("clauses", c, "obligations", o, "unit"),
                                       f"{where}, field obligations", f"amount {obligation.amount!r} is in {unit}, "
                                       f"but its unit is given as {obligation.unit}",
                                       f"write unit: {unit}, or convert the amount"))
    return out


def _parsed(text: str, vocabulary: Vocabulary) -> Comparison:
    return parse_comparison(text, vocabulary.name, lambda word: word)


def _expr_nodes(node, loc: tuple) -> Iterator[tuple[tuple, ExprNode]]:
    """(location, node) of every ``expr`` node in a validated node tree."""
    if isinstance(node, list):
        for i, n in enumerate(node):
            yield from _expr_nodes(n, (*loc, i))
    elif isinstance(node, ExprNode):
        yield (*loc, "expr"), node
    elif isinstance(node, (AllNode, AnyNode)):
        key = "all" if isinstance(node, AllNode) else "any"
        yield from _expr_nodes(getattr(node, key), (*loc, key))
    elif isinstance(node, NotNode):
        yield from _expr_nodes(node.not_, (*loc, "not"))


# ---- units ------------------------------------------------------------------------

def _unit(e: Expr, vocabulary: Vocabulary, params: Mapping[str, str]) -> str | None | tuple[str, str]:
    """The unit of ``e``: a text ("" for a constant), None when compound, or ``(a, b)`` for a mismatch."""
    if isinstance(e, Num):
        return ""
    if isinstance(e, Attr):
        spec = vocabulary[e.name]
        return spec.unit if spec.kind == "number" else _UNCHECKED
    if isinstance(e, Param):
        return params.get(e.name) or _UNCHECKED
    if isinstance(e, Neg):
        return _unit(e.operand, vocabulary, params)
    if isinstance(e, Bin):
        left, right = _unit(e.left, vocabulary, params), _unit(e.right, vocabulary, params)
        if isinstance(left, tuple) or isinstance(right, tuple):
            return left if isinstance(left, tuple) else right
        if e.op in "*/":
            return right if left == "" else left if right == "" else _UNCHECKED
        return _same(left, right)
    if isinstance(e, Call):
        units = [_unit(a, vocabulary, params) for a in e.args]
        found = next((u for u in units if isinstance(u, tuple)), None)
        if found is not None:
            return found
        result: str | None | tuple[str, str] = ""
        for u in units:
            result = _same(result, u)  # type: ignore[arg-type]
            if isinstance(result, tuple):
                break
        return result
    return _UNCHECKED


def _same(left: str | None, right: str | None) -> str | None | tuple[str, str]:
    """The unit of a sum of two parts: a constant takes the other's unit; two units must agree."""
    if left is None or right is None:
        return _UNCHECKED
    if left == "" or right == "" or left == right:
        return left or right
    return (left, right)


def _mismatch(left: Expr, right: Expr, vocabulary: Vocabulary, params: Mapping[str, str]) -> str:
    """Why the two sides (or parts of them) have different units; "" if they do not."""
    unit = _same_checked(_unit(left, vocabulary, params), _unit(right, vocabulary, params))
    if isinstance(unit, tuple):
        return f"adds or compares quantities in different units: {unit[0]} and {unit[1]}"
    return ""


def _same_checked(left, right):
    if isinstance(left, tuple):
        return left
    if isinstance(right, tuple):
        return right
    return _same(left, right)


# ---- never true -------------------------------------------------------------------

def table_values(versions: list[ParameterSpec]) -> list[float]:
    """The values a parameter table gives (its default too); a column-keyed table is tried at magnitudes."""
    found = {float(v) for spec in versions for v in spec.values.values()}
    found |= {float(spec.default) for spec in versions if spec.default is not None}
    return sorted(found) or list(MAGNITUDES)


class _Probe:
    """Probe values standing in for a project's attributes and its unit's parameters."""

    def __init__(self, attributes: dict[str, np.ndarray], parameters: dict[str, np.ndarray]):
        self.attributes, self.parameters = attributes, parameters

    def attribute(self, name: str) -> np.ndarray:
        return self.attributes[name]

    def parameter(self, name: str) -> np.ndarray:
        return self.parameters[name]


def _can_be_true(comparison: Comparison, table_values: Mapping[str, list[float]]) -> bool:
    """Whether some combination of input values makes the comparison true (True when too many to try)."""
    constants = {abs(leaf.value) for leaf in _all_leaves(comparison) if isinstance(leaf, Num)}
    tried = sorted({*MAGNITUDES, *constants, *(c / 2 for c in constants), *(c * 2 for c in constants)})
    names = sorted(comparison.names())
    params = sorted(comparison.parameters())
    axes = [tried] * len(names) + [table_values.get(p, list(MAGNITUDES)) for p in params]
    if np.prod([len(a) for a in axes], dtype=float) > MAX_COMBINATIONS:
        return True
    grid = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(axes)) if axes else np.zeros((1, 0))
    probe = _Probe({n: grid[:, i] for i, n in enumerate(names)},
                   {p: grid[:, len(names) + i] for i, p in enumerate(params)})
    true, _, _ = comparison.truth(probe, len(grid))
    return bool(true.any())


def _all_leaves(comparison: Comparison) -> list[Expr]:
    out: list[Expr] = []
    stack: list[Expr] = [comparison.left, comparison.right]
    while stack:
        e = stack.pop()
        out.append(e)
        if isinstance(e, Neg):
            stack.append(e.operand)
        elif isinstance(e, Bin):
            stack += [e.left, e.right]
        elif isinstance(e, Call):
            stack += list(e.args)
    return out
