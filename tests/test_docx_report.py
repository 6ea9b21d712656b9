"""The Word report, ready to file: header and page numbers, caption and contents fields, Word's
heading styles, zh-CN, landscape pages for wide tables, column widths, ids that never break, a
consultancy's template; and LibreOffice (Debian's, headless) printing it with page numbers."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from tests.conftest import run
from zoning.outputs import maps
from zoning.outputs.documents import Document, Table, write_document
from zoning.outputs.reports import compliance_report
from zoning.sample import registry_path

SITE = {"lon": 115.97, "lat": 38.93, "industry": "C2614", "type": "new",
        "emissions": {"VOCs": "12.5", "NOx": "3"}, "name": "示例华岳化工有机化学原料新建项目"}
CLAUSE_HEADER = ["条款 Clause", "效力 Effect", "条款内容及来源 Text and source", "项目情况 Project status"]


@pytest.fixture(scope="module")
def report_file(sample_engine, tmp_path_factory):
    result = sample_engine.check(**SITE, explain=True)
    doc = compliance_report(sample_engine, result, location_png=maps.location_map(sample_engine, result))
    path = tmp_path_factory.mktemp("docx") / "report.docx"
    write_document(doc, path)
    return path


@pytest.fixture(scope="module")
def report(report_file):
    return docx.Document(str(report_file))


def _instructions(element) -> list[str]:
    return [" ".join((t.text or "").split()) for t in element.iter(qn("w:instrText"))]


def test_header_names_the_project_date_and_rules_and_footer_has_page_fields(report, sample_engine):
    section = report.sections[0]
    header = "\n".join(p.text for p in section.header.paragraphs)
    assert SITE["name"] in header and re.search(r"\d{4}-\d{2}-\d{2}", header)
    assert f"规则 rules {sample_engine.provenance['rules_sha256'][:12]}" in header
    footer = section.footer._element
    assert _instructions(footer) == ["PAGE", "NUMPAGES"]
    assert "".join(p.text for p in section.footer.paragraphs).startswith("第 1 页 共 ")
    # later sections (the landscape ones) use the same header and footer
    assert all(s.header.is_linked_to_previous and s.footer.is_linked_to_previous for s in report.sections[1:])


def test_captions_are_seq_fields_and_contents_a_toc_field_updated_on_open(report):
    captions = [p for p in report.paragraphs if p.style.name == "Caption"]
    tables = [p for p in captions if p.text.startswith("表 ")]
    figures = [p for p in captions if p.text.startswith("图 ")]
    assert [p.text.split()[1] for p in tables] == [str(i) for i in range(1, len(tables) + 1)]
    assert len(tables) >= 3 and len(figures) == 1 and figures[0].text.startswith("图 1  项目位置")
    assert all(_instructions(p._p) == ["SEQ Table \\* ARABIC"] for p in tables)
    assert _instructions(figures[0]._p) == ["SEQ Figure \\* ARABIC"]
    body = report.element.body
    assert 'TOC \\o "1-3" \\h \\z \\u' in _instructions(body)
    update = report.settings.element.find(qn("w:updateFields"))
    assert update is not None and update.get(qn("w:val")) == "true"
    # the contents list the headings before Word rebuilds them
    texts = [p.text for p in report.paragraphs]
    assert texts.index("项目概况 Project") < texts.index("目录 Contents") + 3


def test_headings_are_words_heading_styles_in_black_heiti(report):
    headings = {p.text: p.style.name for p in report.paragraphs if p.style.name.startswith("Heading")}
    assert headings["项目概况 Project"] == "Heading 1" and headings["结论 Conclusion"] == "Heading 1"
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3", "Caption"):
        style = report.styles[name]
        assert style.font.color.rgb == RGBColor(0, 0, 0) and style.font.color.theme_color is None, name
        fonts = style.element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) == "黑体" and fonts.get(qn("w:asciiTheme")) is None, name


def test_language_is_zh_cn_for_east_asian_text(report):
    defaults = report.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    langs = [defaults.find(qn("w:lang")), report.styles["Normal"].element.rPr.find(qn("w:lang")),
             report.settings.element.find(qn("w:themeFontLang"))]
    assert all(lang.get(qn("w:eastAsia")) == "zh-CN" for lang in langs)
    assert langs[0].get(qn("w:val")) == "en-US"
    assert defaults.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "宋体"


def _section_of_tables(document) -> list[tuple[list[str], object]]:
    """(header row, the w:sectPr of the section it is in) for every table, in order."""
    body = document.element.body
    pending, out = [], []
    for child in body.iterchildren():
        if child.tag == qn("w:tbl"):
            pending.append(["".join(t.text or "" for t in tc.iter(qn("w:t")))
                            for tc in child.find(qn("w:tr")).iter(qn("w:tc"))])
        sect = child.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") if child.tag == qn("w:p") else (
            child if child.tag == qn("w:sectPr") else None)
        if sect is not None:
            out += [(header, sect) for header in pending]
            pending = []
    return out


def _landscape(sect) -> bool:
    size = sect.find(qn("w:pgSz"))
    return size.get(qn("w:orient")) == "landscape" and int(size.get(qn("w:w"))) > int(size.get(qn("w:h")))


def test_clause_tables_are_on_landscape_pages_in_fixed_layout(report):
    assert not report.sections[0].orientation  # portrait: the title, the project, the map
    placed = _section_of_tables(report)
    clause_tables = [sect for header, sect in placed if header == CLAUSE_HEADER]
    assert clause_tables and all(_landscape(sect) for sect in clause_tables)
    assert not any(_landscape(sect) for header, sect in placed if header[0].startswith("单元编码"))
    wide = next(s for s in report.sections if s.orientation)
    width = wide.page_width - wide.left_margin - wide.right_margin
    for table in report.tables:
        layout = table._tbl.tblPr.find(qn("w:tblLayout"))
        assert layout is not None and layout.get(qn("w:type")) == "fixed"
    clauses = next(t for t in report.tables if [c.text for c in t.rows[0].cells] == CLAUSE_HEADER)
    widths = [c.width for c in clauses.columns]
    assert abs(sum(widths) - width) < Cm(0.1)  # the landscape text width, filled
    # "限制 restrict" and "hebei-priority-units" fit on a line at 9 pt: nothing wraps letter by letter
    assert widths[1] > Pt(9) * 5 + Cm(0.4) and widths[0] > Pt(9) * 11 + Cm(0.4)


def test_ids_have_non_breaking_hyphens_and_read_back_unchanged(report):
    clauses = next(t for t in report.tables if [c.text for c in t.rows[0].cells] == CLAUSE_HEADER)
    cell = next(r.cells[0] for r in clauses.rows if r.cells[0].text.startswith("hebei-priority-units"))
    run = cell.paragraphs[0].runs[0]._r
    assert len(run.findall(qn("w:noBreakHyphen"))) >= 2
    assert not any("-" in (t.text or "") for t in run.iter(qn("w:t")))
    assert re.fullmatch(r"hebei-priority-units \S+\n[A-Z]+-\d+", cell.text)


def _template(path, *, drop=()):
    """A consultancy's template: Letter paper, wide margins, a header with its name, a dark-red Heading 1
    in 楷体, text in its body; the styles in ``drop`` removed."""
    t = docx.Document()
    section = t.sections[0]
    section.page_width, section.page_height = Cm(21.59), Cm(27.94)
    section.left_margin = section.right_margin = Cm(3)
    section.header.paragraphs[0].text = "ACME 环境咨询有限公司 House header"
    heading = t.styles["Heading 1"]
    heading.font.color.rgb = RGBColor(0x80, 0, 0)
    heading.font.name = "KaiTi"
    t.add_paragraph("Template body text, not to be kept")
    for name in drop:
        element = t.styles[name].element
        element.getparent().remove(element)
    t.save(str(path))
    return path


def test_template_keeps_its_styles_page_set_up_and_header(tmp_path):
    template = _template(tmp_path / "house.docx", drop=("Caption", "Table Grid"))
    out = tmp_path / "r.docx"
    run(["report", "--lon", 115.97, "--lat", 38.93, "--industry", "C2614", "--type", "new", "--no-map",
         "--template", template, "-o", out], expect=0)
    d = docx.Document(str(out))
    first = d.sections[0]
    assert first.page_width == Cm(21.59) and abs(first.left_margin - Cm(3)) < Cm(0.01)
    assert first.header.paragraphs[0].text == "ACME 环境咨询有限公司 House header"
    assert _instructions(first.footer._element) == ["PAGE", "NUMPAGES"]  # it had none: ours added
    assert d.styles["Heading 1"].font.color.rgb == RGBColor(0x80, 0, 0)
    assert d.styles["Heading 1"].font.name == "KaiTi"
    texts = [p.text for p in d.paragraphs]
    assert "Template body text, not to be kept" not in texts and "项目概况 Project" in texts
    assert [p.style.name for p in d.paragraphs if p.text == "项目概况 Project"][-1] == "Heading 1"  # after the contents
    # the styles it lacked are ours
    assert d.styles["Caption"].font.color.rgb == RGBColor(0, 0, 0)
    assert all(t.style.name == "Table Grid" for t in d.tables)
    landscape = [s for s in d.sections if s.orientation]
    assert landscape and all(s.page_width == Cm(27.94) for s in landscape)  # the template's paper, turned


def test_registry_report_on_a_template_has_its_project_tables_landscape(tmp_path):
    template = _template(tmp_path / "house.docx")
    out = tmp_path / "report"
    run(["screen", registry_path(), "-o", tmp_path / "out.csv", "--report", out, "--template", template, "-q"],
        expect=0)
    d = docx.Document(str(out / "report.docx"))
    assert d.sections[0].header.paragraphs[0].text.startswith("ACME")
    placed = _section_of_tables(d)
    projects = [sect for header, sect in placed if header[:2] == ["行 Row", "项目名称 Name"]]
    assert len(projects) == 2 and all(_landscape(s) for s in projects)
    clauses = next(t for t in d.tables if [c.text for c in t.rows[0].cells][4:5] == ["条款 Clauses"])
    ids = [line for row in clauses.rows[1:] for line in row.cells[4].text.split("\n")]
    longest = max(ids, key=len)
    assert len(longest) > 20 and clauses.columns[4].width > Pt(9) * 0.5 * len(longest)  # fits on one line
    assert not any(_landscape(sect) for header, sect in placed if header[0] == "结论 Verdict")


def test_template_refusals(tmp_path):
    template = _template(tmp_path / "house.docx")
    result = run(["screen", registry_path(), "-o", tmp_path / "o2.csv", "--template", template, "-q"], expect=1)
    assert "--template" in result.output and "--report" in result.output
    base = ["report", "--lon", 115.97, "--lat", 38.93, "--no-map"]
    result = run([*base, "--template", tmp_path / "missing.docx", "-o", tmp_path / "r.docx"], expect=1)
    assert "no such file" in result.output
    result = run([*base, "--template", template, "-o", tmp_path / "r.html"], expect=1)
    assert "only a Word (.docx) report" in result.output
    (tmp_path / "bad.docx").write_text("not a zip")
    result = run([*base, "--template", tmp_path / "bad.docx", "-o", tmp_path / "r.docx"], expect=1)
    assert "not a Word document" in result.output
    assert not (tmp_path / "r.docx").exists() and not (tmp_path / "o2.csv").exists()


def test_a_dotx_template_is_taken_as_a_template(tmp_path):
    import zipfile

    source = _template(tmp_path / "house.docx")
    dotx = tmp_path / "house.dotx"
    with zipfile.ZipFile(source) as z, zipfile.ZipFile(dotx, "w") as out:
        for item in z.infolist():
            body = z.read(item.filename)
            if item.filename == "[Content_Types].xml":
                body = body.replace(b"document.main+xml", b"template.main+xml")
            out.writestr(item, body)
    doc = Document("标题 Title").add(Table(["a"], [["x"]]))
    write_document(doc, tmp_path / "r.docx", template=dotx)
    assert docx.Document(str(tmp_path / "r.docx")).sections[0].header.paragraphs[0].text.startswith("ACME")


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        if os.environ.get("ZONING_REQUIRE_LIBREOFFICE"):
            pytest.fail("LibreOffice is not installed (.ci/run installs Debian's libreoffice-writer-nogui)")
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui poppler-utils")
    if not shutil.which("pdftotext"):
        if os.environ.get("ZONING_REQUIRE_LIBREOFFICE"):
            pytest.fail("pdftotext is not installed (.ci/run installs Debian's poppler-utils)")
        pytest.skip("pdftotext is not installed: apt-get install poppler-utils")
    return found


def test_libreoffice_prints_the_report_with_page_numbers_and_landscape_pages(report_file, tmp_path):
    soffice = _soffice()
    subprocess.run([soffice, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(report_file)],
                   check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "report.pdf"
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                           text=True).stdout.split("\f")
    pages = [p for p in pages if p.strip()]
    n = len(pages)
    assert n >= 3
    for i, page in enumerate(pages, start=1):
        assert f"第 {i} 页 共 {n} 页" in page, (i, page[-300:])
        assert SITE["name"] in page  # the header
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", str(n), str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)
    assert float(sizes[0][0]) < float(sizes[0][1])  # portrait first
    assert any(float(w) > float(h) for w, h in sizes)  # the clause tables on landscape pages
    text = "".join(pages).replace("\u2011", "-")  # the non-breaking hyphen, as LibreOffice writes it
    # ids are not broken across lines (the English conclusion, the missing-inputs table, the clause tables)
    for clause in ("hebei-priority-units/KJ-1", "unit-ZH13063210001/KJ-1", "unit-ZH13063210001/KJ-2",
                   "zone-red-line/KJ-1", "xiongan-baiyangdian/KJ-1"):
        assert clause in text, clause
    assert "hebei-priority-units 2021" in text
