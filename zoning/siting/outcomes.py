"""Missing inputs' trial values grouped by the verdict they gave: ``VOCs ≤ 10 t/a → permitted; VOCs > 10 t/a →
prohibited``. The values are the re-checks of :mod:`zoning.siting.counterfactuals`; here they are only grouped."""

from __future__ import annotations

from typing import Any

from zoning.vocabulary import Vocabulary, number_text


def outcome_text(run: dict) -> str:
    """``restricted``, or ``restricted (may be prohibited)`` while other inputs are still missing."""
    worst = run["worst_case_after"]
    return run["verdict_after"] + (f" (may be {worst})" if worst not in (run["verdict_after"], "not_covered") else "")


def runs(name: str, probes: list[tuple[Any, Any]], after: list[tuple[str, str]], vocabulary: Vocabulary) -> list[dict]:
    """Trial values grouped into the ranges (numbers) or values that give the same verdict (and worst case,
    while other inputs are missing)."""
    runs = _grouped(name, probes, after, vocabulary)
    for run in runs:
        run["verdict_after"], run["worst_case_after"] = run.pop("_after")
    return runs


def _grouped(name: str, probes: list[tuple[Any, Any]], verdicts: list[tuple[str, str]],
             vocabulary: Vocabulary) -> list[dict]:
    numeric = name in vocabulary and not vocabulary[name].flag and not vocabulary[name].category
    if not numeric:
        out: list[dict] = []
        for (shown, _), verdict in zip(probes, verdicts):
            text = (("true" if shown else "false") if isinstance(shown, bool) else str(shown))
            if out and out[-1]["_after"] == verdict:
                out[-1]["values"].append(text)
                out[-1]["when"] = f"{name} ∈ {{{', '.join(out[-1]['values'])}}}"
            else:
                out.append({"when": f"{name} = {text}", "values": [text], "_after": verdict})
        return out
    unit = vocabulary[name].unit
    breaks = {p[0] for p in probes if p[0] == p[1]}
    tested = [p[1] for p in probes]
    runs: list[dict] = []
    for i, (value, verdict) in enumerate(zip(tested, verdicts)):
        if runs and runs[-1]["_after"] == verdict:
            runs[-1]["tested"].append(value)
            continue
        if runs:  # the boundary between tested[i-1] and value: at a threshold, on one side or the other
            below = tested[i - 1]
            edge, closed = (below, True) if below in breaks else (value, False)
            runs[-1]["_hi"] = (edge, closed)
            runs.append({"_lo": (edge, not closed), "tested": [value], "_after": verdict})
        else:
            runs.append({"_lo": None, "tested": [value], "_after": verdict})
    for run in runs:
        lo, hi = run.pop("_lo"), run.pop("_hi", None)
        parts = []
        if lo is not None:
            parts.append(f"{number_text(_round(lo[0]))} {'≤' if lo[1] else '<'} ")
        parts.append(name)
        if hi is not None:
            parts.append(f" {'≤' if hi[1] else '<'} {number_text(_round(hi[0]))}")
        run["when"] = ("".join(parts) + f" {unit}".rstrip()) if (lo or hi) else f"any {name}"
        if lo is not None and hi is None:
            run["when"] = f"{name} {'≥' if lo[1] else '>'} {number_text(_round(lo[0]))} {unit}".rstrip()
    return [{"when": r["when"], "tested": r["tested"], "_after": r["_after"]} for r in runs]


def _round(value: float) -> float:
    return float(f"{value:.6g}")
