"""Units and zones for the map page: the features in a box, simplified for the scale, a page at a time."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.inputs.units import UNIT_TYPES
from zoning.outputs.writers import feature_strings
from zoning.service.problems import Problem

#: screen pixels per tile at zoom 0 (web maps' convention)
_TILE = 256


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``W,S,E,N`` in lon/lat degrees, or a 422 naming ``bbox``."""
    if text is None or text == "":
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(np.isfinite(values)) or values[0] > values[2] or values[1] > values[3]:
        raise Problem(422, "bbox: give WEST,SOUTH,EAST,NORTH in lon/lat degrees",
                      errors=[{"field": "bbox", "message": "expected four numbers W,S,E,N"}])
    return values[0], values[1], values[2], values[3]


def feature_page(layer: gpd.GeoDataFrame, properties: pd.DataFrame, bbox, zoom: float | None, offset: int,
                 limit: int) -> str:
    """A GeoJSON FeatureCollection of the features meeting ``bbox``, from ``offset``, at most ``limit``;
    simplified to half a screen pixel at ``zoom``; ``next`` is the offset of the next page (or null)."""
    if bbox is None:
        hits = np.arange(len(layer))
    else:
        hits = np.sort(layer.sindex.query(shapely.box(*bbox), predicate="intersects"))
    page = hits[offset:offset + limit]
    geometry = layer.geometry.to_numpy()[page]
    if zoom is not None:
        tolerance = 360.0 / (_TILE * 2.0 ** max(0.0, min(float(zoom), 22.0))) / 2
        geometry = shapely.simplify(geometry, tolerance, preserve_topology=True)
    features = feature_strings(properties.iloc[page].reset_index(drop=True), geometry)
    following = offset + limit if offset + limit < len(hits) else None
    head = f'{{"type":"FeatureCollection","total":{len(hits)},"next":{json.dumps(following)},"features":['
    return head + ",".join(features) + "]}"


def unit_properties(units: gpd.GeoDataFrame) -> pd.DataFrame:
    """What the map shows of each unit."""
    kind = units["type"].map({t: names[1] for t, names in UNIT_TYPES.items()}).fillna("")
    return pd.DataFrame({"code": units["code"].to_numpy(), "name": units["name"].to_numpy(),
                         "type": units["type"].to_numpy(), "type_name": kind.to_numpy(),
                         "county": units["county"].to_numpy()})


def zone_properties(zones: gpd.GeoDataFrame) -> pd.DataFrame:
    """What the map shows of each overlay zone."""
    return pd.DataFrame({c: zones[c].to_numpy() for c in ("zone_id", "kind", "name") if c in zones.columns})
