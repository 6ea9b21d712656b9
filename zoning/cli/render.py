"""Text reports for the terminal (rich), readable when pasted into a report."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from zoning.evaluate.results import Result
from zoning.rules.schema import DIMENSIONS, LEVELS
from zoning.sample import SAMPLE_NOTICE
from zoning.verdicts import EFFECT_LABELS, Verdict

_STYLE = {Verdict.PROHIBITED: "bold red", Verdict.RESTRICTED: "bold yellow", Verdict.UNDETERMINED: "bold magenta",
          Verdict.PERMITTED: "bold green", Verdict.NOT_COVERED: "bold blue"}
_STATUS = {"applies": "applies 适用", "unknown": "undecided 待定", "manual_review": "manual review 人工核查"}


def _overlap(unit: dict, measure: str | None) -> list[str]:
    if measure is None:
        return []
    cells = [f"{unit[measure]:,.1f}"]
    if measure == "overlap_m2":
        cells.append(f"{unit['overlap_ha']:,.4f}")
    return [*cells, f"{unit['overlap_share']:.1%}"]


def _overlap_headers(measure: str | None) -> list[str]:
    """Column headers for :func:`_overlap`'s cells."""
    if measure is None:
        return []
    return ["overlap m²", "ha", "share"] if measure == "overlap_m2" else ["overlap m", "share"]


def render_result(result: Result, console: Console | None = None, *, illustrative: bool = False) -> None:
    """The check's readable report; ``illustrative`` says, at the top, that the units are the sample region."""
    console = console or Console(soft_wrap=False, markup=False)
    p = result.project
    ind = p.get("industry")
    loc = p["location"]
    console.print(Text("Zoning-control compliance check 生态环境分区管控符合性分析", style="bold"))
    if illustrative:
        console.print(Text(SAMPLE_NOTICE, style="bold"))
    if p.get("name"):
        console.print(f"Project: {p['name']}")
    console.print(f"Site: {p['geometry_type']} at lon {loc['lon']}, lat {loc['lat']} (CGCS2000)"
                  + (f", area {p['area_m2']:,.1f} m²" if "area_m2" in p else ""))
    console.print(f"Industry: {ind['code'] + ' ' + ind['name'] if ind else '(not given)'}; "
                  f"type: {p['type'] or '(not given)'}")
    if p["attributes"]:
        console.print("Attributes: " + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                                                 for k, v in p["attributes"].items()))
    decided = Verdict.of(result.verdict)
    verdict = Text(f"{result.verdict.upper()} ({decided.zh})", style=_STYLE[decided])
    line = Text("Verdict: ").append(verdict)
    if result.worst_case not in (result.verdict, "not_covered"):
        line.append(f"; may be {result.worst_case} once missing inputs are given")
    console.print(line)
    for note in result.notes:
        console.print(f"Note: {note}")
    if result.provenance:
        prov = result.provenance
        console.print(Text(f"Rules: {prov['lists_in_force']} list(s) in force on {prov['as_of']} (rules sha256 "
                           f"{prov['rules_sha256'][:16]}…, zoning {prov['engine_version']})", style="dim"))
    if result.missing:
        console.print("Missing inputs: " + ", ".join(result.missing))
    for o in result.obligations:
        console.print(f"Obligation 义务 ({o['list']}/{o['clause']}): {o['text']}")
    if result.encouraged:
        console.print("Encouraged 鼓励 by: " + ", ".join(result.encouraged))
    if not result.units:
        return

    units = Table(title="Management units 环境管控单元", show_lines=False)
    for col in ("code", "name", "type", "verdict"):
        units.add_column(col)
    measure = next((k for k in ("overlap_m2", "overlap_m") if k in result.units[0]), None)
    for col in _overlap_headers(measure):
        units.add_column(col, justify="right")
    for u in result.units:
        units.add_row(*[u["code"], u["name"], f"{u['type']} {u['type_name']}", u["verdict"], *_overlap(u, measure)])
    console.print(units)
    if result.disregarded:
        slivers = Table(title="Disregarded slivers 忽略的细碎重叠 (--min-overlap)")
        for col in ("code", "name", "type", *_overlap_headers(measure), "reason"):
            slivers.add_column(col)
        for u in result.disregarded:
            slivers.add_row(u["code"], u["name"], f"{u['type']} {u['type_name']}", *_overlap(u, measure),
                            u["reason"])
        console.print(slivers)

    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    dims = {d: i for i, d in enumerate(DIMENSIONS)}
    names = {u["code"]: u["name"] for u in result.units}
    cites = sorted(result.citations, key=lambda c: (c["unit"], order[c["level"]], c["list"],
                                                    dims[c["dimension"]]))
    console.print(Text("Clauses 准入清单条款", style="bold"))
    last = (None, None, None)
    for c in cites:
        if c["unit"] != last[0]:
            console.print(Text(f"\n{c['unit']} {names.get(c['unit'], '')}", style="bold underline"))
        if (c["unit"], c["list"]) != last[:2]:
            console.print(Text(f"  [{c['level']}] {c['list']}  {c['list_title']}", style="bold"))
        if (c["unit"], c["list"], c["dimension"]) != last:
            console.print(f"    {c['dimension_name']} ({c['dimension']})")
        last = (c["unit"], c["list"], c["dimension"])
        status = _STATUS[c["status"]]
        if c["missing"]:
            status += f"; missing {', '.join(c['missing'])}"
        if c["zone"]:
            status += f"; zone {c['zone']}"
        effect = Text(f"{c['effect']} {EFFECT_LABELS[c['effect']]}",
                      style={"prohibit": "red", "restrict": "yellow", "encourage": "green"}.get(c["effect"], ""))
        console.print(Text(f"      {c['clause']}  ").append(effect).append(f" · {status}"))
        console.print(Text(f"        {c['text']}"))
        if c["text_en"]:
            console.print(Text(f"        {c['text_en']}", style="dim"))
        for d in c.get("distances", []):
            if d["distance_m"] is None:
                console.print(Text(f"        Distance: no {d['condition'].removeprefix('within ')} "
                                   "(the zone layer has none)", style="dim"))
            else:
                console.print(Text(f"        Distance to {d['zone']} {d['zone_name']}: {d['distance_m']:,.1f} m "
                                   f"({'within' if d['within'] else 'beyond'} {d['limit_m']:g} m)"))
        for d in c.get("inside", []):
            console.print(Text(f"        {d['condition']}: " + (f"inside, {d['share']:.1%} of the site"
                                                                if d["inside"] else "not inside")))
        for par in c.get("parameters", []):
            value = "missing" if par["value"] is None else f"{par['value']:g} {par['unit']}".rstrip()
            console.print(Text(f"        Parameter {par['name']} = {value} ({par['by']} {par['key']}"
                               + "".join(f"; {x}" for x in _source_parts(par["source"])) + ")"))
        for o in c.get("obligations", []):
            console.print(Text(f"        Obligation: {o['text']}"))
        s = c["source"]
        source = ", ".join(_source_parts(s))
        console.print(Text(f"        Source: {source}", style="dim"))


def _source_parts(source: dict) -> list[str]:
    """A source's document, issuer, date and article, those given."""
    return [str(source[k]) for k in ("document", "issuer", "date", "article") if source.get(k)]


_MARKS = {"true": ("✓", "green"), "false": ("✗", "red"), "unknown": ("?", "magenta")}


def render_explanation(result: Result, console: Console | None = None) -> None:
    """The audit trail: every clause considered, each condition with the project's value and truth."""
    console = console or Console(soft_wrap=False, markup=False)
    console.print(Text("\nAudit trail 审核记录: every clause considered, condition by condition", style="bold"))
    console.print(Text("✓ true  ✗ false  ? unknown (input not given)", style="dim"))
    last_unit = None
    for e in result.explanation or []:
        if e["unit"] != last_unit:
            console.print(Text(f"\n{e['unit']}", style="bold underline"))
            last_unit = e["unit"]
        zone = f" (zone {e['zone']})" if e["zone"] else ""
        style = {"applies": "bold", "undecided": "magenta"}.get(e["outcome"], "dim")
        console.print(Text(f"  [{e['level']}] {e['list']} {e['version']} {e['clause']} {e['effect']}{zone}: ")
                      .append(e["outcome"], style=style))
        for part in ("conditions", "unless"):
            for i, node in enumerate(e[part]):
                mark, colour = _MARKS[node["truth"]]
                label = "unless " if part == "unless" and i == 0 else ""
                line = Text("      " + "  " * node["depth"]).append(mark, style=colour)
                line.append(f" {label}{node['condition']}")
                if node["value"] is not None:
                    line.append(f": {node['value']}", style="cyan")
                console.print(line)


def render_guidance(guidance: dict, console: Console | None = None) -> None:
    """What would change the result: per deciding clause the re-checked input changes that lift it, the
    combination lifting them all, the clauses only another place lifts, the values of missing inputs that
    decide, and the nearest places. Guidance, never a verdict."""
    console = console or Console(soft_wrap=False, markup=False)
    console.print(Text("\nWhat would change the result 改变结论的条件", style="bold"))
    console.print(Text(guidance["note"], style="dim"))
    if guidance.get("summary"):
        console.print(guidance["summary"])
    combined = guidance.get("combined")
    if combined and combined.get("found"):
        console.print(Text("All deciding clauses lifted by: ", style="bold").append(combined["text"]).append(
            " → ").append(combined["verdict_after"], style=_STYLE[Verdict.of(combined["verdict_after"])]))
        for other in combined.get("alternatives", []):
            console.print(f"  or by: {other['text']} → {other['verdict_after']}")
    elif combined:
        console.print(Text(f"No combination lifts every deciding clause: {combined['reason']}"))
    for c in guidance.get("clauses", []):
        status = "applies 适用" if c["status"] == "applies" else "undecided 待定"
        line = Text(f"  {c['clause']}  ").append(f"{c['effect']} {EFFECT_LABELS[c['effect']]}", style={
            "prohibit": "red", "restrict": "yellow"}[c["effect"]]).append(f" · {status}")
        console.print(line)
        for change in c["changes"]:
            after = Verdict.of(change["verdict_after"])
            console.print(Text(f"      lifted by {change['text']} → ").append(after.key, style=_STYLE[after]))
        if not c["liftable"]:
            console.print(Text(f"      not liftable by the project: {c['reason']}", style="bold"))
        if c.get("industry_only"):
            console.print(Text(f"      (only by industry, not suggested: {'; '.join(c['industry_only'])})",
                               style="dim"))
    for u in guidance.get("undetermined", []):
        if u["decides"]:
            console.print(f"  Missing {u['input']}: {u['text']}")
    undecisive = [u["input"] for u in guidance.get("undetermined", []) if not u["decides"]]
    if undecisive:
        console.print(Text(f"  Missing, not deciding alone: {', '.join(undecisive)}", style="dim"))
    places = guidance.get("places")
    if places is not None and not places.get("available", True):
        console.print(Text(f"  Places: {places['reason']}", style="dim"))
    elif places is not None:
        for target, label in (("permitted", "permitted"), ("at_most_restricted", "at most restricted")):
            place = places.get(target)
            if place is None:
                console.print(f"  Nearest place {label}: none within {places['searched_km']:g} km")
            else:
                console.print(f"  Nearest place {label}: {place['distance_m'] / 1000:,.1f} km {place['direction']} "
                              f"(lon {place['lon']}, lat {place['lat']}, unit {place['unit']}; re-checked: "
                              f"{place['verdict_checked']})")
