"""Schema errors (from pydantic) turned into findings: file, line, clause, field, and a fix."""

from __future__ import annotations

import difflib
from pathlib import Path

from pydantic import ValidationError

from zoning.rules.findings import Finding
from zoning.rules.nodes import _NODE_KEYS, CompareNode, WithinSpec
from zoning.rules.schema import AccessList, Clause, Scope, Source
from zoning.rules.yamlfile import line_of


def schema_findings(path: Path, data: dict, lines: dict, exc: ValidationError,
                     problems: list[tuple[tuple, str]]) -> list[Finding]:
    """One finding per problem: file, line, clause id and field path, and a fix. ``problems`` are
    the list-level ones (:meth:`AccessList.problems`), which pydantic reports without a location."""
    findings = []
    seen = set()
    errors: list[dict] = [dict(e) for e in exc.errors()]
    # For ``Node | list[Node]`` fields pydantic also reports that a node is not a
    # list; drop that when the node form has its own, more precise complaint.
    node_errors = {tuple(e["loc"][:-1]) for e in errors if e["type"] != "list_type" and len(e["loc"]) > 1}
    node_errors = {loc[:i] for loc in node_errors for i in range(1, len(loc) + 1)}
    errors = [e for e in errors
              if not (e["type"] == "list_type" and _is_union_tag(e["loc"][-1])
                      and tuple(e["loc"][:-1]) in node_errors)]
    errors = [e for e in errors if e["loc"] or not problems]  # the located copies follow
    errors += [{"type": "value_error", "loc": loc, "msg": msg} for loc, msg in problems]
    clauses = data["clauses"] if isinstance(data.get("clauses"), list) else []
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
        return "write one of: industry, type, attr, expr, within_distance, inside, all, any, not"
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

