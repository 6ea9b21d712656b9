"""``zoning screen``: a whole registry, as an environment bureau screens it."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from zoning.cli.options import (
    EXIT_FAILS,
    as_of_opt,
    crs_opt,
    fail_on_opt,
    handle_errors,
    key_values,
    layer_options,
    min_overlap_opt,
    output_crs_opt,
)
from zoning.engine import Engine
from zoning.errors import InputError
from zoning.inputs.headers import fields
from zoning.inputs.registry import DEFAULT_CHUNK
from zoning.sample import SAMPLE_NOTICE
from zoning.screening import Digest, Summary
from zoning.screening import screen as screen_registry
from zoning.verdicts import Verdict


@click.command()
@click.argument("registry", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file; format from the extension: .csv .xlsx .gpkg .geojson .geojsons .parquet")
@click.option("--col", "cols", multiple=True, metavar="FIELD=HEADER",
              help=f"Use column HEADER for FIELD (repeatable). Fields: {', '.join(fields())}, and attributes a "
                   "rule set declares.")
@crs_opt
@min_overlap_opt
@output_crs_opt
@click.option("--encoding", help="CSV encoding (default: detected; UTF-8, UTF-8 with BOM, UTF-16 or GBK/GB18030).")
@click.option("--sheet", help="Excel sheet name or 1-based number (default: the first).")
@click.option("--layer", help="Layer of a multi-layer GeoPackage (default: the first).")
@layer_options
@as_of_opt
@click.option("--chunk-size", type=click.IntRange(min=1), default=DEFAULT_CHUNK, show_default=True,
              help="Rows read, evaluated and written at a time (bounds memory).")
@click.option("--explain", is_flag=True,
              help="Add a column 'explain': for each prohibit/restrict clause considered, its outcome and each "
                   "condition with the project's value and ✓ true, ✗ false or ? unknown. Slower, and long.")
@click.option("--guidance", is_flag=True,
              help="Add a column 'guidance': for prohibited, restricted and undetermined rows, one line of input "
                   "changes that would lift their deciding clauses, each re-checked, and the verdict after "
                   "(no nearest-place part: use zoning check --guidance for one site). Guidance, not a verdict.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False),
              help="Also write a summary report in this directory (created if missing; its parent must exist): "
                   "report.docx, "
                   "report.html and report.md, with counts, a map of the projects by verdict, and the prohibited "
                   "and restricted projects with their reasons.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@fail_on_opt
@handle_errors
def screen(registry, output, cols, crs, min_overlap, output_crs, encoding, sheet, layer, units, zones, rules,
           io_engine, as_of, chunk_size, explain, guidance, report_dir, quiet, fail_on):
    """Screen every project in REGISTRY and write them, annotated, to OUTPUT.

    REGISTRY is an Excel workbook (.xlsx), a CSV (UTF-8 or GBK, detected), a
    GeoPackage, Shapefile, GeoJSON or GeoJSON-sequence layer, or a site file
    (KML, DXF, red-line coordinate .txt: one row per feature or parcel).
    Every row comes out once, in input order, with its input columns
    unchanged plus verdict, worst_case, unit_codes, unit_types, clauses,
    reasons, missing, disregarded and error.

    \b
    Examples:
      zoning screen registry.xlsx -o screened.xlsx
      zoning screen projects.csv -o screened.geojson --col lon=东经 --col lat=北纬
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # slow import

    columns = key_values(cols, "--col")
    report = report_directory(report_dir) if report_dir is not None else None
    digest = Digest() if report else None
    engine = Engine.load(units, list(rules) or None, zones, io_engine=io_engine, as_of=as_of)
    err = Console(stderr=True)
    show = not quiet and err.is_terminal
    with Progress(TextColumn("screening"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=not show, transient=True) as bar:
        task = bar.add_task("screening", total=None)

        def progress(done, total):
            bar.update(task, completed=done, total=total)

        summary = screen_registry(engine, registry, output, columns=columns, crs=crs, encoding=encoding,
                                  sheet=sheet, layer=layer, io_engine=io_engine, chunk_size=chunk_size,
                                  progress=progress, min_overlap=list(min_overlap) or None,
                                  output_crs=output_crs, explain=explain,
                                  digest=digest, guidance=guidance)
    print_summary(summary, Console(soft_wrap=False, markup=False), illustrative=engine.illustrative)
    if report:
        from zoning.outputs.reports import write_registry_report

        for path in write_registry_report(engine, summary, digest, report):
            click.echo(f"wrote {path}")
    if fail_on and summary.failing(fail_on):
        sys.exit(EXIT_FAILS)


def print_summary(summary: Summary, console: Console, *, illustrative: bool = False) -> None:
    """The run's summary; ``illustrative`` says, at the top, that the units are the sample region."""
    if illustrative:
        console.print(SAMPLE_NOTICE)
    console.print(f"Screened {summary.rows:,} rows of {summary.input} → {summary.output}")
    if summary.encoding:
        console.print(f"Encoding: {summary.encoding}")
    console.print(f"Columns: {summary.columns}")
    for note in summary.notes:
        console.print(f"Note: {note}")
    table = Table(show_header=True)
    for name in ("", "", "rows"):
        table.add_column(name, justify="right" if name == "rows" else "left")
    for section, label, n in summary.table()[1:]:
        shown = f"{label} {Verdict.of(label).zh}" if section == "verdict" else label
        table.add_row(section, shown, f"{n:,}")
    console.print(table)
    for kind, examples in summary.examples.items():
        console.print(f"{kind}: " + "; ".join(examples))


def report_directory(path) -> Path:
    """The report directory, checked before screening (it is created, if missing, only when the
    report is written): its parent must exist."""
    if not str(path).strip():
        raise InputError("--report: give a directory")
    path = Path(path)
    if not path.parent.exists():
        raise InputError(f"--report {path}: directory {path.parent} does not exist")
    return path
