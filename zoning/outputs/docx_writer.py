"""A report as a Word document (DOCX) ready to file.

- a header (project, report date, short rules hash) and a footer with the page number
  (``第 PAGE 页 共 NUMPAGES 页``) as Word fields;
- a table of contents field (``TOC \\o "1-3"``), updated, with page numbers, when Word opens the
  document (``w:updateFields``), its entries written in already;
- headings in Word's built-in Heading 1–3 styles (black, 黑体), so they are in the navigation
  pane and the contents; figure and table captions (图 1, 表 1) with ``SEQ Figure``/``SEQ Table``
  fields in the Caption style, so a consultancy's cross-references and lists of figures work;
- East Asian language zh-CN (:mod:`zoning.outputs.docx_styles`);
- tables in fixed layout with widths from their content (:func:`docx_fields.column_widths`), wide
  tables (``Table.wide``) in landscape sections, the header row repeated on every page, ids never
  broken at a hyphen.

With ``template`` (a consultancy's .docx or .dotx) the report is built on the template's styles,
page set-up, header and logo: its body is cleared, its sections' set-up and headers kept, its styles
used by name and ours added only where it has none; a footer without a page number gets one.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import docx
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.exceptions import OpcError
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Pt
from lxml.etree import XMLSyntaxError

from zoning.errors import InputError
from zoning.outputs.docx_fields import (
    add_field,
    add_text,
    clean,
    column_widths,
    field_begin,
    field_end,
)
from zoning.outputs.docx_styles import TABLE_TEXT, adopt_styles, house_styles, style_or, update_fields_on_open

_SHADE = {"header": "E8EDF2", "group": "F4F6F8"}
#: Table Grid's cell margins, left and right (Word's default: 0.19 cm each)
_CELL_PADDING = Cm(0.4)
_TABLE_PT = 9


def open_template(path) -> docx.document.Document:
    """A consultancy's template (.docx, or a .dotx Word template), checked: its body is not kept."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--template {path}: no such file")
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            types = z.read("[Content_Types].xml")
            if b"wordprocessingml.template.main+xml" in types:  # a .dotx: open it as a document
                out = io.BytesIO()
                with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
                    for item in z.infolist():
                        body = z.read(item.filename)
                        if item.filename == "[Content_Types].xml":
                            body = body.replace(b"wordprocessingml.template.main+xml",
                                                b"wordprocessingml.document.main+xml")
                        copy.writestr(item, body)
                data = out.getvalue()
        return docx.Document(io.BytesIO(data))
    except OSError as exc:
        raise InputError(f"--template {path}: cannot read it: {exc.strerror}") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OpcError, XMLSyntaxError) as exc:
        raise InputError(f"--template {path}: not a Word document (.docx or .dotx): {exc}") from None


def check_template(template, output, option: str = "-o") -> None:
    """Refuse, before any work, a template with no Word report to build (``output`` None or not
    .docx) or one that cannot be read."""
    if output is None:
        raise InputError(f"--template: a template is for the Word report: give {option}")
    if Path(output).suffix.lower() != ".docx":
        raise InputError(f"--template: only a Word (.docx) report is built on a template, not {Path(output).name}")
    open_template(template)


def to_docx(doc, template=None) -> docx.document.Document:
    """``doc`` (a :class:`zoning.outputs.documents.Document`) as a python-docx document."""
    from zoning.outputs.documents import Figure, Heading, Paragraph, Table

    if template is None:
        d = docx.Document()
        house_styles(d)
        section = d.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = Cm(2.2)
        section.header_distance = section.footer_distance = Cm(1.2)
    else:
        d = open_template(template) if not isinstance(template, docx.document.Document) else template
        body = d.element.body
        for child in list(body):
            if child.tag != qn("w:sectPr"):
                body.remove(child)
        adopt_styles(d)
    update_fields_on_open(d)
    _properties(d, doc)
    _running_header(d, doc)

    title = d.add_paragraph(style=style_or(d, "Title"))
    add_text(title, doc.title)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if doc.subtitle:
        sub = d.add_paragraph()
        add_text(sub, doc.subtitle)
        sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    landscape = _landscape(doc.blocks, Heading, Paragraph, Table)
    headings = [b for b in doc.blocks if isinstance(b, Heading)]
    if headings:
        _contents(d, headings, page_break=not landscape[0])
    figures = tables = 0
    current = False
    for block, wide in zip(doc.blocks, landscape):
        if wide != current:
            _new_section(d, wide)
            current = wide
        width = _text_width(d.sections[-1])
        if isinstance(block, Heading):
            p = d.add_paragraph(style=style_or(d, f"Heading {min(block.level, 3)}"))
            add_text(p, block.text)
        elif isinstance(block, Paragraph):
            _paragraph(d, block)
        elif isinstance(block, Table):
            tables += 1
            if block.caption:
                _caption(d, "表", "Table", tables, block.caption).paragraph_format.keep_with_next = True
            _table(d, block.columns, block.rows, width, block.widths)
            d.add_paragraph()
        elif isinstance(block, Figure):
            figures += 1
            d.add_picture(io.BytesIO(block.png), width=min(width, Cm(16)))
            picture = d.paragraphs[-1]
            picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
            picture.paragraph_format.keep_with_next = True
            _caption(d, "图", "Figure", figures, block.caption)
        else:  # Fields: label-value pairs
            _table(d, None, block.rows, width, [1, 3])
            d.add_paragraph()
    return d


def _properties(d, doc) -> None:
    props = d.core_properties
    # Word's document properties hold at most 255 characters
    props.title, props.author, props.comments = clean(doc.title)[:255], "zoning", clean(doc.subtitle)[:255]
    props.created = doc.created.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _landscape(blocks, heading, paragraph, table) -> list[bool]:
    """Per block, whether it goes on a landscape page: wide tables, and the headings and paragraphs
    that lead into one."""
    out = [isinstance(b, table) and b.wide for b in blocks]
    for i in range(len(blocks) - 2, -1, -1):
        if not out[i] and out[i + 1] and isinstance(blocks[i], (heading, paragraph)):
            out[i] = True
    return out


def _new_section(d, landscape: bool) -> None:
    previous = d.sections[-1]
    section = d.add_section(WD_SECTION.NEW_PAGE)
    long, short = max(previous.page_width, previous.page_height), min(previous.page_width, previous.page_height)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (long, short) if landscape else (short, long)


def _text_width(section) -> int:
    return int(section.page_width - section.left_margin - section.right_margin)


def _running_header(d, doc) -> None:
    """Our header and page-number footer, unless the template has its own (a footer without a
    page number gets ours added)."""
    section = d.sections[0]
    header = section.header
    if not _has_content(header._element):
        p = header.paragraphs[0] if header.paragraphs else header.add_paragraph()
        p.style = style_or(d, "Header")
        add_text(p, doc.header or f"{doc.title} · {doc.created:%Y-%m-%d}")
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        ppr = p._p.get_or_add_pPr()
        border = OxmlElement("w:pBdr")
        bottom = OxmlElement("w:bottom")
        for k, v in (("w:val", "single"), ("w:sz", "4"), ("w:space", "1"), ("w:color", "auto")):
            bottom.set(qn(k), v)
        border.append(bottom)
        ppr.insert(1 if ppr.find(qn("w:pStyle")) is not None else 0, border)
    footer = section.footer
    if not footer._element.xpath(".//w:instrText[contains(., 'PAGE')] | .//w:fldSimple[contains(@w:instr, 'PAGE')]"):
        paras = footer.paragraphs
        p = paras[0] if len(paras) == 1 and not paras[0].text.strip() else footer.add_paragraph()
        p.style = style_or(d, "Footer")
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        add_text(p, "第 ")
        add_field(p, "PAGE", "1")
        add_text(p, " 页 共 ")
        add_field(p, "NUMPAGES", "1")
        add_text(p, " 页")


def _has_content(element) -> bool:
    text = "".join(t.text or "" for t in element.iter(qn("w:t")))
    return bool(text.strip() or element.xpath(".//w:drawing | .//w:pict | .//w:object"))


def _contents(d, headings, page_break: bool) -> None:
    """The table of contents: a TOC field over Heading 1–3 with the headings written in as its
    result; Word rebuilds it with page numbers when it opens the file (LibreOffice: Tools ▸ Update)."""
    head = d.add_paragraph(style=style_or(d, "TOC Heading"))
    add_text(head, "目录 Contents")
    for i, h in enumerate(headings, start=1):
        level = min(h.level, 3)
        p = d.add_paragraph(style=style_or(d, f"TOC {level}"))
        if i == 1:
            field_begin(p, 'TOC \\o "1-3" \\h \\z \\u', dirty=True)
        if p.style.name == "Normal":
            fmt = p.paragraph_format
            fmt.left_indent, fmt.space_after = Cm(0.74 * (level - 1)), Pt(2)
        add_text(p, h.text)
        if i == len(headings):
            field_end(p)
    if page_break:  # (a landscape section starts on a page of its own)
        d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _paragraph(d, block) -> None:
    from zoning.outputs.documents import VERDICT_COLOURS

    p = d.add_paragraph()
    style = block.style or ""
    if style.startswith("verdict"):
        add_text(p, block.text, bold=True, size=Pt(12), colour=VERDICT_COLOURS.get(style.removeprefix("verdict-")))
    elif style == "note":
        add_text(p, block.text, size=Pt(9))
    else:
        add_text(p, block.text)


def _caption(d, label: str, sequence: str, number: int, text: str):
    """``表 1  text`` in the Caption style, the number a ``SEQ`` field."""
    p = d.add_paragraph(style=style_or(d, "Caption"))
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_text(p, f"{label} ")
    add_field(p, f"SEQ {sequence} \\* ARABIC", str(number))
    add_text(p, f"  {text}")
    return p


def _table(d, columns: list[str] | None, rows: list, width: int, weights) -> None:
    """A fixed-layout table in Table Grid; ``columns`` None: label-value pairs (no header row)."""
    n = len(columns) if columns else 2
    table = d.add_table(rows=0, cols=n)
    table.style = style_or(d, "Table Grid", "Normal Table")
    text_style = style_or(d, TABLE_TEXT)
    widths = column_widths(columns or ["", ""], rows, width, int(Pt(_TABLE_PT)),
                           weights=weights, padding=int(_CELL_PADDING))
    if columns:
        header = table.add_row()
        trpr = header._tr.get_or_add_trPr()
        trpr.append(trpr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))  # repeat on every page
        for cell, name in zip(header.cells, columns):
            _cell(cell, name, text_style, bold=True, shade=_SHADE["header"])
    for row in rows:
        cells = table.add_row().cells
        if isinstance(row, str):
            _cell(cells[0].merge(cells[-1]), row, text_style, bold=True, shade=_SHADE["group"])
        elif columns:
            for cell, value in zip(cells, row):
                _cell(cell, value, text_style)
        else:
            _cell(cells[0], row[0], text_style, bold=True, shade=_SHADE["group"])
            _cell(cells[1], row[1], text_style)
    table.autofit = False  # fixed layout: the widths below hold
    tblpr = table._tbl.tblPr
    tblw = tblpr.find(qn("w:tblW"))
    if tblw is None:
        tblw = OxmlElement("w:tblW")
        tblpr.append(tblw)
    tblw.set(qn("w:w"), str(int(Emu(sum(widths)).twips)))
    tblw.set(qn("w:type"), "dxa")
    for column, w in zip(table.columns, widths):
        column.width = Emu(w)
        for cell in column.cells:
            cell.width = Emu(w)


def _cell(cell, value, style, *, bold: bool = False, shade: str | None = None) -> None:
    p = cell.paragraphs[0]
    p.style = style
    add_text(p, value, bold=bold)
    if shade:
        tcpr = cell._tc.get_or_add_tcPr()
        tcpr.append(tcpr.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto",
                                                   qn("w:fill"): shade}))
