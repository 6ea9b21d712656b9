"""Access lists (生态环境准入清单): YAML rule files, validated with pydantic.

One file holds one list. See README.md, "Rule-file reference", for the format.
Loading checks the schema (unknown fields are errors), clause-id uniqueness,
industry codes, project types and attribute names; :func:`check_references`
checks unit codes and zone ids against the loaded layers. Every error names
the file, the clause and the field.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from zoning.conditions import All, Always, Any, Compare, Condition, IndustryIn, Not, TypeIn, WithinDistance
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


class IndustryNode(_Strict):
    industry: list[IndustryCode] = Field(min_length=1)


class TypeNode(_Strict):
    type: list[ProjectType] = Field(min_length=1)


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
            close = difflib.get_close_matches(name, ATTRIBUTES, n=1, cutoff=0.5)
            raise ValueError(f"unknown attribute {name!r} (" + (f"did you mean {close[0]!r}? " if close else "")
                             + f"known: {', '.join(ATTRIBUTES)})")
        return name

    @model_validator(mode="after")
    def _has_operator(self):
        if not self.tests():
            raise ValueError(f"comparison on {self.attr!r} needs one of gt, ge, lt, le, eq, ne")
        for op, value in self.tests():
            if not math.isfinite(value):
                raise ValueError(f"comparison on {self.attr!r}: {op} {value} is not a finite number")
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
        # sorted: the same selection written in another order is the same condition
        return WithinDistance(tuple(sorted(spec.zones)), tuple(sorted(spec.zone_kinds)), float(spec.distance_m))
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
    #: cited for a person to read (text not yet turned into conditions); never decides the verdict
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
        codes = [str(c) for c in ([codes] if isinstance(codes, (str, int)) else codes)]
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
        problems = []
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


SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One problem found in a rule file (or a layer it refers to), as ``zoning rules validate`` prints it."""

    severity: str  # error (the engine refuses the rules), warning or info
    path: str
    line: int | None  # 1-based; None where the problem is not in a text file
    where: str  # "list X, clause Y, field Z"
    message: str
    hint: str  # how to fix it

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.location}: {where}{self.message} (fix: {self.hint})"


class FileError(DataError):
    """A rule file that cannot be read or parsed."""

    def __init__(self, finding: Finding):
        super().__init__(str(finding))
        self.finding = finding


def raise_errors(findings, *, more_hint: str = "") -> None:
    """Raise :class:`DataError` with the first few error findings, if there are any."""
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        more = f" (+{len(errors) - 3} more{more_hint})" if len(errors) > 3 else ""
        raise DataError("; ".join(map(str, errors[:3])) + more)


def read_yaml(path: Path) -> tuple[object, dict[tuple, int]]:
    """Parse a YAML file safely; return the data and the line (1-based) of every key and item.

    Lines are keyed by path: ``("clauses", 0, "conditions")``. Problems raise
    :class:`DataError` naming ``file:line``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileError(Finding("error", str(path), None, "", f"cannot read: {exc.strerror}",
                                "check the path and permissions")) from None
    except UnicodeDecodeError as exc:
        raise FileError(Finding("error", str(path), exc.object[:exc.start].count(b"\n") + 1, "",
                                f"not UTF-8 text (byte {exc.start})",
                                "re-save the file as UTF-8 (a file saved as GBK needs converting)")) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None) or str(exc)
        context, opened = getattr(exc, "context", None) or "", getattr(exc, "context_mark", None)
        wide = _full_width_colon(text, mark.line if mark else 0)
        if wide is not None:  # 键：值 typed with a Chinese input method
            raise FileError(Finding("error", str(path), wide, "", "a full-width colon '：' after a key",
                                    "type the key's colon as an ASCII ':' followed by a space")) from None
        if opened is not None and ("quoted scalar" in context or "flow" in context):
            # an unclosed quote or bracket: point where it opens, not at the end of the file
            problem = f"{problem} {context} that starts on line {opened.line + 1} (not closed)"
            mark = opened
        raise FileError(Finding("error", str(path), mark.line + 1 if mark else None, "",
                                f"not valid YAML: {problem}",
                                "check indentation, and quote text that contains ': ' or starts with a special "
                                "character; close every quote and bracket; tabs are not allowed")) from None
    except ValueError as exc:  # a well-formed value PyYAML cannot build, e.g. the date 2021-02-30
        raise FileError(Finding("error", str(path), _unbuildable_line(node), "", f"not a valid value: {exc}",
                                "write dates as real calendar dates, YYYY-MM-DD")) from None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}

    def visit(node, key: tuple, seen: frozenset) -> None:
        if id(node) in seen:  # an alias of an enclosing node
            return
        seen = seen | {id(node)}
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else str(k)
                if (*key, name) in lines:
                    raise FileError(Finding(
                        "error", str(path), k.start_mark.line + 1, "", f"{name!r} appears twice in one mapping "
                        f"(also on line {lines[(*key, name)]}); only the last would count",
                        "delete one of them"))
                lines[(*key, name)] = k.start_mark.line + 1
                visit(v, (*key, name), seen)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*key, i)] = item.start_mark.line + 1
                visit(item, (*key, i), seen)

    if node is not None:
        visit(node, (), frozenset())
    return data, lines


def _full_width_colon(text: str, near: int) -> int | None:
    """Line (1-based) of a ``key：`` with a full-width colon at or just before line ``near`` (0-based)."""
    lines = text.splitlines()
    for i in range(min(near, len(lines) - 1), max(near - 3, -1), -1):
        if re.match(r"^\s*-?\s*[A-Za-z_][A-Za-z0-9_\-]*\s*：", lines[i]):
            return i + 1
    return None


def _unbuildable_line(node) -> int | None:
    """Line of the first scalar under ``node`` that PyYAML recognises but cannot build."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            probe = yaml.SafeLoader("")
            try:
                probe.construct_object(n, deep=True)
            except ValueError:
                return n.start_mark.line + 1
            finally:
                probe.dispose()
        elif isinstance(n, yaml.MappingNode):
            stack += [v for pair in reversed(n.value) for v in reversed(pair)]
        elif isinstance(n, yaml.SequenceNode):
            stack += list(reversed(n.value))
    return None


def line_of(lines: dict[tuple, int], loc) -> int | None:
    """Line of the deepest part of ``loc`` the file has (a missing field: its parent)."""
    loc = tuple(loc)
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1 if lines else None


def load_list(path: str | Path) -> AccessList:
    """Load and validate one YAML access list; errors raise :class:`DataError` with ``file:line``."""
    lst, findings = parse_list(Path(path))
    raise_errors(findings, more_hint=f"; run 'zoning rules validate {path}' to see them all")
    return lst


def parse_list(path: Path) -> tuple[AccessList | None, list[Finding]]:
    """One list file: the list (None if it does not validate) and every problem found."""
    try:
        data, lines = read_yaml(path)
    except FileError as exc:
        return None, [exc.finding]
    if not isinstance(data, dict):
        return None, [Finding("error", str(path), 1, "", "an access list must be a YAML mapping",
                              "start the file with 'id:', 'title:'… (see README, Rule-file reference)")]
    context: dict = {}
    try:
        lst = AccessList.model_validate({**data, "path": str(path)}, context=context)
    except ValidationError as exc:
        return None, _schema_findings(path, data, lines, exc, context.get("problems", []))
    except TypeError as exc:  # keys that are not strings
        return None, [Finding("error", str(path), 1, "", f"unreadable keys: {exc}", "keys must be plain names")]
    lst._lines = lines
    return lst, []


def _schema_findings(path: Path, data: dict, lines: dict, exc: ValidationError,
                     problems: list[tuple[tuple, str]]) -> list[Finding]:
    """One finding per problem: file, line, clause id and field path, and a fix. ``problems`` are
    the list-level ones (:meth:`AccessList.problems`), which pydantic reports without a location."""
    findings = []
    seen = set()
    errors = exc.errors()
    # For ``Node | list[Node]`` fields pydantic also reports that a node is not a
    # list; drop that when the node form has its own, more precise complaint.
    node_errors = {tuple(e["loc"][:-1]) for e in errors if e["type"] != "list_type" and len(e["loc"]) > 1}
    node_errors = {loc[:i] for loc in node_errors for i in range(1, len(loc) + 1)}
    errors = [e for e in errors
              if not (e["type"] == "list_type" and _is_union_tag(e["loc"][-1])
                      and tuple(e["loc"][:-1]) in node_errors)]
    errors = [e for e in errors if e["loc"] or not problems]  # the located copies follow
    errors += [{"type": "value_error", "loc": loc, "msg": msg} for loc, msg in problems]
    clauses = data.get("clauses") if isinstance(data.get("clauses"), list) else []
    for err in errors:
        loc = [p for p in err["loc"] if not _is_union_tag(p)]
        msg = err["msg"].removeprefix("Value error, ")
        names = [str(p) for p in loc]
        if len(loc) >= 2 and loc[0] == "clauses" and isinstance(loc[1], int):
            clause = clauses[loc[1]] if loc[1] < len(clauses) else None
            cid = clause.get("id", "?") if isinstance(clause, dict) else "?"
            where = f"clause {cid}, field {'.'.join(names[2:]) or '(clause)'}"
        else:
            where = f"field {'.'.join(names) or '(list)'}"
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        key = (where, msg)
        if key not in seen:
            seen.add(key)
            findings.append(Finding("error", str(path), line_of(lines, loc), where, msg, _hint(err, names)))
    return findings


_FIELD_NAMES = sorted({name for model in (Clause, AccessList, Scope, Source, WithinSpec, CompareNode)
                       for name in model.model_fields} | set(_NODE_KEYS) - {"path"})


def _hint(err: dict, names: list[str]) -> str:
    """How to fix one schema error."""
    kind = err["type"]
    field = names[-1] if names else ""
    if kind == "missing":
        return f"add '{field}:' here" if field else "add the missing field"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(field, _FIELD_NAMES, n=1)
        return f"did you mean '{close[0]}'?" if close else "remove it, or see README, Rule-file reference"
    if kind == "condition":
        return "write one of: industry, type, attr, within_distance, all, any, not"
    if kind.startswith("date") or kind.startswith("datetime"):
        return "write the date as YYYY-MM-DD"
    if kind in ("literal_error", "enum"):
        return "use one of the values listed"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "bool_parsing", "bool_type"):
        return "give a number" if "bool" not in kind else "write true or false"
    if kind in ("too_short", "list_type"):
        if field == "clauses":
            return "give the list's clauses, at least one (see README, Rule-file reference)"
        return "give a YAML list with at least one item, e.g. [C2614]" if field == "industry" else \
            "give a YAML list with at least one item, e.g. [a, b]"
    if kind == "string_pattern_mismatch":
        return "use letters, digits, '.', '_' or '-', starting with a letter or digit"
    if kind.startswith("string"):
        return "write it as text"
    message = err["msg"]
    if "did you mean" in message:
        return "use the suggested value"
    if "version" in names:
        return 'write the version as text, e.g. version: "2024.1"'
    if "industry code" in message:
        return "use a GB/T 4754-2017 code (letter optional); the nearest valid codes are listed"
    if "duplicate clause id" in message:
        return "give each clause its own id (numbering restarts per dimension: KJ-1, PW-1…)"
    if "source: missing" in message or "missing " in message and "source" in str(names):
        return "give document, issuer, date and article on the clause or in the list's source"
    if "effective_to" in message:
        return "make effective_to the same as or later than effective_from"
    if "zone-level list" in message:
        return "name the zones (or zone kinds) the list applies to under scope"
    if "finite number" in message:
        return "give a real number threshold"
    return "correct the value as the message says"


def _is_union_tag(part) -> bool:
    return isinstance(part, str) and (part.startswith("cond:") or "[" in part)


#: rule tests (see :mod:`zoning.ruletests`) live beside the lists, named ``*.tests.yaml``
TEST_SUFFIXES = (".tests.yaml", ".tests.yml")


def rule_files(paths, *, tests: bool = False) -> list[Path]:
    """Expand files and directories (recursively, ``*.yaml``/``*.yml``): the access
    lists, or with ``tests=True`` the rule tests (``*.tests.yaml``)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in (".yaml", ".yml")
                              and q.name.lower().endswith(TEST_SUFFIXES) == tests))
        elif p.exists():
            if p.name.lower().endswith(TEST_SUFFIXES) == tests:
                out.append(p)
        else:
            raise DataError(f"{p}: no such rule file or directory")
    return out


def load_lists(paths) -> list[AccessList]:
    """Load every list under ``paths``. A list id may appear in several files only
    as different versions whose effective periods do not overlap."""
    lists = [load_list(p) for p in rule_files(paths)]
    if not lists:
        raise DataError(f"no access lists (*.yaml) found in {', '.join(map(str, paths))}")
    raise_errors(version_findings(lists))
    return lists


def _at(lst: AccessList, *loc) -> int | None:
    return line_of(lst._lines, loc)


def version_findings(lists) -> list[Finding]:
    """Versions of one list (same id): distinct version names, effective periods that do not overlap,
    and (info) gaps between them."""
    out = []
    by_id: dict[str, list[AccessList]] = {}
    for lst in lists:
        by_id.setdefault(lst.id, []).append(lst)
    for list_id, versions in by_id.items():
        first: dict[str, AccessList] = {}
        for lst in versions:
            if lst.version in first:
                out.append(Finding(
                    "error", lst.path, _at(lst, "version"), f"list {list_id}",
                    f"list id {list_id!r} is also used by {first[lst.version].path} with the same version "
                    f"{lst.version!r}", "give the new revision its own version and effective dates, or its own id"))
            else:
                first[lst.version] = lst
        ordered = sorted(first.values(), key=lambda v: v.effective_from)
        for a, b in zip(ordered, ordered[1:]):
            if a.effective_to is None or a.effective_to >= b.effective_from:
                until = f"to {a.effective_to}" if a.effective_to else "with no end date"
                out.append(Finding(
                    "error", b.path, _at(b, "effective_from"), f"list {list_id} version {b.version}",
                    f"in force from {b.effective_from}, while version {a.version} ({a.path}) is in force from "
                    f"{a.effective_from} {until}: both would apply",
                    f"set effective_to: {b.effective_from - dt.timedelta(days=1)} on version {a.version}"
                    if b.effective_from > a.effective_from else
                    f"give the versions different effective_from dates (both start on {a.effective_from})"))
            elif (b.effective_from - a.effective_to).days > 1:
                out.append(Finding(
                    "info", b.path, _at(b, "effective_from"), f"list {list_id} version {b.version}",
                    f"no version is in force from {a.effective_to + dt.timedelta(days=1)} to "
                    f"{b.effective_from - dt.timedelta(days=1)}",
                    f"if version {a.version} stayed in force until this one, set its effective_to to "
                    f"{b.effective_from - dt.timedelta(days=1)}"))
    return out


def check_references(lists, unit_codes, zone_ids, zone_kinds) -> None:
    """Every unit code, zone id and zone kind a list names must exist (raises :class:`DataError`)."""
    raise_errors(reference_findings(lists, unit_codes, zone_ids, zone_kinds))


def reference_findings(lists, unit_codes, zone_ids, zone_kinds) -> list[Finding]:
    """Unit codes, zone ids and zone kinds named by scopes and within_distance conditions
    that the unit and zone layers do not have (None: that layer was not given, not checked)."""
    out = []
    kind_of = dict(zip(zone_ids, zone_kinds)) if zone_ids is not None else {}
    known = {"units": None if unit_codes is None else set(unit_codes),
             "zones": None if zone_ids is None else set(zone_ids),
             "zone_kinds": None if zone_kinds is None else set(zone_kinds)}
    what = {"units": "unit code", "zones": "zone id", "zone_kinds": "zone kind"}

    def unknown(lst, refs, field, loc, where):
        if known[field] is None:  # that layer was not given: not checked
            return
        for i, ref in enumerate(refs):
            if ref not in known[field]:
                close = difflib.get_close_matches(ref, known[field], n=1)
                hint = f"did you mean {close[0]!r}?" if close else (
                    f"check the {what[field]} against the {'unit' if field == 'units' else 'zone'} layer "
                    "(--units/--zones)")
                out.append(Finding("error", lst.path, _at(lst, *loc, i), where, f"unknown {what[field]} {ref!r}",
                                   hint))

    for lst in lists:
        for field in ("units", "zones", "zone_kinds"):
            unknown(lst, getattr(lst.scope, field), field, ("scope", field),
                    f"list {lst.id}, field scope.{field}")
        for c, clause in enumerate(lst.clauses):
            for part in ("conditions", "unless"):
                for loc, spec in _within_specs(getattr(clause, part), ("clauses", c, part)):
                    where = f"list {lst.id}, clause {clause.id}, field within_distance"
                    unknown(lst, spec.zones, "zones", (*loc, "zones"), where)
                    unknown(lst, spec.zone_kinds, "zone_kinds", (*loc, "zone_kinds"), where)
                    if spec.zones and spec.zone_kinds and all(z in kind_of for z in spec.zones) and not any(
                            kind_of[z] in spec.zone_kinds for z in spec.zones):
                        out.append(Finding(
                            "error", lst.path, _at(lst, *loc), where,
                            f"none of the zones {', '.join(spec.zones)} is of kind {' or '.join(spec.zone_kinds)} "
                            "(ids and kinds must both match)", "drop zones or zone_kinds, or make them agree"))
    return out


def _within_specs(node, loc: tuple):
    """(location, spec) of every within_distance node in a validated node tree."""
    if isinstance(node, list):
        for i, n in enumerate(node):
            yield from _within_specs(n, (*loc, i))
    elif isinstance(node, WithinDistanceNode):
        yield (*loc, "within_distance"), node.within_distance
    elif isinstance(node, (AllNode, AnyNode)):
        yield from _within_specs(node.all if isinstance(node, AllNode) else node.any,
                                 (*loc, "all" if isinstance(node, AllNode) else "any"))
    elif isinstance(node, NotNode):
        yield from _within_specs(node.not_, (*loc, "not"))
