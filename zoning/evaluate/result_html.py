"""A result as HTML, for Jupyter (``Result._repr_html_``): the verdict, units, clauses and missing inputs.

Every text is escaped; the table holds what ``zoning check`` prints, in a form a notebook shows inline.
"""

from __future__ import annotations

from html import escape

from zoning.verdicts import Verdict

#: verdict colours, as the maps use them (Okabe–Ito, colour-blind safe)
_COLOURS = {"prohibited": "#d55e00", "restricted": "#e69f00", "undetermined": "#cc79a7", "permitted": "#009e73",
            "not_covered": "#0072b2", "error": "#555555"}
_CELL = "padding:2px 6px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


def result_html(result) -> str:
    """The result's verdict, units, citations and missing inputs as one HTML fragment."""
    verdict = Verdict.of(result.verdict)
    colour = _COLOURS.get(result.verdict, "#333333")
    parts = [f'<div><div style="font-size:1.2em;font-weight:bold;color:{colour}">'
             f'{escape(verdict.zh_short)} {escape(verdict.en.upper())}</div>']
    if result.worst_case not in (result.verdict, "not_covered"):
        parts.append(f"<div>may be {escape(result.worst_case)} once missing inputs are given</div>")
    if result.units:
        units = ", ".join(f"{escape(str(u['code']))} {escape(str(u.get('name', '')))}" for u in result.units)
        parts.append(f"<div>Units 管控单元: {units}</div>")
    if result.missing:
        parts.append(f"<div>Missing 缺少输入: {escape(', '.join(result.missing))}</div>")
    rows = [c for c in result.citations if c.get("status") in ("applies", "unknown")]
    if rows:
        head = "".join(f'<th style="{_CELL}">{h}</th>' for h in ("unit", "clause", "effect", "status", "text"))
        body = "".join(
            "<tr>" + "".join(f'<td style="{_CELL}">{escape(str(v))}</td>' for v in (
                c.get("unit", ""), f"{c.get('list', '')}/{c.get('clause', '')}", c.get("effect", ""),
                c.get("status", ""), c.get("text", ""))) + "</tr>" for c in rows)
        parts.append(f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead>'
                     f"<tbody>{body}</tbody></table>")
    for note in result.notes:
        parts.append(f"<div>Note: {escape(str(note))}</div>")
    parts.append("</div>")
    return "".join(parts)
