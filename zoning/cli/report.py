"""``zoning report``: the zoning-control compliance section of an EIA report, as a file."""

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

map_width_opt = click.option("--map-width", type=click.FloatRange(min=0.1, max=5000), metavar="KM",
                             help="Width of the location map's frame in km (default: 2.5 times the site's extent, "
                                  "at least 8 km).")


@click.command()
@project_options
@layer_options
@as_of_opt
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Report file: .docx (Word, editable), .html (one self-contained file) or .md (the map is "
                   "written beside it as NAME-map.png); '-': standard output, in the format --format names.")
@format_opt(("docx", "html", "md"), "the report")
@click.option("--title", help="Report title. Default: 生态环境分区管控符合性分析 Zoning-control compliance analysis.")
@map_width_opt
@click.option("--no-map", is_flag=True, help="Leave out the location map.")
@click.option("--guidance", is_flag=True,
              help="Add the section 'What would change the result' (改变结论的条件): input changes that lift each "
                   "deciding clause, each re-checked, and the nearest less strict places. Guidance, not a verdict.")
@background_opt
@click.option("--template", type=click.Path(dir_okay=False), metavar="FILE.docx",
              help="Build the Word report on a consultancy's template (.docx or .dotx): its styles (Heading 1-3, "
                   "Caption, Table Grid by name), page set-up, header and logo; its body is not kept.")
@quiet_opt
@handle_errors
def report(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name, units, zones, rules,
           io_engine, as_of, output, out_format, title, map_width, no_map, guidance, background, template, quiet):
    """Write the compliance report for one project siting: the project, the verdict and its
    conclusion, the location map, the units the site lies in, every clause in force for them by
    level and dimension with its text, source and the project's status, the missing inputs, and
    the engine and rule-set versions.

    \b
    Example:
      zoning report --lon 115.97 --lat 38.93 --industry C2614 --type new \\
                    --emission VOCs=12.5 --name 示例项目 -o report.docx
    """
    from zoning.outputs.backgrounds import read_backgrounds
    from zoning.outputs.documents import FORMATS, document_format, write_document
    from zoning.outputs.maps import location_map
    from zoning.outputs.reports import compliance_report

    if is_stdio(output) and out_format == "md" and not no_map:
        raise click.UsageError("-o - --format md: a Markdown report writes its map beside it as a file; give a "
                               "file name, or --no-map")
    if not is_stdio(output):
        document_format(output)  # refuse an unknown extension before any work
    if template is not None:
        from zoning.outputs.docx_writer import check_template

        check_template(template, output)
    layers = read_backgrounds(background, io_engine=io_engine)
    engine = load_engine(units, rules, zones, io_engine=io_engine, as_of=as_of)
    inputs = site_inputs(lon, lat, site, crs, min_overlap, industry, type_, emission, attr, name)
    result = engine.check(**inputs, explain=True)
    found = None
    if guidance:
        from zoning.siting.counterfactuals import guidance as guidance_of

        found = guidance_of(engine, result, min_overlap=inputs["min_overlap"])
    figure = None if no_map else location_map(engine, result, width_m=map_width * 1000 if map_width else None,
                                              background=layers)
    doc = compliance_report(engine, result, location_png=figure, title=title, guidance=found)
    with output_file(output, out_format, FORMATS, stem="report") as target:
        written = write_document(doc, target, template=template)
    for path in written if not is_stdio(output) else ():
        say(f"wrote {path}", output=output)
    say(f"verdict: {result.verdict}" + (f" (may be {result.worst_case})"
                                        if result.worst_case not in (result.verdict, "not_covered") else ""),
        output=output)
