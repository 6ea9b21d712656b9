"""Minimum overlaps: thresholds below which a unit's share of a line or polygon site is a sliver.

A survey polygon drawn along a unit boundary often overlaps the next unit by
a few square metres; :class:`MinOverlap` lets a user disregard such slivers
(they are still listed). Thresholds come as texts such as ``100m2``,
``0.5ha``, ``3亩``, ``20m`` or ``1%``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from zoning.errors import InputError, parameter


@dataclass(frozen=True)
class MinOverlap:
    """Thresholds below which a unit's share of a line or polygon site is a sliver.

    A piece is disregarded only when it is below every threshold that
    applies to it (``area_m2`` to polygons, ``length_m`` to lines, ``share``
    of the site's area or length to both), so giving two thresholds
    disregards less, never more. A site's largest piece is never
    disregarded. Points have no slivers.
    """

    area_m2: float | None = None
    length_m: float | None = None
    share: float | None = None  # 0–1

    _UNITS = {"m2": 1.0, "m²": 1.0, "ha": 10_000.0, "km2": 1e6, "km²": 1e6, "mu": 10_000 / 15, "亩": 10_000 / 15,
              "公顷": 10_000.0, "平方米": 1.0}
    _LENGTHS = {"m": 1.0, "km": 1000.0, "米": 1.0, "公里": 1000.0}

    @classmethod
    def parse(cls, values: Iterable[str]) -> MinOverlap:
        """From texts such as ``100m2``, ``0.5ha``, ``3亩``, ``1%``, ``20m``, ``0.2km`` (one per kind)."""
        found: dict[str, float] = {}
        for text in values:
            value = str(text).strip().replace(" ", "").lower()
            match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)(%|[a-z²\u4e00-\u9fff0-9]+)", value)
            name = parameter("min_overlap")
            if not match:
                raise InputError(f"{name} {text!r}: expected a number with a unit, e.g. 100m2, 0.5ha, 1% or 20m")
            number, unit = float(match[1]), match[2]
            if unit == "%":
                kind, amount = "share", number / 100
                if not 0 < amount < 1:
                    raise InputError(f"{name} {text!r}: a share must be between 0% and 100%")
            elif unit in cls._UNITS:
                kind, amount = "area_m2", number * cls._UNITS[unit]
            elif unit in cls._LENGTHS:
                kind, amount = "length_m", number * cls._LENGTHS[unit]
            else:
                raise InputError(f"{name} {text!r}: unknown unit {unit!r} (use m2, ha, 亩, km2, %, m or km)")
            if kind in found:
                raise InputError(f"{name} gives the {kind.split('_')[0]} threshold twice")
            found[kind] = amount
        return cls(**found)

    @classmethod
    def coerce(cls, value: MinOverlap | str | Iterable[str] | None) -> MinOverlap | None:
        """A MinOverlap, texts (``"1%"`` or ``["100m2", "1%"]``) or None; None when no threshold is set."""
        if value is None or isinstance(value, MinOverlap):
            return value or None
        return cls.parse([value] if isinstance(value, str) else value) or None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.area_m2, self.length_m, self.share))

    def applies_to(self, dim: int) -> bool:
        """Does any threshold apply to sites of this dimension (2 polygon, 1 line)?"""
        return self.share is not None or (self.area_m2 if dim == 2 else self.length_m if dim == 1 else None) \
            is not None

    def describe(self) -> str:
        parts = []
        if self.area_m2 is not None:
            parts.append(f"{self.area_m2 / 10_000:,.6g} ha" if self.area_m2 >= 10_000 else f"{self.area_m2:,.6g} m²")
        if self.length_m is not None:
            parts.append(f"{self.length_m / 1000:,.6g} km" if self.length_m >= 1000 else f"{self.length_m:,.6g} m")
        if self.share is not None:
            parts.append(f"{self.share * 100:g}% of the site")
        return " and ".join(parts)

    def slivers(self, project: np.ndarray, overlap: np.ndarray, site_measure: np.ndarray,
                dims: np.ndarray) -> np.ndarray:
        """Per (project, unit) piece: is it a sliver? (Arrays aligned with the pieces.)"""
        below = np.ones(len(overlap), bool)
        applicable = np.zeros(len(overlap), bool)
        for limit, dim in ((self.area_m2, 2), (self.length_m, 1)):
            if limit is not None:
                below &= np.where(dims == dim, overlap < limit, True)
                applicable |= dims == dim
        if self.share is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                below &= overlap < self.share * site_measure
            applicable |= dims > 0
        sliver = below & applicable
        order = np.lexsort((-overlap, project))  # per project, largest first
        first = order[np.r_[True, project[order][1:] != project[order][:-1]]]
        sliver[first] = False
        return sliver

