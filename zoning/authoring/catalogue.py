"""What applies where: every list and clause in force for one management unit.

:func:`unit_catalogue` answers ``zoning rules show UNIT_CODE``: the clauses of
every list whose scope covers the unit (province → city → county → unit), the
clauses of zone lists for overlay zones that overlap the unit (they apply to
the part of a site inside the zone), and the review-only text of the unit
layer's four fields, each with its conditions in words and its source.
"""

from __future__ import annotations

import difflib

import numpy as np

from zoning.errors import InputError
from zoning.evaluate.overlay import overlay
from zoning.evaluate.results import str_or_none
from zoning.inputs.units import UNIT_TYPES
from zoning.rules.schema import DIMENSIONS, LEVELS
from zoning.verdicts import EFFECT_LABELS


def unit_catalogue(engine, code: str) -> dict:
    """The unit, the date, and its clauses ordered by level, list, dimension and clause."""
    units = engine.units
    matches = np.flatnonzero(units["code"].to_numpy() == code)
    if not len(matches):
        close = difflib.get_close_matches(code, units["code"].tolist(), n=3)
        raise InputError(f"unit {code!r} is not in the unit layer" +
                         (f"; did you mean {', '.join(close)}?" if close else ""))
    u = int(matches[0])
    rules = engine.rules
    found = [(int(c), None) for c in rules.unit_clauses[rules.unit_offsets[u]:rules.unit_offsets[u + 1]]]
    zones = engine.zones
    if len(zones) and len(rules.zone_clauses):
        # the zones whose area overlaps the unit: the same overlay evaluation runs for a polygon site
        _, overlapping, _, _ = overlay(units.geometry.to_numpy()[[u]], zones.geometry.to_numpy())
        for z in overlapping:
            for c in rules.zone_clauses[rules.zone_offsets[z]:rules.zone_offsets[z + 1]]:
                if rules.zone_unit_ok[rules.clause_zone_list[c], u]:
                    found.append((int(c), zones["zone_id"].iat[z]))
    clauses = rules.clauses
    entries: dict = {}
    for c, zone in found:
        row = clauses.iloc[c]
        key = (row["list"], row["clause"])
        if key in entries:  # a zone list's clause through several zones
            entries[key]["zones"].append(zone)
            continue
        condition, unless = rules.conditions[int(rules.clause_cond[c])]
        entries[key] = {
            "level": row["level"], "list": row["list"], "version": str_or_none(row["version"]) or "",
            "list_title": row["list_title"], "dimension": row["dimension"],
            "dimension_name": DIMENSIONS[row["dimension"]], "clause": row["clause"], "effect": row["effect"],
            "effect_name": EFFECT_LABELS[row["effect"]], "review_only": bool(row["review_only"]),
            "conditions": condition.describe(), "unless": unless.describe() if unless is not None else None,
            "zones": [zone] if zone else [],
            "text": row["text"], "text_en": str_or_none(row["text_en"]),
            "source": {k: str_or_none(row[k]) for k in ("document", "issuer", "date", "article")},
        }
    level = {name: i for i, name in enumerate(LEVELS)}
    dimension = {name: i for i, name in enumerate(DIMENSIONS)}
    ordered = sorted(entries.values(), key=lambda e: (level[e["level"]], e["list"], dimension[e["dimension"]],
                                                      _clause_order(e["clause"])))
    unit = units.iloc[u]
    return {
        "unit": {"code": unit["code"], "name": unit["name"], "type": int(unit["type"]),
                 "type_name": UNIT_TYPES[int(unit["type"])][1], "province": unit["province"],
                 "city": unit["city"], "county": unit["county"]},
        "as_of": engine.as_of.isoformat(),
        "clauses": ordered,
        "provenance": engine.provenance,
    }


def _clause_order(clause_id: str) -> tuple:
    """KJ-2 before KJ-10."""
    head, _, number = clause_id.rpartition("-")
    return (head, int(number)) if number.isdigit() else (clause_id, 0)


def to_markdown(catalogue: dict) -> str:
    """The catalogue as Markdown: a heading per level and list, a table per dimension."""
    unit = catalogue["unit"]
    out = [f"# {unit['code']} {unit['name']}", "",
           f"{unit['type_name']} (type {unit['type']}); {unit['province']} {unit['city']} {unit['county']}".rstrip(),
           "", f"Lists in force on {catalogue['as_of']}.", ""]
    last_list = last_dim = None
    for e in catalogue["clauses"]:
        if e["list"] != last_list:
            out += ["", f"## [{e['level']}] {e['list']} {e['version']}: {e['list_title']}", ""]
            last_list, last_dim = e["list"], None
        if e["dimension"] != last_dim:
            out += ["", f"### {e['dimension_name']} ({e['dimension']})", "",
                    "| clause | effect | conditions | text | source |", "|---|---|---|---|---|"]
            last_dim = e["dimension"]
        cond = e["conditions"] + (f"; unless {e['unless']}" if e["unless"] else "")
        if e["zones"]:
            cond += f"; in zone {', '.join(e['zones'])}"
        if e["review_only"]:
            cond = "manual review 人工核查"
        s = e["source"]
        source = ", ".join(x for x in (s["document"], s["issuer"], s["date"], s["article"]) if x)
        out.append(f"| {e['clause']} | {e['effect']} {e['effect_name']} | {_cell(cond)} | {_cell(e['text'])} | "
                   f"{_cell(source)} |")
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
