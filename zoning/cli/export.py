"""``zoning export``: layers for QGIS and web maps."""

from __future__ import annotations

import click

from zoning.cli.options import handle_errors, layer_options, output_crs_opt
from zoning.engine import Engine
from zoning.outputs.unit_export import export_units


@click.group()
def export():
    """Export annotated layers (GeoJSON for web maps, GeoPackage for QGIS)."""


@export.command("units")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file: .geojson (RFC 7946) or .gpkg.")
@output_crs_opt
@layer_options
@handle_errors
def units_command(output, output_crs, units, zones, rules, io_engine):
    """Write the unit layer with each unit's type and access lists.

    Each unit gets: lists, counts of prohibit/restrict/require clauses, the
    industries its prohibit and restrict clauses name, the overlay zones that
    intersect it, and every clause in full (an array in GeoJSON, JSON text in
    the GeoPackage's clauses_json column).

    \b
    Example:
      zoning export units -o units.geojson
    """
    engine = Engine.load(units, list(rules) or None, zones, io_engine=io_engine)
    count = export_units(engine, output, output_crs=output_crs)
    click.echo(f"Wrote {count:,} units to {output}")
