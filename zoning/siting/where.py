"""Where a project may go (选址引导): the map of where it is prohibited, restricted or permitted.

:func:`where` cuts every unit in scope by the shapes that can change the
project's answer inside it (:mod:`zoning.siting.cutters`: distance buffers,
zones, zone-scoped lists, overlapping units), then checks one point inside
each face through the same batch path as ``zoning screen``
(:meth:`~zoning.engine.Engine.check_many`): since nothing that decides the
project changes within a face, every point of the face gets the verdict its
point got. Faces of a unit with the same answer are merged again, and each
polygon's area is measured in the equal-area projection overlaps use.
:func:`summarise` gives the areas by verdict, unit type and county.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.errors import InputError
from zoning.geodesy import GEOGRAPHIC, measure
from zoning.inputs.units import UNIT_TYPES
from zoning.projects import normalise
from zoning.siting.cutters import cutters
from zoning.siting.faces import merge, split
from zoning.siting.scope import parse_within, units_in_scope
from zoning.verdicts import Verdict

if TYPE_CHECKING:
    from zoning.engine import Engine

#: the columns of a siting map, before its geometry
WHERE_COLUMNS = ("unit_code", "unit_name", "unit_type", "province", "city", "county", "verdict", "worst_case",
                 "clauses", "reasons", "missing", "encouraged", "encouraged_by", "obligations", "area_ha")
#: what merged faces must share: the unit, and every part of the answer
_ANSWER = ["_unit", "verdict", "worst_case", "clauses", "reasons", "missing", "encouraged_by", "obligations"]
_AREA_STEP_DEGREES = 0.005
_AREA_CHUNK = 2_000
_PROJECT_KEYS = ("industry", "type", "emissions", "attributes")


def where(engine: Engine, project: Mapping[str, object], within: object = None) -> gpd.GeoDataFrame:
    """Polygons tiling every unit in scope, each with the verdict ``project`` would get anywhere inside it.

    ``project`` holds ``check``'s ``industry``, ``type``, ``emissions`` and ``attributes``
    (no location); ``within`` limits the area (see :func:`zoning.siting.scope.parse_within`:
    admin prefixes, unit codes, a lon/lat box that clips the units). Columns are
    :data:`WHERE_COLUMNS` and the geometry (CGCS2000 lon/lat); ``attrs`` holds the project.
    """
    unknown = sorted(set(project) - set(_PROJECT_KEYS))
    if unknown:
        raise InputError(f"project: unknown key {unknown[0]!r} (a siting map takes {', '.join(_PROJECT_KEYS)})")
    row = engine.project_row(**project)  # type: ignore[arg-type]
    bounds = parse_within(within)
    scope = units_in_scope(engine.units, bounds)
    geoms = engine.units.geometry.to_numpy()[scope]
    if bounds.box is not None:
        geoms = shapely.intersection(geoms, shapely.box(*bounds.box))
    probe = normalise(gpd.GeoDataFrame([row], geometry=[shapely.Point(0, 0)], crs=GEOGRAPHIC),
                      vocabulary=engine.vocabulary)
    cut = cutters(engine.rules, engine.units, engine.zones, scope, probe, cache=engine.derived)
    faces, owner = split(geoms, scope, cut.unit, cut.geometry)
    answers = _answers(engine, row, faces)
    layer = gpd.GeoDataFrame(answers.assign(_unit=owner), geometry=faces, crs=GEOGRAPHIC)
    layer = merge(layer, _ANSWER)
    layer = layer.sort_values(["_unit", "verdict"], key=_order, kind="stable").reset_index(drop=True)
    units = engine.units.iloc[layer["_unit"].to_numpy()]
    out = pd.DataFrame({
        "unit_code": units["code"].to_numpy(), "unit_name": units["name"].to_numpy(),
        "unit_type": units["type"].map({t: names[0] for t, names in UNIT_TYPES.items()}).fillna("").to_numpy(),
        "province": units["province"].to_numpy(), "city": units["city"].to_numpy(),
        "county": units["county"].to_numpy(),
        **{c: layer[c].to_numpy() for c in ("verdict", "worst_case", "clauses", "reasons", "missing")},
        "encouraged": (layer["encouraged_by"] != "").to_numpy(),
        "encouraged_by": layer["encouraged_by"].to_numpy(), "obligations": layer["obligations"].to_numpy(),
        "area_ha": hectares(layer.geometry.to_numpy()),
    })
    result = gpd.GeoDataFrame(out, geometry=layer.geometry.to_numpy(), crs=GEOGRAPHIC)
    result.attrs["project"] = {k: v for k, v in row.items() if v is not None}
    result.attrs["within"] = bounds.describe()
    return result


def hectares(geoms: np.ndarray) -> np.ndarray:
    """Area in hectares in the equal-area projection, with edges first divided every 0.005° (about
    500 m), so that a unit and the faces cut from it follow the same lon/lat edges when projected
    (a long straight edge bends in the projection: measured undivided, a unit cut at a new vertex on
    it would change area by up to 0.06%; divided, by less than 0.0001%)."""
    out = np.zeros(len(geoms))
    for start in range(0, len(geoms), _AREA_CHUNK):  # divided edges multiply vertices: a chunk at a time
        part = geoms[start:start + _AREA_CHUNK]
        out[start:start + len(part)] = measure(shapely.segmentize(part, _AREA_STEP_DEGREES)) / 10_000
    return out


def _answers(engine: Engine, row: dict, faces: np.ndarray) -> pd.DataFrame:
    """The batch answer at one point inside each face (``point_on_surface``: inside, never on an edge)."""
    points = shapely.point_on_surface(faces)
    frame = gpd.GeoDataFrame({k: np.full(len(faces), v, dtype=object) for k, v in row.items()},
                             geometry=points, crs=GEOGRAPHIC)
    checked = engine.check_many(frame, errors="raise")
    return pd.DataFrame({
        "verdict": checked["verdict"].to_numpy(dtype=object), "worst_case": checked["worst_case"].to_numpy(
            dtype=object),
        "clauses": checked["clauses"].to_numpy(dtype=object), "reasons": checked["reasons"].to_numpy(dtype=object),
        "missing": checked["missing"].to_numpy(dtype=object),
        "encouraged_by": checked["encouraged"].to_numpy(dtype=object),
        "obligations": checked["obligations"].to_numpy(dtype=object),
    })


def _order(column: pd.Series) -> pd.Series:
    """Sort key: units in layer order, then the strictest verdict first."""
    if column.name == "verdict":
        return -column.map({v.key: int(v) for v in Verdict})
    return column


def summarise(layer: gpd.GeoDataFrame, *, largest: int = 10) -> dict:
    """Areas (ha) by verdict, by unit type and verdict, and by county and verdict; the largest
    permitted and restricted polygons (encouraged ones first) with their units."""
    frame = pd.DataFrame(layer.drop(columns=layer.geometry.name))
    total = float(frame["area_ha"].sum())

    def table(by: list[str]) -> list[dict]:
        grouped = frame.groupby([*by, "verdict"], sort=True)["area_ha"].sum().unstack("verdict", fill_value=0.0)
        present = [v for v in _VERDICTS if v in grouped.columns]
        return grouped[present].round(2).astype(float).reset_index().to_dict("records")

    biggest: dict[str, list[dict]] = {}
    for verdict in ("permitted", "restricted"):
        chosen = frame[frame["verdict"] == verdict].sort_values(["encouraged", "area_ha"], ascending=False)
        biggest[verdict] = [{"unit_code": r.unit_code, "unit_name": r.unit_name, "county": r.county,
                             "area_ha": round(float(r.area_ha), 2), "encouraged": bool(r.encouraged)}
                            for r in chosen.head(largest).itertuples()]
    by_verdict = frame.groupby("verdict")["area_ha"].sum()
    return {
        "project": layer.attrs.get("project", {}), "within": layer.attrs.get("within", ""),
        "polygons": len(frame), "units": int(frame["unit_code"].nunique()), "area_ha": round(total, 2),
        "by_verdict": {v: {"area_ha": round(float(by_verdict[v]), 2),
                           "share": round(float(by_verdict[v]) / total, 4) if total else 0.0}
                       for v in _VERDICTS if v in by_verdict.index},
        "encouraged_ha": round(float(frame.loc[frame["encouraged"], "area_ha"].sum()), 2),
        "by_unit_type": table(["unit_type"]), "by_county": table(["province", "city", "county"]),
        "largest": biggest,
    }


_VERDICTS = ("prohibited", "restricted", "undetermined", "permitted")
