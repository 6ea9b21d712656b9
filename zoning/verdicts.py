"""Verdicts and clause effects: the one ordered scale every part of zoning uses.

Four verdicts are decided by clauses, ordered by strictness:
``permitted`` < ``undetermined`` (a prohibit or restrict clause could not be
decided: an input is missing) < ``restricted`` < ``prohibited``. Two more are
not decisions and come after them: ``not_covered`` (the site lies in no
management unit, so nothing was checked) and ``error`` (the row could not be
evaluated). Because they come last, "at least as strict as" counts them as
failing: nothing shows such a project passes.

Results and outputs write a verdict by its :attr:`Verdict.key`
(``"prohibited"``); labels in Chinese and English come from here, so that the
terminal, reports, maps and summaries say the same.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Verdict(IntEnum):
    """A project's outcome; comparisons follow strictness (see the module doc)."""

    PERMITTED = 0
    UNDETERMINED = 1
    RESTRICTED = 2
    PROHIBITED = 3
    NOT_COVERED = 4
    ERROR = 5

    @property
    def key(self) -> str:
        """The verdict as results, columns and JSON write it: ``prohibited``, ``not_covered``…"""
        return self.name.lower()

    @property
    def en(self) -> str:
        """English words: ``prohibited``, ``not covered``."""
        return self.key.replace("_", " ")

    @property
    def zh(self) -> str:
        """Chinese label, in full: ``待定（缺少输入）``, ``不在任何管控单元内``."""
        return _ZH[self][0]

    @property
    def zh_short(self) -> str:
        """Chinese label for legends and titles: ``待定``, ``不在管控单元内``."""
        return _ZH[self][1]

    @property
    def title(self) -> str:
        """Bilingual title, as reports print it: ``禁止 PROHIBITED``."""
        return f"{self.zh_short} {self.en.upper()}"

    @property
    def decided(self) -> bool:
        """True for the four verdicts clauses decide; False for ``not_covered`` and ``error``."""
        return self <= Verdict.PROHIBITED

    @classmethod
    def of(cls, value: str | int) -> Verdict:
        """The verdict named by ``value`` (a key such as ``"restricted"``, or a member)."""
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                raise ValueError(f"unknown verdict {value!r} (one of {', '.join(KEYS)})") from None
        return cls(value)

    def at_least(self, threshold: str | int) -> bool:
        """Is this verdict at least as strict as ``threshold``? ``not_covered`` and ``error`` always are."""
        return self >= Verdict.of(threshold)


_ZH = {
    Verdict.PERMITTED: ("允许", "允许"),
    Verdict.UNDETERMINED: ("待定（缺少输入）", "待定"),
    Verdict.RESTRICTED: ("限制", "限制"),
    Verdict.PROHIBITED: ("禁止", "禁止"),
    Verdict.NOT_COVERED: ("不在任何管控单元内", "不在管控单元内"),
    Verdict.ERROR: ("无法判定（输入有误）", "无法判定"),
}

#: every verdict's key, indexed by its value
KEYS = tuple(v.key for v in Verdict)
#: most serious first, as summaries and listings order them
SERIOUSNESS = (Verdict.PROHIBITED, Verdict.RESTRICTED, Verdict.UNDETERMINED, Verdict.PERMITTED,
               Verdict.NOT_COVERED, Verdict.ERROR)
#: the verdict a clause gives when it applies; ``require`` (an obligation) never changes the verdict
EFFECT_VERDICT = {"prohibit": Verdict.PROHIBITED, "restrict": Verdict.RESTRICTED, "require": Verdict.PERMITTED,
                  "encourage": Verdict.PERMITTED}
#: Chinese names of the effects
EFFECT_LABELS = {"prohibit": "禁止", "restrict": "限制", "require": "要求", "encourage": "鼓励"}

_KEY_ARRAY = np.array(KEYS, dtype=object)


def keys_of(levels: np.ndarray) -> np.ndarray:
    """Verdict keys for an array of verdict values (vectorised: one lookup, no Python per row)."""
    return _KEY_ARRAY[np.asarray(levels, dtype=np.int64)]
