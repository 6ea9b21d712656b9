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
    "permitted": "允许", "not_covered": "不在任何管控单元内",
}
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
        unit_list = []
        for pair in pairs.itertuples():
            u = units.iloc[pair.unit]
            entry = {"code": u["code"], "name": u["name"], "type": int(u["type"]),
                     "type_name": UNIT_TYPES[int(u["type"])][1], "verdict": pair.verdict,
                     "county": u["county"], "city": u["city"]}
            if extended:
                entry["overlap_m2"] = round(float(pair.overlap), 2)
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
                notes.append(f"{ev.uncovered[i]:,.0f} m² ({share:.1%}) of the site lies in no unit")
        project = dict(inputs[i])
        if extended:
            project["area_m2" if shapely.get_dimensions(projects.geometry.iloc[i]) == 2
                    else "length_m"] = round(float(ev.site_measure[i]), 2)
        results.append(Result(
            verdict=ev.verdict[i], worst_case=ev.worst[i] if ev.worst[i] != "not_covered" else "not_covered",
            units=unit_list, citations=citations, missing=sorted(missing), project=project,
            notes=notes, geometry=projects.geometry.iloc[i],
        ))
    return results


def _str_or_none(value):
    """Clause text fields as JSON-safe values: pandas may hold a missing string as NaN."""
    return value if isinstance(value, str) else None


def summary_columns(ev: Evaluation, units, rules) -> pd.DataFrame:
    """Per-project columns for batches: verdict, units, clauses, reasons, missing."""
    n = len(ev.verdict)
    out = pd.DataFrame({"verdict": ev.verdict, "worst_case": ev.worst})
    pairs = ev.pairs
    codes = units["code"].to_numpy()[pairs["unit"].to_numpy()]
    types = units["type"].astype(str).to_numpy()[pairs["unit"].to_numpy()]
    grouped = pd.DataFrame({"project": pairs["project"], "code": codes, "type": types}).groupby("project")
    out["unit_codes"] = grouped["code"].agg(";".join).reindex(range(n), fill_value="")
    out["unit_types"] = grouped["type"].agg(";".join).reindex(range(n), fill_value="")
    rows = ev.rows
    deciding = rows[rules.clauses["effect"].to_numpy()[rows["clause"].to_numpy()] != "require"]
    c = rules.clauses
    ids = c["list"] + "/" + c["clause"]
    labels = c["effect"].map(EFFECT_LABELS) + ": " + c["text"].str.slice(0, 60)
    dec = pd.DataFrame({
        "project": deciding["project"].to_numpy(),
        "id": ids.to_numpy()[deciding["clause"].to_numpy()],
        "reason": labels.to_numpy()[deciding["clause"].to_numpy()]
        + np.where(deciding["status"].to_numpy() == "unknown", "（待定）", ""),
    }).drop_duplicates(["project", "id"])
    g = dec.groupby("project")
    out["clauses"] = g["id"].agg(";".join).reindex(range(n), fill_value="")
    out["reasons"] = g["reason"].agg(" | ".join).reindex(range(n), fill_value="")
    bits = rows.groupby("project")["missing"].agg(np.bitwise_or.reduce)
    distinct = {b: ";".join(input_names(int(b))) for b in pd.unique(bits)}
    out["missing"] = bits.map(distinct).astype(object).reindex(range(n), fill_value="")
    return out
