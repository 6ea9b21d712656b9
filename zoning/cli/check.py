"""``zoning check``: one siting, as an EIA engineer checks it."""

from __future__ import annotations

import json
import sys

import click

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
from zoning.sites import output_system


@click.command()
@click.option("--lon", type=float, help="Longitude, CGCS2000/WGS84 degrees.")
@click.option("--lat", type=float, help="Latitude, CGCS2000/WGS84 degrees.")
@click.option("--site", help="Site as WKT or a file: .wkt, .geojson, .shp, .gpkg, .kml, .dxf, or a red-line "
                             "coordinate .txt (界址点坐标). Points, lines or polygons.")
@crs_opt
@min_overlap_opt
@click.option("--industry", help="GB/T 4754-2017 code (C3120 or 3120) or exact official name.")
@click.option("--type", "type_", help="Project type: new, expansion, renovation, relocation (or 新建/扩建/改建/迁建).")
@click.option("--emission", multiple=True, metavar="NAME=T_PER_YEAR",
              help="Emission in t/a, repeatable: SO2, NOx, particulate, VOCs, COD, NH3-N.")
@click.option("--attr", multiple=True, metavar="NAME=VALUE",
              help="Other attribute, repeatable, e.g. coal_use=2000, in_park=true.")
@click.option("--name", help="Project name, echoed in the result.")
@click.option("--explain", is_flag=True,
              help="Add the audit trail: every clause considered, each condition with the project's value and "
                   "whether it is true, false or unknown.")
@layer_options
@as_of_opt
@click.option("--format", "fmt", type=click.Choice(["text", "json", "geojson"]), default="text",
              show_default=True, help="Output format.")
@output_crs_opt
@fail_on_opt
@handle_errors
def check(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name, explain, units, zones, rules,
          io_engine, as_of, fmt, output_crs, fail_on):
    """Check one project siting and cite every clause that decides it.

    \b
    Example:
      zoning check --lon 115.97 --lat 38.93 --industry C2614 --type new \\
                   --emission VOCs=12.5 --emission NOx=3
    """
    if site is None and (lon is None or lat is None):
        raise click.UsageError("give --lon and --lat, or --site")
    if site is not None and (lon is not None or lat is not None):
        raise click.UsageError("give either --lon/--lat or --site, not both")
    web = output_system(output_crs, "geojson")
    if web and fmt != "geojson":
        raise click.UsageError("--output-crs applies to --format geojson (the site's coordinates)")
    emissions = key_values(emission, "--emission")
    attributes = key_values(attr, "--attr")
    engine = Engine.load(units, list(rules) or None, zones, engine=io_engine, as_of=as_of)
    result = engine.check(lon=lon, lat=lat, site=site, crs=crs, industry=industry, type=type_,
                          emissions=emissions, attributes=attributes, name=name,
                          min_overlap=list(min_overlap) or None, explain=explain)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif fmt == "geojson":
        click.echo(json.dumps(result.to_feature(web), ensure_ascii=False, indent=2))
    else:
        from zoning.cli.render import render_explanation, render_result

        render_result(result)
        if explain:
            render_explanation(result)
    if fail_on and result.fails(fail_on):
        sys.exit(EXIT_FAILS)
