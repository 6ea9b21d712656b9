"""``zoning rules``: for the people who write and maintain access lists.

Subcommands: ``validate`` (every problem with file:line and a fix), ``show``
(what applies to one unit), ``versions`` (lists, versions and dates), ``test``
(rule tests kept beside the lists), ``diff`` (projects whose verdict changes
between two rule sets) and ``import`` (YAML drafts from free text).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from zoning import sample
from zoning.cli.options import (
    EXIT_BAD_INPUT,
    EXIT_FAILS,
    as_of_opt,
    crs_opt,
    handle_errors,
    io_engine_opt,
    key_values,
    layer_options,
    load_engine,
    min_overlap_opt,
    read_layers,
)
from zoning.engine import Engine
from zoning.errors import DataError, ParameterError
from zoning.inputs.units import load_units, load_zones

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


@click.group()
def rules():
    """Validate, show, test, compare and import access lists."""


def _rule_paths(paths) -> list:
    return list(paths) or [sample.rules_dir()]


@rules.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--units", type=click.Path(dir_okay=False),
              help="Unit layer to check unit codes and coverage against. Default: the sample's when no PATHS "
                   "are given; otherwise these checks are skipped.")
@click.option("--zones", type=click.Path(dir_okay=False), help="Overlay-zone layer to check zone ids and kinds.")
@io_engine_opt
@as_of_opt
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def validate(paths, units, zones, io_engine, as_of, strict, fmt):
    """Check access lists (files or directories, default: the sample lists).

    Reports every problem, each with file:line, a severity (error, warning,
    info) and how to fix it. Exit 1 if there is an error (or, with --strict,
    a warning).
    """
    from zoning.authoring.validation import validate as run_validation

    if not paths and units is None:
        units, zones = sample.units_path(), zones or sample.zones_path()
    unit_layer = load_units(units, io_engine=io_engine) if units else None
    zone_layer = load_zones(zones, io_engine=io_engine) if zones else None
    findings, lists = run_validation(_rule_paths(paths), unit_layer, zone_layer, as_of=as_of,
                                     units_source=str(units) if units else "unit layer")
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    if fmt == "json":
        click.echo(json.dumps({"findings": [vars(f) for f in findings], "counts": counts,
                               "lists": len(lists)}, ensure_ascii=False, indent=2))
    else:
        console = Console(soft_wrap=True, highlight=False, markup=False)
        for f in findings:
            line = Text(f"{f.location}: ").append(f.severity, style=_SEVERITY_STYLE[f.severity])
            line.append(f": {f.where + ': ' if f.where else ''}{f.message}")
            console.print(line)
            console.print(Text(f"    fix: {f.hint}", style="dim"))
        console.print(f"{len(lists)} list(s) checked: {counts['error']} error(s), {counts['warning']} warning(s), "
                      f"{counts['info']} note(s)")
    if counts["error"] or (strict and counts["warning"]):
        sys.exit(EXIT_BAD_INPUT)


@rules.command()
@click.argument("unit_code")
@layer_options
@as_of_opt
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True)
@handle_errors
def show(unit_code, units, zones, rules, io_engine, as_of, fmt):
    """Every list and clause in force for UNIT_CODE, by level and dimension.

    Zone lists are included for the overlay zones that overlap the unit
    (they apply to the part of a site inside the zone).
    """
    from zoning.authoring.catalogue import to_markdown, unit_catalogue

    engine = load_engine(units, rules, zones, io_engine=io_engine, as_of=as_of)
    catalogue = unit_catalogue(engine, unit_code)
    if fmt == "json":
        click.echo(json.dumps(catalogue, ensure_ascii=False, indent=2))
    elif fmt == "markdown":
        click.echo(to_markdown(catalogue), nl=False)
    else:
        _print_catalogue(catalogue, Console(soft_wrap=False, highlight=False, markup=False))


def _print_catalogue(catalogue: dict, console: Console) -> None:
    unit = catalogue["unit"]
    console.print(Text(f"{unit['code']} {unit['name']}", style="bold"))
    console.print(f"{unit['type_name']} (type {unit['type']}); lists in force on {catalogue['as_of']}")
    last = (None, None)
    for e in catalogue["clauses"]:
        if e["list"] != last[0]:
            console.print(Text(f"\n[{e['level']}] {e['list']} {e['version']}  {e['list_title']}", style="bold"))
        if (e["list"], e["dimension"]) != last:
            console.print(f"  {e['dimension_name']} ({e['dimension']})")
        last = (e["list"], e["dimension"])
        style = {"prohibit": "red", "restrict": "yellow"}.get(e["effect"], "")
        head = Text(f"    {e['clause']}  ").append(f"{e['effect']} {e['effect_name']}", style=style)
        if e["review_only"]:
            head.append(" · manual review 人工核查")
        elif e["conditions"] != "always" or e["unless"]:
            head.append(f" · if {e['conditions']}" + (f", unless {e['unless']}" if e["unless"] else ""))
        if e["zones"]:
            head.append(f" · in zone {', '.join(e['zones'])}")
        console.print(head)
        console.print(Text(f"      {e['text']}"))
        s = e["source"]
        console.print(Text("      Source: " + ", ".join(x for x in (s["document"], s["issuer"], s["date"],
                                                                     s["article"]) if x), style="dim"))
    console.print(f"\n{len(catalogue['clauses'])} clause(s)")


@rules.command()
@click.argument("paths", nargs=-1, type=click.Path())
@as_of_opt
@handle_errors
def versions(paths, as_of):
    """Lists with their versions and effective dates, and which is in force on --as-of (default today)."""
    from zoning.rules.loading import load_lists

    on = as_of or dt.date.today()
    lists = sorted(load_lists(_rule_paths(paths)), key=lambda x: (x.id, x.effective_from))
    console = Console(soft_wrap=True, highlight=False, markup=False)
    console.print(f"{len(lists)} list version(s); in force on {on} marked *")
    width = max(len(lst.id) for lst in lists)
    for lst in lists:
        period = f"{lst.effective_from} to {str(lst.effective_to or 'open'):<10}"
        console.print(f"{'*' if lst.in_force(on) else ' '} {lst.id:<{width}}  {lst.version:<8} {lst.level:<8} "
                      f"{period}  {len(lst.clauses):>3} clauses  {_relative(lst.path)}")


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


@rules.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@layer_options
@click.option("-v", "--verbose", is_flag=True, help="List passing tests too.")
@handle_errors
def test_(paths, units, zones, rules, io_engine, verbose):
    """Run the rule tests (*.tests.yaml) under PATHS against the lists.

    PATHS default to the rule directories (--rules, or the sample lists); the
    lists default to PATHS. Exit 0 when every test passes, 3 when one fails.
    """
    from zoning.authoring.ruletests import load_tests, run_tests

    for p in paths:
        if not Path(p).exists():
            raise DataError(f"{p}: no such rule file or directory")
    rule_paths = list(rules) or list(paths)  # none: the sample's lists, with the sample's units only
    if not rules and paths and not any(Path(p).is_dir() for p in paths):
        raise click.UsageError("PATHS are rule-test files: give the lists they test with --rules DIR")
    test_paths = list(paths) or rule_paths or [sample.rules_dir()]
    tests = load_tests(test_paths)
    if not tests:
        raise DataError(f"no rule tests (*.tests.yaml) found in {', '.join(map(str, test_paths))}")
    layers = read_layers(units, rule_paths, zones, io_engine=io_engine)
    outcomes = run_tests(tests, functools.lru_cache(lambda on: Engine.from_layers(layers, as_of=on)))
    console = Console(soft_wrap=True, highlight=False, markup=False)
    for o in outcomes:
        if o.passed and not verbose:
            continue
        label = Text("PASS ", style="green") if o.passed else Text("FAIL ", style="bold red")
        console.print(label.append(f"{_relative(o.location)}  {o.test.name}"))
        for line in ([o.error] if o.error else o.differences):
            console.print(Text(f"    {line}"))
    failed = sum(not o.passed for o in outcomes)
    console.print(f"{len(outcomes) - failed} passed, {failed} failed ({len(outcomes)} rule tests)")
    if failed:
        sys.exit(EXIT_FAILS)


@rules.command()
@click.argument("old", required=False, type=click.Path())
@click.argument("new", required=False, type=click.Path())
@click.option("--registry", type=click.Path(dir_okay=False),
              help="Projects to compare on (any registry 'zoning screen' reads). Without it, only what changed in "
                   "the lists and layers is listed.")
@click.option("--units", type=click.Path(dir_okay=False), help="Unit layer. Default: the bundled sample.")
@click.option("--zones", type=click.Path(dir_okay=False), help="Overlay zones. Default: the sample's, without --units.")
@click.option("--old-units", type=click.Path(dir_okay=False),
              help="Unit layer before a redraw, compared unit by unit with --new-units (with OLD NEW, OLD's layer).")
@click.option("--new-units", type=click.Path(dir_okay=False), help="Unit layer after the redraw (NEW's layer).")
@click.option("--old-zones", type=click.Path(dir_okay=False),
              help="Zone layer before a redraw, compared zone by zone with --new-zones (with OLD NEW, OLD's zones).")
@click.option("--new-zones", type=click.Path(dir_okay=False), help="Zone layer after the redraw (NEW's zones).")
@click.option("--boundary-tolerance", type=click.FloatRange(min=0), default=1.0, show_default=True, metavar="METRES",
              help="A boundary moved by no more than this (re-digitising noise, another CRS) counts as unchanged.")
@io_engine_opt
@as_of_opt
@click.option("--old-as-of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Date for OLD only (default --as-of): compare a list's version before and after a revision.")
@click.option("--new-as-of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Date for NEW only (default --as-of).")
@click.option("--col", "cols", multiple=True, metavar="FIELD=HEADER", help="As for 'zoning screen'.")
@crs_opt
@min_overlap_opt
@click.option("--encoding", help="CSV encoding (default: detected).")
@click.option("--sheet", help="Excel sheet name or 1-based number.")
@click.option("--layer", help="Layer of a multi-layer GeoPackage.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Also write the changed projects to a .csv (UTF-8 with BOM, opens in Excel) or .json file.")
@click.option("--layer-output", type=click.Path(dir_okay=False),
              help="Also write the units and zones added, removed or changed to a .csv or .json file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def diff(old, new, registry, units, zones, old_units, new_units, old_zones, new_zones, boundary_tolerance, io_engine,
         as_of, old_as_of, new_as_of, cols, crs, min_overlap, encoding, sheet, layer, output, layer_output, fmt):
    """Projects in REGISTRY whose result changes from the rules OLD to the rules NEW; units and zones a
    redraw of the layers changes.

    OLD and NEW are rule files or directories. A project changes when its
    verdict or its worst case (the verdict once missing inputs are given)
    differs. For each: both results, and the prohibit/restrict citations added
    and removed (the clauses responsible). Also lists the clauses added,
    removed or edited. --old-units/--new-units (--old-zones/--new-zones) are
    compared by unit code (zone id): added, removed, attributes and boundaries
    changed; with OLD NEW each rule set is loaded with its own layer, and the
    lists in force that name a removed unit or select one whose type changed
    are listed.
    """
    from zoning.authoring.layerdiff import diff_units, diff_zones, layer_table, scope_effects
    from zoning.authoring.rulediff import diff_rules, list_changes, lists_in_force, write_changes

    _diff_usage(old, new, registry, (units, zones), (old_units, new_units), (old_zones, new_zones), output,
                layer_output)
    outputs = [p for p in (output, layer_output) if p]
    for path in outputs:
        _check_output(path, [])
    dates = [d.date() if d else as_of or dt.date.today() for d in (old_as_of, new_as_of)]
    unit_paths = (old_units, new_units) if old_units else (units, units)
    zone_paths = (old_zones, new_zones) if old_zones else (zones, zones)
    if old is not None:
        read = [Engine.read(u, [p], z, io_engine=io_engine) for p, u, z in zip((old, new), unit_paths, zone_paths)]
        unit_layers, zone_layers = [r.units for r in read], [r.zones for r in read]
        sources = [p for r in read for p in r.sources] + ([registry] if registry else [])
    else:
        unit_layers = [load_units(p, io_engine=io_engine) if old_units else None for p in unit_paths]
        zone_layers = [load_zones(p, io_engine=io_engine) if old_zones else None for p in zone_paths]
        sources = [p for p in (*unit_paths, *zone_paths) if p]
    for path in outputs:
        _check_output(path, sources)
    layers = [compare(*frames, tolerance_m=boundary_tolerance, old_source=paths[0], new_source=paths[1])
              for compare, frames, paths, on in ((diff_units, unit_layers, unit_paths, old_units),
                                                 (diff_zones, zone_layers, zone_paths, old_zones)) if on]
    result, clauses, effects = None, [], []
    if old is not None:
        current = lists_in_force(read[1].lists, dates[1])
        effects = scope_effects(current, old_units=unit_layers[0], new_units=unit_layers[1],
                                old_zones=zone_layers[0], new_zones=zone_layers[1]) if layers else []
        if registry:
            engines = [Engine.from_layers(r, as_of=d) for r, d in zip(read, dates)]
            result = diff_rules(*engines, registry, min_overlap=list(min_overlap) or None,
                                columns=key_values(cols, "--col"), crs=crs, encoding=encoding, sheet=sheet,
                                layer=layer, io_engine=io_engine)
            clauses = result.clauses
            if output:
                write_changes(result.changes, output)
        else:
            clauses = list_changes(lists_in_force(read[0].lists, dates[0]), current)
    if layer_output:
        write_changes(layer_table(layers), layer_output)
    print_diff(fmt, old is not None, dates, result, clauses, layers, effects)


def print_diff(fmt: str, rules_compared: bool, dates, result, clauses, layers, effects) -> None:
    """What ``rules diff`` (and ``db diff``) found, as text or JSON on standard output."""
    from zoning.authoring.layerdiff import scope_lines
    from zoning.authoring.rulediff import diff_report

    if fmt == "json":
        click.echo(json.dumps(diff_report(rules_compared, result, clauses, layers, effects), ensure_ascii=False,
                              indent=2, default=int))
        return
    console = Console(soft_wrap=True, highlight=False, markup=False)
    if rules_compared:
        console.print(Text(f"Rule changes ({dates[0]} → {dates[1]})" if dates[0] != dates[1] else "Rule changes",
                           style="bold"))
        for change, ref, detail in clauses or [("", "(none in the lists in force)", "")]:
            console.print(f"  {change:<8} {ref}  {detail}")
    for line in [x for d in layers for x in ("", *d.text_lines())] + (["", *scope_lines(effects)]
                                                                      if rules_compared and layers else []):
        console.print(line)
    if result is not None:
        _print_projects(console, result)


def _diff_usage(old, new, registry, shared, unit_pair, zone_pair, output, layer_output) -> None:
    """Refuse ``rules diff`` options that contradict each other (exit 2)."""
    for what, (before, after) in (("units", unit_pair), ("zones", zone_pair)):
        if (before is None) != (after is None):
            given, lacking = ("old", "new") if before is not None else ("new", "old")
            raise click.UsageError(f"--{given}-{what} needs --{lacking}-{what}: the two {what[:-1]} layers to compare")
    compared = unit_pair[0] is not None or zone_pair[0] is not None
    problems = [
        ((old is None) != (new is None), "give both rule sets, OLD and NEW"),
        (old is None and not compared, "give the rule sets OLD NEW, or layers to compare: --old-units/--new-units, "
                                       "--old-zones/--new-zones"),
        (old is None and bool(registry or any(shared)), "--registry, --units and --zones go with rule sets OLD NEW"),
        (bool(shared[0]) and unit_pair[0] is not None, "give --units (one layer for OLD and NEW) or "
                                                       "--old-units/--new-units, not both"),
        (bool(shared[1]) and zone_pair[0] is not None, "give --zones (one layer for OLD and NEW) or "
                                                       "--old-zones/--new-zones, not both"),
        (bool(output) and not registry, "-o writes the changed projects: give OLD NEW --registry (the unit and zone "
                                        "changes go to --layer-output)"),
        (bool(layer_output) and not compared, "--layer-output writes the unit and zone changes: give "
                                              "--old-units/--new-units or --old-zones/--new-zones"),
        (bool(output and layer_output) and Path(output).resolve() == Path(layer_output or ".").resolve(),
         "-o and --layer-output name the same file"),
    ]
    for wrong, message in problems:
        if wrong:
            raise click.UsageError(message)


def _print_projects(console: Console, result) -> None:
    """The projects whose result changes, each with the citations added and removed."""
    changes = result.changes
    for note in result.notes:
        console.print(f"Note: {note}")
    console.print(Text(f"\n{len(changes):,} of {result.rows:,} projects change verdict or worst case", style="bold")
                  + Text(f" ({result.errors:,} rows with input errors not compared; 'zoning screen' lists them)"
                         if result.errors else ""))
    for row in changes.itertuples(index=False):
        label = " ".join(x for x in (str(row.id), str(row.name)) if x and x != "nan")
        console.print(Text(f"  row {row.row} {label}: ").append(_result(row.old_verdict, row.old_worst_case))
                      .append(" → ").append(_result(row.new_verdict, row.new_worst_case), style="bold"))
        for sign, texts in (("+", row.added), ("-", row.removed)):
            for text in filter(None, texts.split("; ")):
                console.print(Text(f"      {sign} {text}", style="green" if sign == "+" else "red"))


def _result(verdict: str, worst: str) -> str:
    return verdict if worst in (verdict, "not_covered") else f"{verdict} (may be {worst})"


def _check_output(output: str, inputs: list) -> None:
    """Refuse an output that is not .csv or .json, or that would replace a file the comparison reads."""
    if Path(output).suffix.lower() not in (".csv", ".json"):
        raise DataError(f"output {output}: unknown format {Path(output).suffix or '(no extension)'!r}; "
                        "write .csv or .json")
    if Path(output).resolve() in {Path(p).resolve() for p in inputs}:
        raise ParameterError(f"output {output} is one of the inputs; write the changes elsewhere")


@rules.command("import")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for the YAML drafts (one <unit code>.yaml per unit).")
@click.option("--issuer", required=True, help="Who issued the lists (cited as the source), e.g. 保定市生态环境局.")
@click.option("--date", "date_", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Publication date of the lists (cited as the source).")
@click.option("--effective-from", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Date the lists take effect. Default: --date.")
@click.option("--version", "version_", default="1", show_default=True, help="Version to give the lists.")
@click.option("--document", help="Source document to cite. Default: the file's name.")
@click.option("--sheet", help="Excel sheet name (default: the first).")
@click.option("--units", type=click.Path(dir_okay=False),
              help="Unit layer to validate an Excel import against, and whose PROV/CITY/AREA fields place rows "
                   "without a unit code (a layer SOURCE is its own).")
@io_engine_opt
@click.option("--overwrite", is_flag=True, help="Replace drafts already in the directory.")
@handle_errors
def import_(source, out_dir, issuer, date_, effective_from, version_, document, sheet, units, io_engine, overwrite):
    """Draft YAML lists from SOURCE: a unit layer's four text fields, or a province's Excel list.

    SOURCE is a unit layer (GeoPackage, Shapefile, GeoJSON with the national
    fields KJBJYS, PWWPFGK, HJFXFK, ZYKFXLYQ) or an .xlsx table with one row
    per unit (环境管控单元编码, 名称, and one column per dimension: 空间布局约束,
    污染物排放管控, 环境风险防控, 资源利用效率). Each numbered item becomes a
    review-only clause keeping its text; effects, GB/T 4754 industry codes,
    thresholds, exceptions (unless) and dates are proposed in comments for an
    engineer to confirm. Excel rows without a unit code become province, city
    or county lists when the row says whose they are; every row skipped is
    listed with its reason. The drafts are then validated.
    """
    from zoning.authoring.importing import import_lists
    from zoning.authoring.validation import validate as run_validation

    if not Path(source).exists():
        raise DataError(f"{source}: no such file")
    suffix = Path(source).suffix.lower()
    if suffix in (".xls", ".csv", ".txt", ".et", ".ods"):
        raise DataError(f"{source}: give a unit layer (.gpkg, .shp, .geojson) or an .xlsx workbook; "
                        "save the table as .xlsx (Excel: Save As, Excel Workbook)")
    is_excel = suffix in (".xlsx", ".xlsm")
    layer = units or (None if is_excel else source)
    unit_layer = load_units(layer, io_engine=io_engine) if layer else None
    imported = import_lists(source, out_dir, issuer=issuer, date=date_.date(), version=version_, document=document,
                            effective_from=effective_from.date() if effective_from else None, sheet=sheet,
                            units=unit_layer, io_engine=io_engine, overwrite=overwrite)
    drafts = imported.drafts
    console = Console(soft_wrap=True, highlight=False, markup=False)
    wide = [d for d in drafts if d.level != "unit"]
    console.print(f"{len(drafts)} list(s) written to {out_dir}: {sum(d.clauses for d in drafts)} review-only "
                  f"clause(s), {sum(d.proposed for d in drafts)} with proposals (conditions, exceptions, dates)")
    for d in wide:
        console.print(f"  row {d.row}: no unit code, written as a {d.level} list: {d.path.name} (confirm its scope)")
    if imported.skipped:
        console.print("Not imported:")
        for skip in imported.skipped:
            console.print(f"  {skip}")
    if not drafts:
        return
    findings, _ = run_validation([out_dir], unit_layer, units_source=str(layer or "unit layer"))
    errors = [f for f in findings if f.severity == "error"]
    for f in errors:
        console.print(f"{f.location}: error: {f.where + ': ' if f.where else ''}{f.message}")
    console.print(f"Validated: {len(errors)} error(s). Next: review the drafts, then "
                  f"'zoning rules validate {out_dir}'.")
    if errors:
        sys.exit(EXIT_BAD_INPUT)
