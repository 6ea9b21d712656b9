"""What a redraw of the unit or zone layer changes: ``zoning rules diff --old-units A --new-units B``.

Two revisions of a layer are compared by key (unit code, zone id), all units
at once with shapely 2 array operations:

* a key only in the new layer is *added*, only in the old one *removed*;
* a key in both is *changed* when an attribute differs (units: name, type,
  province, city, county, remark and the four list texts; zones: name, kind,
  remark) or its geometry moved. An optional field (all but name and type) is
  compared only when both layers fill it in somewhere: a field one layer lacks
  would otherwise "change" every unit (a note says so).

Geometry is compared in the Albers equal-area projection for China
(:data:`zoning.geodesy.EQUAL_AREA`), in metres, never in degrees. A polygon's
boundary counts as moved when the area gained or lost holds a part wider than
the tolerance (``tolerance_m``, 1 m by default): re-digitising noise, another
vertex order or a round trip through another CRS leave only slivers narrower
than that, and the unit counts as unchanged. The areas gained and lost are
the two halves of the symmetric difference. Point and line zones (wells,
rivers) move when their Hausdorff distance, measured in the local 3°
Gauss-Krüger zone (lengths true to 0.03%), exceeds the tolerance.

:func:`scope_effects` says what a redraw does to the lists in force with the
new layers: a scope, ``within_distance`` or ``inside`` that names a unit, zone
or zone kind the new layer no longer has, and the units (zones) whose type
(kind) changed so that a ``unit_types`` (``zone_kinds``) selection now takes
them in or leaves them out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from zoning.evaluate.compile import unit_scope
from zoning.geodesy import EQUAL_AREA, GEOGRAPHIC, measure
from zoning.inputs.crs import GaussKruger
from zoning.inputs.units import TEXT_FIELDS, UNIT_TYPES, zone_mask
from zoning.rules.references import zone_specs

#: boundary moves no wider than this many metres are noise (re-digitising, reprojection)
DEFAULT_TOLERANCE_M = 1.0
UNIT_FIELDS = ("name", "type", "province", "city", "county", "remark", *TEXT_FIELDS)
ZONE_FIELDS = ("name", "kind", "remark")
#: fields compared only when both layers fill them in (name, type and kind always are)
_OPTIONAL = ("province", "city", "county", "remark", *TEXT_FIELDS)
LAYER_COLUMNS = ("layer", "id", "change", "name", "type", "kind", "fields", "details",
                 "old_area_ha", "new_area_ha", "gained_ha", "lost_ha", "moved_m")
_CHANGES = {"added": 0, "removed": 1, "changed": 2}
SCOPE_COLUMNS = ("list", "where", "change", "id", "detail")
#: metres in a degree, at most (of latitude, near the poles): vertices this many degrees apart are at most as
#: many metres apart, so matching vertices within tolerance / this never hides a move beyond the tolerance
_METRES_PER_DEGREE = 111_700.0
#: pairs overlaid at a time: bounds the memory the slivers of a re-digitised layer take
_CHUNK = 2_000
_TO_AREA = Transformer.from_crs(GEOGRAPHIC, EQUAL_AREA, always_xy=True)
_POLYGONAL = (3, 6)


@dataclass
class LayerDiff:
    """The units (or zones) added, removed and changed between two revisions of a layer."""

    layer: str  # "unit" or "zone"
    old_source: str
    new_source: str
    tolerance_m: float
    counts: dict[str, int] = field(default_factory=dict)
    changes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(LAYER_COLUMNS)))
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of counts, e.g. ``Units: 1,921 → 1,925: 6 added, 2 removed, 9 changed (…)``."""
        c = self.counts
        return (f"{self.layer.capitalize()}s: {c['old']:,} → {c['new']:,}: {c['added']:,} added, "
                f"{c['removed']:,} removed, {c['changed']:,} changed ({c['attributes']:,} in attributes, "
                f"{c['geometry']:,} in geometry), {c['unchanged']:,} unchanged "
                f"(moves within {self.tolerance_m:g} m ignored)")

    def as_dict(self) -> dict:
        """The comparison as JSON-ready data: sources, tolerance, counts, notes and one record per change."""
        records = self.changes.astype(object).where(self.changes.notna(), None).to_dict(orient="records")
        return {"old": self.old_source, "new": self.new_source, "tolerance_m": self.tolerance_m,
                "counts": self.counts, "notes": self.notes, "changes": records}

    def text_lines(self, width: int = 300) -> list[str]:
        """The comparison as lines of text: a heading, one line per change (long texts cut at ``width``
        characters), the notes and the summary."""
        lines = [f"{self.layer.capitalize()} layer changes ({self.old_source} → {self.new_source})"]
        for row in self.changes.itertuples(index=False):
            label = row.type if self.layer == "unit" else f"kind {row.kind}"
            head = f"  {row.change:<8} {row.id} {row.name} · {label}"
            if row.change != "changed":
                area = row.new_area_ha if row.change == "added" else row.old_area_ha
                lines.append(head + (f" · {area:,.4f} ha" if pd.notna(area) else ""))
                continue
            lines.append(_cut(f"{head}: {row.details}" if row.details else head, width))
            if pd.notna(row.gained_ha):
                lines.append(f"      boundary: {row.old_area_ha:,.4f} → {row.new_area_ha:,.4f} ha "
                             f"(+{row.gained_ha:,.4f} ha gained, -{row.lost_ha:,.4f} ha lost)")
            elif pd.notna(row.moved_m):
                lines.append(f"      geometry moved up to {row.moved_m:,.1f} m")
            elif "geometry" in row.fields.split(", "):
                lines.append("      geometry: now of another kind (point, line or polygon)")
        return lines + [f"  Note: {n}" for n in self.notes] + [self.summary()]


def diff_units(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, tolerance_m: float = DEFAULT_TOLERANCE_M,
               old_source: str = "old", new_source: str = "new") -> LayerDiff:
    """Compare two unit layers as :func:`zoning.inputs.units.load_units` returns them, by unit code."""
    return _diff(old, new, "unit", "code", UNIT_FIELDS, tolerance_m, old_source, new_source)


def diff_zones(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, *, tolerance_m: float = DEFAULT_TOLERANCE_M,
               old_source: str = "old", new_source: str = "new") -> LayerDiff:
    """Compare two zone layers as :func:`zoning.inputs.units.load_zones` returns them, by zone id."""
    return _diff(old, new, "zone", "zone_id", ZONE_FIELDS, tolerance_m, old_source, new_source)


def layer_table(diffs: list[LayerDiff]) -> pd.DataFrame:
    """The changes of several comparisons (units, then zones) as one table, for ``--layer-output``."""
    frames = [d.changes for d in diffs if len(d.changes)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(LAYER_COLUMNS))


def type_label(types) -> np.ndarray:
    """Unit types as ``2 key control (重点管控单元)``."""
    names = {t: f"{t} {english} ({chinese})" for t, (_, chinese, english) in UNIT_TYPES.items()}
    return np.array([names.get(int(t), str(t)) for t in types], dtype=object)


def _diff(old, new, layer, key, fields, tolerance_m, old_source, new_source) -> LayerDiff:
    """Added, removed and changed keys between two canonical layers, as a :class:`LayerDiff`."""
    o, n = old.set_index(key, drop=False), new.set_index(key, drop=False)
    added, removed = n.index.difference(o.index), o.index.difference(n.index)
    common = o.index.intersection(n.index)
    oc, nc = o.loc[common], n.loc[common]
    compared, notes = _compared_fields(o, n, fields, layer)
    differs, details = _attribute_changes(oc, nc, compared)
    geometry = geometry_changes(oc.geometry.to_numpy(), nc.geometry.to_numpy(), tolerance_m)
    attrs = differs.any(axis=1).to_numpy() if len(compared) else np.zeros(len(common), bool)
    changed = attrs | geometry["moved"]
    which = differs.assign(geometry=geometry["moved"])
    fields_text = _joined(np.where(which.to_numpy(), np.array(which.columns, dtype=object), ""), ", ")
    parts = [
        _rows(layer, n.loc[added], "added", new_area=_hectares(_polygon_areas(n.loc[added].geometry.to_numpy()))),
        _rows(layer, o.loc[removed], "removed",
              old_area=_hectares(_polygon_areas(o.loc[removed].geometry.to_numpy()))),
    ]
    if changed.any():
        rows = np.flatnonzero(changed)
        parts.append(_changed_rows(layer, nc.iloc[rows], oc.iloc[rows], fields_text[rows], details[rows],
                                   {k: v[rows] for k, v in geometry.items()}))
    table = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=list(LAYER_COLUMNS))
    table = table.sort_values(["change", "id"], key=lambda s: s.map(_CHANGES) if s.name == "change" else s,
                              kind="stable", ignore_index=True)
    counts = {"old": len(o), "new": len(n), "added": len(added), "removed": len(removed),
              "changed": int(changed.sum()), "attributes": int(attrs.sum()),
              "geometry": int(geometry["moved"].sum()), "unchanged": int(len(common) - changed.sum())}
    return LayerDiff(layer, old_source, new_source, float(tolerance_m), counts, table, notes)


def _compared_fields(old, new, fields, layer) -> tuple[list[str], list[str]]:
    """The fields to compare (an optional field only where both layers fill it in), and a note for each
    optional field only one layer fills in."""
    compared, notes = [], []
    for name in fields:
        if name not in _OPTIONAL:
            compared.append(name)
            continue
        filled = [bool((frame[name].astype(str) != "").any()) for frame in (old, new)]
        if all(filled):
            compared.append(name)
        elif any(filled):
            notes.append(f"{name} is filled in only in the {'old' if filled[0] else 'new'} {layer} layer: "
                         "not compared")
    return compared, notes


def _attribute_changes(old: pd.DataFrame, new: pd.DataFrame, fields: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Per aligned row and field, whether the value differs; and per row ``field: old → new; …``."""
    differs = pd.DataFrame({f: old[f].to_numpy() != new[f].to_numpy() for f in fields}, index=range(len(old)))
    details = np.full(len(old), "", dtype=object)
    rows = np.flatnonzero(differs.to_numpy().any(axis=1)) if fields else np.zeros(0, np.int64)
    if not len(rows):
        return differs, details
    pieces = []
    for f in fields:
        was, now = old[f].to_numpy()[rows], new[f].to_numpy()[rows]
        if f == "type":
            was, now = type_label(was), type_label(now)
        text = f + ": " + pd.Series(was, dtype=object).astype(str) + " → " + pd.Series(now, dtype=object).astype(str)
        pieces.append(np.where(differs[f].to_numpy()[rows], text.to_numpy(dtype=object), ""))
    details[rows] = _joined(np.column_stack(pieces), "; ")
    return differs, details


def _joined(cells: np.ndarray, sep: str) -> np.ndarray:
    """Each row of a 2-D array of strings joined by ``sep``, empty cells left out."""
    out = np.full(len(cells), "", dtype=object)
    for column in cells.T if cells.size else []:
        column = column.astype(object)
        out = np.where((out != "") & (column != ""), out + sep + column, out + column)
    return out


def geometry_changes(old: np.ndarray, new: np.ndarray, tolerance_m: float) -> dict[str, np.ndarray]:
    """Compare aligned arrays of lon/lat geometries: ``moved`` (beyond ``tolerance_m``), ``old_m2`` and
    ``new_m2`` (polygon areas), ``gained_m2`` and ``lost_m2`` (polygons that moved) and ``moved_m``
    (points and lines that moved: their Hausdorff distance). NaN where a value does not apply."""
    size = len(old)
    out = {"moved": np.zeros(size, bool), **{k: np.full(size, np.nan) for k in
                                            ("old_m2", "new_m2", "gained_m2", "lost_m2", "moved_m")}}
    todo = np.flatnonzero(~_same_vertices(old, new, tolerance_m))
    for start in range(0, len(todo), _CHUNK):
        rows = todo[start:start + _CHUNK]
        a, b = projected(old[rows]), projected(new[rows])
        poly_a, poly_b = (np.isin(shapely.get_type_id(g), _POLYGONAL) for g in (a, b))
        both = poly_a & poly_b
        out["old_m2"][rows[poly_a]], out["new_m2"][rows[poly_b]] = shapely.area(a[poly_a]), shapely.area(b[poly_b])
        _polygon_moves(a[both], b[both], rows[both], tolerance_m, out)
        other = ~(poly_a | poly_b)  # points and lines; a polygon that became a line (or back) has moved anyway
        out["moved"][rows[poly_a != poly_b]] = True
        distance = _hausdorff_m(old[rows[other]], new[rows[other]])
        out["moved_m"][rows[other]] = distance
        out["moved"][rows[other]] = distance > tolerance_m
    return out


def _polygon_moves(a: np.ndarray, b: np.ndarray, rows: np.ndarray, tolerance_m: float, out: dict) -> None:
    """Fill ``out`` for projected polygon pairs: moved when the symmetric difference holds a part wider than
    the tolerance; the areas gained and lost are its halves, from ``gained - lost = new - old``."""
    if not len(rows):
        return
    difference = shapely.symmetric_difference(a, b)
    both, change = shapely.area(difference), out["new_m2"][rows] - out["old_m2"][rows]
    moved = _wider_than(difference, tolerance_m)
    out["moved"][rows] = moved
    out["gained_m2"][rows[moved]] = np.maximum((both + change) / 2, 0)[moved]
    out["lost_m2"][rows[moved]] = np.maximum((both - change) / 2, 0)[moved]


def _wider_than(geoms: np.ndarray, width_m: float) -> np.ndarray:
    """Per projected polygonal geometry: whether a part of it holds a disc wider than ``width_m`` (it does
    not vanish when shrunk by half the width). Only parts with room for such a disc are shrunk."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    radius = width_m / 2
    room = shapely.area(parts) > np.pi * radius ** 2
    parts, owner = parts[room], owner[room]
    if radius > 0:
        wide = ~shapely.is_empty(shapely.buffer(parts, -radius, quad_segs=2))
        parts, owner = parts[wide], owner[wide]
    return np.bincount(owner, minlength=len(geoms)) > 0


def _hausdorff_m(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Hausdorff distances (m) between lon/lat geometry pairs, in the 3° Gauss-Krüger zone nearest each
    (scale within 0.03% of true there, where the equal-area projection's lengths are off by up to 2%)."""
    zone = np.clip(np.round(shapely.get_x(shapely.centroid(old)) / 3), 25, 45).astype(int)
    out = np.zeros(len(old))
    for z in np.unique(zone):
        chosen, to_local = zone == z, _to_gauss_kruger(int(z)).transform
        out[chosen] = shapely.hausdorff_distance(shapely.transform(old[chosen], to_local, interleaved=False),
                                                 shapely.transform(new[chosen], to_local, interleaved=False))
    return out


@functools.cache
def _to_gauss_kruger(zone: int) -> Transformer:
    """CGCS2000 lon/lat to the 3° Gauss-Krüger zone ``zone`` (eastings without the zone number)."""
    return Transformer.from_crs(GEOGRAPHIC, CRS.from_epsg(GaussKruger("cgcs2000", 3).epsg(zone, prefixed=False)),
                                always_xy=True)


def _same_vertices(old: np.ndarray, new: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Pairs whose vertices, in a normal order, match one for one within the tolerance: the geometry moved by
    no more than that anywhere (a quick test, done in lon/lat, that spares most pairs the overlay)."""
    return shapely.equals_exact(shapely.normalize(old), shapely.normalize(new),
                                tolerance=tolerance_m / _METRES_PER_DEGREE)


def projected(geoms: np.ndarray) -> np.ndarray:
    """Lon/lat geometries in the Albers equal-area projection for China (metres)."""
    return shapely.transform(geoms, _TO_AREA.transform, interleaved=False)


def _polygon_areas(geoms: np.ndarray) -> np.ndarray:
    """Areas (m²) of lon/lat polygons, measured in the equal-area projection; NaN for points and lines."""
    out = np.full(len(geoms), np.nan)
    polygonal = np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    out[polygonal] = measure(geoms[polygonal])
    return out


def _hectares(square_metres: np.ndarray) -> np.ndarray:
    """Square metres in hectares, to the square metre (NaN stays NaN)."""
    return np.round(np.asarray(square_metres, dtype=float) / 10_000, 4)


def _rows(layer: str, frame: pd.DataFrame, change: str, *, old_area=np.nan, new_area=np.nan) -> pd.DataFrame:
    """Table rows for keys added or removed: their name, type or kind and area."""
    return pd.DataFrame({
        "layer": layer, "id": frame.index.to_numpy(dtype=object), "change": change,
        "name": frame["name"].to_numpy(dtype=object),
        "type": type_label(frame["type"]) if layer == "unit" else "",
        "kind": frame["kind"].to_numpy(dtype=object) if layer == "zone" else "",
        "fields": "", "details": "", "old_area_ha": old_area, "new_area_ha": new_area,
        "gained_ha": np.nan, "lost_ha": np.nan, "moved_m": np.nan}, columns=list(LAYER_COLUMNS))


def _changed_rows(layer, new, old, fields_text, details, geometry) -> pd.DataFrame:
    """Table rows for keys in both layers that changed: what changed, and the areas before and after."""
    rows = _rows(layer, new, "changed")
    old_m2, new_m2 = geometry["old_m2"].copy(), geometry["new_m2"].copy()
    for areas, frame in ((old_m2, old), (new_m2, new)):
        missing = np.isnan(areas)  # not measured: vertices matched, or not a polygon
        areas[missing] = _polygon_areas(frame.geometry.to_numpy()[missing])
    return rows.assign(fields=fields_text, details=details, old_area_ha=_hectares(old_m2),
                       new_area_ha=_hectares(new_m2), gained_ha=_hectares(geometry["gained_m2"]),
                       lost_ha=_hectares(geometry["lost_m2"]), moved_m=np.round(geometry["moved_m"], 2))


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[:width - 1] + "…"


def scope_effects(lists, *, old_units: gpd.GeoDataFrame | None = None, new_units: gpd.GeoDataFrame | None = None,
                  old_zones: gpd.GeoDataFrame | None = None, new_zones: gpd.GeoDataFrame | None = None) -> list[dict]:
    """What the redraw does to ``lists`` (those in force with the new layers), one record (``SCOPE_COLUMNS``)
    per list and unit or zone: names one the new layer no longer has, now selects it, no longer selects it."""
    out = []
    if old_units is not None and new_units is not None:
        out += _unit_effects(lists, old_units, new_units)
    if old_zones is not None and new_zones is not None:
        out += _zone_effects(lists, old_zones, new_zones)
    return out


def scope_lines(effects: list[dict]) -> list[str]:
    """:func:`scope_effects` as lines of text."""
    if not effects:
        return ["Lists in force: none names a removed unit or zone or selects by a type or kind that changed"]
    return ["Lists in force that the layer changes touch"] + [
        f"  {e['where']}  list {e['list']}: {e['change']} {e['id']} {e['detail']}" for e in effects]


def _unit_effects(lists, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> list[dict]:
    """Lists whose ``scope.units`` name a removed unit, or whose ``scope.unit_types`` now take in or leave out
    a unit whose type changed."""
    o, n = old.set_index("code", drop=False), new.set_index("code", drop=False)
    removed = set(o.index.difference(n.index))
    common = o.index.intersection(n.index)
    retyped = common[o.loc[common, "type"].to_numpy() != n.loc[common, "type"].to_numpy()]
    before, after = o.loc[retyped].reset_index(drop=True), n.loc[retyped].reset_index(drop=True)
    change = type_label(before["type"]) + " → " + type_label(after["type"])
    out = []
    for lst in lists:
        out += [_effect(lst, ("scope", "units", i), "names a removed unit", code,
                        f"({o.at[code, 'name']}) in scope.units: the new unit layer no longer has it")
                for i, code in enumerate(lst.scope.units) if code in removed]
        if lst.scope.unit_types and len(retyped):
            was, now = unit_scope(lst, before), unit_scope(lst, after)
            out += [_effect(lst, ("scope", "unit_types"), "now selects" if now[j] else "no longer selects",
                            retyped[j], f"({after.at[j, 'name']}): its type changed {change[j]}, and scope.unit_types "
                                        f"is {lst.scope.unit_types}")
                    for j in np.flatnonzero(was != now)]
    return out


def _zone_effects(lists, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> list[dict]:
    """Lists whose scope, or a clause's ``within_distance``/``inside``, names a removed zone or a zone kind no
    zone has any more, or whose ``zone_kinds`` now take in or leave out a zone whose kind changed."""
    o, n = old.set_index("zone_id", drop=False), new.set_index("zone_id", drop=False)
    removed, gone_kinds = set(o.index.difference(n.index)), set(o["kind"]) - set(n["kind"])
    common = o.index.intersection(n.index)
    rekinded = common[o.loc[common, "kind"].to_numpy() != n.loc[common, "kind"].to_numpy()]
    before, after = o.loc[rekinded].reset_index(drop=True), n.loc[rekinded].reset_index(drop=True)
    out = []
    for lst in lists:
        selections = [(("scope",), lst.scope, "scope")] + [
            (loc, spec, f"clause {clause.id}, {loc[-1]}") for c, clause in enumerate(lst.clauses)
            for part in ("conditions", "unless") for loc, spec in zone_specs(getattr(clause, part),
                                                                                ("clauses", c, part))]
        for loc, chosen, what in selections:
            out += [_effect(lst, (*loc, "zones", i), "names a removed zone", z,
                            f"({o.at[z, 'name']}) in {what}: the new zone layer no longer has it")
                    for i, z in enumerate(chosen.zones) if z in removed]
            out += [_effect(lst, (*loc, "zone_kinds", i), "names a vanished zone kind", k,
                            f"in {what}: no zone of the new layer is of this kind")
                    for i, k in enumerate(chosen.zone_kinds) if k in gone_kinds]
            if chosen.zone_kinds and len(rekinded):
                was = zone_mask(before, chosen.zones, chosen.zone_kinds)
                now = zone_mask(after, chosen.zones, chosen.zone_kinds)
                out += [_effect(lst, (*loc, "zone_kinds"), "now selects" if now[j] else "no longer selects",
                                rekinded[j], f"({after.at[j, 'name']}): its kind changed {before.at[j, 'kind']} → "
                                             f"{after.at[j, 'kind']}, and {what} selects zone kinds "
                                             f"{chosen.zone_kinds}")
                        for j in np.flatnonzero(was != now)]
    return out


def _effect(lst, loc: tuple, change: str, key: str, detail: str) -> dict:
    """One :func:`scope_effects` record, located at the line of ``loc`` in the list's file."""
    line = lst.line(*loc)
    return dict(zip(SCOPE_COLUMNS, (lst.id, f"{lst.path}:{line}" if line else lst.path, change, str(key), detail)))
