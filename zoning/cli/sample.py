"""``zoning sample DIR``: the bundled sample region in a folder, with the files README's examples use.

The sample travels with the package (:mod:`zoning.sample` knows where, installed
or in a checkout). Copied: the registry, units, zones, county boundaries and
the ``rules/`` tree. Made from them: ``registry.xlsx`` (the registry as a
workbook, typed), ``projects.csv`` (the registry with Chinese headers, the
coordinates under 东经/北纬), ``rules-2021/`` and ``rules-2024/`` (the lists in
force on 2021-12-31 and on 2024-07-01: two revisions to compare with
``rules diff``), ``site.geojson`` and ``site.kml`` (a small plot for the site
examples) and ``secret.txt`` (a random bearer token for ``serve --token-file``).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
from pathlib import Path

import click
import pandas as pd

from zoning import sample as bundled
from zoning.cli.options import handle_errors
from zoning.errors import DataError
from zoning.outputs.atomic import atomic_path

#: the two snapshots of the sample lists, by folder name: the lists in force on each date
SNAPSHOTS = {"rules-2021": dt.date(2021, 12, 31), "rules-2024": dt.date(2024, 7, 1)}
#: registry.csv's headers → projects.csv's (a registry as a Chinese bureau keeps it)
CHINESE = {"project_id": "项目编号", "name": "项目名称", "lon": "东经", "lat": "北纬", "industry": "行业代码",
           "type": "建设性质"}
#: columns of the registry kept as text in the workbook (codes and names)
_TEXT = ("project_id", "name", "industry", "type")
#: the sample plot: a 300 m × 200 m parcel in Anxin county (安新县), lon/lat corners
_PLOT = [(115.968, 38.929), (115.9715, 38.929), (115.9715, 38.9308), (115.968, 38.9308), (115.968, 38.929)]


@click.command("sample")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace the sample's files in DIRECTORY if it holds them already.")
@handle_errors
def sample(directory, overwrite):
    """Copy the bundled (illustrative) sample region into DIRECTORY, with every file README's examples use.

    DIRECTORY is created (its parent must exist). Afterwards, from inside it,
    every 'zoning …' example of README runs as printed.

    \b
    Example:
      zoning sample zoning-sample && cd zoning-sample
    """
    target = Path(directory)
    if not target.parent.exists():
        raise DataError(f"{directory}: directory {target.parent} does not exist")
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise DataError(f"{directory} is not empty: give a new folder, or --overwrite to replace the sample's "
                        "files in it")
    target.mkdir(exist_ok=True)
    for line in write_sample(target):
        click.echo(line)
    click.echo(f"Illustrative data, not an official dataset. Next: cd {directory}")


def write_sample(target: Path) -> list[str]:
    """Write the sample into ``target`` (an existing folder); one line per file or folder written."""
    said = []
    geodata = bundled.geodata_dir()
    registry = bundled.registry_path()
    for name, what in (("registry.csv", "the sample registry: 200 projects"),
                       ("units.gpkg", "environmental management units (环境管控单元)"),
                       ("zones.gpkg", "overlay zones: water sources, red line, rivers, parks…"),
                       ("counties.gpkg", "real county boundaries, for map context")):
        _copy(geodata / name, target / name)
        said.append(f"wrote {target / name}  {what}")
    _copy_tree(bundled.rules_dir(), target / "rules")
    said.append(f"wrote {target / 'rules'}/  the sample access lists, with their rule tests")
    rows = pd.read_csv(registry, dtype=str, keep_default_na=False, encoding="utf-8")
    _workbook(rows, target / "registry.xlsx")
    said.append(f"wrote {target / 'registry.xlsx'}  the registry as a workbook")
    with atomic_path(target / "projects.csv") as tmp:
        rows.rename(columns=CHINESE).to_csv(tmp, index=False, encoding="utf-8-sig")
    said.append(f"wrote {target / 'projects.csv'}  the registry with Chinese headers (东经, 北纬…)")
    for folder, day in SNAPSHOTS.items():
        count = _snapshot(bundled.rules_dir(), target / folder, day)
        said.append(f"wrote {target / folder}/  the {count} lists in force on {day}")
    _sites(target)
    said.append(f"wrote {target / 'site.geojson'}, {target / 'site.kml'}  a small plot for the site examples")
    with atomic_path(target / "secret.txt") as tmp:
        tmp.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
    said.append(f"wrote {target / 'secret.txt'}  a random token for 'zoning serve --token-file'")
    return said


def _copy(source: Path, path: Path) -> None:
    if not source.is_file():
        raise DataError(f"the bundled sample has no {source.name} (looked in {source.parent}): reinstall zoning")
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)


def _copy_tree(source: Path, path: Path) -> None:
    if not source.is_dir():
        raise DataError(f"the bundled sample has no rules (looked in {source}): reinstall zoning")
    for file in sorted(source.rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".py":
            (path / file.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            _copy(file, path / file.relative_to(source))


def _workbook(rows: pd.DataFrame, path: Path) -> None:
    """The registry as an .xlsx with numbers as numbers and flags as booleans (codes and names as text)."""
    typed = rows.copy()
    for column in typed.columns:
        if column in _TEXT:
            continue
        cells = typed[column]
        given = cells != ""
        if given.any() and cells[given].isin(["true", "false"]).all():
            typed[column] = cells.map({"true": True, "false": False, "": None})
        else:
            numbers = pd.to_numeric(cells.where(given), errors="coerce")
            if numbers[given].notna().all():
                typed[column] = numbers
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="xlsxwriter") as book:
            typed.to_excel(book, sheet_name="registry", index=False)


def _snapshot(rules: Path, path: Path, day: dt.date) -> int:
    """The lists in force on ``day`` (their files as they are), with the attribute and parameter files beside
    them; no rule tests (they test the whole history). Returns the number of lists."""
    from zoning.rules.loading import file_kind, load_lists
    from zoning.rules.versions import in_force

    keep = {Path(lst.path).resolve() for lst in in_force(load_lists([rules]), day)}
    for file in sorted(rules.rglob("*")):
        if not file.is_file() or file.name == "README.md" or file.suffix == ".py":
            continue
        is_yaml = file.suffix.lower() in (".yaml", ".yml")
        if is_yaml and (file_kind(file) == "tests" or (file_kind(file) == "lists" and file.resolve() not in keep)):
            continue
        (path / file.relative_to(rules)).parent.mkdir(parents=True, exist_ok=True)
        _copy(file, path / file.relative_to(rules))
    return len(keep)


def _sites(target: Path) -> None:
    ring = [list(p) for p in _PLOT]
    feature = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "示例地块"},
                                                          "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    with atomic_path(target / "site.geojson") as tmp:
        tmp.write_text(json.dumps(feature, ensure_ascii=False) + "\n", encoding="utf-8")
    coordinates = " ".join(f"{lon},{lat},0" for lon, lat in _PLOT)
    kml = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           f"<Placemark><name>示例地块</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{coordinates}"
           "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>\n")
    with atomic_path(target / "site.kml") as tmp:
        tmp.write_text(kml, encoding="utf-8")
