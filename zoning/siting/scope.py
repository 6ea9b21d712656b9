"""The area a siting search covers: ``--within`` an admin prefix, unit codes or a bounding box.

:func:`parse_within` reads what a user gives (texts such as ``"1306"``,
``"ZH13060220001"`` or ``"115.3,38.7,115.7,39.0"``, or a 4-tuple of floats);
:func:`units_in_scope` picks the units it names, and the box (if any) that
clips them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from zoning.errors import ParameterError, parameter

Box = tuple[float, float, float, float]
_ADMIN = re.compile(r"^\d{2,12}$")
_NUMBER = r"\s*[-+]?(?:\d+\.?\d*|\.\d+)\s*"
_BOX = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")


@dataclass(frozen=True)
class Within:
    """What limits a siting search: admin code prefixes, unit codes and one lon/lat box (all optional;
    a unit is in scope when it matches any prefix or code given, and meets the box)."""

    admin: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    box: Box | None = None

    @property
    def everything(self) -> bool:
        return not (self.admin or self.units or self.box)

    def describe(self) -> str:
        """What limits the search, as a user would write it ("" for everywhere)."""
        box = [",".join(f"{v:g}" for v in self.box)] if self.box else []
        return " ".join([*self.admin, *self.units, *box])


def parse_within(within: object) -> Within:
    """A :class:`Within` from None, a text, a box tuple, or several of these."""
    if within is None or isinstance(within, Within):
        return within or Within()
    if isinstance(within, tuple) and len(within) == 4 and all(isinstance(v, (int, float)) for v in within):
        return Within(box=_box(tuple(float(v) for v in within)))
    items = [within] if isinstance(within, str) else list(within) if isinstance(within, Iterable) else [within]
    admin: list[str] = []
    units: list[str] = []
    box: Box | None = None
    for item in items:
        text = str(item).strip()
        if _ADMIN.match(text):
            admin.append(text)
        elif _BOX.match(text):
            if box is not None:
                raise ParameterError(f"{parameter('within', text)}: give one bounding box")
            box = _box(tuple(float(v) for v in text.split(",")))
        elif text and not any(c.isspace() or c == "," for c in text):
            units.append(text)
        else:
            raise ParameterError(f"{parameter('within', text)}: give an admin code prefix (1306), a unit code, "
                                 "or a box WEST,SOUTH,EAST,NORTH in lon/lat degrees")
    return Within(tuple(admin), tuple(units), box)


def units_in_scope(units: gpd.GeoDataFrame, within: Within) -> np.ndarray:
    """Indexes of the units ``within`` names (every unit when it names nothing); unknown unit codes and
    prefixes that match no unit are refused, so a typo never gives an empty map."""
    chosen = np.ones(len(units), bool)
    if within.admin or within.units:
        admin = units["admin"].fillna("").astype(str)
        by_admin = np.zeros(len(units), bool)
        for prefix in within.admin:
            hit = admin.str.startswith(prefix).to_numpy()
            if not hit.any():
                raise ParameterError(f"{parameter('within', prefix)}: no unit's admin code starts with {prefix}")
            by_admin |= hit
        by_code = units["code"].isin(within.units).to_numpy()
        unknown = sorted(set(within.units) - set(units["code"][by_code]))
        if unknown:
            raise ParameterError(f"{parameter('within', unknown[0])}: no unit has this code")
        chosen = by_admin | by_code
    if within.box is not None:
        chosen &= shapely.intersects(units.geometry.to_numpy(), shapely.box(*within.box))
    return np.flatnonzero(chosen)


def _box(values: tuple[float, ...]) -> Box:
    west, south, east, north = values
    if not all(math.isfinite(v) for v in values) or not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ParameterError(f"{parameter('within', ','.join(map(str, values)))}: a box is WEST,SOUTH,EAST,NORTH "
                             "in lon/lat degrees, west < east and south < north")
    return west, south, east, north
