"""Verdicts and citations: turning an evaluation into results people read.

:class:`Result` is one project's verdict with its units and citations (JSON
and GeoJSON via :meth:`Result.to_dict` / :meth:`Result.to_feature`);
:func:`summary_columns` gives the per-project columns for a batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from zoning.evaluation import Evaluation, input_names
from zoning.lists import DIMENSIONS
from zoning.units import UNIT_TYPES

EFFECT_LABELS = {"prohibit": "禁止", "restrict": "限制", "require": "要求"}
VERDICT_LABELS = {
    "prohibited": "禁止", "restricted": "限制", "undetermined": "待定（缺少输入）",
    "permitted": "允许", "not_covered": "不在任何管控单元内", "error": "无法判定（输入有误）",
}
#: the columns a batch result adds to each row (``check_many``, ``zoning screen``)
RESULT_COLUMNS = ("verdict", "worst_case", "unit_codes", "unit_types", "clauses", "reasons", "missing", "error")
#: strictness used by ``--fail-on``
STRICTNESS = {"permitted": 0, "undetermined": 1, "restricted": 2, "prohibited": 3}


@dataclass
class Result:
    """One project's outcome."""

    verdict: str
    worst_case: str
    units: list[dict]
    citations: list[dict]
    missing: list[str]
    project: dict
    notes: list[str] = field(default_factory=list)
    geometry: object = None  # shapely geometry in lon/lat

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "worst_case": self.worst_case,
            "units": self.units,
            "citations": self.citations,
            "missing": self.missing,
            "notes": self.notes,
            "project": self.project,
        }

    def to_feature(self) -> dict:
        """An RFC 7946 Feature: the site in lon/lat with the result as properties."""
        geom = None
        if self.geometry is not None:  # RFC 7946: ≤ 7 decimals, exterior rings counter-clockwise
            geom = shapely.orient_polygons(shapely.set_precision(self.geometry, 1e-7), exterior_cw=False)
        return {
            "type": "Feature",
            "geometry": shapely.geometry.mapping(geom) if geom is not None else None,
            "properties": self.to_dict(),
        }

    def fails(self, threshold: str) -> bool:
        """True when the result is, or may be, at least as strict as ``threshold``.

        ``not_covered`` always fails: nothing shows the site passes.
        """
        if self.verdict == "not_covered":
            return True
        return STRICTNESS[self.worst_case] >= STRICTNESS[threshold]


def build_results(ev: Evaluation, projects, units, zones, rules, inputs: list[dict]) -> list[Result]:
    """Per-project :class:`Result` objects (for single checks and small batches)."""
    clauses = rules.clauses
    results = []
    rows_by_project = dict(tuple(ev.rows.groupby("project", sort=False)))
    pairs_by_project = dict(tuple(ev.pairs.groupby("project", sort=False)))
    for i in range(len(projects)):
        pairs = pairs_by_project.get(i, ev.pairs.iloc[:0])
        extended = ev.site_measure[i] > 0
        areal = shapely.get_dimensions(projects.geometry.iloc[i]) == 2  # else a line, measured in m
        unit_list = []
        for pair in pairs.itertuples():
            u = units.iloc[pair.unit]
            entry = {"code": u["code"], "name": u["name"], "type": int(u["type"]),
                     "type_name": UNIT_TYPES[int(u["type"])][1], "verdict": pair.verdict,
                     "county": u["county"], "city": u["city"]}
            if extended:
                entry["overlap_m2" if areal else "overlap_m"] = round(float(pair.overlap), 2)
                entry["overlap_share"] = round(float(pair.overlap / ev.site_measure[i]), 6)
            unit_list.append(entry)
        rows = rows_by_project.get(i)
        citations, missing = [], set()
        if rows is not None:
            for row in rows.itertuples():
                c = clauses.iloc[row.clause]
                names = input_names(int(row.missing))
                missing.update(names)
                citations.append({
                    "unit": units.at[row.unit, "code"],
                    "list": c["list"], "list_title": c["list_title"], "level": c["level"],
                    "clause": c["clause"], "dimension": c["dimension"],
                    "dimension_name": DIMENSIONS[c["dimension"]], "effect": c["effect"],
                    "status": "manual_review" if c["review_only"] else row.status,
                    "zone": zones.at[row.zone, "zone_id"] if row.zone >= 0 else None,
                    "missing": names,
                    "text": c["text"], "text_en": _str_or_none(c["text_en"]),
                    "source": {k: _str_or_none(c[k]) for k in ("document", "issuer", "date", "article")},
                })
        notes = []
        if ev.verdict[i] == "not_covered":
            notes.append("the site lies in no management unit of the loaded layer; nothing was checked")
        if ev.uncovered[i] > 0 and ev.verdict[i] != "not_covered":
            share = ev.uncovered[i] / ev.site_measure[i]
            if share > 1e-3:
                notes.append(f"{ev.uncovered[i]:,.0f} {'m²' if areal else 'm'} ({share:.1%}) "
                             "of the site lies in no unit")
        project = dict(inputs[i])
        if extended:
            project["area_m2" if areal else "length_m"] = round(float(ev.site_measure[i]), 2)
        results.append(Result(
            verdict=ev.verdict[i], worst_case=ev.worst[i],
            units=unit_list, citations=citations, missing=sorted(missing), project=project,
            notes=notes, geometry=projects.geometry.iloc[i],
        ))
    return results


def _str_or_none(value):
    """Clause text fields as JSON-safe values: pandas may hold a missing string as NaN."""
    return value if isinstance(value, str) else None


def summary_columns(ev: Evaluation, units, rules) -> pd.DataFrame:
    """Per-project columns for batches: verdict, units, clauses, reasons, missing.

    Strings are built once per distinct combination (projects in the same units
    citing the same clauses share them), not once per project.
    """
    n = len(ev.verdict)
    out = pd.DataFrame({"verdict": ev.verdict, "worst_case": ev.worst})
    pairs = ev.pairs
    unit = pairs["unit"].to_numpy()
    p = pairs["project"].to_numpy()
    out["unit_codes"] = join_per_project(p, unit, units["code"].to_numpy(), n, ";")
    out["unit_types"] = join_per_project(p, unit, units["type"].astype(str).to_numpy(), n, ";")

    rows = ev.rows
    c = rules.clauses
    deciding = rows[c["effect"].to_numpy()[rows["clause"].to_numpy()] != "require"]
    # one label per (clause, status): an undecided clause is marked as such
    item = deciding["clause"].to_numpy() * 2 + (deciding["status"].to_numpy() == "unknown")
    # prohibit clauses first, then restrict; within an effect, in list order
    rank = c["effect"].map({"prohibit": 0, "restrict": 1}).to_numpy()[deciding["clause"].to_numpy()]
    dedup = pd.DataFrame({"p": deciding["project"].to_numpy(), "rank": rank, "item": item}).drop_duplicates()
    dedup = dedup.sort_values(["p", "rank", "item"], kind="stable")
    ids = (c["list"] + "/" + c["clause"]).to_numpy()
    reasons = (c["effect"].map(EFFECT_LABELS) + ": " + c["text"].str.slice(0, 60)).to_numpy()
    ids2 = np.repeat(ids, 2)
    reasons2 = np.repeat(reasons, 2).astype(object)
    reasons2[1::2] = reasons2[1::2] + "（待定）"
    p, item = dedup["p"].to_numpy(), dedup["item"].to_numpy()
    out["clauses"] = join_per_project(p, item, ids2, n, ";")
    out["reasons"] = join_per_project(p, item, reasons2, n, " | ")

    bits = np.zeros(n, np.int64)
    np.bitwise_or.at(bits, rows["project"].to_numpy(), rows["missing"].to_numpy(np.int64))
    distinct = {b: ";".join(input_names(int(b))) for b in np.unique(bits)}
    out["missing"] = pd.Series(bits).map(distinct).to_numpy()
    return out


def join_per_project(project: np.ndarray, item: np.ndarray, labels: np.ndarray, n: int, sep: str) -> np.ndarray:
    """``sep``-joined labels of each project's items ("" when it has none).

    ``project``/``item`` are aligned arrays, grouped by project with items in
    the order they should print. Each project's item set is hashed (XOR of a
    random 64-bit key per item, plus the count); the string is built once per
    distinct set.
    """
    out = np.full(n, "", dtype=object)
    if len(project) == 0:
        return out
    keys = np.random.default_rng(0).integers(1, 2**62, size=len(labels), dtype=np.int64)
    digest = np.zeros(n, np.int64)
    np.bitwise_xor.at(digest, project, keys[item])
    count = np.bincount(project, minlength=n)
    has = count > 0
    combo = pd.MultiIndex.from_arrays([digest[has], count[has]])
    codes, uniques = pd.factorize(combo)
    members = np.flatnonzero(has)
    first = members[np.unique(codes, return_index=True)[1]]
    order = np.argsort(project, kind="stable")
    starts = np.searchsorted(project[order], first, "left")
    text = np.array([sep.join(labels[item[order[s:s + count[q]]]]) for q, s in zip(first, starts)], dtype=object)
    out[members] = text[codes]
    return out
