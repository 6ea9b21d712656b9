"""The fonts figures and HTML reports draw text with, Chinese included.

Unit names and legends are Chinese, and many machines (servers, CI, fresh
installs) have no Chinese font: matplotlib then draws each character as the
missing-glyph box ("tofu"). zoning ships Droid Sans Fallback (Apache 2.0,
``zoning/data/fonts``) for CJK characters and draws Latin text with DejaVu
Sans, which ships with matplotlib; matplotlib falls back from one family to
the next glyph by glyph.

:func:`missing_glyphs` names the characters neither font can draw, and
:func:`css_font_face` embeds a subset of the CJK font, with only the
characters a document uses, in an HTML page.
"""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path

CJK_FONT = Path(__file__).resolve().parent.parent / "data" / "fonts" / "DroidSansFallbackFull.ttf"
CJK_FAMILY = "Droid Sans Fallback"
LATIN_FAMILY = "DejaVu Sans"
#: the CSS family name of the embedded subset
HTML_FAMILY = "zoning CJK"


@functools.cache
def families() -> tuple[str, ...]:
    """matplotlib font families, in fallback order, with the CJK font registered."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(CJK_FONT))
    return LATIN_FAMILY, CJK_FAMILY


def rc() -> dict:
    """matplotlib settings for :func:`matplotlib.rc_context` while drawing and saving a figure."""
    # text.parse_math off: titles and names are plain text, never "$...$" mathematics
    return {"font.family": list(families()), "svg.fonttype": "path", "pdf.fonttype": 42, "text.parse_math": False}


@functools.cache
def _coverage() -> frozenset[int]:
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    covered: set[int] = set()
    latin = font_manager.findfont(font_manager.FontProperties(family=LATIN_FAMILY), fallback_to_default=False)
    for path in (latin, CJK_FONT):
        with TTFont(path, lazy=True) as font:
            covered.update(font.getBestCmap())
    return frozenset(covered)


def missing_glyphs(text: str) -> str:
    """The distinct characters of ``text`` that neither font draws (whitespace aside), in order."""
    covered = _coverage()
    return "".join(dict.fromkeys(ch for ch in text if not ch.isspace() and ord(ch) not in covered))


def css_font_face(text: str) -> str:
    """A CSS ``@font-face`` rule embedding the CJK font's glyphs for the characters of ``text``
    (a TrueType subset, base64-encoded), or "" when ``text`` uses none of them."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(CJK_FONT)
    cmap = font.getBestCmap()
    wanted = sorted({ord(ch) for ch in text if ord(ch) > 0x2E7F and ord(ch) in cmap})  # CJK radicals onwards
    if not wanted:
        return ""
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'@font-face {{ font-family: "{HTML_FAMILY}"; '
            f'src: url(data:font/ttf;base64,{data}) format("truetype"); }}')
