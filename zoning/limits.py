"""Input size limits: how large one cell, one expanded archive and one rule file may be.

A bureau reads files from thousands of enterprises, and a rule file may come
from anywhere; these limits keep a hostile or broken file from exhausting
memory (a "zip bomb" workbook, a YAML alias bomb, a 50 MB cell). Each is
checked before the data is read, where possible, and a file beyond a limit
is refused with a message naming the file, what was found and the limit.

The defaults fit real data with a wide margin. To raise one, call inside
:func:`using`, or on the command line give ``zoning --max-cell-chars N
COMMAND`` (also ``--max-expanded-mb``, ``--max-rule-items``; or the
environment variables ``ZONING_MAX_CELL_CHARS`` …).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The limits in force (see the module doc)."""

    #: characters in one cell of a registry, or one text field of a layer
    cell_chars: int = 1_000_000
    #: megabytes a compressed input (an .xlsx workbook) may expand to
    expanded_mb: int = 1024
    #: items (keys, values, list entries) a rule file may hold once anchors and aliases are expanded
    rule_items: int = 500_000
    #: how deeply a rule file may nest (mappings and lists inside one another)
    rule_depth: int = 64

    def with_(self, **changes: int | None) -> Limits:
        """These limits with the given ones changed (None: unchanged)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


#: the command-line options that raise each limit, for messages
OPTIONS = {"cell_chars": "--max-cell-chars", "expanded_mb": "--max-expanded-mb", "rule_items": "--max-rule-items",
           "rule_depth": "--max-rule-depth"}

_DEFAULT = Limits()
_CURRENT: ContextVar[Limits | None] = ContextVar("zoning_limits", default=None)


def current() -> Limits:
    """The limits in force."""
    return _CURRENT.get() or _DEFAULT


@contextlib.contextmanager
def using(limits: Limits) -> Iterator[Limits]:
    """Within the block, ``limits`` are in force."""
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


def how_to_raise(name: str) -> str:
    """How a user raises limit ``name``: the option, and the Python way."""
    return f"raise it with zoning {OPTIONS[name]} N, or zoning.limits.using(Limits({name}=N))"
