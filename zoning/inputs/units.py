"""Environmental management units (环境管控单元) and overlay zones.

Unit layers may use this project's column names or the national data
standard's (``HJZHGKDYBM``, ``HJZHGKDYMC``, ``ZHGKDYFL``, ``PROV``, ``CITY``,
``AREA``, ``REMARK``, ``KJBJYS``, ``PWWPFGK``, ``HJFXFK``, ``ZYKFXLYQ``).

How problems are handled (also in README.md):

* no CRS, no code or type column, an unknown type value, an empty or
  non-polygonal geometry, or duplicate codes whose attributes differ:
  :class:`~zoning.errors.DataError` naming the units;
* duplicate codes with identical attributes (one unit stored as several
  features): dissolved into one multipolygon, with a warning;
* invalid geometry (self-intersection…): repaired with ``shapely.make_valid``
  keeping the polygonal part, with a warning naming the unit and the area change.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.errors import DataError, DataWarning
from zoning.geodesy import EQUAL_AREA, GEOGRAPHIC
from zoning.inputs.crs import CHINA
from zoning.inputs.vector import DEFAULT_IO_ENGINE, read_vector

UNIT_TYPES = {
    1: ("priority", "优先保护单元", "priority protection"),
    2: ("key", "重点管控单元", "key control"),
    3: ("general", "一般管控单元", "general control"),
}
_TYPE_VALUES = {
    **{str(k): k for k in UNIT_TYPES},
    **{v[0]: k for k, v in UNIT_TYPES.items()},
    **{v[1]: k for k, v in UNIT_TYPES.items()},
    **{v[1].removesuffix("单元"): k for k, v in UNIT_TYPES.items()},
    **{v[2]: k for k, v in UNIT_TYPES.items()},
}

TEXT_FIELDS = ("spatial_layout", "emission_control", "risk_prevention", "resource_efficiency")
UNIT_COLUMNS = {
    "code": ("code", "unit_code", "HJZHGKDYBM"),
    "name": ("name", "unit_name", "HJZHGKDYMC"),
    "type": ("type", "unit_type", "ZHGKDYFL"),
    "province": ("province", "PROV"),
    "city": ("city", "CITY"),
    "county": ("county", "AREA"),
    "remark": ("remark", "REMARK"),
    "spatial_layout": ("spatial_layout", "KJBJYS"),
    "emission_control": ("emission_control", "PWWPFGK"),
    "risk_prevention": ("risk_prevention", "HJFXFK"),
    "resource_efficiency": ("resource_efficiency", "ZYKFXLYQ"),
}
ZONE_COLUMNS = {
    "zone_id": ("zone_id", "id", "code"),
    "kind": ("kind", "zone_kind", "type"),
    "name": ("name",),
    "remark": ("remark",),
}
#: national unit code: ZH + 6-digit GB/T 2260 division + type digit + 4-digit sequence
NATIONAL_CODE = re.compile(r"^ZH(\d{6})([123])\d{4}$")


def load_units(path: str | Path, *, io_engine: str = DEFAULT_IO_ENGINE,
               layer: str | int | None = None) -> gpd.GeoDataFrame:
    """Load and validate a unit layer; return it in canonical columns and CGCS2000.

    Columns: ``code``, ``name``, ``type`` (1/2/3), ``province``, ``city``,
    ``county``, ``remark``, the four dimension text fields, ``admin`` (the
    6-digit division code read from a national-format unit code, else None)
    and ``geometry``.
    """
    raw = read_vector(path, io_engine=io_engine, layer=layer, what="unit layer")
    frame = _canonical(raw, UNIT_COLUMNS, required=("code", "type"), what=f"unit layer {path}", extra=True)
    frame["code"] = frame["code"].astype(str).str.strip()
    frame["name"] = frame["name"].fillna(frame["code"]).astype(str)
    for column in ("province", "city", "county", "remark", *TEXT_FIELDS):
        frame[column] = frame[column].fillna("").astype(str).str.strip()

    parsed = frame["type"].map(_unit_type)
    bad = frame.loc[parsed.isna(), ["code", "type"]]
    if len(bad):
        listed = ", ".join(f"{c} ({t!r})" for c, t in bad.head(5).itertuples(index=False))
        raise DataError(
            f"unit layer {path}: unknown unit type for {len(bad)} unit(s): {listed}; "
            "expected 1/2/3 (优先保护/重点管控/一般管控)"
        )
    frame["type"] = parsed.astype(int)

    frame = _polygons(frame, f"unit layer {path}", "code")
    frame = _dissolve_duplicates(frame, path)

    national = frame["code"].str.extract(NATIONAL_CODE)
    frame["admin"] = national[0].where(national[0].notna(), None)
    mismatch = national[1].notna() & (national[1].astype(float) != frame["type"])
    if mismatch.any():
        warnings.warn(
            f"unit layer {path}: type digit in the code disagrees with the type field for "
            f"{', '.join(frame.loc[mismatch, 'code'].head(5))}; the type field is used",
            DataWarning, stacklevel=2,
        )
    return frame.reset_index(drop=True)


def load_zones(path: str | Path, *, io_engine: str = DEFAULT_IO_ENGINE,
               layer: str | int | None = None) -> gpd.GeoDataFrame:
    """Load an overlay-zone layer: ``zone_id`` (unique), ``kind``, ``name``, geometry."""
    raw = read_vector(path, io_engine=io_engine, layer=layer, what="zone layer")
    frame = _canonical(raw, ZONE_COLUMNS, required=("zone_id", "kind"), what=f"zone layer {path}")
    frame["zone_id"] = frame["zone_id"].astype(str).str.strip()
    frame["kind"] = frame["kind"].astype(str).str.strip()
    frame["name"] = frame["name"].fillna(frame["zone_id"]).astype(str)
    frame["remark"] = frame["remark"].fillna("").astype(str)
    dup = frame["zone_id"][frame["zone_id"].duplicated()]
    if len(dup):
        raise DataError(f"zone layer {path}: duplicate zone_id {', '.join(sorted(set(dup))[:5])}")
    return _polygons(frame, f"zone layer {path}", "zone_id", any_kind=True).reset_index(drop=True)


def zone_mask(zones: gpd.GeoDataFrame, zone_ids=(), zone_kinds=()) -> np.ndarray:
    """Zones with one of ``zone_ids`` (if given) and one of ``zone_kinds`` (if given)."""
    ok = np.ones(len(zones), bool)
    if zone_ids:
        ok &= zones["zone_id"].isin(zone_ids).to_numpy()
    if zone_kinds:
        ok &= zones["kind"].isin(zone_kinds).to_numpy()
    return ok


def empty_zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in ZONE_COLUMNS}, geometry=[], crs=GEOGRAPHIC
    )


def _unit_type(value) -> float:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return float(_TYPE_VALUES.get(text, _TYPE_VALUES.get(text.lower(), np.nan)))


def _canonical(raw: gpd.GeoDataFrame, columns: dict, *, required, what, extra: bool = False) -> gpd.GeoDataFrame:
    """The layer in canonical columns and CGCS2000; with ``extra``, its other columns kept as they are
    (a parameter may read one: ``by: column``)."""
    if raw.crs is None:
        raise DataError(
            f"{what} has no CRS; set it in the file (e.g. `ogr2ogr -a_srs EPSG:4490 out.gpkg in.shp`)"
        )
    if len(raw) == 0:
        raise DataError(f"{what} has no features")
    lonlat = _check_crs(raw, what)
    lower = {str(c).lower(): c for c in raw.columns}
    picked = {}
    used = set()
    for name, aliases in columns.items():
        found = next((lower[a.lower()] for a in aliases if a.lower() in lower), None)
        if found is None and name in required:
            raise DataError(f"{what} has no {name} column (looked for {', '.join(aliases)})")
        picked[name] = raw[found] if found is not None else pd.Series(None, index=raw.index, dtype=object)
        used.add(found)
    if extra:
        names = {n.lower() for n in picked}
        for column in raw.columns:
            if column != raw.geometry.name and column not in used and str(column).lower() not in names:
                picked[str(column)] = raw[column]
    return gpd.GeoDataFrame(picked, geometry=lonlat, crs=GEOGRAPHIC)


def _check_crs(raw: gpd.GeoDataFrame, what: str) -> gpd.GeoSeries:
    """The layer's geometry in CGCS2000 lon/lat, after checking that its coordinates fit the CRS it
    declares and lie in China: a wrong CRS would otherwise leave every site "in no unit"."""
    fix = "set the layer's real CRS (e.g. `ogr2ogr -a_srs EPSG:4527 fixed.gpkg layer.gpkg`)"
    present = raw.geometry[~(raw.geometry.is_empty | raw.geometry.isna())]
    if not len(present):
        return raw.geometry.to_crs(GEOGRAPHIC)
    west, south, east, north = present.total_bounds
    degrees = -180 <= west and east <= 180 and -90 <= south and north <= 90
    name = raw.crs.name + (f" (EPSG:{raw.crs.to_epsg()})" if raw.crs.to_epsg() else "")
    if raw.crs.is_geographic and not degrees:
        raise DataError(f"{what}: coordinates reach ({east:,.0f}, {north:,.0f}), which are not degrees, but the "
                        f"layer says its CRS is {name}, geographic: they look like projected metres "
                        f"(Gauss-Krüger, Web Mercator…); {fix}")
    if raw.crs.is_projected and degrees:
        raise DataError(f"{what}: coordinates lie within ({west:g}, {south:g}, {east:g}, {north:g}), which look like "
                        f"lon/lat degrees, but the layer says its CRS is {name}, projected (metres); {fix}")
    lonlat = raw.geometry.to_crs(GEOGRAPHIC)
    lon0, lat0, lon1, lat1 = lonlat[~(lonlat.is_empty | lonlat.isna())].total_bounds
    box_w, box_s, box_e, box_n = CHINA
    if not (np.isfinite([lon0, lat0, lon1, lat1]).all() and lon0 >= box_w - 1 and lon1 <= box_e + 1
            and lat0 >= box_s - 1 and lat1 <= box_n + 1):
        raise DataError(f"{what}: in {name} the layer reaches lon {lon0:.4f}–{lon1:.4f}, lat {lat0:.4f}–{lat1:.4f}, "
                        f"outside China (lon {box_w:g}–{box_e:g}°E, lat {box_s:g}–{box_n:g}°N): its CRS is "
                        f"probably wrong; {fix}")
    return lonlat


def _polygons(frame: gpd.GeoDataFrame, what: str, key: str, any_kind: bool = False) -> gpd.GeoDataFrame:
    """Reject empty/non-polygonal geometries (``any_kind``: points and lines are fine too, as zones
    may be: wells, outfalls, rivers, canals); repair invalid polygons with a warning."""
    geoms = frame.geometry.array
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise DataError(f"{what}: empty geometry for {_names(frame, key, empty)}")
    kinds = shapely.get_type_id(geoms)
    # Polygon, MultiPolygon; with any_kind also Point, LineString, LinearRing, MultiPoint, MultiLineString
    allowed = (0, 1, 2, 3, 4, 5, 6) if any_kind else (3, 6)
    not_poly = ~np.isin(kinds, allowed)
    if not_poly.any():
        expected = "a point, line or polygon (not a collection of mixed kinds)" if any_kind else "a polygon"
        raise DataError(f"{what}: not {expected}: {_names(frame, key, not_poly)}")
    invalid = ~shapely.is_valid(geoms) & np.isin(kinds, (3, 6))
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        polygonal = shapely.get_parts(fixed)  # drop any lines/points make_valid produced
        owner = shapely.get_parts(fixed, return_index=True)[1]
        keep = np.isin(shapely.get_type_id(polygonal), (3, 6))
        repaired = np.array(
            [shapely.union_all(polygonal[keep & (owner == i)]) for i in range(len(fixed))],
            dtype=object,
        )
        gone = shapely.is_empty(repaired)
        if gone.any():
            raise DataError(
                f"{what}: invalid geometry that cannot be repaired for "
                f"{_names(frame.loc[invalid], key, gone)}"
            )
        # The area before repair is not meaningful (a bow-tie's loops cancel out),
        # so the warning gives the repaired area only.
        after = gpd.GeoSeries(repaired, crs=GEOGRAPHIC).to_crs(EQUAL_AREA).area.to_numpy()
        details = ", ".join(
            f"{k} (repaired area {a:,.0f} m²)" for k, a in zip(frame.loc[invalid, key].head(5), after)
        )
        warnings.warn(f"{what}: repaired invalid geometry of {details}", DataWarning, stacklevel=3)
        frame = frame.copy()
        frame.loc[invalid, frame.geometry.name] = repaired
    return frame


def _dissolve_duplicates(frame: gpd.GeoDataFrame, path) -> gpd.GeoDataFrame:
    dup = frame["code"].duplicated(keep=False)
    if not dup.any():
        return frame
    attrs = [c for c in frame.columns if c != frame.geometry.name]
    conflicting = frame.loc[dup, attrs].drop_duplicates()
    clash = conflicting["code"][conflicting["code"].duplicated()]
    if len(clash):
        raise DataError(
            f"unit layer {path}: duplicate unit code with different attributes: "
            f"{', '.join(sorted(set(clash))[:5])}"
        )
    codes = sorted(set(frame.loc[dup, "code"]))
    warnings.warn(
        f"unit layer {path}: {len(codes)} unit code(s) stored as several features were "
        f"dissolved into one unit each: {', '.join(codes[:5])}",
        DataWarning, stacklevel=3,
    )
    return frame.dissolve(by="code", sort=False, as_index=False)[frame.columns]


def _names(frame, key, mask) -> str:
    names = list(frame.loc[np.asarray(mask), key].astype(str))
    more = f" (+{len(names) - 5} more)" if len(names) > 5 else ""
    return ", ".join(names[:5]) + more
