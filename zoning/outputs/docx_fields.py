"""Word fields and text runs for the DOCX writer, and the widths of table columns.

- :func:`add_field`: a complex field (``PAGE``, ``NUMPAGES``, ``SEQ Table``, ``TOC``) with the
  result shown until Word or LibreOffice updates it;
- :func:`add_text`: text whose hyphens are non-breaking (``w:noBreakHyphen``), so that ids such
  as ``hebei-province/KJ-4`` or dates never break across lines (python-docx reads them back as
  ``-``); line breaks and tabs as Word's own;
- :func:`column_widths`: widths for a fixed-layout table, each column at least as wide as its
  longest unbreakable word (an id, a number, an English word), the rest shared by weight, so that
  a short word such as "restrict" never wraps letter by letter.
"""

from __future__ import annotations

import re
import unicodedata

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

_PIECES = re.compile(r"(\n|\t|-)")
#: characters XML 1.0 (and so Word) cannot hold
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text) -> str:
    """Text as Word can hold it: control characters other than tab and newline dropped."""
    return _NOT_XML.sub("", str(text))


def add_text(paragraph, text, *, bold: bool = False, size=None, colour: str | None = None):
    """A run holding ``text`` (control characters dropped), its hyphens non-breaking; returns the run."""
    from docx.shared import RGBColor

    run = paragraph.add_run()
    r = run._r
    for piece in _PIECES.split(clean(text).replace("\r\n", "\n").replace("\r", "\n")):
        if piece == "\n":
            r.append(OxmlElement("w:br"))
        elif piece == "\t":
            r.append(OxmlElement("w:tab"))
        elif piece == "-":
            r.append(OxmlElement("w:noBreakHyphen"))
        elif piece:
            t = OxmlElement("w:t")
            t.text = piece
            t.set(qn("xml:space"), "preserve")
            r.append(t)
    if bold:
        run.bold = True
    if size is not None:
        run.font.size = size
    if colour is not None:
        run.font.color.rgb = RGBColor.from_string(colour)
    return run


def add_field(paragraph, instruction: str, shown: str = "", *, dirty: bool = False) -> None:
    """A complex field: ``instruction`` (e.g. ``PAGE``, ``SEQ Table \\* ARABIC``) and the result shown until
    it is updated; ``dirty`` asks Word to update it when the document opens."""
    field_begin(paragraph, instruction, dirty=dirty)
    if shown:
        add_text(paragraph, shown)
    field_end(paragraph)


def field_begin(paragraph, instruction: str, *, dirty: bool = False) -> None:
    """The start of a field whose result spans paragraphs (a table of contents): begin, instruction,
    separate. :func:`field_end` closes it in a later paragraph."""
    for kind, text in (("begin", None), (None, instruction), ("separate", None)):
        r = paragraph.add_run()._r
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            if kind == "begin" and dirty:
                char.set(qn("w:dirty"), "true")
            r.append(char)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = f" {text} "
            r.append(instr)


def field_end(paragraph) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), "end")
    paragraph.add_run()._r.append(char)


# --- column widths -------------------------------------------------------------------------------

#: a run of characters a line may not break inside (hyphens are non-breaking, see add_text)
_WORD = re.compile(r"[^\s\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\uff00-\uffef]+")
_NARROW = set("iljtfrI.,;:'|!()[]-/ ")
_WIDE = set("mwMW@%")


def _char_em(ch: str) -> float:
    """The width of a character in em, generously: Times New Roman or Arial are narrower, DejaVu
    (what LibreOffice on Linux uses for them when they are not installed) about as wide."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in _NARROW:
        return 0.38
    if ch in _WIDE:
        return 0.95
    if ch.isupper():
        return 0.74
    return 0.64  # digits and lower case


def text_em(text: str) -> float:
    return sum(_char_em(ch) for ch in text)


def longest_word_em(text: str) -> float:
    """The widest piece of ``text`` a line cannot break, in em (at least one CJK character)."""
    words = [text_em(w) for w in _WORD.findall(text)]
    cjk = 1.0 if any(unicodedata.east_asian_width(ch) in ("W", "F") for ch in text) else 0.0
    return max([cjk, *words])


def column_widths(columns: list[str], rows: list, total: int, em: int, *, weights: list[float] | None = None,
                  padding: int = 0) -> list[int]:
    """Widths (in the unit of ``total`` and ``em``) of a table's columns that fill ``total``: none
    narrower than its longest word (``padding`` added for the cell margins; at most 45 % of the total)
    or, while another column needs the room, wider than its longest line; the room shared by ``weights``
    (default: each column's average text length)."""
    n = len(columns)
    cells = [[str(c) for c in columns], *([str(c) for c in row] for row in rows if not isinstance(row, str))]
    scale = em * 1.1  # bold header cells
    mins = [min(int(max(longest_word_em(r[i]) for r in cells) * scale) + padding, int(0.45 * total))
            for i in range(n)]
    maxs = [max(mins[i], int(max(text_em(line) for r in cells for line in r[i].split("\n")) * scale) + padding)
            for i in range(n)]
    if weights is None:
        weights = [max(1.0, sum(min(text_em(r[i]), 60) for r in cells) / len(cells)) for i in range(n)]
    if sum(mins) >= total:  # cannot be helped: share by the minima
        return [int(total * m / sum(mins)) for m in mins]
    if sum(maxs) <= total:  # every line fits: the room left shared by weight
        room = total - sum(maxs)
        return [int(maxs[i] + room * weights[i] / sum(weights)) for i in range(n)]
    fixed: dict[int, int] = {}
    while True:
        free = [i for i in range(n) if i not in fixed]
        room = total - sum(fixed.values())
        share = {i: room * weights[i] / sum(weights[j] for j in free) for i in free}
        low = {i: mins[i] for i in free if share[i] < mins[i]}
        high = {i: maxs[i] for i in free if share[i] > maxs[i]}
        if not low and not high:
            return [fixed[i] if i in fixed else int(share[i]) for i in range(n)]
        fixed.update(low or high)  # the minima first: they take room from the others
