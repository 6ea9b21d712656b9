"""What a compliance report says: the zoning-control section of an EIA report, and a
registry's screening summary.

:func:`compliance_report` turns one :class:`zoning.evaluate.results.Result`, checked
with ``explain=True``, into a :class:`zoning.outputs.documents.Document`: the project,
the verdict and its conclusion, the location figure, the units the site lies
in, every clause in force for them by level and dimension with its text, its
source and the project's status against it (complies, prohibited, restricted
and what is required, undecided for want of an input, manual review), the
missing inputs, and the engine, rule-set and layer versions.

A screened registry's report is :mod:`zoning.outputs.registry_report`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from zoning.errors import InputError
from zoning.evaluate.results import Result, str_or_none
from zoning.outputs.documents import Document, Fields, Figure, Heading, Paragraph, Table
from zoning.outputs.guidance_section import guidance_blocks
from zoning.rules.schema import DIMENSIONS, LEVELS
from zoning.verdicts import EFFECT_LABELS, Verdict
from zoning.vocabulary import Vocabulary

if TYPE_CHECKING:  # annotations only: outputs sit below the API that calls them
    from zoning.engine import Engine

LEVEL_NAMES = {"province": "省级 province", "city": "市级 city", "county": "县级 county",
               "unit": "单元级 unit", "zone": "叠加管控区 overlay zone"}
TYPE_NAMES = {"new": "新建 new", "expansion": "扩建 expansion", "renovation": "改建 renovation",
              "relocation": "迁建 relocation"}
STATUS_NAMES = {"prohibited": "禁止 prohibited", "restricted": "限制 restricted", "required": "须落实 required",
                "undecided": "待定 undecided", "complies": "符合 complies", "manual_review": "人工核查 manual review",
                "encouraged": "鼓励 encouraged"}
SAMPLE_NOTE = ("本报告使用 zoning 自带的示例数据（管控单元与准入清单均为示意），不是官方清单，不能用于实际审批。"
               " Built from zoning's illustrative sample data, not official lists: not for real decisions.")
MAP_CAPTION = "项目位置与环境管控单元关系图 Site and environmental management units"


def compliance_report(engine: Engine, result: Result, *, location_png: bytes | None = None, title: str | None = None,
                      created: dt.datetime | None = None, guidance: dict | None = None) -> Document:
    """The report for one project; ``result`` must come from ``engine.check(..., explain=True)``. ``guidance``
    (:func:`zoning.siting.counterfactuals.guidance`'s dict) adds the section "What would change the result"."""
    if result.explanation is None:
        raise InputError("a compliance report needs the audit trail: check with explain=True")
    p = result.project
    doc = Document(title=title or "生态环境分区管控符合性分析 Zoning-control compliance analysis",
                   subtitle=p.get("name") or "")
    if created is not None:
        doc.created = created
    doc.header = running_header(p.get("name") or "生态环境分区管控符合性分析", doc.created,
                                result.provenance.get("rules_sha256", ""))
    if engine.illustrative:
        doc.add(Paragraph(SAMPLE_NOTE, style="note"))
    doc.add(Heading("项目概况 Project"), Fields(_project_rows(p, engine, doc.created)))

    doc.add(Heading("结论 Conclusion"),
            Paragraph(f"结论 Verdict: {Verdict.of(result.verdict).title}", style=f"verdict-{result.verdict}"),
            Paragraph(conclusion(result)))
    for note in result.notes:
        doc.add(Paragraph(f"注 Note: {note}", style="note"))
    if result.obligations:
        doc.add(Table(["条款 Clause", "义务 Obligation", "数量 Amount", "计算 Formula"],
                      [[f"{o['list']}/{o['clause']}", o["name"],
                        "缺 missing" if o["amount"] is None else f"{o['amount']:g} {o['unit']}".rstrip(), o["formula"]]
                       for o in result.obligations],
                      caption="须落实的量化义务 Obligations the restricting clauses set", widths=[1.5, 2, 1.5, 2]))
    if result.encouraged:
        doc.add(Paragraph("鼓励类条款 Encouraged by: " + "、".join(result.encouraged)
                          + "（不改变结论 the verdict does not change）"))

    if location_png is not None:
        doc.add(Figure(location_png, MAP_CAPTION, name="map.png"))

    if result.units:
        doc.add(Heading("所在环境管控单元 Management units"), _units_table(result))
    if result.disregarded:
        doc.add(_units_table(result, disregarded=True))

    rows = clause_rows(engine, result)
    if rows:
        doc.add(Heading("准入清单条款符合性 Clauses and the project's status"))
        doc.add(Paragraph("按管控单元、层级和维度列出在执行日期有效、适用于所在单元的全部条款，及项目对照各条款的情况。"
                          " Every clause in force for the site's units, by unit, level and dimension, with the "
                          "project's status against it.", style="note"))
        for code, groups in rows.items():
            table_rows: list[str | list[str]] = []
            for group, entries in groups.items():
                table_rows.append(group)
                table_rows += entries
            doc.add(Table(["条款 Clause", "效力 Effect", "条款内容及来源 Text and source", "项目情况 Project status"],
                          table_rows, caption=f"{code} {_unit_name(result, code)} 准入清单条款",
                          widths=[1.3, 0.8, 4.2, 2.4], wide=True))
        doc.add(_status_counts(result))

    doc.add(Heading("缺少的输入 Missing inputs"))
    if result.missing:
        needed = _missing_by_input(result)
        doc.add(Table(["输入 Input", "说明 Meaning", "待定条款 Clauses left undecided"],
                      [[name, engine.vocabulary[name].description if name in engine.vocabulary else name,
                        ", ".join(needed[name])]
                       for name in result.missing], widths=[1, 2, 3]))
        if result.worst_case != result.verdict:
            doc.add(Paragraph(f"补充上述输入后，结论可能为 once given, the verdict may be: "
                              f"{Verdict.of(result.worst_case).title}"))
    else:
        doc.add(Paragraph("无：判定所需的输入均已提供。 "
                          "None: every input a prohibit or restrict clause needs was given."))

    if guidance is not None:
        doc.add(*guidance_blocks(guidance))
    doc.add(Heading("版本与依据 Versions and provenance"), Fields(_provenance_rows(result, engine, doc.created)))
    return doc


def running_header(subject: str, created: dt.datetime, rules_sha256: str) -> str:
    """The header line of a DOCX report: what it is about, the report date and the rules hash's short form."""
    parts = [" ".join(str(subject).split()), created.strftime("%Y-%m-%d")]
    if rules_sha256:
        parts.append(f"规则 rules {rules_sha256[:12]}")
    return " · ".join(parts)


def conclusion(result: Result) -> str:
    """The conclusion sentence, in Chinese then English."""
    units = "、".join(f"{u['code']}（{u['name']}，{u['type_name']}）" for u in result.units)
    applied = [c for c in result.citations if c["status"] == "applies"]
    ids = sorted({f"{c['list']}/{c['clause']}" for c in applied if c["effect"] == "prohibit"})
    restrict = sorted({f"{c['list']}/{c['clause']}" for c in applied if c["effect"] == "restrict"})
    missing = "、".join(result.missing)
    reviews = len({(c["list"], c["clause"]) for c in result.citations if c["status"] == "manual_review"})
    review = (f"另有{reviews}条未编码条款须人工核查。 {reviews} clause(s) not encoded as conditions need a manual "
              "review.") if reviews else ""
    if result.verdict == "not_covered":
        return ("项目选址不在已加载的任何环境管控单元内，未作判定；不能据此视为允许。"
                " The site lies in no management unit of the loaded layer: nothing was checked, and this is not "
                "a permission.")
    where = f"项目选址位于{units}。"
    if result.verdict == "prohibited":
        return (f"{where}项目触及{len(ids)}条禁止性条款（{'、'.join(ids)}），不符合生态环境分区管控要求。"
                f" The project falls under {len(ids)} prohibiting clause(s) ({', '.join(ids)}) and does not "
                f"comply with zoning control. {review}")
    if result.verdict == "restricted":
        return (f"{where}项目触及{len(restrict)}条限制性条款（{'、'.join(restrict)}），须满足相应要求方可符合生态环境"
                f"分区管控要求。 The project falls under {len(restrict)} restricting clause(s) "
                f"({', '.join(restrict)}) and complies only if their requirements are met. {review}")
    if result.verdict == "undetermined":
        return (f"{where}因缺少输入（{missing}），部分条款无法判定；补充后结论可能为"
                f"{Verdict.of(result.worst_case).zh}。 Some clauses cannot be decided without "
                f"{', '.join(result.missing)}; once "
                f"given, the verdict may be {result.worst_case}. {review}")
    return (f"{where}项目未触及禁止性或限制性条款，符合生态环境分区管控要求。 The project falls under no "
            f"prohibiting or restricting clause and complies with zoning control. {review}")


def _project_rows(p: dict, engine, created: dt.datetime) -> list[tuple[str, str]]:
    loc = p["location"]
    site = f"{p['geometry_type']}，中心 centre {loc['lon']:.6f}°E, {loc['lat']:.6f}°N（CGCS2000）"
    if "area_m2" in p:
        site += f"；面积 area {p['area_m2']:,.1f} m²（{p['area_m2'] / 10_000:,.4f} ha）"
    elif "length_m" in p:
        site += f"；长度 length {p['length_m']:,.1f} m"
    ind = p.get("industry")
    rows = [("项目名称 Project", p.get("name") or "（未提供 not given）"),
            ("选址 Site", site)]
    if p.get("input_crs"):
        rows.append(("输入坐标系 Input CRS", p["input_crs"]))
    rows += [("行业 Industry (GB/T 4754-2017)", f"{ind['code']} {ind['name']}" if ind else "（未提供 not given）"),
             ("建设性质 Type", TYPE_NAMES.get(p.get("type") or "", p.get("type") or "（未提供 not given）"))]
    attrs = p.get("attributes") or {}
    if attrs:
        rows.append(("排放量及其他 Emissions and attributes",
                     "；".join(_attribute(k, v, engine.vocabulary) for k, v in attrs.items())))
    rows += [("管控要求执行日期 Rules as of", str(engine.as_of)),
             ("报告日期 Report date", created.strftime("%Y-%m-%d"))]
    return rows


def _attribute(name: str, value, vocabulary: Vocabulary) -> str:
    spec = vocabulary.attributes.get(name)
    if isinstance(value, bool) or (spec is not None and spec.flag):
        return f"{name} {'是 yes' if value else '否 no'}"
    number = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{name} {number} {spec.unit if spec else ''}".rstrip()


def _unit_name(result, code: str) -> str:
    return next((u["name"] for u in result.units if u["code"] == code), "")


def _units_table(result, disregarded: bool = False) -> Table:
    units = result.disregarded if disregarded else result.units
    measure = next((k for k in ("overlap_m2", "overlap_m") if k in units[0]), None)
    columns = ["单元编码 Code", "单元名称 Name", "类型 Type", "所在 County, city"]
    columns += ["原因 Reason"] if disregarded else ["单元结论 Verdict"]
    if measure:
        columns.append("重叠 Overlap")
    rows = []
    for u in units:
        row = [u["code"], u["name"], f"{u['type']} {u['type_name']}", f"{u['county']}，{u['city']}",
               u["reason"] if disregarded else Verdict.of(u["verdict"]).title]
        if measure == "overlap_m2":
            row.append(f"{u['overlap_m2']:,.1f} m²（{u['overlap_ha']:,.4f} ha，{u['overlap_share']:.1%}）")
        elif measure == "overlap_m":
            row.append(f"{u['overlap_m']:,.1f} m（{u['overlap_share']:.1%}）")
        rows.append(row)
    caption = "忽略的细碎重叠 Disregarded slivers (--min-overlap)" if disregarded else \
        "项目所在环境管控单元 Units the site lies in"
    return Table(columns, rows, caption=caption)


def clause_rows(engine: Engine, result: Result) -> dict[str, dict[str, list[list[str]]]]:
    """Per unit code, per "level · dimension" group (in level then dimension order), one row per
    clause considered: clause, effect, text with source, the project's status."""
    if result.explanation is None:
        raise InputError("the result has no audit trail: check with explain=True")
    texts = _clause_texts(engine, result.explanation)
    cited = {(c["unit"], c["list"], c["clause"], c["zone"]): c for c in result.citations}
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    dims = {d: i for i, d in enumerate(DIMENSIONS)}
    units = {u["code"]: i for i, u in enumerate(result.units)}
    entries = sorted(result.explanation, key=lambda e: (units.get(e["unit"], len(units)), order[e["level"]],
                                                         dims[e["dimension"]], e["list"], e["clause"]))
    out: dict[str, dict[str, list[list[str]]]] = {}
    for e in entries:
        group = f"{LEVEL_NAMES[e['level']]} · {DIMENSIONS[e['dimension']]} {e['dimension'].replace('_', ' ')}"
        text = texts.get((e["list"], e["version"], e["clause"]), {})
        label = f"{e['list']} {e['version']}".rstrip() + f"\n{e['clause']}"
        if e["zone"]:
            label += f"\n叠加区 zone {e['zone']}"
        body = text.get("text", "")
        if text.get("text_en"):
            body += f"\n{text['text_en']}"
        source = "，".join(v for v in (text.get(k) for k in ("document", "issuer", "date", "article")) if v)
        if source:
            body += f"\n来源 Source：{source}"
        citation = cited.get((e["unit"], e["list"], e["clause"], e["zone"]))
        body += _computed(citation)
        status = status_text(e, citation)
        out.setdefault(e["unit"], {}).setdefault(group, []).append(
            [label, f"{EFFECT_LABELS[e['effect']]} {e['effect']}", body, status])
    return out


def _computed(citation: dict | None) -> str:
    """Lines for the parameter values a clause read and the obligations it sets, with their sources."""
    if citation is None:
        return ""
    lines = []
    for p in citation.get("parameters", []):
        value = "缺 missing" if p["value"] is None else f"{p['value']:g} {p['unit']}".rstrip()
        source = "，".join(str(v) for v in (p["source"].get(k) for k in ("document", "date", "article")) if v)
        lines.append(f"参数 parameter {p['name']} = {value} ({p['by']} {p['key']}" + (f"；{source}" if source else "")
                     + ")")
    lines += [f"义务 obligation {o['text']}" for o in citation.get("obligations", [])]
    return "".join(f"\n{line}" for line in lines)


def _clause_texts(engine, explanation: list[dict]) -> dict[tuple, dict]:
    """Text and source of each clause the trail names, keyed (list, version, clause)."""
    wanted = {(e["list"], e["version"], e["clause"]) for e in explanation}
    c = engine.rules.clauses
    keys = list(zip(c["list"], c["version"], c["clause"]))
    out = {}
    for i, key in enumerate(keys):
        if key in wanted:
            row = c.iloc[i]
            out[key] = {k: str_or_none(row[k]) for k in ("text", "text_en", "document", "issuer", "date", "article")}
    return out


def status_key(entry: dict) -> str:
    """The project's status against one clause of the trail (a key of :data:`STATUS_NAMES`)."""
    if entry["review_only"]:
        return "manual_review"
    if entry["outcome"] == "applies":
        return {"prohibit": "prohibited", "restrict": "restricted", "require": "required",
                "encourage": "encouraged"}[entry["effect"]]
    return "undecided" if entry["outcome"] == "undecided" else "complies"


def status_text(entry: dict, citation: dict | None) -> str:
    """The status with what decides it: for a restriction, what is required; for an undecided
    clause, the inputs missing; for a clause that does not apply, why not."""
    key = status_key(entry)
    name = STATUS_NAMES[key]
    if key == "manual_review":
        return f"{name}：条款未编码为条件，请对照条文核查 (text only: check against the clause by hand)"
    if key == "prohibited":
        return f"{name}：项目触及本条 (the project falls under this clause)" + _values(entry["conditions"], "true")
    if key in ("restricted", "required"):
        exemption = _tree_text(entry["unless"])
        return (f"{name}：须落实条文要求 (meet what the clause text requires)"
                + (f"；除外情形 exempt if: {exemption}" if exemption else "") + _values(entry["conditions"], "true"))
    if key == "encouraged":
        return f"{name}：本条鼓励此类项目，不改变结论 (encouraged; the verdict does not change)" + _values(
            entry["conditions"], "true")
    if key == "undecided":
        missing = ", ".join(citation["missing"]) if citation and citation["missing"] else "an input"
        return f"{name}：缺少 missing {missing}" + _values(entry["conditions"], "true")
    exempt = [n for n in entry["unless"] if n["truth"] == "true" and n["value"] is not None]
    if exempt and all(n["truth"] != "false" for n in entry["conditions"] if n["depth"] == 0):
        return f"{name}：豁免 exempt, " + "; ".join(f"{n['condition']} ({n['value']})" for n in exempt[:2])
    return f"{name}：不触及 does not apply" + _values(entry["conditions"], "false")


def _values(nodes: list[dict], truth: str) -> str:
    """The leaves with the given truth, as 'condition: project value' (at most three)."""
    leaves = [n for n in nodes if n["value"] is not None and n["truth"] == truth]
    if not leaves:
        return ""
    shown = "; ".join(f"{n['condition']} — 项目 project: {n['value']}" for n in leaves[:3])
    return f"\n({shown}{'; …' if len(leaves) > 3 else ''})"


def _tree_text(nodes: list[dict]) -> str:
    """An ``unless`` tree as one line: its leaves joined by 'and'/'or', each with the project's value."""
    if not nodes:
        return ""
    top = nodes[0]
    leaves = [n for n in nodes if n["value"] is not None]
    joiner = {"any of": " 或 or ", "all of": " 且 and "}.get(top["condition"], "; ")
    if top["condition"] == "not":
        return "not " + _tree_text(nodes[1:])
    return joiner.join(f"{n['condition']}（项目 project: {n['value']}）" for n in leaves)


def _missing_by_input(result) -> dict[str, list[str]]:
    needed: dict[str, list[str]] = {name: [] for name in result.missing}
    for c in result.citations:
        for name in c["missing"]:
            label = f"{c['list']}/{c['clause']}"
            if name in needed and label not in needed[name]:
                needed[name].append(label)
    return needed


def _status_counts(result) -> Table:
    counts = {k: 0 for k in STATUS_NAMES}
    for entry in result.explanation:
        counts[status_key(entry)] += 1
    return Table(["项目情况 Status", "条款数 Clauses"], [[STATUS_NAMES[k], str(n)] for k, n in counts.items() if n],
                 caption="条款符合性统计 Clauses by status")


def _provenance_rows(result, engine, created: dt.datetime) -> list[tuple[str, str]]:
    prov = result.provenance
    rows = [("分析软件 Engine", f"zoning {prov.get('engine_version', '')}"),
            ("管控要求执行日期 Rules as of", str(prov.get("as_of", engine.as_of))),
            ("准入清单 Access lists", f"{prov.get('lists_in_force')} 份有效 in force（共加载 of "
                                      f"{prov.get('lists_loaded')} loaded）"),
            ("清单版本 List versions", "；".join(sorted({f"{lst.id} {lst.version}" for lst in engine.lists}))),
            ("规则集校验值 Rules SHA-256", prov.get("rules_sha256", "")),
            ("管控单元图层 Unit layer", f"{prov.get('units_source')}（{prov.get('units_count')} 个单元 units），"
                                       f"SHA-256 {prov.get('units_sha256')}")]
    if prov.get("zones_sha256"):
        rows.append(("叠加管控区图层 Zone layer",
                     f"{prov.get('zones_count')} 个 zones，SHA-256 {prov['zones_sha256']}"))
    rows += [("生成时间 Generated", created.strftime("%Y-%m-%d %H:%M:%S %z"))]
    rows += [(f"提示 Note {i + 1}", note) for i, note in enumerate(engine.lapsed)]
    return rows
