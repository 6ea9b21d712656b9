"""GeoJSON (RFC 7946) text for geometries, built column-wise.

Coordinates are written to at most 7 decimals (about 1 cm); results
(:meth:`zoning.evaluate.results.Result.to_feature`) and the chunk writers
(:mod:`zoning.outputs.writers`) both use it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

_GEOJSON_TYPES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
                  6: "MultiPolygon"}
_NUM = r"(-?[0-9.]+(?:e[-+]?[0-9]+)?)"


def geojson_geometries(geoms: np.ndarray) -> np.ndarray:
    """GeoJSON geometry texts with coordinates written to at most 7 decimals.

    GEOS's GeoJSON writer prints 17 significant digits (38.827101999999996
    for 38.827102), so the coordinates come from its WKT writer, which rounds,
    and are rearranged into GeoJSON arrays with Arrow's regex kernels (one
    pass per step over all geometries, no Python per feature).
    """
    out = np.empty(len(geoms), dtype=object)
    type_id = shapely.get_type_id(geoms)
    simple = np.isin(type_id, list(_GEOJSON_TYPES))
    if (~simple).any():  # geometry collections: rare; Python's shortest float repr keeps the rounding
        rounded = shapely.transform(geoms[~simple], lambda xy: np.round(xy, 7) + 0.0)
        out[~simple] = [json.dumps(shapely.geometry.mapping(g), separators=(",", ":")) for g in rounded]
    if not simple.any():
        return out
    rounded = shapely.transform(geoms[simple], lambda xy: np.round(xy, 7) + 0.0)  # + 0.0: no "-0"
    wkt = pa.array(shapely.to_wkt(rounded, rounding_precision=7, trim=True), type=pa.string())
    body = pc.replace_substring_regex(wkt, r"^[A-Z]+ ", "")
    body = pc.replace_substring_regex(body, _NUM + " " + _NUM, r"[\1,\2]")
    body = pc.replace_substring(pc.replace_substring(pc.replace_substring(body, "(", "["), ")", "]"), ", ", ",")
    body = body.to_numpy(zero_copy_only=False).astype(object)
    ids = type_id[simple]
    point = ids == 0
    body[point] = pd.Series(body[point], dtype=object).str.slice(1, -1).to_numpy(dtype=object)  # [[x,y]] → [x,y]
    multipoint = ids == 4
    if multipoint.any():  # [[[x,y]],[[x,y]]] → [[x,y],[x,y]]
        body[multipoint] = pc.replace_substring_regex(
            pa.array(body[multipoint], type=pa.string()), r"\[\[([^\[\]]+)\]\]", r"[\1]").to_numpy(
            zero_copy_only=False)
    names = np.array([f'{{"type":"{_GEOJSON_TYPES.get(i, "")}","coordinates":' for i in range(8)], dtype=object)
    out[simple] = names[ids] + body + "}"
    return out

