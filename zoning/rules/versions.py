"""Versions of a list: which is in force on a date, and whether their periods overlap.

One list id may have several versions (revisions), each with its effective
period; at most one may be in force on any date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from zoning.rules.findings import Finding
from zoning.rules.schema import AccessList


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
                    "error", lst.path, lst.line("version"), f"list {list_id}",
                    f"list id {list_id!r} is also used by {first[lst.version].path} with the same version "
                    f"{lst.version!r}", "give the new revision its own version and effective dates, or its own id"))
            else:
                first[lst.version] = lst
        ordered = sorted(first.values(), key=lambda v: v.effective_from)
        for a, b in zip(ordered, ordered[1:]):
            if a.effective_to is None or a.effective_to >= b.effective_from:
                until = f"to {a.effective_to}" if a.effective_to else "with no end date"
                out.append(Finding(
                    "error", b.path, b.line("effective_from"), f"list {list_id} version {b.version}",
                    f"in force from {b.effective_from}, while version {a.version} ({a.path}) is in force from "
                    f"{a.effective_from} {until}: both would apply",
                    f"set effective_to: {b.effective_from - dt.timedelta(days=1)} on version {a.version}"
                    if b.effective_from > a.effective_from else
                    f"give the versions different effective_from dates (both start on {a.effective_from})"))
            elif (b.effective_from - a.effective_to).days > 1:
                out.append(Finding(
                    "info", b.path, b.line("effective_from"), f"list {list_id} version {b.version}",
                    f"no version is in force from {a.effective_to + dt.timedelta(days=1)} to "
                    f"{b.effective_from - dt.timedelta(days=1)}",
                    f"if version {a.version} stayed in force until this one, set its effective_to to "
                    f"{b.effective_from - dt.timedelta(days=1)}"))
    return out


def in_force(lists: Iterable[AccessList], on: dt.date | None) -> list[AccessList]:
    """The lists (versions) in force on ``on`` (default today)."""
    day = on or dt.date.today()
    return [lst for lst in lists if lst.in_force(day)]


def coverage(lists: Iterable[AccessList]) -> str:
    """The period the lists cover, for messages: "the loaded lists are in force from … to …"."""
    lists = list(lists)
    if not lists:
        return "no lists loaded"
    start = min(lst.effective_from for lst in lists)
    ends = [lst.effective_to for lst in lists]
    end = "open" if any(e is None for e in ends) else max(e for e in ends if e is not None)
    return f"the loaded lists are in force from {start} to {end}"


def lapsed_lists(lists: Iterable[AccessList], on: dt.date) -> list[str]:
    """A note for each list id none of whose loaded versions is in force on ``on``."""
    by_id: dict[str, list[AccessList]] = {}
    for lst in lists:
        by_id.setdefault(lst.id, []).append(lst)
    notes = []
    for list_id, versions in by_id.items():
        if not any(v.in_force(on) for v in versions):
            periods = "; ".join(f"{v.version} from {v.effective_from}" + (f" to {v.effective_to}" if v.effective_to
                                                                           else "")
                                for v in sorted(versions, key=lambda v: v.effective_from))
            notes.append(f"list {list_id} has no version in force on {on} ({periods}); it was not applied")
    return notes
