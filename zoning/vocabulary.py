"""Project attributes: the vocabulary that clauses, registries, the command line and the API share.

A project carries named attributes of three kinds: **numbers** with a unit
(emissions in t/a, generating capacity in MW, output value in 万元…),
**flags** (true/false: in a park, combined heat and power…) and
**categories** (one of a set of values: the fuel is coal, oil, gas…). The
built-in declarations ship with zoning (``zoning/data/attributes.yaml``); a
rule set declares its own in a ``*.attributes.yaml`` file beside its lists
(see :mod:`zoning.rules.loading`), and they then work everywhere the
built-in ones do: clauses, ``--attr``, registry headers, ``--col``, the API,
the audit trail and ``missing``.

Clauses may only name declared attributes, so a typo in a rule file or on
the command line is caught instead of silently never matching. Values are
held as floats: numbers in the attribute's unit, flags as 1.0/0.0,
categories as the index of their value; NaN means "not given".
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from importlib.resources import files
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from zoning.errors import DataError, InputError

Kind = Literal["number", "flag", "category"]

#: what registries write for "none given"; read as not supplied, never as zero
PLACEHOLDERS = {"/", "-", "--", "—", "——", "－", "无", "n/a", "N/A", "NA", "暂无", "\\"}
_TRUE = {"true", "yes", "y", "1", "是", "t", "√", "✓", "✔", "有"}
_FALSE = {"false", "no", "n", "0", "否", "f", "×", "✗", "✘", "无"}
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")
_WITH_UNIT = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s.,+\-].*)$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
#: project fields that are not attributes: a rule set may not declare these names
RESERVED = frozenset({"name", "lon", "lat", "wkt", "geometry", "industry", "type", "date"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quantity(_Model):
    """A kind of quantity: the unit values are held in, and other units converted to it."""

    unit: str
    units: dict[str, float] = {}


class AttributeSpec(_Model):
    """One declared attribute (see the module doc)."""

    name: str = Field(pattern=_NAME.pattern)
    kind: Kind
    description: str = ""
    #: other names, best first: accepted as keys (--attr, the API) and as registry headers
    aliases: list[str] = []
    quantity: str | None = None  # numbers: a quantity of the vocabulary, giving unit and conversions
    unit: str = ""  # numbers: the unit values are held in (from the quantity when not given)
    units: dict[str, float] = {}  # numbers: more conversions to ``unit``
    values: dict[str, list[str]] = {}  # categories: each value and the words registries write for it
    emission: bool = False  # a pollutant emission (its bad values are counted as such)

    @model_validator(mode="after")
    def _fits_its_kind(self) -> AttributeSpec:
        if self.kind == "category" and not self.values:
            raise ValueError(f"category {self.name!r} needs values")
        if self.kind != "category" and self.values:
            raise ValueError(f"{self.name!r} is a {self.kind}: only categories have values")
        if self.kind != "number" and (self.quantity or self.unit or self.units):
            raise ValueError(f"{self.name!r} is a {self.kind}: only numbers have a unit")
        for unit, factor in self.units.items():
            if not (math.isfinite(factor) and factor > 0):
                raise ValueError(f"{self.name!r}: conversion from {unit!r} must be a positive number")
        return self

    @property
    def flag(self) -> bool:
        return self.kind == "flag"

    @property
    def category(self) -> bool:
        return self.kind == "category"

    @property
    def choices(self) -> list[str]:
        """A category's values, in order: a value is held as its index."""
        return list(self.values)


class Declarations(_Model):
    """What an attributes file holds: quantities and attributes."""

    quantities: dict[str, Quantity] = {}
    attributes: list[AttributeSpec] = []


class Vocabulary:
    """The attributes known to an engine: the built-in ones and those its rule set declares."""

    def __init__(self, quantities: Mapping[str, Quantity], attributes: Iterable[AttributeSpec]):
        self.quantities = dict(quantities)
        self.attributes: dict[str, AttributeSpec] = {}
        for spec in attributes:
            if spec.kind == "number":
                spec = self._resolved(spec)
            self.attributes[spec.name] = spec
        self._keys: dict[str, str] = {}
        for spec in self.attributes.values():
            for key in (spec.name, *spec.aliases):
                self._keys.setdefault(_key(key), spec.name)
        self._categories = {name: {_key(word): i for i, (value, words) in enumerate(spec.values.items())
                                   for word in (value, *words)}
                            for name, spec in self.attributes.items() if spec.category}
        self._factors = {name: {_key(unit): factor for unit, factor in spec.units.items()}
                         for name, spec in self.attributes.items()}
        #: what other modules derive from this vocabulary once (header tables…), by their own keys
        self.cache: dict[str, object] = {}

    def _resolved(self, spec: AttributeSpec) -> AttributeSpec:
        """A number's unit and conversions, from its quantity and its own."""
        if spec.quantity is not None and spec.quantity not in self.quantities:
            raise DataError(f"attribute {spec.name!r}: unknown quantity {spec.quantity!r} "
                            f"(known: {', '.join(self.quantities)})")
        quantity = self.quantities.get(spec.quantity or "", Quantity(unit=spec.unit))
        unit = spec.unit or quantity.unit
        if spec.quantity is not None and spec.unit and spec.unit != quantity.unit:
            raise DataError(f"attribute {spec.name!r}: unit {spec.unit!r} is not the unit of quantity "
                            f"{spec.quantity!r} ({quantity.unit})")
        units = {unit: 1.0, **quantity.units, **spec.units} if unit else dict(spec.units)
        return spec.model_copy(update={"unit": unit, "units": units})

    # -- the vocabulary as a whole ---------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self.attributes

    def __iter__(self):
        return iter(self.attributes)

    def __len__(self) -> int:
        return len(self.attributes)

    def __getitem__(self, name: str) -> AttributeSpec:
        return self.attributes[name]

    def extended(self, declarations: Declarations, source: str = "") -> Vocabulary:
        """This vocabulary with ``declarations`` added (a name declared twice is refused)."""
        taken = [a.name for a in declarations.attributes if a.name.lower() in RESERVED]
        if taken:
            raise DataError(f"{source}: {taken[0]!r} is a project field, not an attribute; give it another name")
        clash = [a.name for a in declarations.attributes if a.name in self.attributes]
        if clash:
            raise DataError(f"{source}: attribute {clash[0]!r} is already declared; give it another name")
        for a in declarations.attributes:  # an alias another attribute answers to would never reach this one
            for alias in a.aliases:
                owner = self._keys.get(_key(alias))
                if owner is not None:
                    raise DataError(f"{source}: alias {alias!r} of attribute {a.name!r} already names attribute "
                                    f"{owner!r}; drop it or choose another")
        try:
            return Vocabulary({**self.quantities, **declarations.quantities},
                              [*self.attributes.values(), *declarations.attributes])
        except DataError as exc:
            raise DataError(f"{source}: {exc}") from None

    def union(self, other: Vocabulary) -> Vocabulary:
        """The attributes of both (two rule sets compared): one name must mean the same in both."""
        if other is self:
            return self
        extra = []
        for name, spec in other.attributes.items():
            if name not in self.attributes:
                extra.append(spec)
            elif spec != self.attributes[name]:
                raise DataError(f"attribute {name!r} is declared differently in the two rule sets")
        return Vocabulary({**self.quantities, **other.quantities}, [*self.attributes.values(), *extra])

    @property
    def emissions(self) -> tuple[str, ...]:
        return tuple(name for name, spec in self.attributes.items() if spec.emission)

    # -- names and values ------------------------------------------------------------
    def name(self, key: object) -> str:
        """The attribute ``key`` names (its name or an alias, case, width and spaces ignored)."""
        text = str(key).strip()
        canonical = self._keys.get(_key(text))
        if canonical is None:
            near = difflib.get_close_matches(text, list(self.attributes), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise InputError(f"unknown project attribute {text!r}{hint} (known: {', '.join(self.attributes)})")
        return canonical

    def lookup(self, key: object) -> str | None:
        """The attribute ``key`` names, or None."""
        return self._keys.get(_key(str(key)))

    def value(self, name: str, value: object) -> float:
        """Parse one value of attribute ``name`` (held as a float; NaN for "not given").

        Numbers may use full-width digits or thousands separators (``1,234.5``)
        and carry a unit the attribute converts (``600kW`` for MW); a flag may
        carry a note (``是（化工园区）``); a category is a value or one of its words.
        """
        spec = self.attributes[self.name(name)]
        if isinstance(value, bool):
            if not spec.flag:
                raise InputError(f"attribute {spec.name} must be {self._expects(spec)}, not {value}")
            return 1.0 if value else 0.0
        text = unicodedata.normalize("NFKC", str(value)).strip()
        if text in PLACEHOLDERS and not (spec.flag and text in _FALSE):
            return np.nan
        if spec.flag:
            return _flag(spec, text, value)
        if spec.category:
            code = self._categories[spec.name].get(_key(re.sub(r"[(（].*[)）]$", "", text).strip()))
            if code is None:
                raise InputError(f"attribute {spec.name} is one of {', '.join(spec.choices)}, not {str(value)!r}")
            return float(code)
        return _number(spec, text, value)

    def category_code(self, name: str, value: object) -> int:
        """The index of ``value`` among category ``name``'s values (for conditions)."""
        code = self._categories[name].get(_key(str(value)))
        if code is None:
            spec = self.attributes[name]
            close = difflib.get_close_matches(str(value), spec.choices, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"{value!r} is not a value of {name} ({hint}values: {', '.join(spec.choices)})")
        return code

    def text(self, name: str, value: float) -> str:
        """A held value as people read it: ``12.5 t/a``, ``true``, ``coal``; "not given" for NaN."""
        spec = self.attributes[name]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "not given"
        if spec.flag:
            return "true" if value else "false"
        if spec.category:
            return spec.choices[int(value)]
        return f"{number_text(value)} {spec.unit}".rstrip()

    def factor(self, name: str, unit: str) -> float | None:
        """The factor from ``unit`` to number ``name``'s own unit (case and width ignored); None if unknown."""
        return self._factors[name].get(_key(unit))

    @staticmethod
    def _expects(spec: AttributeSpec) -> str:
        return {"number": f"a number ({spec.unit})" if spec.unit else "a number", "flag": "true or false",
                "category": f"one of {', '.join(spec.choices)}"}[spec.kind]


def _key(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _flag(spec: AttributeSpec, text: str, raw: object) -> float:
    word = re.sub(r"[(（].*[)）]$", "", text).strip().lower()
    if word in _TRUE:
        return 1.0
    if word in _FALSE:
        return 0.0
    try:
        if float(word) in (0.0, 1.0):
            return float(word)
    except ValueError:
        pass
    raise InputError(f"attribute {spec.name} is true/false, not {str(raw)!r}")


def _number(spec: AttributeSpec, text: str, raw: object) -> float:
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    factor = 1.0
    try:
        number = float(text)
    except ValueError:
        with_unit = _WITH_UNIT.match(text)  # 600kW, 3 万千瓦
        if not with_unit:
            raise InputError(f"attribute {spec.name} must be a number ({spec.unit}), not {str(raw)!r}") from None
        found = {_key(u): f for u, f in spec.units.items()}.get(_key(with_unit[2]))
        if found is None:
            known = ", ".join(list(spec.units)[:8])
            raise InputError(f"attribute {spec.name}: unit {with_unit[2].strip()!r} is not a unit of {spec.name} "
                             f"({spec.unit}{'; or ' + known if known else ''})") from None
        number, factor = float(with_unit[1]), found
    if not np.isfinite(number) or number < 0:
        raise InputError(f"attribute {spec.name} must be a non-negative number, not {str(raw)!r}")
    return round(number * factor, 9) if factor != 1.0 else number


def number_text(value: float) -> str:
    """A threshold or value as written: every digit kept (1234567, not 1.23457e+06), no trailing zeros."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15g}"


def read_declarations(text: str, source: str) -> Declarations:
    """Declarations from YAML text (safe loading), refused with ``source`` named when malformed."""
    try:
        data = yaml.safe_load(text) or {}
        return Declarations.model_validate(data)
    except yaml.YAMLError as exc:
        raise DataError(f"{source}: not valid YAML: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise DataError(f"{source}: {where}: {first['msg'].removeprefix('Value error, ')}") from None


@functools.cache
def builtin() -> Vocabulary:
    """The attributes zoning knows without being told (``zoning/data/attributes.yaml``)."""
    text = (files("zoning") / "data" / "attributes.yaml").read_text(encoding="utf-8")
    declarations = read_declarations(text, "zoning/data/attributes.yaml")
    return Vocabulary(declarations.quantities, declarations.attributes)
