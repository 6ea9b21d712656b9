"""``zoning map``: the location figure alone, as PNG, SVG or PDF."""

from __future__ import annotations

import click

from zoning.cli.options import (
    as_of_opt,
    background_opt,
    format_opt,
    handle_errors,
    layer_options,
    load_engine,
    project_options,
    quiet_opt,
    site_inputs,
)
from zoning.cli.pipes import is_stdio, output_file, say
from zoning.cli.report import map_width_opt


@click.command("map")
@project_options
@layer_options
@as_of_opt
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Image file: .png, .svg or .pdf; '-': standard output, in the format --format names.")
@format_opt(("png", "svg", "pdf"), "the image")
@click.option("--title", help="Title above the map (default: none).")
@map_width_opt
@click.option("--dpi", type=click.IntRange(min=50, max=1200), default=200, show_default=True,
              help="Resolution of a PNG.")
@background_opt
@quiet_opt
@handle_errors
def map_(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name, units, zones, rules,
         io_engine, as_of, output, out_format, title, map_width, dpi, background, quiet):
    """Draw the site over the management units around it: units coloured by type, unit codes
    labelled, overlay zones outlined and named, background layers (--background) with their names,
    scale bar, north arrow, longitude and latitude on the frame.

    \b
    Example:
      zoning map --lon 115.97 --lat 38.93 -o figure.png --title 项目位置与环境管控单元关系图
    """
    from zoning.outputs.backgrounds import read_backgrounds
    from zoning.outputs.maps import FORMATS, location_map, map_format, write_map

    fmt = out_format if is_stdio(output) and out_format else map_format(output)
    layers = read_backgrounds(background, io_engine=io_engine)
    engine = load_engine(units, rules, zones, io_engine=io_engine, as_of=as_of)
    result = engine.check(**site_inputs(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name))
    with output_file(output, out_format, FORMATS, stem="map") as target:
        write_map(location_map(engine, result, width_m=map_width * 1000 if map_width else None, title=title,
                               fmt=fmt, dpi=dpi, background=layers), target)
    if not is_stdio(output):
        say(f"wrote {output}")
