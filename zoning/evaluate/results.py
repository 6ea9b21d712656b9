"""One project's outcome as people read it: the verdict, its units, and a citation per clause.

:class:`Result` carries the verdict, the units the site lies in (with the
overlap of a line or polygon site), every clause that applies or could not
be decided with its text and source, the inputs that were missing, notes,
and the provenance of the rules. :func:`build_results` makes them from an
:class:`~zoning.evaluate.evaluation.Evaluation`; JSON and GeoJSON come from
:meth:`Result.to_dict` and :meth:`Result.to_feature`.
"""

from __future__ import annotations

import functools
import json
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.errors import parameter
from zoning.evaluate.compile import CompiledRules
from zoning.evaluate.evaluation import Evaluation
from zoning.evaluate.proximity import Proximity
from zoning.geojson import geojson_geometries
from zoning.industries import table as industry_table
from zoning.inputs.units import UNIT_TYPES
from zoning.inputs.webmap import to_webmap
from zoning.rules.conditions import TOLERANCE_M, Inside, WithinDistance, walk
from zoning.rules.expressions import PROBLEMS
from zoning.rules.schema import DIMENSIONS
from zoning.verdicts import Verdict
from zoning.vocabulary import Vocabulary, number_text


@dataclass
class Result:
    """One project's outcome."""

    verdict: str  # a :class:`~zoning.verdicts.Verdict` key
    worst_case: str  # the strictest verdict still possible once missing inputs are given
    units: list[dict]
    citations: list[dict]
    missing: list[str]
    project: dict
    notes: list[str] = field(default_factory=list)
    geometry: Any = None  # shapely geometry in lon/lat
    disregarded: list[dict] = field(default_factory=list)  # units overlapped less than min_overlap
    provenance: dict = field(default_factory=dict)  # engine version, as-of date, rule and layer hashes
    explanation: list[dict] | None = None  # with explain: every clause considered, condition by condition
    #: with guidance: what would change the result (:func:`zoning.siting.counterfactuals.guidance`), not a verdict
    guidance: dict | None = None

    @property
    def obligations(self) -> list[dict]:
        """What the project must do, with amounts: each obligation of a clause that applies, with the
        management unit it applies in (``unit_code``), list and clause; ``unit`` is the amount's unit."""
        return [{"unit_code": c["unit"], "list": c["list"], "clause": c["clause"], **o}
                for c in self.citations for o in c.get("obligations", [])]

    @property
    def encouraged(self) -> list[str]:
        """``list/clause`` of each encourage clause that applies: the project is encouraged here."""
        return list(dict.fromkeys(f"{c['list']}/{c['clause']}" for c in self.citations
                                  if c["effect"] == "encourage" and c["status"] == "applies"))

    def to_dict(self) -> dict:
        """The result as JSON-ready data (what ``zoning check --format json`` prints)."""
        return {
            "verdict": self.verdict,
            "worst_case": self.worst_case,
            "encouraged": self.encouraged,
            "units": self.units,
            "disregarded": self.disregarded,
            "citations": self.citations,
            "obligations": self.obligations,
            "missing": self.missing,
            "notes": self.notes,
            "project": self.project,
            "provenance": self.provenance,
            **({"explanation": self.explanation} if self.explanation is not None else {}),
            **({"guidance": self.guidance} if self.guidance is not None else {}),
        }

    def to_feature(self, webmap: str | None = None) -> dict:
        """An RFC 7946 Feature: the site in lon/lat with the result as properties
        (``webmap`` ``gcj02``/``bd09``: coordinates for Chinese web maps instead)."""
        geom = None
        if self.geometry is not None:  # RFC 7946: ≤ 7 decimals, exterior rings counter-clockwise
            site = to_webmap(np.array([self.geometry], dtype=object), webmap)[0] if webmap else self.geometry
            oriented = shapely.orient_polygons(site, exterior_cw=False)
            geom = json.loads(geojson_geometries(np.array([oriented], dtype=object))[0])
        properties = self.to_dict()
        if webmap:
            properties["geometry_crs"] = webmap.upper()  # the geometry, not project.location, is in it
        return {"type": "Feature", "geometry": geom, "properties": properties}

    def _repr_html_(self) -> str:
        """The result as a notebook shows it (see :mod:`zoning.evaluate.result_html`)."""
        from zoning.evaluate.result_html import result_html

        return result_html(self)

    def fails(self, threshold: str) -> bool:
        """True when the result is, or may be, at least as strict as ``threshold``.

        ``not_covered`` always fails: nothing shows the site passes.
        """
        return Verdict.of(self.verdict) == Verdict.NOT_COVERED or Verdict.of(self.worst_case).at_least(threshold)


def build_results(ev: Evaluation, projects: gpd.GeoDataFrame, units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                  rules: CompiledRules, inputs: list[dict]) -> list[Result]:
    """Per-project :class:`Result` objects (for single checks and small batches)."""
    results = []
    rows_by_project = _by_project(ev.rows)
    pairs_by_project = _by_project(ev.pairs)
    slivers_by_project = _by_project(ev.disregarded)
    citing = _Citations(ev, units, zones, rules)
    sites = projects.geometry.to_numpy()
    for i in range(len(projects)):
        extended = ev.site_measure[i] > 0
        areal = shapely.get_dimensions(sites[i]) == 2  # else a line, measured in m
        measure = ev.site_measure[i] if extended else 0.0
        unit_list = [_unit_entry(units, pair.unit, pair.overlap, measure, areal, verdict=pair.verdict,
                                 facts=citing.unit_facts(pair.unit))
                     for pair in pairs_by_project.get(i, [])]
        slivers = slivers_by_project.get(i)
        disregarded = [] if slivers is None or ev.min_overlap is None else [
            _unit_entry(units, piece.unit, piece.overlap, measure, areal,
                        reason=f"overlap below {parameter('min_overlap')} {ev.min_overlap.describe()}",
                        facts=citing.unit_facts(piece.unit))
            for piece in slivers]
        citations, missing = citing.project(i, rows_by_project.get(i))
        project = dict(inputs[i])
        if extended:
            project["area_m2" if areal else "length_m"] = round(float(ev.site_measure[i]), 2)
        results.append(Result(
            verdict=ev.verdict[i], worst_case=ev.worst[i],
            units=unit_list, citations=citations, missing=missing, project=project,
            notes=_notes(ev, i, areal, disregarded), geometry=sites[i], disregarded=disregarded,
        ))
    return results


@functools.cache
def _record_type(columns: tuple[str, ...]) -> type:
    return namedtuple("Row", ("Index", *columns))  # what itertuples gives


def _by_project(frame: pd.DataFrame, keys: tuple[str, ...] = ("project",)) -> dict[Any, list]:
    """The rows of ``frame`` by the value of its ``keys`` columns (one key: the value; several: a tuple),
    in frame order, each row a named tuple of Python values as ``itertuples`` gives, without a frame per
    group: results are made for one project at a time, where pandas' per-group cost is most of it."""
    if not len(frame):
        return {}
    record = _record_type(tuple(frame.columns))
    at = [frame.columns.get_loc(k) for k in keys]
    groups: dict[Any, list] = {}
    # as objects, numbers become Python's: what itertuples gives (read at once: a column at a time costs more)
    for label, values in zip(frame.index.tolist(), frame.to_numpy(dtype=object).tolist()):
        key = values[at[0]] if len(at) == 1 else tuple(values[a] for a in at)
        groups.setdefault(key, []).append(record(label, *values))
    return groups


class _Citations:
    """Citations of one evaluation's clause rows, project by project."""

    def __init__(self, ev: Evaluation, units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, rules: CompiledRules):
        self.ev, self.units, self.zones, self.rules = ev, units, zones, rules
        #: condition index -> its within_distance and inside nodes (kept: they depend on the condition alone)
        self.near_nodes: dict[int, list] = rules.citing.setdefault("near nodes", {})
        found = ev.obligations
        self.obligations = {} if found is None else _by_project(found, ("project", "unit", "clause"))
        #: what a citation quotes of each clause, and what a unit entry names of each unit, read once per
        #: clause and unit of the layers ``rules`` was compiled against, and kept with it
        self.clause_facts = rules.citing.setdefault("clauses", {})
        self.unit_facts_ = rules.citing.setdefault("units", {})
        self.parameter_names: dict[int, frozenset[str]] = rules.citing.setdefault("parameter names", {})

    def unit_facts(self, unit: int) -> dict:
        """A unit's code, name, type, county and city, read once."""
        facts = self.unit_facts_.get(unit)
        if facts is None:
            u = self.units.iloc[unit]
            facts = self.unit_facts_[unit] = {k: u[k] for k in ("code", "name", "type", "county", "city")}
        return facts

    def project(self, i: int, rows: list | None) -> tuple[list[dict], list[str]]:
        """Project ``i``'s citations, and the inputs that left a prohibit or restrict clause undecided."""
        citations: list[dict] = []
        missing: set[str] = set()
        if rows is None:
            return citations, []
        for row in rows:
            names = self.rules.inputs.names_of(int(row.missing))
            if self.rules.clause_rank[row.clause] >= Verdict.RESTRICTED:  # only these change the verdict
                missing.update(names)
            citations.append(self.citation(i, row, names))
        return citations, sorted(missing)

    def citation(self, i: int, row: Any, missing: list[str]) -> dict:
        """One clause row as a citation: unit, list, clause, status, text, source and distances measured."""
        c = self.clause_facts.get(row.clause)
        if c is None:
            clause = self.rules.clauses.iloc[row.clause]
            c = self.clause_facts[row.clause] = {k: clause[k] for k in (
                "list", "version", "list_title", "level", "clause", "dimension", "effect", "review_only", "text",
                "text_en", "document", "issuer", "date", "article")}
        cond = int(self.rules.clause_cond[row.clause])
        if cond not in self.near_nodes:
            condition, unless = self.rules.conditions[cond]
            self.near_nodes[cond] = [n for n in (*walk(condition), *walk(unless))
                                     if isinstance(n, (WithinDistance, Inside))]
        near = self.near_nodes[cond]
        return {
            "unit": self.unit_facts(row.unit)["code"],
            "list": c["list"], "version": c["version"], "list_title": c["list_title"], "level": c["level"],
            "clause": c["clause"], "dimension": c["dimension"],
            "dimension_name": DIMENSIONS[c["dimension"]], "effect": c["effect"],
            "status": "manual_review" if c["review_only"] else ("applies" if row.applies else "unknown"),
            "zone": self.zones.at[row.zone, "zone_id"] if row.zone >= 0 else None,
            "missing": missing,
            "text": c["text"], "text_en": str_or_none(c["text_en"]),
            "source": {k: str_or_none(c[k]) for k in ("document", "issuer", "date", "article")},
            **_zone_measures(near, int(row.pair), self.ev.proximity, self.zones),
            **self.parameters(row, cond),
            **self.obligations_of(i, row),
        }

    def parameters(self, row: Any, cond: int) -> dict:
        """The parameter values the clause read, each with the key it was looked up by and its source."""
        names = self.parameter_names.get(row.clause)
        if names is None:  # what the clause reads depends on the clause alone: found once
            condition, unless = self.rules.conditions[cond]
            names = condition.parameters() | (unless.parameters() if unless is not None else frozenset())
            names |= {n for _, amount, _, _ in self.rules.obligations.get(int(row.clause), [])
                      for n in amount.parameters()}
            self.parameter_names[row.clause] = names
        if not names:
            return {}
        table = self.rules.parameters
        out = []
        for name in sorted(names):
            spec = table.specs[name]
            value = table.rows(name, np.array([row.unit]), np.array([row.zone]))[0]
            out.append({"name": name, "by": spec.by if spec.by != "column" else f"column {spec.column}",
                        "key": table.key(name, int(row.unit), int(row.zone)),
                        "value": None if np.isnan(value) else float(value), "unit": spec.unit,
                        "description": spec.description,
                        "source": {k: str_or_none(getattr(spec.source, k) if k != "date" else
                                                  (spec.source.date.isoformat() if spec.source.date else None))
                                   for k in ("document", "issuer", "date", "article")}})
        return {"parameters": out}

    def obligations_of(self, i: int, row: Any) -> dict:
        """The clause's obligations for this project, with the amounts computed (None where an input is
        missing: the formula says what it depends on)."""
        found = self.obligations.get((i, row.unit, row.clause))
        if found is None:
            return {}
        return {"obligations": [
            {"name": o.name, "amount": None if o.problem else round(float(o.amount), 9), "unit": o.unit_text,
             "formula": o.formula, "text": obligation_text(o.name, None if o.problem else float(o.amount),
                                                           o.unit_text, o.formula, int(o.problem))}
            for o in found]}


def _notes(ev: Evaluation, i: int, areal: bool, disregarded: list[dict]) -> list[str]:
    """What a reader must know about project ``i``'s result: no unit, parts in no unit, slivers."""
    notes = []
    if ev.verdict[i] == Verdict.NOT_COVERED.key:
        notes.append("the site lies in no management unit of the loaded layer; nothing was checked")
    elif ev.uncovered[i] > 0:
        share = ev.uncovered[i] / ev.site_measure[i]
        if share > 1e-3:
            notes.append(f"{ev.uncovered[i]:,.0f} {'m²' if areal else 'm'} ({share:.1%}) "
                         "of the site lies in no unit")
    min_overlap = ev.min_overlap
    if min_overlap is not None and ev.site_measure[i] > 0 and not min_overlap.applies_to(2 if areal else 1):
        notes.append(f"{parameter('min_overlap')} {min_overlap.describe()} sets no threshold for a "
                     f"{'polygon' if areal else 'line'} site (give an area or a share for polygons, a length "
                     "or a share for lines); nothing was disregarded")
    if disregarded and min_overlap is not None:
        notes.append(f"{len(disregarded)} unit(s) overlapping the site by less than "
                     f"{min_overlap.describe()} disregarded: " + ", ".join(d["code"] for d in disregarded))
    return notes


def _unit_entry(units: gpd.GeoDataFrame, unit: int, overlap: float, site_measure: float, areal: bool,
                facts: dict | None = None, **extra: str) -> dict:
    """A unit as results list it; a line or polygon site's overlap in m² and ha, or m, and as a share.
    ``facts`` are the unit's columns the entry names, if already read (see :meth:`_Citations.unit_facts`)."""
    u = facts if facts is not None else units.iloc[unit]
    entry = {"code": u["code"], "name": u["name"], "type": int(u["type"]),
             "type_name": UNIT_TYPES[int(u["type"])][1], **extra, "county": u["county"], "city": u["city"]}
    if site_measure > 0:
        if areal:
            entry["overlap_m2"] = round(float(overlap), 2)
            entry["overlap_ha"] = round(float(overlap) / 10_000, 6)
        else:
            entry["overlap_m"] = round(float(overlap), 2)
        entry["overlap_share"] = round(float(overlap / site_measure), 6)
    return entry


def _zone_measures(nodes: list, pair: int, proximity: Proximity | None, zones: gpd.GeoDataFrame) -> dict:
    """What the clause's zone conditions measured from the site's piece in the unit: ``distances`` (to the
    nearest zone named, at any distance, so a reviewer sees the margin) and ``inside`` (the share)."""
    if not nodes:
        return {}
    assert proximity is not None  # an evaluation with sites always measures
    out: dict[str, list[dict]] = {}
    for node in nodes:
        if isinstance(node, Inside):
            inside, share = proximity.inside(node.key, np.array([pair]))
            out.setdefault("inside", []).append({
                "condition": node.describe(), "inside": bool(inside[0]), "share": round(float(share[0]), 6),
                "min_share": node.min_share})
            continue
        distance, zone = proximity.nearest(node.zones, node.zone_kinds, np.array([pair]))
        near = int(zone[0])
        out.setdefault("distances", []).append({
            "condition": node.describe(), "limit_m": node.distance,
            "distance_m": round(float(distance[0]), 2) if near >= 0 else None,
            "zone": zones.at[near, "zone_id"] if near >= 0 else None,
            "zone_name": zones.at[near, "name"] if near >= 0 else None,
            "within": bool(near >= 0 and distance[0] <= node.distance + TOLERANCE_M)})
    return out


def obligation_text(name: str, amount: float | None, unit: str, formula: str, problem: int = 0) -> str:
    """``VOCs offset: 20 t/a (= 2 * VOCs)``; an amount that cannot be computed says why."""
    if amount is None:
        return f"{name}: {formula} ({PROBLEMS[problem] or 'not given'})"
    return f"{name}: {number_text(round(amount, 6))} {unit}".rstrip() + f" (= {formula})"


def str_or_none(value: object) -> str | None:
    """Clause text fields as JSON-safe values: pandas may hold a missing string as NaN."""
    return value if isinstance(value, str) else None


def project_record(projects: gpd.GeoDataFrame, i: int, name: str | None, vocabulary: Vocabulary) -> dict:
    """The normalised input, as reported back in results."""
    row = dict(zip(projects.columns, projects.iloc[i].tolist()))  # a dict: a Series looks each label up slowly
    geom = row["geometry"]
    centre = geom.representative_point() if geom.geom_type != "Point" else geom
    out: dict[str, object] = {"name": name} if name else {}
    code = row["industry"]
    if code is not None:
        ind = industry_table().get(code)
        out["industry"] = {"code": ind.label, "name": ind.name}
    else:
        out["industry"] = None
    out["type"] = row["type"]
    out["location"] = {"lon": round(centre.x, 7), "lat": round(centre.y, 7), "crs": "EPSG:4490"}
    out["geometry_type"] = geom.geom_type
    attrs = {}
    for a, spec in vocabulary.attributes.items():
        if pd.notna(row[a]):
            attrs[a] = bool(row[a]) if spec.flag else spec.choices[int(row[a])] if spec.category else float(row[a])
    out["attributes"] = attrs
    return out
