"""The batch prefilter: clauses that a project's industry and type alone already rule out.

In a registry most (project, clause) rows are false because the project's
industry or type is not the one the clause names. :func:`possible` answers,
once per distinct (industry, type) and condition, whether the condition can
be anything but false whatever the project's other inputs, so a batch drops
those rows before evaluating conditions row by row.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from zoning.evaluate.columns import Columns
from zoning.evaluate.compile import CompiledRules
from zoning.projects import PROJECT_TYPES
from zoning.rules.conditions import applies


def possible(rules: CompiledRules, cols: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Which conditions each project's industry and type leave open.

    Returns ``(key, table)``: ``key`` per project indexes the columns of
    ``table[condition, key]``, false where the condition is false whatever the
    project's other inputs (evaluated with every attribute unknown; Kleene
    logic never turns a definite answer around when unknowns become known).
    Results are kept in ``rules``, one column per (industry code, type) in one
    growing table, so later chunks evaluate only combinations they are the
    first to bring and copy nothing.
    """
    combined = cols.industry_index.astype(np.int64) * 8 + (cols.type.astype(np.int64) + 1)
    present = np.zeros(int(combined.max(initial=0)) + 1, bool)  # small keys: compact by counting
    present[combined] = True
    distinct = np.flatnonzero(present)
    key = (np.cumsum(present) - 1)[combined]
    combos = [(cols.industry_codes[d // 8], int(d % 8) - 1) for d in distinct.tolist()]
    cache = rules.possible_cache
    new = [c for c in combos if c not in cache]
    if new:
        frame = pd.DataFrame({"industry": [c or None for c, _ in new],
                              "type": [PROJECT_TYPES[t] if t >= 0 else None for _, t in new]}, dtype=object)
        for a in rules.vocabulary:
            frame[a] = np.nan
        probe = Columns.from_projects(frame, rules.vocabulary)
        open_ = np.array([~applies(c, u, probe).false for c, u in rules.conditions]).reshape(-1, len(new))
        _append_columns(rules, open_)
        for combo in new:  # after _append_columns, which reads how many columns are in use
            cache[combo] = len(cache)
    column = np.array([cache[c] for c in combos], dtype=np.int64)
    table = rules.possible_table
    if table is None:
        table = np.zeros((len(rules.conditions), 0), bool)
    return column[key], table[:, :len(cache)]


def _append_columns(rules: CompiledRules, columns: np.ndarray) -> None:
    """Add combinations' columns to the kept table, growing it by doubling (each chunk adds few)."""
    used = len(rules.possible_cache)
    table = rules.possible_table
    if table is None or table.shape[1] < used + columns.shape[1]:
        grown = np.zeros((columns.shape[0], max(64, 2 * (used + columns.shape[1]))), bool)
        if table is not None:
            grown[:, :used] = table[:, :used]
        rules.possible_table = table = grown
    table[:, used:used + columns.shape[1]] = columns


def prime(rules: CompiledRules, codes: Iterable[str]) -> None:
    """Fill the kept table for every industry code of ``codes`` and none, with every project type and none,
    so that no later check pays for a combination it is the first to bring (every condition evaluated
    once, about 40 ms for a thousand conditions). Already known combinations are not evaluated again."""
    industries = [*codes, None]
    types = [*PROJECT_TYPES, None]
    frame = pd.DataFrame({"industry": [c for c in industries for _ in types],
                          "type": [t for _ in industries for t in types],
                          **{a: np.nan for a in rules.vocabulary}}, dtype=object)
    possible(rules, Columns.from_projects(frame, rules.vocabulary))
