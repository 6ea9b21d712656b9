"""``zoning screen``: a whole registry, as an environment bureau screens it."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from zoning import allocator
from zoning.cli.options import (
    EXIT_FAILS,
    as_of_opt,
    background_opt,
    crs_opt,
    fail_on_opt,
    format_opt,
    handle_errors,
    key_values,
    layer_options,
    load_engine,
    min_overlap_opt,
    output_crs_opt,
    quiet_opt,
)
from zoning.cli.pipes import INPUT_FORMATS, STDIN_LABEL, is_stdio, output_file, stdin_file
from zoning.errors import InputError, ParameterError
from zoning.inputs.headers import fields
from zoning.inputs.registry import DEFAULT_CHUNK
from zoning.outputs.atomic import atomic_path
from zoning.outputs.backgrounds import read_backgrounds, using
from zoning.outputs.formats import OUTPUT_FORMATS
from zoning.sample import SAMPLE_NOTICE
from zoning.screening import Digest, Summary
from zoning.screening import screen as screen_registry
from zoning.verdicts import Verdict


@click.command()
@click.argument("registry", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Output file; format from the extension: .csv .xlsx .gpkg .geojson .geojsons .parquet; "
                   "'-': standard output, in the format --format names.")
@format_opt(OUTPUT_FORMATS.values(), "the output")
@click.option("--input-format", type=click.Choice([f for f in INPUT_FORMATS if f != "wkt"]),
              help="Format of REGISTRY when it is '-' (standard input). Default: recognised from its first bytes "
                   "(a workbook, GeoPackage, GeoJSON, KML, DXF or red-line file), else CSV.")
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
@click.option("--template", type=click.Path(dir_okay=False), metavar="FILE.docx",
              help="Build the report's report.docx on a consultancy's template (.docx or .dotx): its styles, page "
                   "set-up, header and logo.")
@background_opt
@quiet_opt
@click.option("--summary-json", type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE",
              help="Also write the summary as JSON to FILE ('-': standard output, when the output is not).")
@click.option("--key", metavar="COLUMN",
              help="A registry in a database table: the column its rows are read in order of (default: its primary "
                   "key).")
@click.option("--resume", metavar="RUN",
              help="Continue the failed run RUN into a database table (its id is in the error message), without "
                   "writing its rows twice.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Screen on a running Dask cluster, its scheduler at ADDRESS (tcp://HOST:8786); its workers read "
                   "the registry themselves, so it must be at the same path on them. Needs zoning[dask].")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Screen on a local Dask cluster of N worker processes (one thread each, on 127.0.0.1), started "
                   "for the run. Needs zoning[dask].")
@fail_on_opt
@handle_errors
def screen(registry, output, out_format, input_format, cols, crs, min_overlap, output_crs, encoding, sheet, layer,
           units, zones, rules, io_engine, as_of, chunk_size, explain, guidance, report_dir, template, background,
           quiet, summary_json, key, resume, scheduler, workers, fail_on):
    """Screen every project in REGISTRY and write them, annotated, to OUTPUT.

    REGISTRY is a workbook (.xlsx .xlsb .xls .ods; a two-row merged header is
    joined), a CSV (UTF-8 or GBK, detected), a GeoPackage, Shapefile,
    GeoJSON or GeoJSON-sequence layer, or a site file
    (KML, DXF, red-line coordinate .txt: one row per feature or parcel), or a
    database table, postgresql://USER@HOST:PORT/DB?table=NAME; OUTPUT may be a
    table too (written a transaction per chunk; see --resume). Either may be
    '-': the registry from standard input, the output to standard output
    (give --format); the summary is on standard error.
    Every row comes out once, in input order, with its input columns (typed
    in every output but .csv, which keeps cells as read) plus verdict,
    worst_case, unit_codes, unit_types, clauses, reasons, missing,
    disregarded and error.

    \b
    Examples:
      zoning screen registry.xlsx -o screened.xlsx
      zoning screen projects.csv -o screened.geojson --col lon=东经 --col lat=北纬
      zoning screen - -o - --format csv < registry.csv > screened.csv
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # slow import

    columns = key_values(cols, "--col")
    if scheduler is not None and workers is not None:
        raise ParameterError("--scheduler uses a running Dask cluster and --workers starts one: give one of them")
    if scheduler is not None or workers is not None:
        from zoning.cluster import require_dask

        require_dask()  # before the engine is loaded: a missing extra is said at once
    report = report_directory(report_dir) if report_dir is not None else None
    if template is not None:
        from zoning.outputs.docx_writer import check_template

        check_template(template, report and report / "report.docx", option="--report")
    layers = read_backgrounds(background, io_engine=io_engine) if report else None  # the report's map
    digest = Digest() if report else None
    if is_stdio(summary_json) and is_stdio(output):
        raise click.UsageError("--summary-json -: standard output carries the screened rows (-o -); give a file")
    engine = load_engine(units, rules, zones, io_engine=io_engine, as_of=as_of)
    allocator.keep_freed_memory()  # chunk after chunk allocates the same large arrays: keep them for reuse
    err = Console(stderr=True, soft_wrap=False, markup=False)
    show = not quiet and err.is_terminal
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(stdin_file("registry", input_format)) if is_stdio(registry) else registry
        target = stack.enter_context(output_file(output, out_format, OUTPUT_FORMATS, stem="screened"))
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, disable=not show, transient=True) as bar:
            task = bar.add_task("screening", total=None)

            def progress(done, total):
                bar.update(task, completed=done, total=total)

            runner = None
            if scheduler is not None or workers is not None:
                from zoning.cluster import DaskRunner, dask_client

                client = stack.enter_context(dask_client(scheduler, workers, quiet_logs=True))

                def parts_done(done, total):  # the cluster's progress, parts completed in any order
                    bar.update(task, description=f"screening on Dask: {done:,}/{total or '?'} parts done, rows written")

                runner = DaskRunner(client, progress=parts_done, shared=not is_stdio(registry) or workers is not None)
            summary = screen_registry(engine, source, target, columns=columns, crs=crs, encoding=encoding,
                                      sheet=sheet, layer=layer, io_engine=io_engine, chunk_size=chunk_size,
                                      progress=progress, min_overlap=list(min_overlap) or None,
                                      output_crs=output_crs, explain=explain,
                                      digest=digest, guidance=guidance, key=key, resume=resume, runner=runner)
            if runner is not None:
                summary.notes.append(runner.note())
    if is_stdio(registry):
        summary.input = STDIN_LABEL
    if is_stdio(output):
        summary.output = "standard output"
    if summary_json:
        write_summary_json(summary, summary_json, illustrative=engine.illustrative)
    if not quiet:
        print_summary(summary, err, illustrative=engine.illustrative)
    if report:
        from zoning.outputs.registry_report import write_registry_report

        with using(layers):
            for path in write_registry_report(engine, summary, digest, report, template=template):
                if not quiet:
                    click.echo(f"wrote {path}", err=True)
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


def summary_dict(summary: Summary, *, illustrative: bool = False) -> dict:
    """The summary as JSON: counts by verdict, worst case, unit type and error kind, examples, notes."""
    return {"input": summary.input, "output": summary.output, "rows": summary.rows, "columns": summary.columns,
            "encoding": summary.encoding, "verdicts": dict(summary.verdicts), "worst_case": dict(summary.worst),
            "unit_types": {str(k): n for k, n in summary.unit_types.items()}, "errors": dict(summary.errors),
            "examples": summary.examples, "notes": list(summary.notes),
            "timings": {k: round(v, 3) for k, v in summary.timings.items()}, "illustrative": illustrative}


def write_summary_json(summary: Summary, path: str, *, illustrative: bool = False) -> None:
    """``--summary-json``: to a file (atomically), or to standard output for ``-``."""
    text = json.dumps(summary_dict(summary, illustrative=illustrative), ensure_ascii=False, indent=2)
    if is_stdio(path):
        click.echo(text)
        return
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")


def report_directory(path) -> Path:
    """The report directory, checked before screening (it is created, if missing, only when the
    report is written): its parent must exist."""
    if not str(path).strip():
        raise InputError("--report: give a directory")
    path = Path(path)
    if not path.parent.exists():
        raise InputError(f"--report {path}: directory {path.parent} does not exist")
    return path
