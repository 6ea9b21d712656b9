"""What a registry's screening report says: counts, the map of projects by verdict, and the
prohibited and restricted projects with their reasons (collected while screening by
:class:`zoning.screening.Digest`); written as DOCX, HTML and Markdown by ``zoning screen --report``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from zoning.errors import InputError
from zoning.inputs.units import UNIT_TYPES
from zoning.outputs.documents import Document, Fields, Figure, Heading, Paragraph, Table, write_document
from zoning.outputs.maps import registry_map
from zoning.outputs.reports import SAMPLE_NOTE, running_header
from zoning.verdicts import SERIOUSNESS, Verdict

if TYPE_CHECKING:  # annotations only: outputs sit below the API that calls them
    from zoning.engine import Engine
    from zoning.screening import Digest, Summary

REGISTRY_MAP_CAPTION = "建设项目筛查结论分布图 Screened projects by verdict"


def registry_report(engine: Engine, summary: Summary, digest: Digest, *, map_png: bytes | None = None,
                    title: str | None = None,
                    created: dt.datetime | None = None) -> Document:
    """The summary of a screened registry: what was read and how, counts by verdict, worst case,
    unit type and error, the map of projects by verdict, and the prohibited and restricted
    projects with their units, clauses and reasons (the first :data:`zoning.screening.LISTED` of each)."""

    doc = Document(title=title or "建设项目生态环境分区管控筛查汇总 Registry screening summary",
                   subtitle=f"{summary.input} → {summary.output}")
    if created is not None:
        doc.created = created
    doc.header = running_header(f"{Path(str(summary.input)).name} 筛查汇总", doc.created,
                                engine.provenance.get("rules_sha256", ""))
    if engine.illustrative:
        doc.add(Paragraph(SAMPLE_NOTE, style="note"))
    rows = [("输入 Registry", summary.input), ("输出 Output", summary.output),
            ("项目数 Rows", f"{summary.rows:,}"), ("字段对应 Columns used", summary.columns)]
    if summary.encoding:
        rows.append(("编码 Encoding", summary.encoding))
    rows += [("管控要求执行日期 Rules as of", str(engine.as_of)),
             ("分析软件 Engine", f"zoning {engine.provenance.get('engine_version', '')}"),
             ("规则集校验值 Rules SHA-256", engine.provenance.get("rules_sha256", "")),
             ("生成时间 Generated", doc.created.strftime("%Y-%m-%d %H:%M:%S %z"))]
    doc.add(Heading("筛查概况 Screening"), Fields(rows))

    total = max(summary.rows, 1)
    counts = [[v.title, f"{summary.verdicts[v.key]:,}", f"{summary.verdicts[v.key] / total:.1%}",
               f"{summary.worst[v.key]:,}" if v.key in summary.worst or v in (Verdict.PROHIBITED, Verdict.RESTRICTED)
               else "—"]
              for v in SERIOUSNESS if summary.verdicts[v.key] or summary.worst[v.key]]
    doc.add(Heading("结论统计 Verdicts"),
            Table(["结论 Verdict", "项目数 Rows", "占比 Share", "最不利情形 Worst case (rows)"], counts,
                  caption="按结论统计 Rows by verdict; worst case: the verdict once missing inputs are given"))
    if summary.unit_types:

        doc.add(Table(["单元类型 Unit type", "项目数 Rows"],
                      [[f"{t} {UNIT_TYPES[t][1]} {UNIT_TYPES[t][2]}", f"{n:,}"]
                       for t, n in sorted(summary.unit_types.items())],
                      caption="按所在单元类型统计 Rows in at least one unit of each type"))
    if summary.errors:
        doc.add(Table(["问题 Problem", "行数 Rows", "示例 Examples"],
                      [[kind, f"{n:,}", "\n".join(summary.examples.get(kind, []))]
                       for kind, n in summary.errors.most_common()],
                      caption="未能判定的行 Rows without a verdict, and why"))
    if map_png is not None:
        doc.add(Figure(map_png, REGISTRY_MAP_CAPTION, name="map.png"))
    for verdict, heading in (("prohibited", "禁止的项目 Prohibited projects"),
                             ("restricted", "限制的项目 Restricted projects")):
        listed = digest.listed[verdict]
        n = summary.verdicts[verdict]
        doc.add(Heading(heading))
        if not n:
            doc.add(Paragraph("无 None."))
            continue
        if n > len(listed):
            doc.add(Paragraph(f"列出前 {len(listed):,} 个，共 {n:,} 个；全部见输出文件。 The first {len(listed):,} of "
                              f"{n:,}; the output file has them all.", style="note"))
        doc.add(Table(["行 Row", "项目名称 Name", "行业 Industry", "单元 Units", "条款 Clauses", "理由 Reasons"],
                      [[str(r["row"]), r["name"], r["industry"], r["units"].replace(";", "\n"),
                        r["clauses"].replace(";", "\n"), r["reasons"].replace(" | ", "\n")] for r in listed],
                      widths=[0.6, 1.6, 0.9, 1.2, 1.6, 5], wide=True))
    if summary.notes:
        doc.add(Heading("说明 Notes"), *(Paragraph(note, style="note") for note in summary.notes))
    return doc


def write_registry_report(engine: Engine, summary: Summary, digest: Digest, directory: str | Path,
                          template: str | Path | None = None) -> list[Path]:
    """:func:`registry_report` with its map, written as ``report.docx``, ``report.html`` and
    ``report.md`` in ``directory`` (created if missing); returns the files written. ``template``:
    the .docx whose styles, page set-up and header ``report.docx`` is built on."""

    directory = Path(directory)
    try:
        directory.mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(f"report directory {directory}: cannot create it: {exc.strerror}") from None
    lon, lat, verdict = digest.arrays()
    doc = registry_report(engine, summary, digest, map_png=registry_map(engine, lon, lat, verdict))
    return [path for ext in ("docx", "html", "md")
            for path in write_document(doc, directory / f"report.{ext}", template=template)]
