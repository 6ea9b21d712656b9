"""What a rule change does to a registry: ``zoning rules diff OLD NEW --registry FILE``.

:func:`diff_rules` reads the registry once, chunk by chunk (as screening
does), evaluates every project against both rule sets on the one vectorised
path, and keeps exactly the projects whose verdict or worst case (the verdict
once missing inputs are given) differs, with the
prohibit/restrict citations that appear or disappear between the two (the
clauses responsible). :func:`clause_changes` lists what changed in the rules
themselves: clauses added, removed or edited, by ``list/clause``;
:func:`list_changes` the same for lists read without an engine (no registry
to screen). :func:`write_changes` writes either table, or a layer comparison's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zoning.errors import DataError
from zoning.evaluate.evaluation import evaluate
from zoning.evaluate.min_overlap import MinOverlap
from zoning.evaluate.summary import RESULT_COLUMNS
from zoning.outputs.atomic import atomic_path
from zoning.outputs.writers import write_table
from zoning.rules.versions import coverage, in_force
from zoning.screening import ProjectReader

CHANGE_COLUMNS = ("row", "id", "name", "old_verdict", "new_verdict", "old_worst_case", "new_worst_case",
                  "added", "removed")


@dataclass
class RuleDiff:
    """Projects whose verdict changes, and what changed in the rules."""

    rows: int = 0
    errors: int = 0  # rows neither rule set could evaluate (bad input): see zoning screen
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(CHANGE_COLUMNS)))
    clauses: list[tuple[str, str, str]] = field(default_factory=list)  # (added|removed|changed, ref, what)
    notes: list[str] = field(default_factory=list)


def diff_rules(old, new, registry, *, min_overlap=None, **reader_options) -> RuleDiff:
    """Compare two engines (same kind of layers, different rules) over every project of ``registry``.

    ``reader_options`` are those of :class:`~zoning.screening.ProjectReader`
    (columns, crs, encoding, sheet, layer, io_engine, chunk_size).
    """
    threshold = MinOverlap.coerce(min_overlap)
    reader = ProjectReader(registry, vocabulary=old.vocabulary.union(new.vocabulary), **reader_options)
    out = RuleDiff(clauses=clause_changes(old, new))
    parts = []
    name_col = reader.colmap.columns.get("name")
    id_col = _id_column(reader.registry.headers, name_col)
    for raw, projects, problems, numbers in reader.chunks():
        good = ~problems.bad
        out.rows += len(raw)
        out.errors += int((~good).sum())
        subset = projects[good].reset_index(drop=True)
        before = evaluate(subset, old.units, old.zones, old.rules, detail=False, min_overlap=threshold)
        after = evaluate(subset, new.units, new.zones, new.rules, detail=False, min_overlap=threshold)
        changed = np.flatnonzero((before.verdict != after.verdict) | (before.worst != after.worst))
        if not len(changed):
            continue
        was, now = _citations(before, old.rules, changed), _citations(after, new.rules, changed)
        kept = raw[good].iloc[changed]
        parts.append(pd.DataFrame({
            "row": np.asarray(numbers)[good][changed],
            "id": kept[id_col].astype(str).to_numpy() if id_col else "",
            "name": kept[name_col].astype(str).to_numpy() if name_col else "",
            "old_verdict": before.verdict[changed], "new_verdict": after.verdict[changed],
            "old_worst_case": before.worst[changed], "new_worst_case": after.worst[changed],
            "added": ["; ".join(sorted(now[i] - was[i])) for i in range(len(changed))],
            "removed": ["; ".join(sorted(was[i] - now[i])) for i in range(len(changed))],
        }))
    if parts:
        out.changes = pd.concat(parts, ignore_index=True)
    out.notes = reader.notes(out.rows)
    return out


_ID_HEADERS = ("project_id", "id", "项目编号", "项目代码", "编号", "备案号", "统一社会信用代码", "序号", "fid")


def _id_column(headers, name_col) -> str | None:
    """A column that identifies projects: a known id header, else the first column unless it is the name
    or a result column from an earlier screening."""
    lowered = {str(h).strip().lower(): h for h in headers}
    for h in _ID_HEADERS:
        if h in lowered:
            return lowered[h]
    first = headers[0] if len(headers) else None
    return first if first not in (name_col, *RESULT_COLUMNS, "explain") else None


def _citations(ev, rules, projects: np.ndarray) -> list[set[str]]:
    """For each of ``projects`` (positions in the evaluation): its prohibit/restrict citations as
    ``list/clause effect (applies|undecided)``."""
    rows = ev.rows
    position = np.full(len(ev.verdict), -1)
    position[projects] = np.arange(len(projects))
    pos = position[rows["project"].to_numpy()]
    keep = pos >= 0
    clause = rows["clause"].to_numpy()[keep]
    c = rules.clauses
    labels = (c["list"] + "/" + c["clause"] + " " + c["effect"]).to_numpy(dtype=object)[clause]
    status = np.where(rows["applies"].to_numpy()[keep], " (applies)", " (undecided)")
    out: list[set[str]] = [set() for _ in projects]
    for p, text in zip(pos[keep], labels + status):
        out[p].add(text)
    return out


def clause_changes(old, new) -> list[tuple[str, str, str]]:
    """Lists and clauses (in force) added, removed or changed between two engines: see :func:`list_changes`."""
    return list_changes(old.lists, new.lists)


def list_changes(old_lists, new_lists) -> list[tuple[str, str, str]]:
    """Lists and clauses added, removed or changed between two sets of lists (those in force): lists by id
    (their scope, level, dates, version, source), clauses by ``list/clause``."""
    def lists(given):
        return {lst.id: lst.model_dump(mode="json", by_alias=True, exclude={"clauses"}) for lst in given}

    out = []
    before, after = lists(old_lists), lists(new_lists)
    out += [("added", f"list {lid}", f"version {after[lid]['version']}")
            for lid in sorted(after.keys() - before.keys())]
    out += [("removed", f"list {lid}", f"was version {before[lid]['version']}")
            for lid in sorted(before.keys() - after.keys())]
    for lid in sorted(before.keys() & after.keys()):
        fields = [k for k in sorted(before[lid].keys() | after[lid].keys()) if before[lid].get(k) != after[lid].get(k)]
        if fields:
            out.append(("changed", f"list {lid}", ", ".join(fields)))
    return out + _clause_changes(old_lists, new_lists)


def _clause_changes(old_lists, new_lists) -> list[tuple[str, str, str]]:
    def index(given):
        return {f"{lst.id}/{c.id}": (lst.version, c.model_dump(mode="json", by_alias=True))
                for lst in given for c in lst.clauses}

    before, after = index(old_lists), index(new_lists)
    out = [("added", ref, f"version {after[ref][0]}") for ref in sorted(after.keys() - before.keys())]
    out += [("removed", ref, f"was in version {before[ref][0]}") for ref in sorted(before.keys() - after.keys())]
    for ref in sorted(before.keys() & after.keys()):
        (v0, a), (v1, b) = before[ref], after[ref]
        fields = [k for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
        if fields:
            what = ", ".join(f"effect {a['effect']} → {b['effect']}" if k == "effect" else k for k in fields)
            out.append(("changed", ref, f"{what} ({v0} → {v1})" if v0 != v1 else what))
    return out


def lists_in_force(lists, on: dt.date) -> list:
    """The lists in force on ``on``; :class:`DataError` if there is none (as an engine refuses them)."""
    current = in_force(lists, on)
    if not current:
        raise DataError(f"no access list is in force on {on} ({coverage(lists)}); choose a date in that period")
    return current


def write_changes(changes: pd.DataFrame, output: str) -> None:
    """Write a table of changes to a .csv (UTF-8 with BOM, formulas neutralised) or .json file, atomically."""
    if Path(output).suffix.lower() == ".csv":
        write_table(changes, output)  # formulas neutralised, as in every CSV zoning writes
        return
    with atomic_path(output) as tmp:
        Path(tmp).write_text(changes.to_json(orient="records", force_ascii=False, indent=2), encoding="utf-8")


def diff_report(rules: bool, result: RuleDiff | None, clauses, layers, effects) -> dict:
    """``rules diff --format json``: with a registry the projects' counts, the clause changes, the projects and
    notes; with the rule sets alone, the clause changes; then each layer comparison (``units``, ``zones``) and,
    with rule sets and layers, the lists the layer changes touch (``scope``)."""
    data: dict = {}
    if result is not None:
        data.update(rows=result.rows, errors=result.errors, changed=len(result.changes))
    if rules:
        data["clauses"] = [dict(zip(("change", "clause", "detail"), c)) for c in clauses]
    if result is not None:
        data.update(projects=result.changes.to_dict(orient="records"), notes=result.notes)
    data.update({f"{d.layer}s": d.as_dict() for d in layers})
    if rules and layers:
        data["scope"] = effects
    return data
