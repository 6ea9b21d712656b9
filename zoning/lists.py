"""Access lists (生态环境准入清单): YAML rule files, validated with pydantic.

One file holds one list. See README.md, "Rule-file reference", for the format.
Loading checks the schema (unknown fields are errors), clause-id uniqueness,
industry codes, project types and attribute names; :func:`check_references`
checks unit codes and zone ids against the loaded layers. Every error names
the file, the clause and the field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from zoning.conditions import All, Always, Any, Compare, Condition, IndustryIn, Not, TypeIn, WithinDistance, walk
from zoning.errors import DataError, InputError
from zoning.industries import table as industry_table
from zoning.projects import ATTRIBUTES, PROJECT_TYPES

DIMENSIONS = {
    "spatial_layout": "空间布局约束",
    "emission_control": "污染物排放管控",
    "risk_prevention": "环境风险防控",
    "resource_efficiency": "资源利用效率",
}
Dimension = Literal["spatial_layout", "emission_control", "risk_prevention", "resource_efficiency"]
Effect = Literal["prohibit", "restrict", "require"]
LEVELS = ("province", "city", "county", "unit", "zone")
Level = Literal["province", "city", "county", "unit", "zone"]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- condition nodes -------------------------------------------------------

class IndustryNode(_Strict):
    industry: list[str] = Field(min_length=1)

    @field_validator("industry")
    @classmethod
    def _codes(cls, codes):
        try:
            return [industry_table().normalise(c) for c in codes]
        except InputError as exc:
            raise ValueError(str(exc)) from None


class TypeNode(_Strict):
    type: list[str] = Field(min_length=1)

    @field_validator("type")
    @classmethod
    def _types(cls, types):
        for t in types:
            if t not in PROJECT_TYPES:
                raise ValueError(f"unknown project type {t!r} (use {', '.join(PROJECT_TYPES)})")
        return types


class CompareNode(_Strict):
    attr: str
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    eq: float | bool | None = None
    ne: float | bool | None = None

    @field_validator("attr")
    @classmethod
    def _attr(cls, name):
        if name not in ATTRIBUTES:
            raise ValueError(f"unknown attribute {name!r} (known: {', '.join(ATTRIBUTES)})")
        return name

    @model_validator(mode="after")
    def _has_operator(self):
        if not self.tests():
            raise ValueError(f"comparison on {self.attr!r} needs one of gt, ge, lt, le, eq, ne")
        return self

    def tests(self) -> tuple[tuple[str, float], ...]:
        return tuple(
            (op, float(getattr(self, op)))
            for op in ("gt", "ge", "lt", "le", "eq", "ne")
            if getattr(self, op) is not None
        )


class WithinSpec(_Strict):
    zones: list[str] = []
    zone_kinds: list[str] = []
    distance_m: float = Field(gt=0, le=100_000)

    @model_validator(mode="after")
    def _names_zones(self):
        if not (self.zones or self.zone_kinds):
            raise ValueError("within_distance needs zones or zone_kinds")
        return self


class WithinDistanceNode(_Strict):
    within_distance: WithinSpec


class AllNode(_Strict):
    all: list[Node] = Field(min_length=1)


class AnyNode(_Strict):
    any: list[Node] = Field(min_length=1)


class NotNode(_Strict):
    not_: Node = Field(alias="not")


_NODE_KEYS = {"industry": IndustryNode, "type": TypeNode, "attr": CompareNode,
              "within_distance": WithinDistanceNode, "all": AllNode, "any": AnyNode, "not": NotNode}


def _node_kind(value) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in _NODE_KEYS if k in value]
        return f"cond:{keys[0]}" if keys else None
    for key, model in _NODE_KEYS.items():
        if isinstance(value, model):
            return f"cond:{key}"
    return None


Node = Annotated[
    Union[tuple(Annotated[model, Tag(f"cond:{key}")] for key, model in _NODE_KEYS.items())],
    Discriminator(
        _node_kind,
        custom_error_type="condition",
        custom_error_message="a condition node needs one of: industry, type, attr, within_distance, all, any, not",
    ),
]
for _model in (AllNode, AnyNode, NotNode):
    _model.model_rebuild()


def compile_node(node: Node | list[Node] | None) -> Condition:
    """Turn a validated node tree into a :class:`~zoning.conditions.Condition`."""
    if node is None:
        return Always()
    if isinstance(node, list):
        return compile_node(AllNode(all=node)) if len(node) != 1 else compile_node(node[0])
    if isinstance(node, IndustryNode):
        return IndustryIn(tuple(node.industry))
    if isinstance(node, TypeNode):
        return TypeIn(tuple(node.type))
    if isinstance(node, CompareNode):
        return Compare(node.attr, node.tests())
    if isinstance(node, WithinDistanceNode):
        spec = node.within_distance
        return WithinDistance(tuple(spec.zones), tuple(spec.zone_kinds), float(spec.distance_m))
    if isinstance(node, AllNode):
        return All(tuple(compile_node(n) for n in node.all))
    if isinstance(node, AnyNode):
        return Any(tuple(compile_node(n) for n in node.any))
    return Not(compile_node(node.not_))


# ---- lists and clauses -----------------------------------------------------

class Source(_Strict):
    document: str | None = None
    issuer: str | None = None
    date: dt.date | None = None
    article: str | None = None


class Clause(_Strict):
    id: Identifier
    dimension: Dimension
    effect: Effect
    conditions: Node | list[Node] | None = None
    unless: Node | list[Node] | None = None
    text: str = Field(min_length=1)
    text_en: str | None = None
    source: Source = Source()
    #: set for clauses taken from a unit layer's free-text fields
    review_only: bool = False


class Scope(_Strict):
    admin: list[str] = []
    unit_types: list[Literal[1, 2, 3]] = []
    units: list[str] = []
    zones: list[str] = []
    zone_kinds: list[str] = []

    @field_validator("admin", mode="before")
    @classmethod
    def _admin(cls, codes):
        codes = [str(c) for c in codes]
        for c in codes:
            if not (c.isdigit() and len(c) in (2, 4, 6)):
                raise ValueError(f"admin code {c!r} must be 2, 4 or 6 digits (GB/T 2260)")
        return codes


class AccessList(_Strict):
    id: Identifier
    title: str
    title_en: str | None = None
    issuer: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None = None
    level: Level
    scope: Scope = Scope()
    source: Source = Source()
    clauses: list[Clause] = Field(min_length=1)
    path: str = Field(default="", exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value):
        return str(value)

    @model_validator(mode="after")
    def _check(self):
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        seen = set()
        for clause in self.clauses:
            if clause.id in seen:
                raise ValueError(f"clause {clause.id}, field id: duplicate clause id {clause.id!r}")
            seen.add(clause.id)
            src = self.source_of(clause)
            lacking = [f for f in ("document", "issuer", "date", "article") if getattr(src, f) is None]
            if lacking:
                raise ValueError(
                    f"clause {clause.id}, field source: missing {', '.join(lacking)} "
                    "(give it on the clause or in the list's source)"
                )
        return self

    def source_of(self, clause: Clause) -> Source:
        merged = self.source.model_dump() | {
            k: v for k, v in clause.source.model_dump().items() if v is not None
        }
        return Source(**merged)

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


def load_list(path: str | Path) -> AccessList:
    """Load and validate one YAML access list."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); re-save it as UTF-8 "
                        "(a file saved as GBK needs converting)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise DataError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: an access list must be a YAML mapping")
    try:
        return AccessList(**data, path=str(path))
    except ValidationError as exc:
        raise DataError(_describe(path, data, exc)) from None


def _describe(path: Path, data: dict, exc: ValidationError) -> str:
    """One readable line per problem: file, clause id and field path."""
    lines = []
    seen = set()
    errors = exc.errors()
    # For ``Node | list[Node]`` fields pydantic also reports that a node is not a
    # list; drop that when the node form has its own, more precise complaint.
    node_errors = {tuple(e["loc"][:-1]) for e in errors if e["type"] != "list_type" and len(e["loc"]) > 1}
    node_errors = {loc[:i] for loc in node_errors for i in range(1, len(loc) + 1)}
    errors = [e for e in errors
              if not (e["type"] == "list_type" and _is_union_tag(e["loc"][-1])
                      and tuple(e["loc"][:-1]) in node_errors)]
    for err in errors:
        loc = [str(p) for p in err["loc"] if not _is_union_tag(p)]
        where = ".".join(loc) or "(list)"
        if len(loc) >= 2 and loc[0] == "clauses" and loc[1].isdigit():
            clause = data.get("clauses", [])[int(loc[1])]
            cid = clause.get("id", "?") if isinstance(clause, dict) else "?"
            where = f"clause {cid}, field {'.'.join(loc[2:]) or '(clause)'}"
        else:
            where = f"field {where}"
        msg = err["msg"].removeprefix("Value error, ")
        if not loc and msg.startswith("clause "):
            where, msg = msg.split(": ", 1)
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        line = f"{where}: {msg}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    # A node that matches no union member reports every member's complaint;
    # keep the message short by showing the first few.
    more = f" (+{len(lines) - 3} more)" if len(lines) > 3 else ""
    return f"{path}: " + "; ".join(lines[:3]) + more


def _is_union_tag(part) -> bool:
    return isinstance(part, str) and (part.startswith("cond:") or "[" in part)


def rule_files(paths) -> list[Path]:
    """Expand files and directories (recursively, ``*.yaml``/``*.yml``)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml")))
        elif p.exists():
            out.append(p)
        else:
            raise DataError(f"{p}: no such rule file or directory")
    return out


def load_lists(paths) -> list[AccessList]:
    """Load every list under ``paths``; list ids must be unique across files."""
    lists = [load_list(p) for p in rule_files(paths)]
    if not lists:
        raise DataError(f"no access lists (*.yaml) found in {', '.join(map(str, paths))}")
    first: dict[str, str] = {}
    for lst in lists:
        if lst.id in first:
            raise DataError(f"{lst.path}: list id {lst.id!r} is also used by {first[lst.id]}")
        first[lst.id] = lst.path
    return lists


def check_references(lists, unit_codes, zone_ids, zone_kinds) -> None:
    """Every unit code, zone id and zone kind a scope names must exist."""
    kind_of = dict(zip(zone_ids, zone_kinds))
    unit_codes, zone_ids, zone_kinds = set(unit_codes), set(zone_ids), set(zone_kinds)
    for lst in lists:
        for field, known, what in (
            ("units", unit_codes, "unit code"),
            ("zones", zone_ids, "zone id"),
            ("zone_kinds", zone_kinds, "zone kind"),
        ):
            for ref in getattr(lst.scope, field):
                if ref not in known:
                    raise DataError(
                        f"{lst.path}: list {lst.id}, field scope.{field}: unknown {what} {ref!r}"
                    )
        for clause in lst.clauses:
            for node in (*walk(compile_node(clause.conditions)), *walk(compile_node(clause.unless))):
                if not isinstance(node, WithinDistance):
                    continue
                where = f"{lst.path}: list {lst.id}, clause {clause.id}, field within_distance"
                for refs, known, what in ((node.zones, zone_ids, "zone id"),
                                          (node.zone_kinds, zone_kinds, "zone kind")):
                    for ref in refs:
                        if ref not in known:
                            raise DataError(f"{where}: unknown {what} {ref!r}")
                if node.zones and node.zone_kinds and not any(
                        kind_of[z] in node.zone_kinds for z in node.zones):
                    raise DataError(f"{where}: none of the zones {', '.join(node.zones)} is of kind "
                                    f"{' or '.join(node.zone_kinds)} (ids and kinds must both match)")
        if lst.level == "zone" and not (lst.scope.zones or lst.scope.zone_kinds):
            raise DataError(f"{lst.path}: list {lst.id}: a zone-level list needs scope.zones or scope.zone_kinds")
