"""``zoning where``: where a project may go (选址引导), as a layer, a map and a summary."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from zoning.cli.options import (
    as_of_opt,
    background_opt,
    handle_errors,
    key_values,
    layer_options,
    load_engine,
    quiet_opt,
)
from zoning.cli.pipes import is_stdio, output_file
from zoning.sample import SAMPLE_NOTICE

_LAYER_FORMATS = ("gpkg", "geojson", "parquet", "csv")
_VERDICTS = ("prohibited", "restricted", "undetermined", "permitted")
_STYLE = {"prohibited": "bold red", "restricted": "bold yellow", "undetermined": "bold magenta",
          "permitted": "bold green"}


@click.command("where")
@click.option("--industry", required=True, help="GB/T 4754-2017 code (C3120 or 3120) or exact official name.")
@click.option("--type", "type_", help="Project type: new, expansion, renovation, relocation (or 新建/扩建/改建/迁建).")
@click.option("--emission", multiple=True, metavar="NAME=T_PER_YEAR",
              help="Emission in t/a, repeatable: SO2, NOx, particulate, VOCs, COD, NH3-N.")
@click.option("--attr", multiple=True, metavar="NAME=VALUE",
              help="Other attribute, repeatable, e.g. coal_use=2000, in_park=true.")
@click.option("--within", multiple=True, metavar="AREA",
              help="Limit the area: an admin code prefix (1306), a unit code, or a box WEST,SOUTH,EAST,NORTH in "
                   "lon/lat degrees (clips the units). Repeatable: units matching any prefix or code.")
@layer_options
@as_of_opt
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="The polygons: .gpkg, .geojson, .parquet (GeoParquet), or .csv (no geometry); '-': standard "
                   "output, in the format --format names (the summary then goes to standard error).")
@click.option("--map", "map_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="A map coloured by verdict: .png, .svg or .pdf; '-': standard output (with --map-format).")
@click.option("--map-format", "map_fmt_opt", type=click.Choice(["png", "svg", "pdf"]),
              help="The format of --map - (standard output).")
@click.option("--title", help="Title above the map.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", *_LAYER_FORMATS]), default=None,
              help="The summary on standard output: text (default) or json; or, with -o -, the polygons' format "
                   f"({', '.join(_LAYER_FORMATS)}).")
@click.option("--largest", type=click.IntRange(min=0, max=1000), default=5, show_default=True,
              help="How many of the largest permitted and restricted areas the summary lists.")
@background_opt
@quiet_opt
@handle_errors
def where(industry, type_, emission, attr, within, units, zones, rules, io_engine, as_of, output, map_path,
          map_fmt_opt, title, fmt, largest, background, quiet):
    """Where a project would be prohibited, restricted or permitted.

    Every unit in scope is split wherever a clause that reads the location
    (distance to zones, inside a zone, a zone's own list) changes the answer;
    each polygon gets the verdict a site anywhere inside it would get, its
    deciding clauses, missing inputs, whether the project is encouraged
    there, and its area. Prints areas by verdict, unit type and county.

    \b
    Examples:
      zoning where --industry C2614 --type new --emission VOCs=10 -o where.gpkg
      zoning where --industry C3120 --type new --within 1306 -o steel.geojson --map steel.png
      zoning where --industry A0313 --type new -o - --format geojson > where.geojson
    """
    from zoning.outputs.backgrounds import read_backgrounds
    from zoning.outputs.maps import map_format, write_map
    from zoning.outputs.where_output import where_map, write_where
    from zoning.siting.where import summarise

    piped = is_stdio(output)
    if piped and fmt not in _LAYER_FORMATS:
        raise click.UsageError(f"-o - writes the polygons to standard output: name their format with --format "
                               f"({', '.join(_LAYER_FORMATS)})")
    if not piped and fmt in _LAYER_FORMATS:
        raise click.UsageError(f"--format {fmt} names the format of -o - (standard output); a file's extension "
                               "gives its own")
    if is_stdio(map_path) and is_stdio(output):
        raise click.UsageError("-o - and --map - both want standard output: write one of them to a file")
    map_fmt = (map_format(map_path) if not is_stdio(map_path) else map_fmt_opt) if map_path else None
    if is_stdio(map_path) and fmt == "json":
        raise click.UsageError("--map - and --format json both want standard output: write the map to a file")
    if is_stdio(map_path) and map_fmt is None:
        raise click.UsageError("--map - writes the map to standard output: name its format with --map-format")
    layers = read_backgrounds(background, io_engine=io_engine) if map_path else None
    engine = load_engine(units, rules, zones, io_engine=io_engine, as_of=as_of)
    project = {"industry": industry, "type": type_, "emissions": key_values(emission, "--emission"),
               "attributes": key_values(attr, "--attr")}
    layer = engine.where(project, within=list(within) or None)
    if map_path:
        with output_file(map_path, map_fmt, {".png": "png", ".svg": "svg", ".pdf": "pdf"}, stem="where-map",
                         option="--map") as target:
            write_map(where_map(engine, layer, fmt=map_fmt, title=title, background=layers), target)
    if output:
        with output_file(output, fmt if piped else None, {f".{f}": f for f in _LAYER_FORMATS}, stem="where") as path:
            write_where(layer, path, sources=engine.sources)
    summary = summarise(layer, largest=largest)
    if fmt == "json":
        summary["illustrative"] = engine.illustrative
        summary["outputs"] = [p for p in (output, map_path) if p]
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    streamed = piped or is_stdio(map_path)  # standard output carries data: the summary goes to stderr
    if streamed and quiet:
        return
    render_summary(summary, illustrative=engine.illustrative,
                   console=Console(stderr=True, soft_wrap=False, markup=False) if streamed else None)
    for path in (output, map_path):
        if path and not is_stdio(path) and not quiet:
            click.echo(f"wrote {path}", err=True)


def render_summary(summary: dict, *, illustrative: bool = False, console: Console | None = None) -> None:
    """The siting summary as text: areas by verdict, unit type and county, and the largest areas."""
    console = console or Console(soft_wrap=False, markup=False)
    console.print(Text("Siting guidance 选址引导: where the project may go", style="bold"))
    if illustrative:
        console.print(Text(SAMPLE_NOTICE, style="bold"))
    project = summary["project"]
    console.print("Project: " + ", ".join(f"{k}={v}" for k, v in project.items())
                  + (f"; within {summary['within']}" if summary["within"] else ""))
    console.print(f"{summary['polygons']:,} polygons over {summary['units']:,} units, "
                  f"{summary['area_ha']:,.1f} ha; encouraged on {summary['encouraged_ha']:,.1f} ha")
    table = Table(title="Area by verdict 按结论统计面积", title_justify="left")
    for header in ("verdict", "ha", "share"):
        table.add_column(header, justify="left" if header == "verdict" else "right")
    for verdict, row in summary["by_verdict"].items():
        table.add_row(Text(verdict, style=_STYLE.get(verdict, "")), f"{row['area_ha']:,.1f}", f"{row['share']:.1%}")
    console.print(table)
    for key, label, columns in (("by_unit_type", "By unit type 按单元类型 (ha)", ("unit_type",)),
                                ("by_county", "By county 按区县 (ha)", ("city", "county"))):
        table = Table(title=label, title_justify="left")
        present = [v for v in _VERDICTS if any(v in row for row in summary[key])]
        for column in (*columns, *present):
            table.add_column(column, justify="left" if column in columns else "right")
        for row in summary[key]:
            table.add_row(*(str(row.get(c, "")) for c in columns), *(f"{row.get(v, 0.0):,.1f}" for v in present))
        console.print(table)
    for verdict in ("permitted", "restricted"):
        rows = summary["largest"][verdict]
        if not rows:
            console.print(f"No {verdict} area.")
            continue
        table = Table(title=f"Largest {verdict} areas 最大{'允许' if verdict == 'permitted' else '限制'}区域",
                      title_justify="left")
        for column in ("unit", "name", "county", "ha", "encouraged"):
            table.add_column(column, justify="right" if column == "ha" else "left")
        for row in rows:
            table.add_row(row["unit_code"], row["unit_name"], row["county"], f"{row['area_ha']:,.1f}",
                          "yes 鼓励" if row["encouraged"] else "")
        console.print(table)
