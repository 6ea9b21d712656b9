"""The Word styles of a DOCX report, and the XML details Word and LibreOffice read.

A report uses Word's built-in styles by name (Title, Heading 1–3, Caption,
Header, Footer, Table Grid, TOC Heading) plus one of its own, "Table Text"
(表格文字, 9 pt, no spacing). :func:`house_styles` gives python-docx's default
template the look of a Chinese technical report: body in 宋体 (Times New Roman
for Latin), headings and captions black in 黑体 (Arial), no theme fonts or
colours, East Asian language zh-CN so that Chinese is shaped as Chinese (not
with Japanese glyph forms). :func:`adopt_styles` does the least to a
consultancy's own template: its styles stay as they are, and any style the
report needs but the template lacks is copied from ours.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

BODY_FONT = ("Times New Roman", "宋体")  # Latin, East Asian: what Chinese technical reports use
HEADING_FONT = ("Arial", "黑体")
#: (points, bold, space before, space after) by style: 小二, 三号, 四号, 小四, 五号
HEADINGS = {"Title": (18, True, 0, 12), "Heading 1": (16, True, 18, 6), "Heading 2": (14, True, 12, 6),
            "Heading 3": (12, True, 6, 3)}
TABLE_TEXT = "Table Text"
#: every style the writer uses, by name
NEEDED = ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Caption", "Header", "Footer", "Table Grid",
          "TOC Heading", TABLE_TEXT)
LANGUAGE = {"w:val": "en-US", "w:eastAsia": "zh-CN", "w:bidi": "ar-SA"}
BLACK = "000000"


def house_styles(d) -> None:
    """Give a fresh python-docx document the report's look (see the module's docstring)."""
    styles = d.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(rpr, *BODY_FONT)
    set_language(rpr)
    _font(styles["Normal"], *BODY_FONT, size=10.5)
    set_language(styles["Normal"].element.get_or_add_rPr())
    for name, (size, bold, before, after) in HEADINGS.items():
        style = styles[name]
        _font(style, *HEADING_FONT, size=size)
        style.font.bold = bold
        style.font.color.rgb = RGBColor.from_string(BLACK)
        _drop_theme_colour(style)
        fmt = style.paragraph_format
        fmt.space_before, fmt.space_after = Pt(before), Pt(after)
        ppr = style.element.get_or_add_pPr()
        border = ppr.find(qn("w:pBdr"))
        if border is not None:  # the default Title's blue rule
            ppr.remove(border)
    caption = styles["Caption"]
    _font(caption, *HEADING_FONT, size=10.5)
    caption.font.color.rgb = RGBColor.from_string(BLACK)
    _drop_theme_colour(caption)
    caption.paragraph_format.space_before, caption.paragraph_format.space_after = Pt(6), Pt(6)
    toc = styles["TOC Heading"]
    _font(toc, *HEADING_FONT, size=16)
    toc.font.color.rgb = RGBColor.from_string(BLACK)
    _drop_theme_colour(toc)
    toc.element.get_or_add_pPr().remove_all("w:outlineLvl")  # the contents are not in themselves
    for name in ("Header", "Footer"):
        styles[name].font.size = Pt(9)
    table_text = styles.add_style(TABLE_TEXT, WD_STYLE_TYPE.PARAGRAPH)
    table_text.base_style = styles["Normal"]
    table_text.font.size = Pt(9)
    fmt = table_text.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = 1.0
    set_language(d.settings.element.find(qn("w:themeFontLang")), east_asian_only=True)


@lru_cache(maxsize=1)
def _ours() -> bytes:
    """Our styles part, as bytes (a fresh python-docx document with :func:`house_styles`)."""
    import docx
    from lxml import etree

    d = docx.Document()
    house_styles(d)
    return etree.tostring(d.styles.element)


def adopt_styles(d) -> list[str]:
    """Copy into a template document every style the report needs and it lacks (with the
    styles they are based on); returns the names copied. Its own styles are left as they are;
    East Asian language zh-CN is set in its defaults only when they name none."""
    from lxml import etree

    ours = etree.fromstring(_ours())
    by_id = {s.get(qn("w:styleId")): s for s in ours.findall(qn("w:style"))}
    target = d.styles.element
    have = {s.get(qn("w:styleId")) for s in target.findall(qn("w:style"))}
    copied = []
    for name in NEEDED:
        if _has(d, name):
            continue
        style_id = next(i for i, s in by_id.items() if _ui_name(s) == name)
        chain = [style_id]
        while (based := by_id[chain[-1]].find(qn("w:basedOn"))) is not None and based.get(qn("w:val")) not in have:
            chain.append(based.get(qn("w:val")))
        for sid in chain:
            if sid in have:
                continue
            element = copy.deepcopy(by_id[sid])
            for child in element.findall(qn("w:link")) + element.findall(qn("w:next")):
                if child.get(qn("w:val")) not in have and child.get(qn("w:val")) != sid:
                    element.remove(child)
            target.append(element)
            have.add(sid)
        copied.append(name)
    defaults = target.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")) if defaults is not None else None
    rpr = rpr.find(qn("w:rPr")) if rpr is not None else None
    if rpr is not None:
        lang = rpr.find(qn("w:lang"))
        if lang is None or lang.get(qn("w:eastAsia")) is None:
            set_language(rpr, east_asian_only=lang is not None)
    return copied


def _has(d, name: str) -> bool:
    try:
        d.styles[name]
    except KeyError:
        return False
    return True


def _ui_name(style) -> str:
    """A style's name as python-docx shows it ("heading 1" is "Heading 1")."""
    from docx.styles import BabelFish

    return BabelFish.internal2ui(style.find(qn("w:name")).get(qn("w:val")))


def style_or(d, name: str, fallback: str = "Normal"):
    """The document's style ``name``, else ``fallback``."""
    return d.styles[name] if _has(d, name) else d.styles[fallback]


def set_language(rpr, east_asian_only: bool = False) -> None:
    """``w:lang`` with East Asian zh-CN (and Latin en-US unless ``east_asian_only``) on a run-properties element
    (or on ``w:themeFontLang``)."""
    if rpr is None:
        return
    if rpr.tag == qn("w:themeFontLang"):
        lang = rpr
    else:
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = rpr.makeelement(qn("w:lang"), {})
            _insert_in_order(rpr, lang)
    for attr, value in LANGUAGE.items():
        if not east_asian_only or attr == "w:eastAsia":
            lang.set(qn(attr), value)


#: w:rPr children after w:lang in the schema's order
_AFTER_LANG = ("w:eastAsianLayout", "w:specVanish", "w:oMath")


def _insert_in_order(rpr, lang) -> None:
    for name in _AFTER_LANG:
        later = rpr.find(qn(name))
        if later is not None:
            later.addprevious(lang)
            return
    rpr.append(lang)


def _font(style, latin: str, east_asian: str, size: float | None = None) -> None:
    _fonts(style.element.get_or_add_rPr(), latin, east_asian)
    if size is not None:
        style.font.size = Pt(size)


def _fonts(rpr, latin: str, east_asian: str) -> None:
    """Named fonts on a run-properties element, theme fonts (which would override them) removed."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        rfonts.set(qn(attr), latin)
    rfonts.set(qn("w:eastAsia"), east_asian)


def _drop_theme_colour(style) -> None:
    colour = style.element.get_or_add_rPr().find(qn("w:color"))
    if colour is not None:
        for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
            colour.attrib.pop(qn(attr), None)


#: w:settings children that come after w:updateFields in the schema's order
_AFTER_UPDATE_FIELDS = ("w:hdrShapeDefaults", "w:footnotePr", "w:endnotePr", "w:compat", "w:docVars", "w:rsids",
                        "m:mathPr", "w:attachedSchema", "w:themeFontLang", "w:clrSchemeMapping",
                        "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures", "w:forceUpgrade",
                        "w:captions", "w:readModeInkLockDown", "w:smartTagType", "sl:schemaLibrary",
                        "w:shapeDefaults", "w:doNotEmbedSmartTags", "w:decimalSymbol", "w:listSeparator")


def update_fields_on_open(d) -> None:
    """``<w:updateFields w:val="true"/>`` in settings.xml: Word updates the contents, captions and
    page fields when the document is opened."""
    settings = d.settings.element
    found = settings.find(qn("w:updateFields"))
    if found is None:
        found = settings.makeelement(qn("w:updateFields"), {})
        later = next((e for name in _AFTER_UPDATE_FIELDS if (e := settings.find(qn(name))) is not None), None)
        if later is not None:
            later.addprevious(found)
        else:
            settings.append(found)
    found.set(qn("w:val"), "true")
