"""``zoning check``: one siting, as an EIA engineer checks it."""

from __future__ import annotations

import json
import sys

import click

from zoning.cli.options import (
    EXIT_FAILS,
    as_of_opt,
    fail_on_opt,
    handle_errors,
    layer_options,
    load_engine,
    output_crs_opt,
    project_options,
    quiet_opt,
    site_inputs,
)
from zoning.outputs.formats import output_system


@click.command()
@project_options
@click.option("--explain", is_flag=True,
              help="Add the audit trail: every clause considered, each condition with the project's value and "
                   "whether it is true, false or unknown.")
@click.option("--guidance", is_flag=True,
              help="Add what would change the result: input changes that lift each deciding clause (each "
                   "re-checked), the values of missing inputs that decide, and the nearest less strict places. "
                   "Guidance, not a verdict; JSON key 'guidance'.")
@layer_options
@as_of_opt
@click.option("--format", "fmt", type=click.Choice(["text", "json", "geojson"]), default="text",
              show_default=True, help="Output format.")
@output_crs_opt
@fail_on_opt
@quiet_opt
@handle_errors
def check(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name, explain, guidance, units, zones,
          rules, io_engine, as_of, fmt, output_crs, fail_on, quiet):
    """Check one project siting and cite every clause that decides it.

    \b
    Example:
      zoning check --lon 115.97 --lat 38.93 --industry C2614 --type new \\
                   --emission VOCs=12.5 --emission NOx=3
      echo 'POINT (115.97 38.93)' | zoning check --site - --industry C2614
    """
    web = output_system(output_crs, "geojson")
    if web and fmt != "geojson":
        raise click.UsageError("--output-crs applies to --format geojson (the site's coordinates)")
    engine = load_engine(units, rules, zones, io_engine=io_engine, as_of=as_of)
    inputs = site_inputs(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name)
    if guidance:
        from zoning.siting.counterfactuals import check_with_guidance

        result = check_with_guidance(engine, **inputs, explain=explain)
    else:
        result = engine.check(**inputs, explain=explain)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif fmt == "geojson":
        click.echo(json.dumps(result.to_feature(web), ensure_ascii=False, indent=2))
    else:
        from zoning.cli.render import render_explanation, render_guidance, render_result

        render_result(result, illustrative=engine.illustrative)
        if explain:
            render_explanation(result)
        if result.guidance is not None:
            render_guidance(result.guidance)
    if fail_on and result.fails(fail_on):
        sys.exit(EXIT_FAILS)
