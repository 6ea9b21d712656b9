"""The report section "What would change the result" (改变结论的条件), from a guidance dict.

The guidance is computed above this layer (:func:`zoning.siting.counterfactuals.guidance`);
here it is only laid out: a note that it is guidance and not a verdict, the
combination of changes lifting every deciding clause, a table of the deciding
clauses with the re-checked changes that lift each and the verdict after, the
clauses only another place lifts, the missing inputs' deciding values, and the
nearest less strict places.
"""

from __future__ import annotations

from zoning.outputs.documents import Heading, Paragraph, Table
from zoning.verdicts import EFFECT_LABELS, Verdict

HEADING = "改变结论的条件 What would change the result"


def guidance_blocks(guidance: dict) -> list:
    """The section's blocks (a heading first)."""
    note = "以下为引导性信息，不是结论；每项改变均已代入项目重新核验。 " + guidance["note"]
    blocks: list = [Heading(HEADING), Paragraph(note, style="note")]
    if guidance.get("summary"):
        blocks.append(Paragraph(guidance["summary"]))
    combined = guidance.get("combined")
    if combined and combined.get("found"):
        blocks.append(Paragraph(f"同时解除全部决定性条款 All deciding clauses lifted by: {combined['text']} → "
                                f"{Verdict.of(combined['verdict_after']).title}"
                                + "".join(f"\n或 or: {o['text']} → {Verdict.of(o['verdict_after']).title}"
                                          for o in combined.get("alternatives", []))))
    elif combined:
        blocks.append(Paragraph(f"无法同时解除全部决定性条款 No combination lifts every deciding clause: "
                                f"{combined['reason']}"))
    rows = []
    for c in guidance.get("clauses", []):
        if c["liftable"]:
            lifted = "\n".join(f"{x['text']} → {Verdict.of(x['verdict_after']).title}" for x in c["changes"])
        else:
            lifted = f"项目自身无法解除，仅能另选址 not liftable by the project: {c['reason']}"
        if c.get("industry_only"):
            lifted += ("\n（仅改变行业可解除，不作建议 only by industry, not suggested: "
                       + "；".join(c["industry_only"]) + "）")
        status = "适用 applies" if c["status"] == "applies" else "待定 undecided"
        rows.append([c["clause"], f"{EFFECT_LABELS[c['effect']]} {c['effect']}\n{status}", lifted])
    if rows:
        blocks.append(Table(["条款 Clause", "效力 Effect",
                             "解除条件（已核验）及之后的结论 Changes that lift it (re-checked) → verdict"], rows,
                            caption="决定性条款的解除条件 What lifts each deciding clause", widths=[1.8, 1.2, 5.5]))
    deciding = [u for u in guidance.get("undetermined", []) if u["decides"]]
    if deciding:
        blocks.append(Table(["缺少的输入 Missing input", "取值与结论 Values and verdicts"],
                            [[u["input"], u["text"]] for u in deciding],
                            caption="决定结论的缺少输入 Missing inputs that decide the verdict", widths=[1.8, 6.7]))
    places = guidance.get("places")
    if places is not None and places.get("available", True):
        lines = []
        for target, label in (("permitted", "允许 permitted"), ("at_most_restricted", "至多限制 at most restricted")):
            p = places.get(target)
            lines.append(f"最近位置 Nearest place, {label}: 无 none within {places['searched_km']:g} km" if p is None
                         else f"最近位置 Nearest place, {label}: {p['distance_m'] / 1000:,.1f} km {p['direction']}"
                         f"（{p['lon']}, {p['lat']}；单元 unit {p['unit']}；复核 re-checked {p['verdict_checked']}）")
        blocks.append(Paragraph("\n".join(lines)))
    return blocks
