"""Access lists (生态环境准入清单) as data: one YAML file holds one list of clauses.

See README.md, "Rule-file reference", for the format. Loading
(:mod:`zoning.rules.loading`) checks the schema (unknown fields are errors),
clause-id uniqueness, industry codes, project types and attribute names;
every error names the file, the clause and the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, StringConstraints, ValidationInfo, field_validator, model_validator

from zoning.rules.expressions import ExpressionError
from zoning.rules.nodes import Node, StrictModel, parse_amount_text, vocabulary_of
from zoning.rules.yamlfile import line_of

DIMENSIONS = {
    "spatial_layout": "空间布局约束",
    "emission_control": "污染物排放管控",
    "risk_prevention": "环境风险防控",
    "resource_efficiency": "资源利用效率",
}
Dimension = Literal["spatial_layout", "emission_control", "risk_prevention", "resource_efficiency"]
#: what a clause does when it applies: prohibit or restrict (the verdict), require (an obligation), encourage
#: (a project of this kind is encouraged here: cited, never changing the verdict)
Effect = Literal["prohibit", "restrict", "require", "encourage"]
LEVELS = ("province", "city", "county", "unit", "zone")
Level = Literal["province", "city", "county", "unit", "zone"]
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]



class Source(StrictModel):
    document: str | None = None
    issuer: str | None = None
    date: dt.date | None = None
    article: str | None = None


class Obligation(StrictModel):
    """What a project must do, with an amount computed from its inputs: ``{name: VOCs offset,
    amount: "2 * VOCs", unit: t/a}`` (see :mod:`zoning.rules.expressions`)."""

    name: str = Field(min_length=1)
    amount: str
    unit: str = ""

    @field_validator("amount")
    @classmethod
    def _parses(cls, text: str, info: ValidationInfo) -> str:
        try:
            parse_amount_text(text, vocabulary_of(info), (info.context or {}).get("parameters"))
        except ExpressionError as exc:
            raise ValueError(str(exc)) from None
        return text


class Clause(StrictModel):
    id: Identifier
    dimension: Dimension
    effect: Effect
    conditions: Node | list[Node] | None = None
    unless: Node | list[Node] | None = None
    text: str = Field(min_length=1)
    text_en: str | None = None
    source: Source = Source()
    #: cited for a person to read (text not yet turned into conditions); never decides the verdict
    review_only: bool = False
    #: what a project this clause applies to must do, with computed amounts (require and restrict clauses)
    obligations: list[Obligation] = []

    @model_validator(mode="after")
    def _obligations_fit(self) -> Clause:
        if self.obligations and self.effect not in ("require", "restrict"):
            raise ValueError(f"clause {self.id}: only require and restrict clauses carry obligations")
        return self


class Scope(StrictModel):
    admin: list[str] = []
    unit_types: list[Literal[1, 2, 3]] = []
    units: list[str] = []
    zones: list[str] = []
    zone_kinds: list[str] = []

    @field_validator("admin", mode="before")
    @classmethod
    def _admin(cls, codes):
        codes = [str(c) for c in ([codes] if isinstance(codes, (str, int)) else codes)]
        for c in codes:
            if not (c.isdigit() and len(c) in (2, 4, 6)):
                raise ValueError(f"admin code {c!r} must be 2, 4 or 6 digits (GB/T 2260)")
        return codes


class AccessList(StrictModel):
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
    _lines: dict = PrivateAttr(default_factory=dict)  # (key, index…) path -> line, when read from a file

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value):
        if isinstance(value, float):
            raise ValueError(f"version {value!r} was read as a number (2024.10 would become 2024.1): "
                             "write it in quotes, e.g. \"2024.10\"")
        if isinstance(value, bool) or not isinstance(value, (str, int, dt.date)) or str(value).strip() == "":
            raise ValueError("give the version as text, e.g. \"2024.1\"")
        return str(value)

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo):
        problems = self.problems()
        if problems:
            if info.context is not None:  # parse_list collects them with their locations
                info.context.setdefault("problems", []).extend(problems)
            raise ValueError("; ".join(f"{self._where(loc)}: {msg}" for loc, msg in problems))
        return self

    def problems(self) -> list[tuple[tuple, str]]:
        """List-level problems, each as (location, message): dates, zone scope, clause ids, sources."""
        problems: list[tuple[tuple, str]] = []
        if self.effective_to is not None and self.effective_to < self.effective_from:
            problems.append((("effective_to",), "effective_to is before effective_from"))
        if self.level == "zone" and not (self.scope.zones or self.scope.zone_kinds):
            problems.append((("level",), "a zone-level list needs scope.zones or scope.zone_kinds"))
        first: dict[str, int] = {}
        for n, clause in enumerate(self.clauses):
            if clause.id in first:
                problems.append((("clauses", n, "id"), f"duplicate clause id {clause.id!r} "
                                                       f"(clauses {first[clause.id] + 1} and {n + 1})"))
            first.setdefault(clause.id, n)
            src = self.source_of(clause)
            lacking = [f for f in ("document", "issuer", "date", "article") if getattr(src, f) is None]
            if lacking:
                problems.append((("clauses", n, "source"), f"missing {', '.join(lacking)} "
                                                           "(give it on the clause or in the list's source)"))
        return problems

    def _where(self, loc: tuple) -> str:
        if loc[0] == "clauses":
            return f"clause {self.clauses[loc[1]].id}, field {'.'.join(map(str, loc[2:]))}"
        return f"field {'.'.join(map(str, loc))}"

    def source_of(self, clause: Clause) -> Source:
        merged = self.source.model_dump() | {
            k: v for k, v in clause.source.model_dump().items() if v is not None
        }
        return Source(**merged)

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


    def line(self, *loc: str | int) -> int | None:
        """Line in the list's file of the field at ``loc`` (e.g. ``"clauses", 0, "id"``), when read from a file."""
        return line_of(self._lines, loc)
