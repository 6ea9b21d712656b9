"""Condition nodes as written in a rule file, validated with pydantic, and compiled.

A node is one of ``industry``, ``type``, ``attr`` (a comparison),
``within_distance``, ``all``, ``any`` or ``not``; :func:`compile_node` turns
a validated tree into the :mod:`~zoning.rules.conditions` objects that are
evaluated as masks. Items are validated one by one, so an error points at
the item's line.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Annotated, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from zoning.errors import InputError
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
)
from zoning.rules.expression_parser import parse_amount, parse_comparison
from zoning.rules.expressions import ExpressionError
from zoning.vocabulary import Vocabulary, builtin


class StrictModel(BaseModel):
    """A rule-file model: unknown fields are errors, and validated values do not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _industry_code(code):
    try:
        return industry_table().normalise(code)
    except InputError as exc:
        raise ValueError(str(exc)) from None


def _project_type(value):
    if value not in PROJECT_TYPES:
        close = difflib.get_close_matches(str(value), PROJECT_TYPES, n=1)
        raise ValueError(f"unknown project type {value!r} (" + (f"did you mean {close[0]!r}? " if close else "")
                         + f"use {', '.join(PROJECT_TYPES)})")
    return value


# validated item by item, so that an error points at the item's line
IndustryCode = Annotated[str, AfterValidator(_industry_code)]
ProjectType = Annotated[str, AfterValidator(_project_type)]


class IndustryNode(StrictModel):
    industry: list[IndustryCode] = Field(min_length=1)


class TypeNode(StrictModel):
    type: list[ProjectType] = Field(min_length=1)


def vocabulary_of(info: ValidationInfo | None) -> Vocabulary:
    """The vocabulary lists are validated against: the rule set's (passed in the validation context), or
    the built-in one."""
    context = info.context if info is not None else None
    return (context or {}).get("vocabulary") or builtin()


class CompareNode(StrictModel):
    """``{attr: NAME, gt|ge|lt|le|eq|ne: VALUE}`` or, for a category, ``{attr: NAME, in: [VALUES]}``."""

    attr: str
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    eq: float | bool | str | None = None
    ne: float | bool | str | None = None
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)

    @field_validator("attr")
    @classmethod
    def _attr(cls, name: str, info: ValidationInfo) -> str:
        vocabulary = vocabulary_of(info)
        if name not in vocabulary:
            close = difflib.get_close_matches(name, list(vocabulary), n=1, cutoff=0.5)
            raise ValueError(f"unknown attribute {name!r} (" + (f"did you mean {close[0]!r}? " if close else "")
                             + f"known: {', '.join(vocabulary)}; a rule set may declare its own in a "
                             "*.attributes.yaml file)")
        return name

    @model_validator(mode="after")
    def _fits_the_attribute(self, info: ValidationInfo) -> CompareNode:
        spec = vocabulary_of(info)[self.attr]
        given = [op for op in ("gt", "ge", "lt", "le", "eq", "ne", "in_") if getattr(self, op) is not None]
        if not given:
            raise ValueError(f"comparison on {self.attr!r} needs one of gt, ge, lt, le, eq, ne"
                             + (" or in" if spec.category else ""))
        if spec.category:
            if set(given) - {"eq", "ne", "in_"}:
                raise ValueError(f"{self.attr!r} is a category ({', '.join(spec.choices)}): compare it with "
                                 "eq, ne or in")
            for value in [v for v in (self.eq, self.ne) if v is not None] + list(self.in_ or []):
                vocabulary_of(info).category_code(self.attr, value)
            return self
        if self.in_ is not None:
            raise ValueError(f"{self.attr!r} is a {spec.kind}: 'in' is for categories")
        for op in given:
            value = getattr(self, op)
            if isinstance(value, str):
                raise ValueError(f"comparison on {self.attr!r}: {op} {value!r} is not a number"
                                 + (" (true or false)" if spec.flag else ""))
            if not math.isfinite(float(value)):
                raise ValueError(f"comparison on {self.attr!r}: {op} {value} is not a finite number")
        return self

    def tests(self) -> tuple[tuple[str, float], ...]:
        """(operator, value) pairs of a number or flag comparison."""
        return tuple((op, float(getattr(self, op))) for op in ("gt", "ge", "lt", "le", "eq", "ne")
                     if getattr(self, op) is not None)


def _resolvers(info: ValidationInfo | None):
    """How an expression's names resolve under this validation: attributes of the vocabulary (numbers and
    flags: a category has no arithmetic) and the parameters the rule set declares."""
    vocabulary = vocabulary_of(info)
    declared = ((info.context or {}) if info is not None else {}).get("parameters")

    def name(word: str) -> str:
        found = vocabulary.lookup(word)
        if found is None:
            close = difflib.get_close_matches(word, list(vocabulary), n=1, cutoff=0.5)
            raise ValueError(f"unknown attribute {word!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        if vocabulary[found].category:
            raise ValueError(f"{found!r} is a category: compare it with {{attr: {found}, in: [...]}}")
        return found

    def parameter(word: str) -> str:
        if declared is not None and word not in declared:
            close = difflib.get_close_matches(word, list(declared), n=1, cutoff=0.5)
            raise ValueError(f"unknown parameter ${word}" + (f" (did you mean ${close[0]}?)" if close else
                                                               " (declare it in a *.parameters.yaml file)"))
        return word

    return name, parameter


class ExprNode(StrictModel):
    """``expr: "COD_offset >= 2 * COD"``: two arithmetic expressions of inputs compared
    (see :mod:`zoning.rules.expressions`)."""

    expr: str

    @field_validator("expr")
    @classmethod
    def _parses(cls, text: str, info: ValidationInfo) -> str:
        try:
            parse_comparison(text, *_resolvers(info))
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
        return text


class WithinSpec(StrictModel):
    zones: list[str] = []
    zone_kinds: list[str] = []
    distance_m: float = Field(ge=0, le=100_000)

    @model_validator(mode="after")
    def _names_zones(self):
        if not (self.zones or self.zone_kinds):
            raise ValueError("within_distance needs zones or zone_kinds")
        return self


class WithinDistanceNode(StrictModel):
    within_distance: WithinSpec


class InsideSpec(StrictModel):
    zones: list[str] = []
    zone_kinds: list[str] = []
    min_share: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _names_zones(self):
        if not (self.zones or self.zone_kinds):
            raise ValueError("inside needs zones or zone_kinds")
        return self


class InsideNode(StrictModel):
    inside: InsideSpec


class AllNode(StrictModel):
    all: list[Node] = Field(min_length=1)


class AnyNode(StrictModel):
    any: list[Node] = Field(min_length=1)


class NotNode(StrictModel):
    not_: Node = Field(alias="not")


_NODE_KEYS = {"industry": IndustryNode, "type": TypeNode, "attr": CompareNode, "expr": ExprNode,
              "within_distance": WithinDistanceNode, "inside": InsideNode, "all": AllNode, "any": AnyNode,
              "not": NotNode}


def _node_kind(value: object) -> str | None:
    """The tag of the node form ``value`` is (or would validate as): its first condition key."""
    if isinstance(value, dict):
        keys = [k for k in _NODE_KEYS if k in value]
        return f"cond:{keys[0]}" if keys else None
    for key, model in _NODE_KEYS.items():
        if isinstance(value, model):
            return f"cond:{key}"
    return None


Node = Annotated[
    Union[
        Annotated[IndustryNode, Tag("cond:industry")], Annotated[TypeNode, Tag("cond:type")],
        Annotated[CompareNode, Tag("cond:attr")], Annotated[ExprNode, Tag("cond:expr")],
        Annotated[WithinDistanceNode, Tag("cond:within_distance")], Annotated[InsideNode, Tag("cond:inside")],
        Annotated[AllNode, Tag("cond:all")], Annotated[AnyNode, Tag("cond:any")], Annotated[NotNode, Tag("cond:not")],
    ],
    Discriminator(
        _node_kind,
        custom_error_type="condition",
        custom_error_message="a condition node needs one of: industry, type, attr, expr, within_distance, inside, "
                             "all, any, not",
    ),
]
for _model in (AllNode, AnyNode, NotNode):
    _model.model_rebuild()


def compile_node(node: Node | list[Node] | None, vocabulary: Vocabulary | None = None) -> Condition:
    """Turn a validated node tree into a :class:`~zoning.rules.conditions.Condition`; ``vocabulary`` is the
    one the tree was validated against (default: the built-in one)."""
    vocabulary = vocabulary or builtin()
    if node is None:
        return Always()
    if isinstance(node, list):
        return compile_node(AllNode(all=node), vocabulary) if len(node) != 1 else compile_node(node[0], vocabulary)
    if isinstance(node, IndustryNode):
        return IndustryIn(tuple(node.industry))
    if isinstance(node, TypeNode):
        return TypeIn(tuple(node.type))
    if isinstance(node, CompareNode):
        return _compare(node, vocabulary)
    if isinstance(node, ExprNode):
        return ExprCompare(parse_comparison(node.expr, *_compile_resolvers(vocabulary)))
    if isinstance(node, WithinDistanceNode):
        spec = node.within_distance
        # sorted: the same selection written in another order is the same condition
        return WithinDistance(tuple(sorted(spec.zones)), tuple(sorted(spec.zone_kinds)), float(spec.distance_m))
    if isinstance(node, InsideNode):
        inside = node.inside
        return Inside(tuple(sorted(inside.zones)), tuple(sorted(inside.zone_kinds)), inside.min_share)
    if isinstance(node, AllNode):
        return AllOf(tuple(compile_node(n, vocabulary) for n in node.all))
    if isinstance(node, AnyNode):
        return AnyOf(tuple(compile_node(n, vocabulary) for n in node.any))
    return Not(compile_node(node.not_, vocabulary))


def _compile_resolvers(vocabulary: Vocabulary):
    """Resolvers for expressions already validated: names to attributes, parameters as written."""
    return vocabulary.name, (lambda word: word)


def parse_amount_text(text: str, vocabulary: Vocabulary, parameters: Iterable[str] | None = None):
    """An obligation's amount, parsed against ``vocabulary`` (and the declared ``parameters``)."""
    declared = None if parameters is None else set(parameters)

    class _Info:
        context = {"vocabulary": vocabulary, "parameters": declared}

    return parse_amount(text, *_resolvers(_Info()))  # type: ignore[arg-type]


def _compare(node: CompareNode, vocabulary: Vocabulary) -> Condition:
    spec = vocabulary[node.attr]
    if not spec.category:
        return Compare(node.attr, node.tests(), spec.kind)
    choices = tuple(spec.choices)
    if node.in_ is not None and node.eq is None and node.ne is None:
        return CategoryIn(node.attr, tuple(sorted({vocabulary.category_code(node.attr, v) for v in node.in_})),
                          choices)
    tests = tuple((op, float(vocabulary.category_code(node.attr, getattr(node, op)))) for op in ("eq", "ne")
                  if getattr(node, op) is not None)
    compare = Compare(node.attr, tests, "category", choices)
    if node.in_ is None:
        return compare
    within = CategoryIn(node.attr, tuple(sorted({vocabulary.category_code(node.attr, v) for v in node.in_})), choices)
    return AllOf((within, compare))

