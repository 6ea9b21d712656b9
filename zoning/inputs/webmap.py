"""Web-map coordinates: GCJ-02 (Amap/Gaode, Tencent, Google China) and BD-09 (Baidu).

Both are published obfuscations of WGS84 lon/lat that PROJ does not
implement. The forward formulas (WGS84 → GCJ-02 → BD-09) are the public
ones; there is no closed-form inverse, so :func:`to_wgs84` inverts them by
fixed-point iteration until the forward image of the answer is within
1e-10° (about 0.01 mm) of the input: a round trip is exact to far better
than the 0.01 m the engine promises. WGS84 and CGCS2000 agree to a few
centimetres, so the result is used as CGCS2000.

All functions take and return numpy arrays (lon, lat), vectorised;
:func:`to_webmap` converts whole shapely geometries.
"""

from __future__ import annotations

import functools

import numpy as np
import shapely

#: names accepted wherever a CRS is, for these systems
SYSTEMS = ("gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formulas use
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOLERANCE = 1e-10  # degrees
_MAX_ITERATIONS = 30


def _outside(lon, lat):
    """Outside the rectangle where the obfuscation applies (the published bounds)."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _offset(lon, lat):
    """GCJ-02 minus WGS84, in degrees, at WGS84 (lon, lat)."""
    x, y = lon - 105.0, lat - 35.0
    waves = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + waves
             + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
             + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + waves
             + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
             + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_magic * np.cos(rad) * np.pi)
    outside = _outside(lon, lat)
    return np.where(outside, 0.0, d_lon), np.where(outside, 0.0, d_lat)


def wgs84_to_gcj02(lon, lat):
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    d_lon, d_lat = _offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_bd09(lon, lat):
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(lon, lat):
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


FORWARD = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def from_wgs84(system: str, lon, lat):
    """WGS84 (CGCS2000) lon/lat to ``system`` (gcj02 or bd09)."""
    return FORWARD[system](lon, lat)


def to_wgs84(system: str, lon, lat):
    """``system`` (gcj02 or bd09) lon/lat to WGS84, by iterating the forward formula.

    Each step moves the estimate by the residual of its forward image; the
    offsets change slowly with position, so this converges in a few steps.
    Non-finite inputs stay non-finite.
    """
    forward = FORWARD[system]
    target_lon, target_lat = np.asarray(lon, float), np.asarray(lat, float)
    est_lon, est_lat = target_lon.copy(), target_lat.copy()
    for _ in range(_MAX_ITERATIONS):
        f_lon, f_lat = forward(est_lon, est_lat)
        r_lon, r_lat = f_lon - target_lon, f_lat - target_lat
        est_lon, est_lat = est_lon - r_lon, est_lat - r_lat
        residual = np.maximum(np.abs(r_lon), np.abs(r_lat))
        if not (residual[np.isfinite(residual)] > _TOLERANCE).any():
            break
    return est_lon, est_lat


def to_webmap(geoms: np.ndarray, system: str) -> np.ndarray:
    """CGCS2000 (≈ WGS84) lon/lat geometries in a web-map system (``gcj02`` or ``bd09``)."""
    return shapely.transform(np.asarray(geoms, dtype=object), functools.partial(from_wgs84, system),
                             interleaved=False)
