"""Parameters: thresholds that differ by unit, unit type, county or zone, kept as dated tables beside the lists.

Lists often state one rule with a value per unit ("用水总量控制指标", boiler
limits that differ in key and general units). A ``*.parameters.yaml`` file
beside the lists declares such tables::

    parameters:
      - name: water_intensity_cap            # read in clauses as $water_intensity_cap
        unit: m3/万元
        description: 万元工业增加值用水量上限
        by: unit                             # unit | unit_type | admin | zone | zone_kind | column
        values: {ZH13063210001: 8, ZH13063230001: 12}
        file: water_caps.csv                 # or a CSV beside this file, columns key,value
        default: 15                          # optional: for every key not listed
        effective_from: 2021-06-30           # optional: versions like lists' (one in force per date)
        source: {document: 《…》, issuer: …, date: 2021-06-30, article: 附表2}

``by: column`` takes each unit's value from a column of the unit layer
(``column: WATER_CAP``). A clause reads a parameter with ``$name`` in an
``expr`` condition or an obligation's amount; the value used is cited with
the clause, and a unit (or zone) a clause applies to without a value for
its parameter is refused when the engine is built.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from zoning.errors import DataError
from zoning.rules.nodes import StrictModel
from zoning.rules.schema import Identifier, Source
from zoning.rules.yamlfile import line_of, read_model

Key = Literal["unit", "unit_type", "admin", "zone", "zone_kind", "column"]
#: keys that give each zone its value, not each unit
ZONE_KEYS = ("zone", "zone_kind")


class ParameterSpec(StrictModel):
    """One parameter table (one version of it)."""

    name: Identifier
    by: Key
    unit: str = ""
    description: str = ""
    values: dict[str, float] = {}
    file: str | None = None
    column: str | None = None
    default: float | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    source: Source = Source()
    path: str = Field(default="", exclude=True)
    _lines: dict = PrivateAttr(default_factory=dict)

    @field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, values: object) -> object:
        return {str(k): v for k, v in values.items()} if isinstance(values, dict) else values

    @model_validator(mode="after")
    def _complete(self) -> ParameterSpec:
        if self.by == "column" and not self.column:
            raise ValueError(f"parameter {self.name}: by: column needs column: (a column of the unit layer)")
        if self.by != "column" and self.column:
            raise ValueError(f"parameter {self.name}: column: is for by: column")
        if self.by != "column" and not (self.values or self.file or self.default is not None):
            raise ValueError(f"parameter {self.name}: give values:, a file: or a default:")
        for key, value in {**self.values, **({"default": self.default} if self.default is not None else {})}.items():
            if not math.isfinite(value):
                raise ValueError(f"parameter {self.name}: the value for {key} is not a finite number")
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            raise ValueError(f"parameter {self.name}: effective_to is before effective_from")
        lacking = [f for f in ("document", "issuer", "date", "article") if getattr(self.source, f) is None]
        if lacking:
            raise ValueError(f"parameter {self.name}: source needs {', '.join(lacking)} (it is cited)")
        return self

    def in_force(self, on: dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= on) and (
            self.effective_to is None or on <= self.effective_to)

    @property
    def by_zone(self) -> bool:
        return self.by in ZONE_KEYS

    def line(self, *loc: str | int) -> int | None:
        return line_of(self._lines, loc)


class _File(StrictModel):
    parameters: list[ParameterSpec] = Field(min_length=1)


def load_parameters(files: Iterable[Path]) -> list[ParameterSpec]:
    """Every parameter table in ``files`` (``*.parameters.yaml``), CSV values read; versions of one name
    must not overlap in time. Problems raise :class:`DataError` naming ``file:line``."""
    out: list[ParameterSpec] = []
    for path in files:
        parsed, lines = read_model(path, _File, "Parameters")
        for i, spec in enumerate(parsed.parameters):
            values = dict(spec.values)
            if spec.file:
                values.update(_csv_values(path.parent / spec.file, path, lines.get(("parameters", i, "file"))))
            spec = spec.model_copy(update={"values": values, "path": str(path)})
            spec._lines = {k[2:]: v for k, v in lines.items() if k[:2] == ("parameters", i)}
            out.append(spec)
    _check_versions(out)
    return out


def _csv_values(csv_path: Path, declared_in: Path, line: int | None) -> dict[str, float]:
    """key,value rows of a parameter's CSV file (a header row is skipped when its value is not a number)."""
    where = f"{declared_in}:{line or 1}"
    try:
        with open(csv_path, encoding="utf-8-sig", newline="") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise DataError(f"{where}: parameter file {csv_path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DataError(f"{where}: parameter file {csv_path}: not UTF-8 text") from None
    except csv.Error as exc:  # e.g. a cell longer than the csv module's field limit
        raise DataError(f"{where}: parameter file {csv_path}: not a readable CSV table ({exc})") from None
    values: dict[str, float] = {}
    for number, row in enumerate(rows, 1):
        if len(row) < 2:
            raise DataError(f"{csv_path}:{number}: expected key,value")
        try:
            value = float(row[1])
        except ValueError:
            if number == 1:
                continue  # a header row
            raise DataError(f"{csv_path}:{number}: value {row[1]!r} is not a number") from None
        if not math.isfinite(value):
            raise DataError(f"{csv_path}:{number}: value {row[1]!r} is not a finite number")
        values[row[0].strip()] = value
    return values


def _check_versions(specs: list[ParameterSpec]) -> None:
    by_name: dict[str, list[ParameterSpec]] = {}
    for spec in specs:
        by_name.setdefault(spec.name, []).append(spec)
    for name, versions in by_name.items():
        ordered = sorted(versions, key=lambda s: s.effective_from or dt.date.min)
        for a, b in zip(ordered, ordered[1:]):
            if a.effective_to is None or b.effective_from is None or a.effective_to >= b.effective_from:
                raise DataError(f"{b.path}:{b.line('effective_from') or 1}: parameter {name} has versions in "
                                f"{a.path} and {b.path} whose periods overlap: give each effective_from and "
                                "effective_to so that one is in force on any date")


def in_force(specs: Iterable[ParameterSpec], on: dt.date) -> dict[str, ParameterSpec]:
    """The version of each parameter in force on ``on``."""
    return {spec.name: spec for spec in specs if spec.in_force(on)}
