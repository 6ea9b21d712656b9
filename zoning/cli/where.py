"""``zoning where``: where a project may go (选址引导), as a layer, a map and a summary."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from zoning.cli.options import as_of_opt, handle_errors, key_values, layer_options
from zoning.sample import SAMPLE_NOTICE

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
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The polygons: .gpkg, .geojson, .parquet (GeoParquet), or .csv (no geometry).")
@click.option("--map", "map_path", type=click.Path(dir_okay=False),
              help="A map coloured by verdict: .png, .svg or .pdf.")
@click.option("--title", help="Title above the map.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="The summary on standard output.")
@click.option("--largest", type=click.IntRange(min=0, max=1000), default=5, show_default=True,
              help="How many of the largest permitted and restricted areas the summary lists.")
@handle_errors
def where(industry, type_, emission, attr, within, units, zones, rules, io_engine, as_of, output, map_path, title,
          fmt, largest):
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
    """
    from zoning.engine import Engine
    from zoning.outputs.maps import map_format, write_map
    from zoning.outputs.where_output import where_map, write_where
    from zoning.siting.where import summarise

    map_fmt = map_format(map_path) if map_path else None
    engine = Engine.load(units, list(rules) or None, zones, io_engine=io_engine, as_of=as_of)
    project = {"industry": industry, "type": type_, "emissions": key_values(emission, "--emission"),
               "attributes": key_values(attr, "--attr")}
    layer = engine.where(project, within=list(within) or None)
    if output:
        write_where(layer, output, sources=engine.sources)
    if map_path:
        write_map(where_map(engine, layer, fmt=map_fmt, title=title), map_path)
    summary = summarise(layer, largest=largest)
    if fmt == "json":
        summary["illustrative"] = engine.illustrative
        summary["outputs"] = [p for p in (output, map_path) if p]
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    render_summary(summary, illustrative=engine.illustrative)
    for path in (output, map_path):
        if path:
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
