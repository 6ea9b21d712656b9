"""Unit codes, zone ids and zone kinds that lists name, checked against the loaded layers."""

from __future__ import annotations

import difflib

from zoning.errors import parameter
from zoning.rules.findings import Finding, raise_errors
from zoning.rules.nodes import AllNode, AnyNode, InsideNode, NotNode, WithinDistanceNode


def check_references(lists, unit_codes, zone_ids, zone_kinds, zone_polygonal=None) -> None:
    """Every unit code, zone id and zone kind a list names must exist (raises :class:`DataError`)."""
    raise_errors(reference_findings(lists, unit_codes, zone_ids, zone_kinds, zone_polygonal))


def reference_findings(lists, unit_codes, zone_ids, zone_kinds, zone_polygonal=None) -> list[Finding]:
    """Unit codes, zone ids and zone kinds named by scopes and within_distance/inside conditions
    that the unit and zone layers do not have (None: that layer was not given, not checked); and
    ``inside`` conditions with a ``min_share`` that select zones other than polygons
    (``zone_polygonal``: per zone, whether it is a polygon)."""
    out = []
    kind_of = dict(zip(zone_ids, zone_kinds)) if zone_ids is not None else {}
    polygonal = dict(zip(zone_ids, zone_polygonal)) if zone_ids is not None and zone_polygonal is not None else {}
    known = {"units": None if unit_codes is None else set(unit_codes),
             "zones": None if zone_ids is None else set(zone_ids),
             "zone_kinds": None if zone_kinds is None else set(zone_kinds)}
    what = {"units": "unit code", "zones": "zone id", "zone_kinds": "zone kind"}

    def unknown(lst, refs, field, loc, where):
        if known[field] is None:  # that layer was not given: not checked
            return
        for i, ref in enumerate(refs):
            if ref not in known[field]:
                close = difflib.get_close_matches(ref, known[field], n=1)
                hint = f"did you mean {close[0]!r}?" if close else (
                    f"check the {what[field]} against the {'unit' if field == 'units' else 'zone'} layer "
                    f"({parameter('units')}/{parameter('zones')})")
                out.append(Finding("error", lst.path, lst.line(*loc, i), where, f"unknown {what[field]} {ref!r}",
                                   hint))

    for lst in lists:
        for field in ("units", "zones", "zone_kinds"):
            unknown(lst, getattr(lst.scope, field), field, ("scope", field),
                    f"list {lst.id}, field scope.{field}")
        for c, clause in enumerate(lst.clauses):
            for part in ("conditions", "unless"):
                for loc, spec in zone_specs(getattr(clause, part), ("clauses", c, part)):
                    where = f"list {lst.id}, clause {clause.id}, field {loc[-1]}"
                    if getattr(spec, "min_share", None) is not None and polygonal:
                        lines = sorted(z for z, kind in kind_of.items() if not polygonal[z]
                                       and (not spec.zones or z in spec.zones)
                                       and (not spec.zone_kinds or kind in spec.zone_kinds))
                        if lines:
                            out.append(Finding(
                                "error", lst.path, lst.line(*loc, "min_share"), where,
                                f"min_share measures the share of the site inside polygon zones, but zone(s) "
                                f"{', '.join(lines[:5])} are lines or points",
                                "drop min_share (inside alone: the zone crosses the site), or select polygon zones"))
                    unknown(lst, spec.zones, "zones", (*loc, "zones"), where)
                    unknown(lst, spec.zone_kinds, "zone_kinds", (*loc, "zone_kinds"), where)
                    if spec.zones and spec.zone_kinds and all(z in kind_of for z in spec.zones) and not any(
                            kind_of[z] in spec.zone_kinds for z in spec.zones):
                        out.append(Finding(
                            "error", lst.path, lst.line(*loc), where,
                            f"none of the zones {', '.join(spec.zones)} is of kind {' or '.join(spec.zone_kinds)} "
                            "(ids and kinds must both match)", "drop zones or zone_kinds, or make them agree"))
    return out


def zone_specs(node, loc: tuple):
    """(location, spec) of every within_distance and inside node in a validated node tree."""
    if isinstance(node, list):
        for i, n in enumerate(node):
            yield from zone_specs(n, (*loc, i))
    elif isinstance(node, WithinDistanceNode):
        yield (*loc, "within_distance"), node.within_distance
    elif isinstance(node, InsideNode):
        yield (*loc, "inside"), node.inside
    elif isinstance(node, (AllNode, AnyNode)):
        yield from zone_specs(node.all if isinstance(node, AllNode) else node.any,
                                 (*loc, "all" if isinstance(node, AllNode) else "any"))
    elif isinstance(node, NotNode):
        yield from zone_specs(node.not_, (*loc, "not"))
