"""The nearest places where the same project would be less restricted: the "place" part of guidance.

From the map of where a project may go (:mod:`zoning.siting.where`), computed
around the site first (within 50 km) and wider only if nothing is found, this
finds the nearest point where the project would be permitted, and the nearest
where it would be at most restricted: its distance (geodesic), direction and
unit. The point is taken a metre inside the nearest such area, so that it lies
inside it rather than on an edge it shares with a stricter one, and it is
checked again with the engine: what is reported is what ``check`` says there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from zoning.evaluate.proximity import local_projection, nearest_meridians
from zoning.geodesy import GEOD

if TYPE_CHECKING:
    from zoning.engine import Engine

#: search radii in kilometres, nearest first: a wider search only when nothing was found
RADII_KM = (50.0, 200.0)
#: how far inside an area the suggested point is taken
INSIDE_M = 1.0
#: what each target accepts
TARGETS = {"permitted": ("permitted",), "at_most_restricted": ("permitted", "restricted")}
_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def nearest_places(engine: Engine, site, project: dict, *, radii_km=RADII_KM) -> dict:
    """For each target (``permitted``, ``at_most_restricted``): the nearest place within the largest radius
    where the project would get such a verdict, re-checked (``None`` where there is none that close)."""
    centre = site if shapely.get_dimensions(site) == 0 else shapely.point_on_surface(site)
    found: dict[str, dict | None] = dict.fromkeys(TARGETS)
    for radius in radii_km:
        layer = engine.where(project, within=_bbox(centre, radius))
        for target, verdicts in TARGETS.items():
            if found[target] is None:
                found[target] = nearest_in_layer(centre, layer, verdicts, radius)
        if all(found.values()):
            break
    for place in found.values():
        if place is not None:
            point = place.pop("_point")
            place["verdict_checked"] = engine.check(lon=point.x, lat=point.y, **project).verdict
    return {"searched_km": max(radii_km), **found}


def nearest_in_layer(site: shapely.Point, layer: gpd.GeoDataFrame, verdicts: tuple[str, ...],
                     radius_km: float) -> dict | None:
    """The nearest point of ``layer``'s areas with one of ``verdicts``, a metre inside, within ``radius_km``."""
    chosen = layer[layer["verdict"].isin(verdicts)]
    if chosen.empty:
        return None
    forward, back = _local(site.x)
    local_site = shapely.transform(site, forward.transform, interleaved=False)
    areas = shapely.transform(chosen.geometry.to_numpy(), forward.transform, interleaved=False)
    distance = shapely.distance(areas, local_site)
    order = np.argsort(distance, kind="stable")
    for i in order[:20]:  # the nearest few: a sliver thinner than 2 m has no point a metre inside
        if distance[i] > radius_km * 1000:
            return None
        inner = shapely.buffer(areas[i], -INSIDE_M) if distance[i] > 0 else areas[i]
        if shapely.is_empty(inner):
            continue
        target = local_site if shapely.contains(inner, local_site) else shapely.shortest_line(local_site, inner)
        local_point = target if isinstance(target, shapely.Point) else shapely.get_point(target, 1)
        point = shapely.transform(local_point, back.transform, interleaved=False)
        azimuth, _, metres = GEOD.inv(site.x, site.y, point.x, point.y)
        row = chosen.iloc[int(i)]
        return {"lon": round(point.x, 7), "lat": round(point.y, 7), "distance_m": round(float(metres), 1),
                "bearing_deg": round(float(azimuth) % 360, 1), "direction": compass(float(azimuth)),
                "unit": row.get("unit_code"), "verdict": row["verdict"], "_point": point}
    return None


def compass(azimuth: float) -> str:
    """The eight-point compass direction of an azimuth in degrees (clockwise from north)."""
    return _COMPASS[int(((azimuth % 360) + 22.5) // 45) % 8]


def _bbox(centre: shapely.Point, radius_km: float) -> tuple[float, float, float, float]:
    """A lon/lat box reaching at least ``radius_km`` from ``centre`` in every direction."""
    dlat = radius_km / 110.5
    dlon = radius_km / (111.3 * max(math.cos(math.radians(min(abs(centre.y) + dlat, 89.0))), 0.01))
    return (centre.x - dlon, centre.y - dlat, centre.x + dlon, centre.y + dlat)


def _local(lon: float) -> tuple[Transformer, Transformer]:
    """To and from the CGCS2000 3° Gauss-Krüger projection nearest ``lon`` (metres, scale within 0.03%)."""
    return local_projection(int(nearest_meridians(lon)))
