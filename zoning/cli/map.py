"""``zoning map``: the location figure alone, as PNG, SVG or PDF."""

from __future__ import annotations

import click

from zoning.cli.options import as_of_opt, handle_errors, layer_options, project_options, site_inputs
from zoning.cli.report import map_width_opt


@click.command("map")
@project_options
@layer_options
@as_of_opt
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Image file: .png, .svg or .pdf.")
@click.option("--title", help="Title above the map (default: none).")
@map_width_opt
@click.option("--dpi", type=click.IntRange(min=50, max=1200), default=200, show_default=True,
              help="Resolution of a PNG.")
@handle_errors
def map_(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name, units, zones, rules,
         io_engine, as_of, output, title, map_width, dpi):
    """Draw the site over the management units around it: units coloured by type, unit codes
    labelled, overlay zones outlined, scale bar, north arrow, longitude and latitude on the frame.

    \b
    Example:
      zoning map --lon 115.97 --lat 38.93 -o figure.png --title 项目位置与环境管控单元关系图
    """
    from zoning.engine import Engine
    from zoning.outputs.maps import location_map, map_format, write_map

    fmt = map_format(output)
    engine = Engine.load(units, list(rules) or None, zones, io_engine=io_engine, as_of=as_of)
    result = engine.check(**site_inputs(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name))
    write_map(location_map(engine, result, width_m=map_width * 1000 if map_width else None, title=title,
                           fmt=fmt, dpi=dpi), output)
    click.echo(f"wrote {output}")
