"""Writing reports as Word (DOCX), self-contained HTML or Markdown.

A report is built once as a :class:`Document`, a list of blocks (headings,
paragraphs, key-value lists, tables with group rows, figures), and written in
the format its file's extension names (:func:`write_document`):

- DOCX through python-docx (:mod:`zoning.outputs.docx_writer`), editable and ready to
  file: header, page numbers, a table of contents, caption fields, Word's heading styles,
  wide tables on landscape pages, Chinese in 宋体/黑体 (SimSun/SimHei) with language zh-CN;
  optionally built on a consultancy's own template;
- HTML in one file: the CSS inline, figures as ``data:`` URIs and the Chinese
  glyphs the page uses embedded as a font subset (:func:`zoning.fonts.css_font_face`),
  so it looks the same offline and on a machine with no Chinese font;
- Markdown with GitHub tables; figures are written beside it as PNG files.

Every file is written through a temporary file and renamed when complete.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from zoning.errors import InputError
from zoning.outputs import fonts
from zoning.outputs.atomic import atomic_path
from zoning.verdicts import Verdict

FORMATS = {".docx": "docx", ".html": "html", ".htm": "html", ".md": "md"}


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Paragraph:
    text: str
    #: "verdict-<verdict>" (a coloured conclusion), "note" (small) or None
    style: str | None = None


@dataclass
class Fields:
    """Label-value pairs, shown as a two-column table."""

    rows: list[tuple[str, str]]


@dataclass
class Table:
    """A table; a row that is a plain string is a group heading spanning every column."""

    columns: list[str]
    rows: list
    caption: str | None = None
    #: relative column widths (DOCX and HTML)
    widths: list[float] | None = None
    #: a wide table: on a landscape page in DOCX
    wide: bool = False


@dataclass
class Figure:
    png: bytes
    caption: str
    #: the file name a Markdown report gives the figure (beside the report)
    name: str = "figure.png"


@dataclass
class Document:
    title: str
    subtitle: str = ""
    blocks: list = field(default_factory=list)
    #: the running header of a DOCX report (project, date, rules hash); default: the title and date
    header: str = ""
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now().astimezone())

    def add(self, *blocks) -> Document:
        self.blocks.extend(blocks)
        return self


def document_format(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"output {path}: a report is written as .docx, .html or .md, not {suffix or '(none)'}")
    return FORMATS[suffix]


def write_document(doc: Document, path, template=None) -> list[Path]:
    """Write ``doc`` to ``path`` in the format of its extension; returns the files written
    (a Markdown report's figures come first). ``template``: a .docx or .dotx whose styles, page
    set-up and header a DOCX report is built on (other formats do not use it)."""
    path = Path(path)
    fmt = document_format(path)
    written = []
    if fmt == "md":
        for block in doc.blocks:
            if isinstance(block, Figure):
                target = path.with_name(f"{path.stem}-{block.name}")
                with atomic_path(target) as tmp:
                    tmp.write_bytes(block.png)
                written.append(target)
    with atomic_path(path) as tmp:
        if fmt == "docx":
            from zoning.outputs.docx_writer import to_docx

            to_docx(doc, template).save(str(tmp))
        elif fmt == "html":
            tmp.write_text(to_html(doc), encoding="utf-8")
        else:
            tmp.write_text(to_markdown(doc, figure_prefix=f"{path.stem}-"), encoding="utf-8")
    return [*written, path]


# --- Markdown -----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def _md(text) -> str:
    """Text as Markdown shows it literally: HTML-like text escaped, emphasis and link marks
    backslashed, line breaks as ``<br>``."""
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))
    return escaped.replace("\r", "").replace("\n", "<br>")


def _md_line(text) -> str:
    """Text for a one-line Markdown element (a heading): line breaks as spaces."""
    return _md(" ".join(str(text).split()))


def to_markdown(doc: Document, figure_prefix: str = "") -> str:
    out = [f"# {_md_line(doc.title)}", ""]
    if doc.subtitle:
        out += [_md(doc.subtitle), ""]
    for block in doc.blocks:
        if isinstance(block, Heading):
            out += ["#" * (block.level + 1) + " " + _md_line(block.text), ""]
        elif isinstance(block, Paragraph):
            text = f"**{_md(block.text)}**" if (block.style or "").startswith("verdict") else _md(block.text)
            out += [f"<sub>{text}</sub>" if block.style == "note" else text, ""]
        elif isinstance(block, Fields):
            out += ["| | |", "|---|---|", *(f"| **{_md(k)}** | {_md(v)} |" for k, v in block.rows), ""]
        elif isinstance(block, Table):
            if block.caption:
                out += [f"**{_md(block.caption)}**", ""]
            out += ["| " + " | ".join(_md(c) for c in block.columns) + " |",
                    "|" + "---|" * len(block.columns)]
            for row in block.rows:
                if isinstance(row, str):
                    out.append(f"| **{_md(row)}** |" + " |" * (len(block.columns) - 1))
                else:
                    out.append("| " + " | ".join(_md(c) for c in row) + " |")
            out.append("")
        elif isinstance(block, Figure):
            link = urllib.parse.quote(f"{figure_prefix}{block.name}")  # a space or bracket would end the link
            out += [f"![{_md_line(block.caption)}]({link})", "", f"*{_md(block.caption)}*", ""]
    return "\n".join(out)


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "%s",
       "DejaVu Sans", Arial, sans-serif; color: #1a1a1a; max-width: 60em; margin: 2em auto; padding: 0 1.5em;
       line-height: 1.55; font-size: 14px; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #d0d7de; padding-bottom: 0.2em; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin-top: 1.2em; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%%; margin: 0.6em 0 1.2em; font-size: 0.92em; }
th, td { border: 1px solid #b8c0c8; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
thead th { background: #e8edf2; }
tr.group th { background: #f4f6f8; font-weight: 600; }
table.fields th { width: 11em; background: #f4f6f8; font-weight: 600; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.3em; }
figure { margin: 1em 0; text-align: center; }
figure img { max-width: 100%%; height: auto; border: 1px solid #d0d7de; }
figcaption { font-size: 0.92em; color: #333; margin-top: 0.3em; }
.verdict { padding: 0.6em 0.9em; border-left: 6px solid; font-weight: 600; }
.verdict-prohibited { border-color: #d7191c; background: #fde8e8; }
.verdict-restricted { border-color: #f08c00; background: #fff3e0; }
.verdict-undetermined { border-color: #8e44ad; background: #f5ecfa; }
.verdict-permitted { border-color: #1a9641; background: #e8f5ec; }
.verdict-not_covered, .verdict-error { border-color: #2b83ba; background: #e8f1f8; }
.note { font-size: 0.85em; color: #555; }
@media print { body { max-width: none; margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def _h(text) -> str:
    return html.escape(str(text)).replace("\n", "<br>")


def _text_of(doc: Document) -> str:
    """Every string the document shows (for the embedded font subset)."""
    parts = [doc.title, doc.subtitle]
    for b in doc.blocks:
        if isinstance(b, (Heading, Paragraph)):
            parts.append(b.text)
        elif isinstance(b, Fields):
            parts += [f"{k}{v}" for k, v in b.rows]
        elif isinstance(b, Table):
            parts += [*b.columns, b.caption or ""]
            parts += [r if isinstance(r, str) else "".join(str(c) for c in r) for r in b.rows]
        elif isinstance(b, Figure):
            parts.append(b.caption)
    return "".join(parts)


def to_html(doc: Document) -> str:
    out = ["<!DOCTYPE html>", '<html lang="zh-CN">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(' '.join(doc.title.split()))}</title>",
           '<meta name="generator" content="zoning">',
           "<style>", fonts.css_font_face(_text_of(doc)), _CSS % fonts.HTML_FAMILY, "</style>", "</head>", "<body>",
           f"<h1>{_h(doc.title)}</h1>"]
    if doc.subtitle:
        out.append(f'<p class="subtitle">{_h(doc.subtitle)}</p>')
    figures = 0
    for block in doc.blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level + 1}>{_h(block.text)}</h{block.level + 1}>")
        elif isinstance(block, Paragraph):
            style = block.style or ""
            cls = f' class="verdict {style}"' if style.startswith("verdict") else (
                ' class="note"' if style == "note" else "")
            out.append(f"<p{cls}>{_h(block.text)}</p>")
        elif isinstance(block, Fields):
            out.append('<table class="fields"><tbody>')
            out += [f"<tr><th>{_h(k)}</th><td>{_h(v)}</td></tr>" for k, v in block.rows]
            out.append("</tbody></table>")
        elif isinstance(block, Table):
            out.append("<table>")
            if block.caption:
                out.append(f"<caption>{_h(block.caption)}</caption>")
            if block.widths:
                total = sum(block.widths)
                out.append("<colgroup>" + "".join(f'<col style="width:{100 * w / total:.1f}%">'
                                                   for w in block.widths) + "</colgroup>")
            out.append("<thead><tr>" + "".join(f"<th>{_h(c)}</th>" for c in block.columns) + "</tr></thead><tbody>")
            for row in block.rows:
                if isinstance(row, str):
                    out.append(f'<tr class="group"><th colspan="{len(block.columns)}">{_h(row)}</th></tr>')
                else:
                    out.append("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
        elif isinstance(block, Figure):
            figures += 1
            data = base64.b64encode(block.png).decode("ascii")
            out.append(f'<figure id="figure-{figures}"><img alt="{_h(block.caption)}" '
                       f'src="data:image/png;base64,{data}"><figcaption>{_h(block.caption)}</figcaption></figure>')
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


# --- DOCX: zoning.outputs.docx_writer ------------------------------------------------------------

#: the colour of a verdict's conclusion line (DOCX), by verdict key
VERDICT_COLOURS = {Verdict.PROHIBITED.key: "C00000", Verdict.RESTRICTED.key: "C65F00",
                   Verdict.UNDETERMINED.key: "7030A0", Verdict.PERMITTED.key: "1A7F37",
                   Verdict.NOT_COVERED.key: "1F5FA8", Verdict.ERROR.key: "1F5FA8"}
