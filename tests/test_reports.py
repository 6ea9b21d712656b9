"""Compliance reports (DOCX, HTML, Markdown), the location and registry maps, and their fonts."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from PIL import Image

from tests.conftest import run
from zoning.errors import InputError
from zoning.outputs import cartography, fonts, maps
from zoning.outputs.documents import write_document
from zoning.outputs.reports import compliance_report, status_key
from zoning.sample import registry_path

# the sample's Baiyangdian point: a priority-protection unit, prohibited, with undecided and
# review-only clauses
SITE = {"lon": 115.97, "lat": 38.93, "industry": "C2614", "type": "new",
        "emissions": {"VOCs": "12.5", "NOx": "3"}, "name": "示例华岳化工有机化学原料新建项目"}
PRIORITY_GREEN = tuple(int(maps.TYPE_COLOURS[1][i:i + 2], 16) for i in (1, 3, 5))  # its fill


@pytest.fixture(scope="module")
def checked(sample_engine):
    return sample_engine.check(**SITE, explain=True)


@pytest.fixture(scope="module")
def document(sample_engine, checked):
    return compliance_report(sample_engine, checked, location_png=maps.location_map(sample_engine, checked))


def _render_text(text: str, families) -> np.ndarray:
    """``text`` drawn alone in black on white with the given font families, as a grey array."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": list(families)}):
        fig = Figure(figsize=(0.6, 0.6), dpi=100)
        canvas = FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, text, fontsize=24, ha="center", va="center")
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())[..., 0].copy()


def test_chinese_labels_are_drawn_with_real_glyphs_not_the_missing_glyph_box():
    families = fonts.families()
    chars = "优先保护单元重点管控一般项目位置叠加区"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # drawing the missing-glyph box warns, as it should
        # without the shipped font, every one of these characters is the same box (matplotlib's
        # last-resort glyph for the CJK block): the reference, and proof the test can fail
        boxes = {_render_text(ch, [fonts.LATIN_FAMILY]).tobytes() for ch in chars}
    assert len(boxes) == 1
    box = np.frombuffer(boxes.pop(), dtype=np.uint8)
    assert (box < 128).sum() > 20  # the box is drawn: comparing with it means something
    drawn = set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for ch in chars:
            image = _render_text(ch, families)
            assert not np.array_equal(image.ravel(), box), f"{ch} is drawn as the missing-glyph box"
            assert (image < 128).sum() > 20, f"{ch} drew nothing"
            drawn.add(image.tobytes())
    assert len(drawn) == len(chars)  # distinct characters, distinct glyphs


def test_missing_glyphs_names_what_no_font_draws():
    assert fonts.missing_glyphs("安新县白洋淀 ZH13063210001 (优先保护单元)，m²") == ""
    assert fonts.missing_glyphs("𠀀 ok") == "𠀀"  # CJK Extension B is not covered


def test_location_figure_labels_units_and_legend_without_missing_glyphs(sample_engine, checked):
    import matplotlib.text

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font(s)" for tofu
        fig = maps.location_figure(sample_engine, checked, title="项目位置与环境管控单元关系图")
        png = maps._encode(fig, "png", 100)
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert "ZH13063210001" in texts  # the site's unit, labelled
    assert any(t.startswith("优先保护单元") for t in texts)
    assert "N" in texts and any(t.endswith(" km") for t in texts)  # north arrow, scale bar
    assert any(re.fullmatch(r"115°5\d′E", t) for t in texts)  # longitude on the frame
    assert any(re.fullmatch(r"38°5\d′N", t) for t in texts)
    assert fonts.missing_glyphs("".join(texts)) == ""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert _colour_share(image, PRIORITY_GREEN) > 0.2  # the priority unit fills the frame


def _colour_share(image: np.ndarray, rgb, tolerance: int = 6) -> float:
    return float((np.abs(image.astype(int) - np.array(rgb)).max(axis=-1) <= tolerance).mean())


def test_frame_crs_measures_true_distance():
    from pyproj import Geod, Transformer

    crs = maps.frame_crs(115.9, 38.9, 116.0, 39.0)
    forth = Transformer.from_crs(4490, crs, always_xy=True)
    (x0, x1), (y0, y1) = forth.transform([115.90, 116.00], [38.95, 38.95])
    geodesic = Geod(ellps="GRS80").inv(115.90, 38.95, 116.00, 38.95)[2]
    assert abs(np.hypot(x1 - x0, y1 - y0) / geodesic - 1) < 1e-4
    assert "Albers" in maps.frame_crs(75, 20, 130, 50).coordinate_operation.method_name


def test_scale_bar_lengths_are_round_numbers():
    assert [cartography._nice(v) for v in (1600, 999, 2100, 7.5e4)] == [1000, 500, 2000, 50000]


def test_report_refuses_a_result_without_the_audit_trail(sample_engine):
    with pytest.raises(InputError, match="explain=True"):
        compliance_report(sample_engine, sample_engine.check(lon=115.97, lat=38.93))


def test_every_clause_considered_gets_a_status(checked):
    keys = {status_key(e) for e in checked.explanation}
    assert {"prohibited", "complies", "undecided", "manual_review"} <= keys
    restrict = [e for e in checked.explanation if e["effect"] == "restrict" and e["outcome"] == "applies"]
    assert restrict and all(status_key(e) == "restricted" for e in restrict)


def test_docx_has_the_tables_and_the_figure(document, tmp_path):
    import docx

    path = tmp_path / "report.docx"
    assert write_document(document, path) == [path]
    d = docx.Document(str(path))
    texts = [[cell.text for cell in row.cells] for table in d.tables for row in table.rows]
    clauses = [r for r in texts if len(r) == 4]
    flat = "\n".join("\t".join(r) for r in texts)
    assert "示例华岳化工有机化学原料新建项目" in flat and "C2614 有机化学原料制造" in flat
    assert ["单元编码 Code", "单元名称 Name", "类型 Type", "所在 County, city", "单元结论 Verdict"] in texts
    assert any(r[0] == "ZH13063210001" and r[1] == "安新县白洋淀优先保护单元" for r in texts)
    clause_header = ["条款 Clause", "效力 Effect", "条款内容及来源 Text and source", "项目情况 Project status"]
    assert clause_header in texts
    # group rows span the table: every cell of the row holds the same "level · dimension" label
    assert any(len(set(r)) == 1 and r[0].startswith("省级 province · 空间布局约束") for r in texts)
    kj1 = next(r for r in texts if r[0].startswith("hebei-priority-units") and r[0].endswith("KJ-1"))
    assert kj1[1] == "禁止 prohibit" and kj1[3].startswith("禁止 prohibited")
    assert "空间布局约束第1条" in kj1[2]  # the source's article
    assert any(r[3].startswith("符合 complies") for r in clauses)
    assert any(r[3].startswith("待定 undecided：缺少 missing in_park") for r in clauses)
    assert any(r[3].startswith("人工核查 manual review") for r in clauses)
    assert any(r[0] == "in_park" for r in texts)  # the missing-inputs table
    assert any(r[0] == "规则集校验值 Rules SHA-256" and re.fullmatch(r"[0-9a-f]{64}", r[1]) for r in texts)
    body = "\n".join(p.text for p in d.paragraphs)
    assert "禁止 PROHIBITED" in body and "图 1  项目位置" in body  # the caption: label, SEQ field, text
    shapes = d.inline_shapes
    assert len(shapes) == 1
    blob = shapes[0]._inline.graphic.graphicData.pic.blipFill.blip.embed
    image = d.part.related_parts[blob].blob
    assert image[:8] == b"\x89PNG\r\n\x1a\n" and Image.open(io.BytesIO(image)).size[0] > 1000
    assert 14 < shapes[0].width.cm <= 16.01
    normal = d.styles["Normal"].element.rPr.rFonts
    assert normal.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "宋体"


def test_markdown_writes_the_figure_beside_it(document, tmp_path):
    path = tmp_path / "report.md"
    written = write_document(document, path)
    figure = tmp_path / "report-map.png"
    assert written == [figure, path]
    text = path.read_text(encoding="utf-8")
    assert "](report-map.png)" in text and figure.read_bytes()[:4] == b"\x89PNG"
    assert "| **省级 province · 空间布局约束 spatial layout** |" in text
    assert re.search(r"\| ZH13063210001 \| 安新县白洋淀优先保护单元 \|", text)


def test_html_is_self_contained(document, tmp_path):
    path = tmp_path / "report.html"
    write_document(document, path)
    text = path.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 1
    assert "@font-face" in text and "data:font/ttf;base64," in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "url(http" not in text


def _chromium():
    found = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                 None)
    if found is None:
        if os.environ.get("ZONING_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed")
    return found


def _screenshot(html, tmp_path, name) -> np.ndarray:
    shot = tmp_path / f"{name}.png"
    profile = tmp_path / f"profile-{name}"
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1100,2200",
                    f"--screenshot={shot}", html.as_uri()], check=True, capture_output=True, timeout=120)
    return np.asarray(Image.open(shot).convert("RGB"))


def test_html_renders_the_figure_in_headless_chromium(document, tmp_path):
    path = tmp_path / "report.html"
    write_document(document, path)
    shown = _colour_share(_screenshot(path, tmp_path, "report"), PRIORITY_GREEN)
    # control: the same page with the image's data broken shows no map
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,AAAA",
                             path.read_text(encoding="utf-8")), encoding="utf-8")
    missing = _colour_share(_screenshot(broken, tmp_path, "broken"), PRIORITY_GREEN)
    assert shown > 0.05 and missing < 0.001, (shown, missing)


def test_not_covered_site_reports_nothing_checked(sample_engine, tmp_path):
    import docx

    result = sample_engine.check(lon=100.0, lat=30.0, industry="C2614", explain=True)
    doc = compliance_report(sample_engine, result, location_png=maps.location_map(sample_engine, result))
    path = tmp_path / "r.docx"
    write_document(doc, path)
    body = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert "NOT COVERED" in body and "不能据此视为允许" in body and "not a permission" in body
    assert "所在环境管控单元" not in body


def test_report_cli_writes_each_format_and_refuses_unknown_ones(tmp_path):
    for ext in ("docx", "html", "md"):
        out = tmp_path / f"r.{ext}"
        result = run(["report", "--lon", 115.97, "--lat", 38.93, "--industry", "C2614", "--type", "new",
                      "--emission", "VOCs=12.5", "-o", out], expect=0)
        assert out.exists() and "verdict: prohibited" in result.output
    result = run(["report", "--lon", 115.97, "--lat", 38.93, "-o", tmp_path / "r.pdf"], expect=1)
    assert "a report is written as .docx, .html or .md" in result.output
    result = run(["report", "--lon", 115.97, "--lat", 38.93, "-o", tmp_path / "no" / "r.docx"], expect=1)
    assert "does not exist" in result.output


def test_polygon_site_report_gives_overlaps(tmp_path):
    import docx

    out = tmp_path / "r.docx"
    run(["report", "--site", "POLYGON((115.5 38.85, 115.62 38.85, 115.62 38.95, 115.5 38.95, 115.5 38.85))",
         "--industry", "C2614", "-o", out], expect=0)
    rows = [[c.text for c in r.cells] for t in docx.Document(str(out)).tables for r in t.rows]
    overlaps = [r[-1] for r in rows if re.fullmatch(r"ZH\d{11}", r[0]) and "m²" in r[-1]]
    assert len(overlaps) >= 4
    assert all(re.search(r"ha，\d+\.\d%", o) for o in overlaps)


def test_map_cli_writes_png_svg_pdf(tmp_path):
    for ext, magic in (("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")):
        out = tmp_path / f"m.{ext}"
        run(["map", "--lon", 115.97, "--lat", 38.93, "--map-width", 5, "-o", out], expect=0)
        assert out.read_bytes()[:len(magic)] == magic
    result = run(["map", "--lon", 115.97, "--lat", 38.93, "-o", tmp_path / "m.jpg"], expect=1)
    assert "a map is written as" in result.output


def test_screen_report_lists_prohibited_and_restricted_projects(tmp_path):
    import docx

    report = tmp_path / "report"
    result = run(["screen", registry_path(), "-o", tmp_path / "out.csv", "--report", report], expect=0)
    assert {p.name for p in report.iterdir()} == {"report.docx", "report.html", "report.md", "report-map.png"}
    assert "wrote" in result.output
    import pandas as pd

    screened = pd.read_csv(tmp_path / "out.csv")
    counts = screened["verdict"].value_counts()
    d = docx.Document(str(report / "report.docx"))
    tables = [[[c.text for c in r.cells] for r in t.rows] for t in d.tables]
    listed = [t for t in tables if t[0][:2] == ["行 Row", "项目名称 Name"]]
    assert [len(t) - 1 for t in listed] == [counts["prohibited"], counts["restricted"]]
    first = listed[0][1]
    row = screened.iloc[int(first[0]) - 2]  # row numbers count the header as row 1
    assert row["verdict"] == "prohibited" and first[1] == row["name"]
    assert first[4].split("\n") == row["clauses"].split(";")
    verdicts = next(t for t in tables if t[0][0] == "结论 Verdict")
    assert any(r[0] == "禁止 PROHIBITED" and r[1] == f"{counts['prohibited']:,}" for r in verdicts)
    assert len(d.inline_shapes) == 1


def test_screen_report_refuses_a_file_as_directory(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    result = run(["screen", registry_path(), "-o", tmp_path / "out.csv", "--report", target, "-q"], expect=2)
    assert "is a file" in result.output
    assert not (tmp_path / "out.csv").exists()  # refused before screening


def test_registry_map_places_every_located_row(sample_engine):
    import matplotlib.lines

    lon = np.array([115.97, 116.2, np.nan, 118.5])
    lat = np.array([38.93, 39.0, np.nan, 39.1])
    verdict = np.array(["prohibited", "permitted", "error", "restricted"], dtype=object)
    fig = maps.registry_figure(sample_engine, lon, lat, verdict)
    labels = [h.get_label() for h in fig.legends[0].legend_handles if isinstance(h, matplotlib.lines.Line2D)]
    assert "禁止 prohibited (1)" in labels and "允许 permitted (1)" in labels and "限制 restricted (1)" in labels
    footer = [t.get_text() for t in fig.texts if "projects mapped" in t.get_text()]
    assert footer and "3 个项目 projects mapped; 1 without a location" in footer[0]
