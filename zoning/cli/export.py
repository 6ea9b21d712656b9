"""``zoning export``: layers for QGIS and web maps."""

from __future__ import annotations

import click

from zoning.cli.options import handle_errors, layer_options, load_engine, output_crs_opt
from zoning.cli.pipes import is_stdio, output_file, say
from zoning.outputs.unit_export import export_units


@click.group()
def export():
    """Export annotated layers (GeoJSON for web maps, GeoPackage for QGIS)."""


@export.command("units")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file: .geojson (RFC 7946) or .gpkg; - for standard output (with --format).")
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg"]),
              help="The format of -o - (standard output); a file's extension gives its own.")
@output_crs_opt
@layer_options
@handle_errors
def units_command(output, fmt, output_crs, units, zones, rules, io_engine):
    """Write the unit layer with each unit's type and access lists.

    Each unit gets: lists, counts of prohibit/restrict/require clauses, the
    industries its prohibit and restrict clauses name, the overlay zones that
    intersect it, and every clause in full (an array in GeoJSON, JSON text in
    the GeoPackage's clauses_json column).

    \b
    Example:
      zoning export units -o units.geojson
      zoning export units -o - --format geojson | head -c 300
    """
    engine = load_engine(units, rules, zones, io_engine=io_engine)
    with output_file(output, fmt, {".geojson": "geojson", ".gpkg": "gpkg"}, stem="units") as target:
        count = export_units(engine, target, output_crs=output_crs)
    say(f"Wrote {count:,} units to {'standard output' if is_stdio(output) else output}", output=output)
