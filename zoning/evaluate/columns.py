"""Project inputs as the arrays compiled conditions read, and which inputs are missing.

:class:`Columns` implements :class:`zoning.rules.conditions.ProjectColumns`:
industry code prefixes per tree level as integer keys, the project type as
an index, attributes as floats (NaN = not given), and distances to zones
measured on demand. Missing inputs are tracked as bitmasks
(:class:`InputBits`), so that a clause left undecided can name what it lacks.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import pandas as pd

from zoning.errors import DataError
from zoning.evaluate.parameters import ParameterValues
from zoning.evaluate.proximity import Proximity
from zoning.industries import table as industry_table
from zoning.projects import PROJECT_TYPES
from zoning.rules.conditions import Condition
from zoning.vocabulary import Vocabulary, builtin

#: inputs a clause can be missing besides attributes
OTHER_INPUTS = ("industry", "type", "industry class (4-digit)")


class InputBits:
    """Bit positions of the inputs a rule set's clauses read, so that which are missing is one integer.

    Only attributes some clause names get a bit (in the vocabulary's order),
    then ``industry``, ``type`` and ``industry class (4-digit)``; 63 in all at most.
    """

    def __init__(self, vocabulary: Vocabulary, used: Iterable[str]):
        wanted = set(used)
        self.names = (*[a for a in vocabulary if a in wanted], *OTHER_INPUTS)
        if len(self.names) > 63:
            raise DataError(f"the clauses name {len(self.names) - len(OTHER_INPUTS)} different attributes; at most "
                            f"{63 - len(OTHER_INPUTS)} are supported in one rule set")
        self.bit = {name: 1 << i for i, name in enumerate(self.names)}

    def of(self, cond: Condition, unless: Condition | None) -> int:
        """Bitmask of the inputs a clause's condition and exception read."""
        names = cond.attributes() | (unless.attributes() if unless is not None else frozenset())
        bits = 0
        for name in names:
            bits |= self.bit[name]
            if name == "industry":
                bits |= self.bit["industry class (4-digit)"]
        return bits

    def names_of(self, bits: int) -> list[str]:
        """The inputs a bitmask names, in order."""
        return [name for name in self.names if bits & self.bit[name]]

    def missing(self, cols: Columns, among: int = -1) -> np.ndarray:
        """Per project of ``cols``, a bitmask of the inputs not supplied (of those in ``among``, a bitmask:
        the attributes outside it are not read, their bits left 0; default all)."""
        bits = np.zeros(cols.n, np.int64)
        for name in self.names[:-len(OTHER_INPUTS)]:
            if among & self.bit[name]:
                bits |= np.where(np.isnan(cols.attribute(name)), self.bit[name], 0)
        bits |= np.where(cols.industry_level == 0, self.bit["industry"], 0)
        bits |= np.where((cols.industry_level > 0) & (cols.industry_level < 4),
                         self.bit["industry class (4-digit)"], 0)
        bits |= np.where(cols.type < 0, self.bit["type"], 0)
        return bits


class Columns:
    """Project inputs as arrays (see :class:`zoning.conditions.ProjectColumns`)."""

    def __init__(self, industry, industry_level, type_, attributes, industry_index=None, industry_codes=None,
                 proximity: Proximity | None = None, rows: np.ndarray | None = None,
                 units: np.ndarray | None = None, zones: np.ndarray | None = None,
                 parameters: ParameterValues | None = None, pieces: np.ndarray | None = None):
        self.industry = industry
        self.industry_level = industry_level
        self.type = type_
        self.attributes = attributes
        self.n = len(type_)
        self.industry_index = industry_index  # per project: index into industry_codes
        self.industry_codes = industry_codes  # distinct codes; the last entry, "", is "not given"
        self.proximity = proximity  # distances to zones, when sites are known
        self.rows = np.arange(self.n) if rows is None else rows  # project index of each row
        self.units = units  # per row: the unit it is evaluated in (None: not known, e.g. a probe)
        self.zones = zones  # per row: the zone it was reached through (-1: through its unit)
        self.parameters = parameters  # parameter tables resolved against the layers
        #: per row: the site piece (project, unit pair) that distances and zones are measured from
        self.pieces = self.rows if pieces is None else pieces

    @classmethod
    def from_projects(cls, projects: pd.DataFrame, vocabulary: Vocabulary | None = None) -> Columns:
        """The columns of normalised ``projects`` (see :func:`zoning.projects.normalise`), with the
        attributes of ``vocabulary`` (default: the built-in one)."""
        # work on the distinct codes, then spread by integer index
        index, distinct = pd.factorize(projects["industry"].to_numpy(dtype=object), use_na_sentinel=True)
        codes = [*distinct.tolist(), ""]  # the last entry stands for "not given"
        table = np.array([_code_keys(code) for code in codes], dtype=np.int64).reshape(len(codes), 5)
        index = np.where(index < 0, len(distinct), index)
        industry = {width: table[:, width][index] for width in (1, 2, 3, 4)}
        level = table[:, 0].astype(np.int8)[index]
        t_index, t_distinct = pd.factorize(projects["type"].to_numpy(dtype=object), use_na_sentinel=True)
        type_ = np.array([PROJECT_TYPES.index(t) for t in t_distinct] + [-1], dtype=np.int8)[t_index]
        attrs = _Read(projects, list(vocabulary or builtin()))
        return cls(industry, level, type_, attrs, index, codes)

    def take(self, idx: np.ndarray, units: np.ndarray | None = None, zones: np.ndarray | None = None,
             pieces: np.ndarray | None = None) -> Columns:
        """The rows ``idx`` (evaluated in ``units``, reached through ``zones``, measured from the site
        ``pieces``); columns are gathered only when a condition reads them."""
        return Columns(_Taken(self.industry, idx), self.industry_level[idx], self.type[idx],
                       _Taken(self.attributes, idx), proximity=self.proximity, rows=self.rows[idx],
                       units=units, zones=zones, parameters=self.parameters,
                       pieces=self.pieces[idx] if pieces is None else pieces)

    def attribute(self, name: str) -> np.ndarray:
        return self.attributes[name]

    def parameter(self, name: str) -> np.ndarray:
        """Per row, the value of parameter ``name`` for the row's unit (or zone); NaN where none is known."""
        if self.parameters is None or self.units is None:
            return np.full(self.n, np.nan)
        return self.parameters.rows(name, self.units, self.zones if self.zones is not None else -np.ones(self.n, int))

    def distance(self, condition) -> np.ndarray | None:
        """Per row, metres from the site piece to the nearest zone ``condition`` names (inf beyond its
        limit); None without sites."""
        if self.proximity is None:
            return None
        return self.proximity.measure(condition.key, self.pieces)[0]

    def inside(self, condition) -> tuple[np.ndarray, np.ndarray] | None:
        """Per row, whether the site piece lies inside a zone ``condition`` names, and its share inside."""
        if self.proximity is None:
            return None
        return self.proximity.inside(condition.key, self.pieces)


class _Read:
    """The attribute columns of a frame as float arrays, each read when a condition first reads it (a
    check reads a few of the vocabulary's attributes; a column read from a frame costs more than its use)."""

    def __init__(self, frame: pd.DataFrame, names: list[str]):
        self._frame, self._names = frame, names
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            if key not in self._names:
                raise KeyError(key)
            self._cache[key] = self._frame[key].to_numpy(dtype=float)
        return self._cache[key]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def items(self):
        return ((k, self[k]) for k in self._names)


class _Taken:
    """A mapping of arrays, indexed by ``idx`` on first access (each key at most once)."""

    def __init__(self, arrays: dict, idx: np.ndarray):
        self._arrays, self._idx = arrays, idx
        self._cache: dict[object, np.ndarray] = {}

    def __getitem__(self, key):
        if key not in self._cache:
            self._cache[key] = self._arrays[key][self._idx]
        return self._cache[key]

    def items(self):
        return ((k, self[k]) for k in self._arrays)


@functools.cache
def _code_keys(code: str) -> tuple[int, int, int, int, int]:
    """A canonical industry code's level (0: not given, 1: a section letter, else its digits up to 4)
    and its integer key at each tree level 1 to 4 (-1 where the code does not reach that level): the
    section letter's code point, then the prefix of 2, 3 and 4 digits as a number."""
    level = 1 if code.isalpha() else min(len(code), 4)
    section = industry_table().section_of.get(code[:2]) or ""
    digits = [int(code[:w]) if level >= w and code[:w].isascii() and code[:w].isdigit() else -1 for w in (2, 3, 4)]
    return level, ord(section) if section else -1, digits[0], digits[1], digits[2]
