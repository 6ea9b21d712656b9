"""Guidance for a registry: one line per row (``zoning screen --guidance``), computed in batches.

Only prohibited, restricted and undetermined rows are considered; their audit
trails are built in one evaluation per batch and their re-checks run as two
batched :meth:`~zoning.engine.Engine.check_many` calls (see
:func:`zoning.siting.counterfactuals.run_batches`). The place part is left out:
it maps every row's surroundings, too slow for a registry.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from zoning.evaluate.evaluation import evaluate
from zoning.evaluate.explanation import explain_results
from zoning.evaluate.min_overlap import MinOverlap
from zoning.evaluate.results import build_results
from zoning.siting.counterfactuals import KIND, Case, Project, run_batches
from zoning.vocabulary import Vocabulary

if TYPE_CHECKING:
    from zoning.engine import Engine


def summary_line(found: dict) -> str:
    """Guidance in one line (``zoning screen --guidance``): the combination lifting every deciding clause,
    or each clause's first verified change; the clauses only another place lifts; the missing inputs that
    decide; and the nearest permitted place when computed."""
    if found.get("kind") != KIND or not found.get("clauses") and not found.get("undetermined"):
        return found.get("summary", "")
    parts = []
    combined = found.get("combined") or {}
    if combined.get("found") and len(found["clauses"]) > 1:
        parts.append(f"lift all {len(found['clauses'])} clauses with {combined['text']} → {combined['verdict_after']}")
    else:
        parts += [f"lift {c['clause']} with {c['changes'][0]['text']} → {c['changes'][0]['verdict_after']}"
                  for c in found["clauses"] if c["changes"]][:4]
    if found.get("not_liftable"):
        parts.append(f"not liftable (only another place): {', '.join(found['not_liftable'][:6])}"
                     + (" …" if len(found["not_liftable"]) > 6 else ""))
    parts += [f"missing {u['input']}: " + ", ".join(f"{r['when']} → {r['verdict_after']}" for r in u["outcomes"])
              for u in found.get("undetermined", [])
              if len({r["verdict_after"] for r in u["outcomes"]}) > 1][:4]
    near = (found.get("places") or {}).get("permitted")
    if near:
        parts.append(f"nearest permitted {near['distance_m'] / 1000:.1f} km {near['direction']} (unit {near['unit']})")
    return "; ".join(parts)


def guidance_column(engine: Engine, projects: gpd.GeoDataFrame, verdicts: np.ndarray, *,
                    min_overlap: Any = None, batch: int = 1000) -> np.ndarray:
    """One line of guidance per row of normalised ``projects`` (:func:`summary_line`; no place part):
    computed for the prohibited, restricted and undetermined rows only, ``batch`` rows at a time, with
    their re-checks batched; other rows get an empty text."""
    out = np.full(len(projects), "", dtype=object)
    wanted = np.flatnonzero(np.isin(np.asarray(verdicts, dtype=object), ["prohibited", "restricted", "undetermined"]))
    for start in range(0, len(wanted), batch):
        rows = wanted[start:start + batch]
        subset = projects.iloc[rows].reset_index(drop=True)
        ev = evaluate(subset, engine.units, engine.zones, engine.rules, min_overlap=MinOverlap.coerce(min_overlap),
                      explain=True)
        results = build_results(ev, subset, engine.units, engine.zones, engine.rules, [{}] * len(subset))
        trails = explain_results(ev, subset, engine.units, engine.zones, engine.rules)
        cases = []
        for i, result in enumerate(results):
            result.explanation = trails[i]
            cases.append(Case(engine, result, _project_row(subset, i, engine.vocabulary)))
        run_batches(engine, cases, min_overlap)
        out[rows] = [summary_line(case.report()) for case in cases]
    return out


def _project_row(projects: gpd.GeoDataFrame, i: int, vocabulary: Vocabulary) -> Project:
    row = projects.iloc[i]
    held = {name: float(row[name]) for name in vocabulary.attributes if name in row.index
            and not math.isnan(float(row[name]))}
    industry = row["industry"] if isinstance(row["industry"], str) else None
    kind = row["type"] if isinstance(row["type"], str) else None
    return Project(row.geometry, industry, kind, held)
