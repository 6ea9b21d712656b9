"""Parameter tables resolved against the unit and zone layers: one value per unit, or per zone.

A parameter keyed by unit code, unit type, admin prefix or a unit-layer
column gets a value for every unit; one keyed by zone id or zone kind, for
every zone. Rows of an evaluation then read their value by the unit (or the
zone) they were reached through. :func:`check_coverage` refuses, when an
engine is built, a clause that reads a parameter in a unit or zone that has
no value for it: a missing threshold never silently passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning.errors import DataError
from zoning.rules.parameters import ParameterSpec


@dataclass
class ParameterValues:
    """The parameters in force, each resolved to one value per unit or per zone (NaN: none)."""

    specs: dict[str, ParameterSpec] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    keys: dict[str, np.ndarray] = field(default_factory=dict)  # the key each unit or zone was looked up by

    def rows(self, name: str, units: np.ndarray | None, zones: np.ndarray | None) -> np.ndarray:
        """The value of parameter ``name`` for rows reached through ``units`` (or ``zones``, -1: none)."""
        spec = self.specs.get(name)
        index = None if spec is None else (zones if spec.by_zone else units)
        if spec is None or index is None:
            return np.full(0 if units is None else len(units), np.nan)
        if not spec.by_zone:  # every row has a unit
            return self.values[name][index]
        table = np.append(self.values[name], np.nan)  # index -1 (no zone) reads the NaN at the end
        return table[np.where(index < 0, len(table) - 1, index)]

    def key_rows(self, name: str, units: np.ndarray, zones: np.ndarray) -> np.ndarray:
        """Per row, what the value was looked up by ("" where the row has no unit or zone for it)."""
        spec = self.specs[name]
        index = zones if spec.by_zone else units
        table = np.append(np.asarray(self.keys[name], dtype=object).astype(str).astype(object), "")
        return table[np.where(index < 0, len(table) - 1, index)]

    def key(self, name: str, unit: int, zone: int) -> str:
        """What the value for this unit (or zone) was looked up by, for a citation."""
        spec = self.specs[name]
        at = zone if spec.by_zone else unit
        return str(self.keys[name][at]) if at >= 0 else ""


def resolve(specs: Mapping[str, ParameterSpec], units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> ParameterValues:
    """Each parameter's value for every unit (or zone), from its table, default or unit-layer column."""
    out = ParameterValues(specs=dict(specs))
    for name, spec in specs.items():
        keys = _keys(spec, units, zones)
        if spec.by == "column":
            if spec.column not in units.columns:
                raise DataError(f"{spec.path}:{spec.line('column') or 1}: parameter {name}: the unit layer has no "
                                f"column {spec.column!r}")
            raw = pd.to_numeric(units[spec.column], errors="coerce").to_numpy(dtype=float)
            values = np.where(np.isfinite(raw), raw, np.nan if spec.default is None else spec.default)
        elif spec.by == "admin":
            values, keys = _longest_prefix(keys, spec)
        else:
            table = pd.Series(spec.values, dtype=float)
            values = pd.Series(keys).map(table).to_numpy(dtype=float)
            if spec.default is not None:
                values = np.where(np.isnan(values), spec.default, values)
        out.values[name] = np.asarray(values, dtype=float)
        out.keys[name] = keys
    return out


def _keys(spec: ParameterSpec, units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> np.ndarray:
    if spec.by in ("unit", "column"):
        return units["code"].astype(str).to_numpy(dtype=object)
    if spec.by == "unit_type":
        return units["type"].astype(int).astype(str).to_numpy(dtype=object)
    if spec.by == "admin":
        return units["admin"].fillna("").astype(str).to_numpy(dtype=object)
    if spec.by == "zone":
        return zones["zone_id"].astype(str).to_numpy(dtype=object)
    return zones["kind"].astype(str).to_numpy(dtype=object)


def _longest_prefix(admins: np.ndarray, spec: ParameterSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the value of the longest admin prefix (2, 4 or 6 digits) of its division code that the
    table has, and that prefix (``default`` where none matched)."""
    values = np.full(len(admins), np.nan if spec.default is None else spec.default)
    keys = np.full(len(admins), "default" if spec.default is not None else "", dtype=object)
    table = pd.Series(spec.values, dtype=float)
    for width in (2, 4, 6):  # longer prefixes overwrite shorter ones
        prefix = pd.Series(admins).str.slice(0, width)
        found = prefix.map(table).to_numpy(dtype=float)
        hit = (pd.Series(admins).str.len().to_numpy() >= width) & ~np.isnan(found)
        values = np.where(hit, found, values)
        keys = np.where(hit, prefix.to_numpy(dtype=object), keys)
    return values, keys


def check_coverage(values: ParameterValues, uses: list[tuple[str, str, frozenset[str], np.ndarray, np.ndarray | None]],
                   units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> None:
    """Refuse a clause that reads a parameter where it has no value. ``uses`` holds, per clause that reads
    parameters, ``(list id, clause id, parameters, units it applies in, zones it applies through or None)``."""
    for list_id, clause_id, names, unit_scope, zone_scope in uses:
        for name in sorted(names):
            spec = values.specs.get(name)
            where = f"list {list_id}, clause {clause_id}"
            if spec is None:
                raise DataError(f"{where}: no version of parameter ${name} is in force on the date")
            if spec.by_zone and zone_scope is None:
                raise DataError(f"{where}: parameter ${name} has a value per zone (by: {spec.by}), but the clause "
                                "applies through units; use it in a list scoped to zones, or key it by unit")
            scope = zone_scope if spec.by_zone else unit_scope
            lacking = scope & np.isnan(values.values[name])
            if lacking.any():
                names_of = (zones["zone_id"] if spec.by_zone else units["code"]).astype(str).to_numpy()[lacking]
                more = f" (+{len(names_of) - 5} more)" if len(names_of) > 5 else ""
                raise DataError(f"{spec.path}:{spec.line('values') or 1}: parameter ${name} has no value for "
                                f"{', '.join(names_of[:5])}{more}, where {where} applies: add them, or a default")
