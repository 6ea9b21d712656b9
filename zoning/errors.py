"""Errors and warnings for problems a user can fix, and how their messages name parameters.

Every exception zoning raises on purpose is a :class:`ZoningError`: bad data
(:class:`DataError`: a unit layer, zone layer, access list or registry file),
bad input (:class:`InputError`: a project's location, industry or
attributes, or a parameter's value) or parameters that do not fit together
(:class:`ParameterError`). The command line turns them into one
line on stderr and exit status 1; anything else is a bug and surfaces as a
traceback. Repairs made to data come as :class:`DataWarning`.

A message about a parameter names it the way the interface in use does:
``min_overlap`` in Python, ``--min-overlap`` on the command line. Core code
writes :func:`parameter` instead of a flag; a front end declares its own
names for the duration of a call with :func:`parameter_names`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar


class ZoningError(Exception):
    """Base class for problems a user can fix."""


class DataError(ZoningError):
    """A unit layer, zone layer, access list or registry file is malformed or unreadable."""


class InputError(ZoningError):
    """A project description (location, industry, attributes) or a parameter value is malformed."""


class ParameterError(InputError, ValueError):
    """A parameter that sets how a run works has a value it cannot have, or parameters contradict
    each other: an unknown CRS, a minimum overlap in parsecs, an output file that is the input, units
    of your own without the lists that go with them.

    A ``ValueError`` (and an :class:`InputError`) in Python; the command line reports it as a usage
    error (exit status 2), while a refused project description or file is exit status 1.
    """


class DataWarning(UserWarning):
    """A data problem that was repaired; the message says what changed."""


_NAMES: ContextVar[Mapping[str, str] | None] = ContextVar("zoning_parameter_names", default=None)


def parameter(name: str, value: str | tuple[str, str] | None = None) -> str:
    """How the interface in use writes the parameter ``name``, optionally with an example ``value``.

    In Python: ``crs``, ``crs='cgcs2000-3'``, ``columns={'lon': 'HEADER'}`` (a
    ``(key, value)`` pair is one item of a mapping parameter). Under
    :func:`parameter_names` (the command line): ``--crs``, ``--crs cgcs2000-3``,
    ``--col lon=HEADER``.
    """
    flag = (_NAMES.get() or {}).get(name)
    if flag is None:
        if value is None:
            return name
        if isinstance(value, tuple):
            return f"{name}={{{value[0]!r}: {value[1]!r}}}"
        return f"{name}={value!r}"
    if value is None:
        return flag
    if isinstance(value, tuple):
        return f"{flag} {value[0]}={value[1]}"
    return f"{flag} {value}"


@contextlib.contextmanager
def parameter_names(names: Mapping[str, str]) -> Iterator[None]:
    """Within the block, messages name parameters as ``names`` maps them (e.g. ``{"crs": "--crs"}``)."""
    token = _NAMES.set(dict(names))
    try:
        yield
    finally:
        _NAMES.reset(token)
