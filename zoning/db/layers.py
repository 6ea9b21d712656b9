"""Unit and zone layers as rows of ``zoning.units`` and ``zoning.zones``, and back, unchanged.

A layer goes in as :func:`zoning.inputs.units.load_units` (``load_zones``)
returned it: the canonical columns as table columns, any other column (a
parameter may read one) as JSON in ``extra``, the geometry as PostGIS
geometry in CGCS2000, and the row order in ``ord``. Read back, it is the
same frame (column order, values, WKB): the layer hash in provenance is the
same as the file's.
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.db.schema import SRID, UNIT_COLUMNS, ZONE_COLUMNS
from zoning.geodesy import GEOGRAPHIC

_TABLES = {"units": UNIT_COLUMNS, "zones": ZONE_COLUMNS}
#: rows sent per COPY buffer
_BATCH = 2_000


def _plain(value: object) -> object:
    """A value of an extra column as JSON holds it (text for what JSON has no type for, as the layer hash
    reads it)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    return None if pd.isna(value) is True else str(value)


def write_layer(conn, release_id: int, kind: str, frame: gpd.GeoDataFrame) -> dict:
    """Copy a canonical layer into ``zoning.<kind>``; return its columns in order and its geometry column's
    name (stored with the release)."""
    own = _TABLES[kind]
    geometry_name = frame.geometry.name
    columns = [str(c) for c in frame.columns if c != geometry_name]
    extra = [c for c in columns if c not in own]
    geoms = shapely.set_srid(frame.geometry.to_numpy(), SRID)
    hexes = shapely.to_wkb(geoms, hex=True, include_srid=True, output_dimension=2)
    values = {c: frame[c].to_numpy(dtype=object) if c in frame.columns else np.full(len(frame), None, object)
              for c in own}
    extras = [frame[c].to_numpy(dtype=object) for c in extra]
    names = ", ".join(["release_id", "ord", *own, "extra", "geom"])
    with conn.cursor() as cur, cur.copy(f"COPY zoning.{kind} ({names}) FROM STDIN") as copy:
        for i in range(len(frame)):
            row = [release_id, i, *(_cell(values[c][i]) for c in own)]
            row.append(json.dumps({c: _plain(e[i]) for c, e in zip(extra, extras)}, ensure_ascii=False)
                       if extra else None)
            row.append(hexes[i])
            copy.write_row(row)
    return {"columns": [str(c) for c in frame.columns], "geometry": geometry_name}


def _cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if isinstance(value, np.integer) else value


def read_layer(conn, release_id: int, kind: str, layout: dict) -> gpd.GeoDataFrame:
    """The layer of ``release_id`` as it was written (``layout``: what :func:`write_layer` returned)."""
    own = _TABLES[kind]
    cur = conn.cursor(binary=True)
    cur.execute(f"SELECT {', '.join(own)}, extra, ST_AsBinary(geom) FROM zoning.{kind} "
                "WHERE release_id = %s ORDER BY ord", (release_id,))
    rows = cur.fetchall()
    data: dict[str, list] = {c: [r[i] for r in rows] for i, c in enumerate(own)}
    geometry_name = layout["geometry"]
    order = [c for c in layout["columns"] if c != geometry_name]
    extra_names = [c for c in order if c not in own]
    extras = [r[len(own)] or {} for r in rows]
    for c in extra_names:
        data[c] = [e.get(c) for e in extras]
    geometry = shapely.from_wkb([bytes(r[len(own) + 1]) for r in rows]) if rows else np.empty(0, object)
    frame = pd.DataFrame({c: pd.Series(data[c], dtype=np.int64 if (kind, c) == ("units", "type") else None)
                          for c in order})  # other columns: as pandas infers them, as from a file
    frame[geometry_name] = gpd.GeoSeries(geometry, crs=GEOGRAPHIC)
    return gpd.GeoDataFrame(frame[layout["columns"]], geometry=geometry_name, crs=GEOGRAPHIC)
