"""Edge cases of ``zoning report``, ``zoning map`` and ``zoning screen --report``: unusual sites,
awkward names and titles, output paths that cannot be written, bad registries, and whether
the documents say what ``zoning check`` says.

Tests commented "was a bug" pin fixes for faults found in review; the others pin behaviour that worked.
"""

from __future__ import annotations

import collections
import csv
import json
import re

import docx
import pytest

from tests.conftest import run
from zoning.sample import registry_path

POINT = ["--lon", 115.97, "--lat", 38.93]  # Baiyangdian: one priority unit, overlay zones
#: a point on the shared border of 安新县白洋淀优先保护单元 and 安新县一般管控单元
EDGE = ["--lon", 115.951963, "--lat", 38.965638]
#: a polygon over eight units south of Baoding
POLYGON = "POLYGON((115.5 38.85, 115.62 38.85, 115.62 38.95, 115.5 38.95, 115.5 38.85))"
LINE = "LINESTRING(115.9 38.9, 116.1 38.95)"

# the report's wording for each outcome of `zoning check --explain --format json`
STATUS_OF_OUTCOME = {("applies", "prohibit"): "禁止 prohibited", ("applies", "restrict"): "限制 restricted",
                     ("applies", "require"): "须落实 required"}
STATUS_OF_OTHER = {"undecided": "待定 undecided", "does not apply": "符合 complies",
                   "manual review": "人工核查 manual review"}


# --- helpers ------------------------------------------------------------------------------------

def _one_line_error(result, *fragments):
    """Exit 1 with exactly one 'zoning: error: ...' line on stderr (warnings aside)."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = [ln for ln in result.stderr.strip().splitlines() if not ln.startswith("zoning: warning:")]
    assert len(lines) == 1 and lines[0].startswith("zoning: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _no_partials(directory):
    assert not [p.name for p in directory.rglob("*") if ".partial" in p.name]


def _docx_rows(path):
    return [[c.text for c in row.cells] for table in docx.Document(str(path)).tables for row in table.rows]


def _clause_tables(path) -> dict[str, list[list[str]]]:
    """The clause tables of a DOCX report, by unit code (from each table's caption)."""
    d = docx.Document(str(path))
    body = d.element.body
    out: dict[str, list[list[str]]] = {}
    caption = None
    tables = iter(d.tables)
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(t.text or "" for t in child.iter() if t.tag.endswith("}t"))
            caption = text if text.endswith("准入清单条款") else caption if not text.strip() else None
        elif tag == "tbl":
            table = next(tables)
            rows = [[c.text for c in r.cells] for r in table.rows]
            if rows[0][0] == "条款 Clause":
                code = re.search(r"ZH\d{11}", caption).group(0)
                assert code not in out, f"two clause tables for {code}"
                out[code] = [r for r in rows[1:] if len(set(r)) > 1]  # group rows span every cell
            caption = None
    return out


def _check_json(args) -> dict:
    result = run(["check", *args, "--explain", "--format", "json"], expect=0)
    return json.loads(result.stdout)


def _assert_faithful(report_path, checked: dict):
    """One clause table per unit of the check, each clause of the trail exactly once, with the status
    the check's outcome means."""
    tables = _clause_tables(report_path)
    assert list(tables) == [u["code"] for u in checked["units"]]
    want = collections.defaultdict(list)
    for e in checked["explanation"]:
        status = STATUS_OF_OUTCOME.get((e["outcome"], e["effect"])) or STATUS_OF_OTHER[e["outcome"]]
        want[e["unit"]].append((e["list"], e["clause"], e["zone"], status))
    for code, rows in tables.items():
        got = []
        for label, _effect, _text, status in rows:
            lines = label.split("\n")
            zone = next((ln.removeprefix("叠加区 zone ") for ln in lines if ln.startswith("叠加区 zone ")), None)
            got.append((lines[0].split()[0], lines[1], zone, status.split("：")[0]))
        assert len(got) == len(set(got)), f"{code}: a clause listed twice"
        assert sorted(got, key=str) == sorted(want[code], key=str), code


def _assert_self_contained(html: str):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", html, re.I)
    assert "<link" not in html and "<script" not in html


def _registry(path, rows, header=None):
    """A CSV registry with the sample's header and the given rows (dicts of field: value)."""
    with open(registry_path(), encoding="utf-8") as f:
        header = header or next(csv.reader(f))
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


CHEMICALS = {"project_id": "P1", "name": "示例化工项目", "lon": "115.97", "lat": "38.93", "industry": "C2614",
             "type": "new", "VOCs": "12.5"}


# --- faithfulness -----------------------------------------------------------------------------

def test_site_on_the_edge_of_two_units_gets_one_faithful_clause_table_per_unit(tmp_path):
    checked = _check_json([*EDGE, "--industry", "C2614", "--type", "new"])
    assert len(checked["units"]) == 2
    out = tmp_path / "edge.docx"
    run(["report", *EDGE, "--industry", "C2614", "--type", "new", "--no-map", "-o", out], expect=0)
    _assert_faithful(out, checked)
    units = [r for r in _docx_rows(out) if r[0] in {u["code"] for u in checked["units"]}]
    assert [r[4] for r in units] == ["禁止 PROHIBITED"] * 2  # both units' verdicts, as check says


def test_polygon_over_many_units_gets_a_faithful_table_for_each(tmp_path):
    checked = _check_json(["--site", POLYGON, "--industry", "C3120", "--type", "expansion"])
    assert len(checked["units"]) >= 6
    out = tmp_path / "poly.docx"
    run(["report", "--site", POLYGON, "--industry", "C3120", "--type", "expansion", "--no-map", "-o", out],
        expect=0)
    _assert_faithful(out, checked)


def test_line_site_reports_overlap_lengths_and_faithful_statuses(tmp_path):
    checked = _check_json(["--site", LINE, "--industry", "C3120", "--type", "expansion"])
    out = tmp_path / "line.docx"
    result = run(["report", "--site", LINE, "--industry", "C3120", "--type", "expansion", "--no-map", "-o", out],
                 expect=0)
    assert f"verdict: {checked['verdict']}" in result.stdout
    _assert_faithful(out, checked)
    rows = _docx_rows(out)
    assert any(r[0] == "选址 Site" and "LineString" in r[1] and "长度 length" in r[1] for r in rows)
    lengths = [r[-1] for r in rows if re.fullmatch(r"ZH\d{11}", r[0])]
    assert lengths and all(re.fullmatch(r"[\d,]+\.\d m（\d+\.\d%）", v) for v in lengths)


def test_multipoint_site_in_two_regions(tmp_path):
    site = "MULTIPOINT((115.97 38.93),(118.5 39.0))"
    checked = _check_json(["--site", site, "--industry", "C2614"])
    out = tmp_path / "mp.docx"
    run(["report", "--site", site, "--industry", "C2614", "--no-map", "-o", out], expect=0)
    _assert_faithful(out, checked)


def test_site_outside_every_unit_html_is_self_contained_and_checks_nothing(tmp_path):
    out = tmp_path / "outside.html"
    result = run(["report", "--lon", 100, "--lat", 30, "-o", out], expect=0)
    assert "verdict: not_covered" in result.stdout
    html = out.read_text(encoding="utf-8")
    _assert_self_contained(html)
    assert "NOT COVERED" in html and "不能据此视为允许" in html
    assert "条款 Clause" not in html and html.count("data:image/png;base64,") == 1


def test_project_without_industry_or_type_lists_them_as_missing(tmp_path):
    out = tmp_path / "bare.docx"
    result = run(["report", *POINT, "--no-map", "-o", out], expect=0)
    assert "may be prohibited" in result.stdout
    rows = _docx_rows(out)
    fields = {r[0]: r[1] for r in rows if len(r) == 2}
    assert fields["行业 Industry (GB/T 4754-2017)"] == "（未提供 not given）"
    assert fields["建设性质 Type"] == "（未提供 not given）"
    missing = {r[0] for r in rows if len(r) == 3}
    assert {"industry", "type"} <= missing
    body = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "待定 UNDETERMINED" in body and "may be: 禁止 PROHIBITED" in body


def test_site_from_a_geojson_file(tmp_path):
    site = tmp_path / "地块.geojson"
    site.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "地块1"},
        "geometry": {"type": "Polygon", "coordinates": [[[115.95, 38.92], [115.99, 38.92], [115.99, 38.95],
                                                         [115.95, 38.95], [115.95, 38.92]]]}}]}),
                    encoding="utf-8")
    out = tmp_path / "r.md"
    result = run(["report", "--site", site, "--industry", "C2614", "--type", "new", "-o", out], expect=0)
    assert "verdict: prohibited" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert re.search(r"Polygon，中心 centre 115\.970000°E, 38\.935000°N（CGCS2000）；面积 area [\d,]+\.\d m²", text)
    assert (tmp_path / "r-map.png").read_bytes()[:4] == b"\x89PNG"


def test_gcj02_coordinates_are_named_in_the_report(tmp_path):
    out = tmp_path / "gcj.html"
    run(["report", "--lon", 115.976, "--lat", 38.931, "--crs", "gcj02", "--industry", "C2614", "--type", "new",
         "-o", out], expect=0)
    html = out.read_text(encoding="utf-8")
    assert re.search(r"输入坐标系 Input CRS</th><td>GCJ-02", html)
    # the centre is given converted to CGCS2000: no longer the GCJ-02 numbers
    centre = re.search(r"中心 centre ([\d.]+)°E, ([\d.]+)°N", html)
    assert centre and (centre.group(1), centre.group(2)) != ("115.976000", "38.931000")
    _assert_self_contained(html)


# --- names and titles -------------------------------------------------------------------------

def test_html_escapes_markup_and_keeps_newlines_in_name_and_title(tmp_path):
    out = tmp_path / "r.html"
    run(["report", *POINT, "--no-map", "--name", "a|b<c>&d\ne", "--title", "T<x>&y", "-o", out], expect=0)
    html = out.read_text(encoding="utf-8")
    assert "<c>" not in html and "<x>" not in html
    assert "<h1>T&lt;x&gt;&amp;y</h1>" in html
    assert "a|b&lt;c&gt;&amp;d<br>e" in html


def test_markdown_escapes_pipes_in_table_cells(tmp_path):
    out = tmp_path / "r.md"
    run(["report", *POINT, "--no-map", "--name", "甲|乙", "-o", out], expect=0)
    assert "| **项目名称 Project** | 甲\\|乙 |" in out.read_text(encoding="utf-8")


def test_emoji_and_extension_b_characters_survive_in_every_format(tmp_path):
    name, title = "工厂😀𠀀", "标题😀𠀀"
    for ext in ("docx", "html", "md"):
        run(["report", *POINT, "--no-map", "--name", name, "--title", title, "-o", tmp_path / f"r.{ext}"], expect=0)
    d = docx.Document(str(tmp_path / "r.docx"))
    assert d.paragraphs[0].text == title and d.core_properties.title == title
    assert any(r[1] == name for r in _docx_rows(tmp_path / "r.docx") if len(r) == 2)
    assert name in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith(f"# {title}\n")
    # the figure cannot draw 𠀀 (no font has it): a warning, not a failure
    result = run(["map", *POINT, "--title", title, "--dpi", 50, "-o", tmp_path / "m.png"], expect=0)
    assert "zoning: warning: Glyph" in result.stderr and "Traceback" not in result.output


def test_docx_with_a_control_character_in_the_name(tmp_path):
    # was a bug: expected a DOCX (the character dropped or replaced), got a lxml ValueError traceback
    out = tmp_path / "r.docx"
    run(["report", *POINT, "--no-map", "--name", "示例\x0b项目", "-o", out], expect=0)
    assert any(r[0] == "项目名称 Project" and r[1].startswith("示例") and r[1].endswith("项目")
               for r in _docx_rows(out))


def test_docx_with_a_title_over_255_characters(tmp_path):
    # was a bug: expected the report (document properties truncated), got "exceeded 255 char limit" traceback
    title = "关于" + "某某" * 130 + "的生态环境分区管控符合性分析"
    out = tmp_path / "r.docx"
    run(["report", *POINT, "--no-map", "--title", title, "-o", out], expect=0)
    assert docx.Document(str(out)).paragraphs[0].text == title


def test_docx_with_a_project_name_over_255_characters(tmp_path):
    # was a bug: expected the report, got "exceeded 255 char limit for property" (the name goes in core properties)
    name = "示例" * 130
    out = tmp_path / "r.docx"
    run(["report", *POINT, "--no-map", "--name", name, "-o", out], expect=0)
    assert any(r[1] == name for r in _docx_rows(out) if len(r) == 2)


def test_map_title_with_dollar_signs_is_text_not_mathtext(tmp_path):
    # was a bug: expected the title drawn literally, got matplotlib mathtext ParseSyntaxException traceback
    run(["map", *POINT, "--title", r"投资 US$1.2亿 \frac{1}{$ 二期", "--dpi", 50, "-o", tmp_path / "m.png"],
        expect=0)


def test_markdown_escapes_html_like_text(tmp_path):
    # was a bug: expected '<B>' shown as text in rendered Markdown, but it is emitted raw and vanishes as a tag
    from markdown_it import MarkdownIt

    out = tmp_path / "r.md"
    run(["report", *POINT, "--no-map", "--name", "Plant <B> & Co", "-o", out], expect=0)
    rendered = MarkdownIt("commonmark").enable("table").render(out.read_text(encoding="utf-8"))
    assert "Plant &lt;B&gt; &amp; Co" in rendered


def test_markdown_figure_link_works_when_the_file_name_has_a_space(tmp_path):
    # was a bug: expected the image to render; "![..](my report-map.png)" is not a valid CommonMark link
    from markdown_it import MarkdownIt

    out = tmp_path / "my report.md"
    run(["report", *POINT, "-o", out], expect=0)
    assert (tmp_path / "my report-map.png").exists()
    rendered = MarkdownIt("commonmark").render(out.read_text(encoding="utf-8"))
    assert rendered.count("<img") == 1


# --- map width --------------------------------------------------------------------------------

def test_map_width_bounds(tmp_path):
    for width in (0.1, 5000):
        out = tmp_path / f"m{width}.png"
        run(["map", *POINT, "--map-width", width, "--dpi", 50, "-o", out], expect=0)
        assert out.read_bytes()[:4] == b"\x89PNG"
    for width in (0.05, 5001, "inf", "abc"):
        result = run(["map", *POINT, "--map-width", width, "-o", tmp_path / "bad.png"], expect=2)
        assert "--map-width" in result.output
    _one_line_error(run(["map", *POINT, "--map-width", "nan", "-o", tmp_path / "nan.png"]), "map width")
    assert not (tmp_path / "bad.png").exists() and not (tmp_path / "nan.png").exists()


def test_narrow_map_has_a_metre_scale_bar(sample_engine):
    import matplotlib.text

    from zoning.outputs import maps

    result = sample_engine.check(lon=115.97, lat=38.93)
    fig = maps.location_figure(sample_engine, result, width_m=100)
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert "20 m" in texts and not any(t.endswith(" km") for t in texts)


def test_very_wide_map_is_drawn_in_a_frame_crs(sample_engine):
    # was a bug: expected an Albers frame for 5000 km (> 6° of longitude, as documented); the CRS is chosen from
    # the site's extent, so a transverse Mercator is used and the scale bar is ~4% off at the frame's edge
    import matplotlib.text

    from zoning.outputs import maps

    result = sample_engine.check(lon=115.97, lat=38.93)
    fig = maps.location_figure(sample_engine, result, width_m=5_000_000)
    footer = next(t.get_text() for t in fig.findobj(matplotlib.text.Text) if "坐标系 CGCS2000" in t.get_text())
    assert "Albers" in footer


# --- output paths -----------------------------------------------------------------------------

@pytest.mark.parametrize("command, name", [("report", "r.docx"), ("report", "r.md"), ("map", "m.pdf")])
def test_output_in_a_missing_directory_is_a_one_line_error(tmp_path, command, name):
    result = run([command, *POINT, "-o", tmp_path / "no" / "such" / name])
    _one_line_error(result, "does not exist")
    assert not (tmp_path / "no").exists()


def test_output_under_a_file_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    _one_line_error(run(["report", *POINT, "--no-map", "-o", blocker / "r.docx"]), "cannot write in")
    _one_line_error(run(["map", *POINT, "-o", blocker / "m.png"]), "cannot write in")


def test_output_that_is_a_directory_is_a_usage_error(tmp_path):
    (tmp_path / "r.docx").mkdir()
    result = run(["report", *POINT, "-o", tmp_path / "r.docx"], expect=2)
    assert "is a directory" in result.output


def test_existing_outputs_are_replaced_without_partial_files(tmp_path):
    for ext in ("docx", "html", "md"):
        out = tmp_path / f"r.{ext}"
        out.write_bytes(b"old")
        run(["report", *POINT, "--title", "第二版", "--no-map", "-o", out], expect=0)
        assert out.read_bytes() != b"old"
    assert docx.Document(str(tmp_path / "r.docx")).paragraphs[0].text == "第二版"
    assert "<h1>第二版</h1>" in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("# 第二版\n")
    png = tmp_path / "m.png"
    png.write_bytes(b"old")
    run(["map", *POINT, "--dpi", 50, "-o", png], expect=0)
    assert png.read_bytes()[:4] == b"\x89PNG"
    _no_partials(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png", "r.docx", "r.html", "r.md"]


def test_refused_output_leaves_the_existing_file_alone(tmp_path):
    out = tmp_path / "r.docx"
    out.write_bytes(b"old")
    _one_line_error(run(["report", *POINT, "--industry", "Z9999", "-o", out]), "unknown industry")
    assert out.read_bytes() == b"old"
    _no_partials(tmp_path)


def test_no_map_writes_no_figure(tmp_path):
    run(["report", *POINT, "--no-map", "-o", tmp_path / "r.md"], expect=0)
    run(["report", *POINT, "--no-map", "-o", tmp_path / "r.docx"], expect=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.docx", "r.md"]
    assert "![" not in (tmp_path / "r.md").read_text(encoding="utf-8")
    d = docx.Document(str(tmp_path / "r.docx"))
    assert len(d.inline_shapes) == 0 and not any(p.text.startswith("图 1") for p in d.paragraphs)


def test_markdown_figure_path_taken_by_a_directory_is_a_one_line_error(tmp_path):
    # was a bug: expected "zoning: error: ..." (exit 1), got an IsADirectoryError traceback from os.replace
    (tmp_path / "r-map.png").mkdir()
    _one_line_error(run(["report", *POINT, "-o", tmp_path / "r.md"]))
    assert not (tmp_path / "r.md").exists()
    _no_partials(tmp_path)


# --- screen --report --------------------------------------------------------------------------

def test_screen_report_with_bad_rows(tmp_path):
    reg = _registry(tmp_path / "reg.csv", [
        CHEMICALS,
        {**CHEMICALS, "project_id": "P2", "name": "缺坐标", "lon": "", "lat": ""},
        {**CHEMICALS, "project_id": "P3", "name": "坏行业", "industry": "Z9999"},
        {**CHEMICALS, "project_id": "P4", "name": "坏经度", "lon": "abc"},
    ])
    report = tmp_path / "report"
    result = run(["screen", reg, "-o", tmp_path / "out.csv", "--report", report], expect=0)
    assert result.stderr.count("wrote ") == 4
    assert sorted(p.name for p in report.iterdir()) == ["report-map.png", "report.docx", "report.html", "report.md"]
    rows = _docx_rows(report / "report.docx")
    problems = {r[0]: r[1] for r in rows if len(r) == 3 and r[0] != "问题 Problem"}
    assert problems == {"missing location": "1", "unknown industry": "1", "bad coordinate": "1"}
    assert ["禁止 PROHIBITED", "1", "25.0%", "1"] in rows
    assert any(r[0] == "无法判定 ERROR" and r[1] == "3" for r in rows)
    listed = [r for r in rows if len(r) == 6 and r[0] == "2"]
    assert listed and listed[0][1] == "示例化工项目"
    _assert_self_contained((report / "report.html").read_text(encoding="utf-8"))
    _no_partials(tmp_path)


def test_screen_report_on_a_header_only_registry(tmp_path):
    reg = _registry(tmp_path / "empty.csv", [])
    report = tmp_path / "report"
    run(["screen", reg, "-o", tmp_path / "out.csv", "--report", report, "-q"], expect=0)
    rows = _docx_rows(report / "report.docx")
    assert ["项目数 Rows", "0"] in rows
    md = (report / "report.md").read_text(encoding="utf-8")
    assert md.count("无 None.") == 2  # neither prohibited nor restricted projects
    assert (report / "report-map.png").read_bytes()[:4] == b"\x89PNG"


def test_screen_report_in_a_nested_missing_directory_is_refused_before_screening(tmp_path):
    out = tmp_path / "out.csv"
    result = run(["screen", registry_path(), "-o", out, "--report", tmp_path / "a" / "b" / "c", "-q"])
    _one_line_error(result, "does not exist")
    assert not out.exists() and not (tmp_path / "a").exists()


def test_screen_report_with_a_control_character_in_a_project_name(tmp_path):
    # was a bug: expected the report (character dropped or replaced), got a lxml ValueError traceback after screening
    reg = _registry(tmp_path / "reg.csv", [{**CHEMICALS, "name": "示例\x0b化工项目"}])
    report = tmp_path / "report"
    run(["screen", reg, "-o", tmp_path / "out.csv", "--report", report, "-q"], expect=0)
    assert (report / "report.docx").exists()


def test_screen_report_with_long_paths(tmp_path):
    # was a bug: expected the report, got "exceeded 255 char limit for property" ("input → output" is the subtitle)
    deep = tmp_path / ("建设项目环境影响评价登记表" * 6)  # 78 characters, 234 bytes: a legal directory name
    deep.mkdir()
    reg = _registry(deep / "registry.csv", [CHEMICALS])
    run(["screen", reg, "-o", deep / "screened.csv", "--report", deep / "report", "-q"], expect=0)
    assert (deep / "report" / "report.docx").exists()


def test_screen_report_file_taken_by_a_directory_is_a_one_line_error(tmp_path):
    # was a bug: expected "zoning: error: ..." (exit 1), got an IsADirectoryError traceback from os.replace
    reg = _registry(tmp_path / "reg.csv", [CHEMICALS])
    (tmp_path / "report" / "report.docx").mkdir(parents=True)
    _one_line_error(run(["screen", reg, "-o", tmp_path / "out.csv", "--report", tmp_path / "report", "-q"]))
    _no_partials(tmp_path)


def test_screen_report_gives_the_industry_code_as_in_the_registry(tmp_path):
    # was a bug: expected "C2614" (as given, and as `zoning report` shows it), the listed projects show "2614"
    reg = _registry(tmp_path / "reg.csv", [CHEMICALS])
    report = tmp_path / "report"
    run(["screen", reg, "-o", tmp_path / "out.csv", "--report", report, "-q"], expect=0)
    listed = [r for r in _docx_rows(report / "report.docx") if len(r) == 6 and r[0] == "2"]
    assert listed[0][2].startswith("C2614")
