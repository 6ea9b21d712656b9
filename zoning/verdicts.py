"""Verdicts and citations: turning an evaluation into results people read.

:class:`Result` is one project's verdict with its units and citations (JSON
and GeoJSON via :meth:`Result.to_dict` / :meth:`Result.to_feature`);
:func:`summary_columns` gives the per-project columns for a batch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from zoning.conditions import WithinDistance, walk
from zoning.evaluation import Evaluation, input_names
from zoning.io import geojson_geometries
from zoning.lists import DIMENSIONS
from zoning.proximity import TOLERANCE_M
from zoning.sites import to_webmap
from zoning.units import UNIT_TYPES

EFFECT_LABELS = {"prohibit": "禁止", "restrict": "限制", "require": "要求"}
VERDICT_LABELS = {
    "prohibited": "禁止", "restricted": "限制", "undetermined": "待定（缺少输入）",
    "permitted": "允许", "not_covered": "不在任何管控单元内", "error": "无法判定（输入有误）",
}
#: the columns a batch result adds to each row (``check_many``, ``zoning screen``)
RESULT_COLUMNS = ("verdict", "worst_case", "unit_codes", "unit_types", "clauses", "reasons", "missing",
                  "disregarded", "error")
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
    disregarded: list[dict] = field(default_factory=list)  # units overlapped less than min_overlap
    provenance: dict = field(default_factory=dict)  # engine version, as-of date, rule and layer hashes
    explanation: list[dict] | None = None  # with explain: every clause considered, condition by condition

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "worst_case": self.worst_case,
            "units": self.units,
            "disregarded": self.disregarded,
            "citations": self.citations,
            "missing": self.missing,
            "notes": self.notes,
            "project": self.project,
            "provenance": self.provenance,
            **({"explanation": self.explanation} if self.explanation is not None else {}),
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
    slivers_by_project = dict(tuple(ev.disregarded.groupby("project", sort=False)))
    near_nodes = {}  # condition index -> its within_distance nodes
    for i in range(len(projects)):
        pairs = pairs_by_project.get(i, ev.pairs.iloc[:0])
        extended = ev.site_measure[i] > 0
        areal = shapely.get_dimensions(projects.geometry.iloc[i]) == 2  # else a line, measured in m

        measure = ev.site_measure[i] if extended else 0.0
        unit_list = [_unit_entry(units, pair.unit, pair.overlap, measure, areal, verdict=pair.verdict)
                     for pair in pairs.itertuples()]
        slivers = slivers_by_project.get(i)
        disregarded = [] if slivers is None else [
            _unit_entry(units, piece.unit, piece.overlap, measure, areal,
                        reason=f"overlap below --min-overlap {ev.min_overlap.describe()}")
            for piece in slivers.itertuples()]
        rows = rows_by_project.get(i)
        citations, missing = [], set()
        if rows is not None:
            for row in rows.itertuples():
                c = clauses.iloc[row.clause]
                names = input_names(int(row.missing))
                if rules.clause_rank[row.clause] >= 2:  # only prohibit/restrict clauses change the verdict
                    missing.update(names)
                cond = int(rules.clause_cond[row.clause])
                if cond not in near_nodes:
                    condition, unless = rules.conditions[cond]
                    near_nodes[cond] = [n for n in (*walk(condition), *walk(unless)) if isinstance(n, WithinDistance)]
                citations.append({
                    "unit": units.at[row.unit, "code"],
                    "list": c["list"], "version": c["version"], "list_title": c["list_title"], "level": c["level"],
                    "clause": c["clause"], "dimension": c["dimension"],
                    "dimension_name": DIMENSIONS[c["dimension"]], "effect": c["effect"],
                    "status": "manual_review" if c["review_only"] else ("applies" if row.applies else "unknown"),
                    "zone": zones.at[row.zone, "zone_id"] if row.zone >= 0 else None,
                    "missing": names,
                    "text": c["text"], "text_en": str_or_none(c["text_en"]),
                    "source": {k: str_or_none(c[k]) for k in ("document", "issuer", "date", "article")},
                    **({"distances": [_distance(node, i, ev.proximity, zones) for node in near_nodes[cond]]}
                       if near_nodes[cond] else {}),
                })
        notes = []
        if ev.verdict[i] == "not_covered":
            notes.append("the site lies in no management unit of the loaded layer; nothing was checked")
        if ev.uncovered[i] > 0 and ev.verdict[i] != "not_covered":
            share = ev.uncovered[i] / ev.site_measure[i]
            if share > 1e-3:
                notes.append(f"{ev.uncovered[i]:,.0f} {'m²' if areal else 'm'} ({share:.1%}) "
                             "of the site lies in no unit")
        if ev.min_overlap is not None and extended and not ev.min_overlap.applies_to(2 if areal else 1):
            notes.append(f"--min-overlap {ev.min_overlap.describe()} sets no threshold for a "
                         f"{'polygon' if areal else 'line'} site (give an area or a share for polygons, a length "
                         "or a share for lines); nothing was disregarded")
        if disregarded:
            notes.append(f"{len(disregarded)} unit(s) overlapping the site by less than "
                         f"{ev.min_overlap.describe()} disregarded: " + ", ".join(d["code"] for d in disregarded))
        project = dict(inputs[i])
        if extended:
            project["area_m2" if areal else "length_m"] = round(float(ev.site_measure[i]), 2)
        results.append(Result(
            verdict=ev.verdict[i], worst_case=ev.worst[i],
            units=unit_list, citations=citations, missing=sorted(missing), project=project,
            notes=notes, geometry=projects.geometry.iloc[i], disregarded=disregarded,
        ))
    return results


def _unit_entry(units, unit: int, overlap: float, site_measure: float, areal: bool, **extra) -> dict:
    """A unit as results list it; a line or polygon site's overlap in m² and ha, or m, and as a share."""
    u = units.iloc[unit]
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


def _distance(node: WithinDistance, project: int, proximity, zones) -> dict:
    """The measured distance behind a within_distance condition, for a citation."""
    distance, zone = proximity.measure(node.key, np.array([project]))
    near = int(zone[0])
    return {"condition": node.describe(), "limit_m": node.distance,
            "distance_m": round(float(distance[0]), 2) if near >= 0 else None,
            "zone": zones.at[near, "zone_id"] if near >= 0 else None,
            "zone_name": zones.at[near, "name"] if near >= 0 else None,
            "within": bool(near >= 0 and distance[0] <= node.distance + TOLERANCE_M)}


def str_or_none(value):
    """Clause text fields as JSON-safe values: pandas may hold a missing string as NaN."""
    return value if isinstance(value, str) else None


def summary_columns(ev: Evaluation, units, rules, *, timings: dict | None = None) -> dict[str, np.ndarray]:
    """Per-project columns for batches: verdict, units, clauses, reasons, missing.

    Strings are built once per distinct combination (projects in the same units
    citing the same clauses share them), not once per project, and kept in
    ``rules.text_cache`` for later chunks. ``timings`` accumulates the
    seconds spent building text under ``format``.
    """
    started = time.perf_counter()
    text_time = 0.0
    n = len(ev.verdict)
    out = {"verdict": ev.verdict, "worst_case": ev.worst}
    pairs = ev.pairs
    unit = pairs["unit"].to_numpy()
    p = pairs["project"].to_numpy()
    mark = time.perf_counter()
    out["unit_codes"], out["unit_types"] = join_per_project(
        p, unit, n, (units["code"].to_numpy(dtype=object), ";"),
        (units["type"].astype(int).astype(str).to_numpy(dtype=object), ";"),
        cache=rules.text_cache.setdefault("units", {}))
    text_time += time.perf_counter() - mark

    rows = ev.rows
    c = rules.clauses
    clause = rows["clause"].to_numpy()
    deciding = rules.clause_rank[clause] >= 2
    # one item per (clause, undecided?), ordered prohibit before restrict, then by clause;
    # a single sort of one integer key orders and de-duplicates them per project
    rank = (c["effect"].to_numpy(dtype=object) == "restrict").astype(np.int64)[clause[deciding]]
    item = clause[deciding] * 2 + ~rows["applies"].to_numpy()[deciding]
    width = 2 * len(c)
    key = (rows["project"].to_numpy()[deciding].astype(np.int64) * 2 + rank) * width + item
    if len(key) > 1 and not (key[1:] > key[:-1]).all():  # rows usually come ordered and distinct already
        key = pd.unique(np.sort(key))
    p, item = key // (2 * width), key % width
    mark = time.perf_counter()
    if "clause_labels" not in rules.text_cache:
        ids = (c["list"] + "/" + c["clause"]).to_numpy(dtype=object)
        reasons = (c["effect"].map(EFFECT_LABELS) + ": " + c["text"].str.slice(0, 60)).to_numpy(dtype=object)
        reasons2 = np.repeat(reasons, 2)
        reasons2[1::2] = reasons2[1::2] + "（待定）"
        rules.text_cache["clause_labels"] = (np.repeat(ids, 2), reasons2)
    ids2, reasons2 = rules.text_cache["clause_labels"]
    out["clauses"], out["reasons"] = join_per_project(p, item, n, (ids2, ";"), (reasons2, " | "),
                                                      cache=rules.text_cache.setdefault("clauses", {}))
    dis = ev.disregarded
    out["disregarded"], = join_per_project(dis["project"].to_numpy(), dis["unit"].to_numpy(), n,
                                           (units["code"].to_numpy(dtype=object), ";"))
    bits = ev.missing_bits
    distinct = {b: ";".join(input_names(int(b))) for b in pd.unique(bits)}
    out["missing"] = pd.Series(bits).map(distinct).to_numpy(dtype=object)
    text_time += time.perf_counter() - mark
    if timings is not None:
        timings["format"] = timings.get("format", 0.0) + text_time
        timings["evaluate"] = timings.get("evaluate", 0.0) + time.perf_counter() - started - text_time
    return out


def join_per_project(project: np.ndarray, item: np.ndarray, n: int, *labels: tuple[np.ndarray, str],
                     cache: dict | None = None):
    """For each ``(labels, sep)``: the ``sep``-joined labels of each project's items.

    ``project``/``item`` are aligned arrays, grouped by project with items in
    the order they should print; a project without items gets "". Returns one
    array of strings per ``(labels, sep)``. A project with one item takes its
    label directly; for the others each item set is hashed (XOR of a random
    64-bit key per item, mixed with the count) and its string built once per
    distinct set. ``cache`` (a dict kept by the caller for one set of labels)
    remembers those strings across calls.
    """
    outs = [np.full(n, "", dtype=object) for _ in labels]
    if len(project) == 0:
        return outs
    count = np.bincount(project, minlength=n)
    single = count[project] == 1
    for out, (names, _) in zip(outs, labels):
        out[project[single]] = names[item[single]]
    many = ~single
    if not many.any():
        return outs
    project, item = project[many], item[many]
    keys = np.random.default_rng(0).integers(1, 2**62, size=len(labels[0][0]), dtype=np.int64)
    digest = np.zeros(n, np.int64)
    np.bitwise_xor.at(digest, project, keys[item])
    members = np.flatnonzero(np.bincount(project, minlength=n))
    combo = digest[members] ^ (count[members].astype(np.int64) * np.int64(0x5851F42D4C957F2D))
    codes, uniques = pd.factorize(combo)
    cache = {} if cache is None else cache
    if len(cache) > 1_000_000:  # bound memory on very diverse registries
        cache.clear()
    todo = np.array([k not in cache for k in uniques.tolist()], dtype=bool)
    if todo.any():
        first_at = np.empty(len(uniques), np.int64)
        first_at[codes[::-1]] = np.arange(len(codes))[::-1]  # reversed: the first occurrence is written last
        first = members[first_at][todo]
        order = np.argsort(project, kind="stable")
        starts = np.searchsorted(project[order], first, "left")
        texts = [[sep.join(names[item[order[s:s + count[q]]]]) for q, s in zip(first, starts)]
                 for names, sep in labels]
        cache.update(zip(uniques[todo].tolist(), zip(*texts)))
    known = [cache[k] for k in uniques.tolist()]
    for i, out in enumerate(outs):
        out[members] = np.array([t[i] for t in known], dtype=object)[codes]
    return outs
