"""``zoning db``: publishing rule sets to PostgreSQL/PostGIS, listing releases, comparing two."""

from __future__ import annotations

import datetime as dt
import json

import click
from rich.console import Console
from rich.table import Table

from zoning.cli.options import as_of_opt, handle_errors, io_engine_opt, key_values, min_overlap_opt

db_url_opt = click.option("--db", "db", required=True, metavar="URL",
                          help="postgresql://USER@HOST:PORT/DB; the password from ~/.pgpass or PGPASSWORD (or the "
                               "URL), never printed.")


@click.group()
def db():
    """Publish rule sets to PostgreSQL/PostGIS and list or compare their releases."""


@db.command()
@db_url_opt
@click.option("--units", type=click.Path(dir_okay=False, exists=True), help="Unit layer. Default: the sample.")
@click.option("--zones", type=click.Path(dir_okay=False, exists=True), help="Overlay-zone layer.")
@click.option("--rules", multiple=True, type=click.Path(exists=True),
              help="Access-list files or directories (repeatable), with their *.attributes.yaml and "
                   "*.parameters.yaml. Default: the sample lists, without --units.")
@click.option("--note", default="", help="What this release is (shown by 'zoning db status').")
@click.option("--effective-from", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="The date the release takes effect: the release in force on a date is the newest one "
                   "effective then. Default: today; not before the latest release's.")
@io_engine_opt
@handle_errors
def publish(db, units, zones, rules, note, effective_from, io_engine):
    """Validate the rule set (as 'rules validate --strict') and publish it, in one transaction, as a new
    release: units and zones (PostGIS), lists with their clauses, declarations and parameter tables.
    Earlier releases stay; a rule set that does not validate writes nothing."""
    from zoning.db.publish import publish as publish_release
    from zoning.db.urls import DatabaseURL

    done = publish_release(db, units, list(rules) or None, zones, note=note, io_engine=io_engine,
                           effective_from=effective_from.date() if effective_from else None)
    click.echo(f"published release {done.release_id} to {DatabaseURL.parse(db).label} by {done.published_by} at "
               f"{done.published_at:%Y-%m-%d %H:%M:%S%z}, in force from {done.effective_from}: {done.units:,} units, "
               f"{done.zones:,} zones, {done.lists} lists ({done.files} files); rules sha256 {done.rules_sha256[:16]}")


@db.command()
@db_url_opt
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def status(db, fmt):
    """The releases published, oldest first; * marks the one in force today."""
    from zoning.db.releases import list_releases

    releases = list_releases(db)
    current = max((r.release_id for r in releases if r.effective_from <= dt.date.today()), default=None)
    if fmt == "json":
        click.echo(json.dumps({"current": current, "releases": [r.as_dict() for r in releases]},
                              ensure_ascii=False, indent=2))
        return
    console = Console(soft_wrap=False, highlight=False, markup=False)
    if not releases:
        console.print("no release published yet ('zoning db publish')")
        return
    table = Table(show_header=True)
    for name in ("", "release", "published", "by", "in force from", "units", "zones", "lists", "rules sha256",
                 "note"):
        table.add_column(name)
    for r in releases:
        table.add_row("*" if r.release_id == current else "", str(r.release_id),
                      f"{r.published_at:%Y-%m-%d %H:%M}", r.published_by, str(r.effective_from),
                      f"{r.units_count:,}", f"{r.zones_count:,}", str(r.lists_count), r.rules_sha256[:12], r.note)
    console.print(table)


@db.command()
@db_url_opt
@click.argument("old")
@click.argument("new")
@click.option("--registry", help="Projects to compare on (any registry 'zoning screen' reads, a table too).")
@click.option("--boundary-tolerance", type=click.FloatRange(min=0), default=1.0, show_default=True, metavar="METRES",
              help="A boundary moved by no more than this counts as unchanged.")
@as_of_opt
@click.option("--col", "cols", multiple=True, metavar="FIELD=HEADER", help="As for 'zoning screen'.")
@min_overlap_opt
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@handle_errors
def diff(db, old, new, registry, boundary_tolerance, as_of, cols, min_overlap, fmt):
    """What changed from release OLD to release NEW ('latest' allowed), as 'zoning rules diff' says it: clauses
    added, removed or edited; units and zones added, removed or redrawn; with --registry, the projects whose
    result changes."""
    from zoning.authoring.layerdiff import diff_units, diff_zones, scope_effects
    from zoning.authoring.rulediff import diff_rules, list_changes, lists_in_force
    from zoning.cli.rules import print_diff
    from zoning.db.releases import read_release
    from zoning.engine import Engine
    from zoning.inputs.units import empty_zones

    day = as_of or dt.date.today()
    read = [read_release(db, release) for release in (old, new)]
    ids = [r.release["id"] if r.release else "?" for r in read]
    zones = [r.zones if r.zones is not None else empty_zones() for r in read]
    layers = [diff_units(read[0].units, read[1].units, tolerance_m=boundary_tolerance, old_source=f"release {ids[0]}",
                         new_source=f"release {ids[1]}"),
              diff_zones(zones[0], zones[1], tolerance_m=boundary_tolerance, old_source=f"release {ids[0]}",
                         new_source=f"release {ids[1]}")]
    current = lists_in_force(read[1].lists, day)
    effects = scope_effects(current, old_units=read[0].units, new_units=read[1].units, old_zones=zones[0],
                            new_zones=zones[1])
    result = None
    if registry:
        engines = [Engine.from_layers(r, as_of=day) for r in read]
        result = diff_rules(*engines, registry, min_overlap=list(min_overlap) or None,
                            columns=key_values(cols, "--col"))
        clauses = result.clauses
    else:
        clauses = list_changes(lists_in_force(read[0].lists, day), current)
    print_diff(fmt, True, [day, day], result, clauses, layers, effects)
