"""Coordinate reference systems users bring, converted to the engine's CGCS2000 lon/lat.

The engine works in CGCS2000 lon/lat (see :mod:`zoning.geodesy`); sites
arrive in other systems (see DOMAIN.md, "Coordinates users bring").
:func:`parse_crs` reads what a user names (``crs=``, ``--crs``) into a
:class:`SourceCRS`, and :meth:`SourceCRS.to_lonlat` converts coordinate
arrays to CGCS2000 lon/lat, one problem or note per geometry:

* any EPSG code, PROJ string or WKT (through pyproj);
* ``gcj02`` and ``bd09``, the web-map systems (see :mod:`zoning.inputs.webmap`);
* Gauss-Krüger families by datum and zone width, with or without a zone:
  ``cgcs2000-3``, ``cgcs2000-6:20``, ``xian80-3:39``, ``beijing54-6``…
  Without a zone, it is read from the eastings' zone prefix (8 digits).

For every Gauss-Krüger system (a family, or an EPSG code of one of the
series), each geometry's coordinates are checked: X and Y given the Chinese
surveying way round (X = northing) are swapped back with a note, when only
that reading makes sense; when both readings fit, the site is refused rather
than guessed. An easting's zone prefix must agree with the zone named.
Xi'an 1980 and Beijing 1954, for which PROJ knows only a ballpark shift,
carry an accuracy caveat.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import numpy as np
from pyproj import CRS, Transformer

from zoning.errors import InputError, parameter
from zoning.geodesy import GEOGRAPHIC
from zoning.inputs import webmap

#: lon/lat box around China (with the South China Sea islands); sites outside are refused
CHINA = (73.0, 3.0, 136.0, 54.0)

DATUMS = {"cgcs2000": "CGCS2000", "xian80": "Xi'an 1980", "beijing54": "Beijing 1954"}
#: first EPSG code of each Gauss-Krüger series, by (datum, zone width, zone prefix in eastings)
_GK_SERIES = {
    ("cgcs2000", 3, True): 4513, ("cgcs2000", 3, False): 4534,
    ("cgcs2000", 6, True): 4491, ("cgcs2000", 6, False): 4502,
    ("xian80", 3, True): 2349, ("xian80", 3, False): 2370,
    ("xian80", 6, True): 2327, ("xian80", 6, False): 2338,
    ("beijing54", 3, True): 2401, ("beijing54", 3, False): 2422,
    ("beijing54", 6, True): 21413, ("beijing54", 6, False): 21473,
}
#: zone numbers of each width covering China (3°: central meridians 75–135°E; 6°: 75–135°E)
ZONES = {3: range(25, 46), 6: range(13, 24)}
_EASTING = (100_000.0, 900_000.0)  # without prefix: 500 km false easting ± a zone's half-width and margin
_NORTHING = (300_000.0, 6_100_000.0)  # China, latitude about 3° to 55°
LEGACY_CAVEAT = ("{datum} is converted to CGCS2000 with PROJ's ballpark shift (no published parameters): "
                 "positions may be off by tens of metres; near a unit boundary, check with CGCS2000 coordinates")


def central_meridian(width: int, zone: int) -> int:
    return 3 * zone if width == 3 else 6 * zone - 3


@dataclass(frozen=True)
class GaussKruger:
    """A Gauss-Krüger system of one of the national series; ``zone`` None = read it from the eastings."""

    datum: str  # key of DATUMS
    width: int  # 3 or 6 degrees
    zone: int | None = None
    prefixed: bool | None = None  # eastings carry the zone number (None: a family, either is accepted)

    def epsg(self, zone: int, prefixed: bool) -> int:
        return _GK_SERIES[(self.datum, self.width, prefixed)] + zone - ZONES[self.width].start

    @property
    def label(self) -> str:
        name = f"{DATUMS[self.datum]} {self.width}° Gauss-Krüger"
        if self.zone is None:
            return f"{name} (zone read from the eastings)"
        codes = [self.epsg(self.zone, p) for p in ((True, False) if self.prefixed is None else (self.prefixed,))]
        cm = central_meridian(self.width, self.zone)
        return f"{name} zone {self.zone} (central meridian {cm}°E, {' or '.join(f'EPSG:{c}' for c in codes)})"


@functools.cache
def _gk_by_epsg() -> dict[int, GaussKruger]:
    out = {}
    for datum, width, prefixed in _GK_SERIES:
        for zone in ZONES[width]:
            gk = GaussKruger(datum, width, zone, prefixed)
            out[gk.epsg(zone, prefixed)] = gk
    return out


@functools.cache
def to_geographic(source: CRS) -> Transformer:
    """A transformer from ``source`` to CGCS2000 lon/lat (cached per CRS)."""
    return Transformer.from_crs(source, GEOGRAPHIC, always_xy=True)


@dataclass
class Converted:
    """Coordinates in CGCS2000 lon/lat, with per-geometry problems (refusals) and notes (repairs)."""

    lon: np.ndarray
    lat: np.ndarray
    problem: np.ndarray  # per geometry: "" or why it cannot be used
    note: np.ndarray  # per geometry: "" or what was read or changed (a swap, a zone)
    identity: bool = False  # the input was CGCS2000 lon/lat already: nothing moved

    def add(self, where: np.ndarray, message, *, note: bool = False) -> None:
        """Record ``message`` (one string, or one per geometry) for the geometries
        in ``where`` that have no problem yet; notes accumulate, problems do not."""
        where = where & (self.problem == "")
        if not where.any():
            return
        text = np.broadcast_to(np.asarray(message, dtype=object), where.shape)[where]
        if note:
            old = self.note[where]
            self.note[where] = np.where(old == "", text, old + "; " + text)
        else:
            self.problem[where] = text


@dataclass(frozen=True)
class SourceCRS:
    """A coordinate system a site is given in, and how to bring it to CGCS2000 lon/lat."""

    label: str
    crs: CRS | None = None  # for pyproj-defined systems
    webmap: str | None = None  # "gcj02" or "bd09"
    gk: GaussKruger | None = None
    caveats: tuple[str, ...] = field(default=())

    @property
    def geographic(self) -> bool:
        return self.webmap is not None or (self.crs is not None and self.crs.is_geographic and self.gk is None)

    def to_lonlat(self, x: np.ndarray, y: np.ndarray, owner: np.ndarray, n: int) -> Converted:
        """Convert coordinates (``owner``: the geometry each belongs to, of ``n``)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        out = Converted(x, y, np.full(n, "", dtype=object), np.full(n, "", dtype=object))
        if self.gk is not None:
            _gauss_kruger(self.gk, x, y, owner, out)
        elif self.webmap is not None:
            _check_degrees(x, y, owner, out, self.label)
            out.lon, out.lat = webmap.to_wgs84(self.webmap, x, y)
        elif self.crs is not None and self.crs.is_geographic:
            _check_degrees(x, y, owner, out, self.label)
            out.identity = self.crs == GEOGRAPHIC
            if not out.identity:
                out.lon, out.lat = to_geographic(self.crs).transform(x, y)
        elif self.crs is not None:
            _check_not_degrees(x, y, owner, out, self.label)
            out.lon, out.lat = to_geographic(self.crs).transform(x, y)
        else:
            raise ValueError(f"{self.label}: a SourceCRS needs a pyproj CRS, a Gauss-Krüger system or a web map")
        _check_place(out, owner, self.label)
        return out


#: the working CRS as a source: sites given in lon/lat
LONLAT = SourceCRS("CGCS2000 lon/lat (EPSG:4490)", crs=GEOGRAPHIC)

_FAMILY = re.compile(r"^(cgcs2000|cgcs|xian80|xian1980|beijing54|beijing1954|bj54)(3|6)(?:[:/](\d{2}))?$")
_FAMILY_DATUM = {"cgcs": "cgcs2000", "xian1980": "xian80", "beijing1954": "beijing54", "bj54": "beijing54"}


def parse_crs(value) -> SourceCRS:
    """A :class:`SourceCRS` from what a user names (see the module doc).

    Accepts an EPSG code (``4527``, ``EPSG:4527``), a PROJ string or WKT,
    ``gcj02``/``bd09`` (also ``wgs84``/``cgcs2000`` for plain lon/lat) and
    Gauss-Krüger families ``DATUM-WIDTH[:ZONE]`` (datum ``cgcs2000``,
    ``xian80`` or ``beijing54``; width 3 or 6; zone as numbered in prefixes).
    """
    if isinstance(value, SourceCRS):
        return value
    text = str(value).strip()
    key = re.sub(r"[-_ ]", "", text.lower())
    if key in webmap.SYSTEMS:
        name = {"gcj02": "GCJ-02 (Amap/Gaode, Tencent)", "bd09": "BD-09 (Baidu)"}[key]
        return SourceCRS(f"{name} lon/lat", webmap=key)
    if key in ("wgs84", "cgcs2000"):
        return from_pyproj(CRS.from_epsg(4326 if key == "wgs84" else 4490))
    family = _FAMILY.match(key)
    if family:
        datum = _FAMILY_DATUM.get(family[1], family[1])
        width, zone = int(family[2]), int(family[3]) if family[3] else None
        return gauss_kruger(datum, width, zone)
    try:
        crs = CRS.from_epsg(int(text)) if text.isdigit() else CRS.from_user_input(text)
    except Exception as exc:  # pyproj raises CRSError with a long message
        raise InputError(f"unknown CRS {text!r}: {str(exc).splitlines()[0]} "
                         "(give an EPSG code, PROJ or WKT, gcj02, bd09, or a Gauss-Krüger family such as "
                         "cgcs2000-3 or cgcs2000-3:39)") from None
    return from_pyproj(crs)


def gauss_kruger(datum: str, width: int, zone: int | None = None, prefixed: bool | None = None) -> SourceCRS:
    """A Gauss-Krüger system of the national series (zone None: read from the eastings)."""
    if width not in ZONES:
        raise InputError(f"Gauss-Krüger zones are 3° or 6° wide, not {width}°")
    if zone is not None and zone not in ZONES[width]:
        first, last = ZONES[width][0], ZONES[width][-1]
        raise InputError(f"{width}° Gauss-Krüger zone {zone} does not cover China (zones {first}–{last})")
    gk = GaussKruger(datum, width, zone, prefixed)
    return SourceCRS(gk.label, gk=gk, caveats=_legacy(datum))


def from_pyproj(crs: CRS) -> SourceCRS:
    """A :class:`SourceCRS` for a pyproj CRS (a layer's, or one named by EPSG/PROJ/WKT)."""
    code = crs.to_epsg(min_confidence=90)
    gk = _gk_by_epsg().get(code) if code else None
    if gk is not None:
        return SourceCRS(gk.label, crs=crs, gk=gk, caveats=_legacy(gk.datum))
    label = f"{crs.name} (EPSG:{code})" if code else crs.name
    caveats: tuple[str, ...] = ()
    try:
        description = to_geographic(crs).description or ""
    except Exception:  # noqa: BLE001 - pyproj raises several kinds for CRSs it cannot transform
        raise InputError(f"cannot transform from {label} to CGCS2000 lon/lat") from None
    wgs84 = "WGS 84" in (crs.geodetic_crs.name if crs.geodetic_crs else "")
    if "ballpark" in description.lower() and not wgs84:  # WGS84 and CGCS2000 agree to centimetres
        caveats = (f"{label} is converted to CGCS2000 with PROJ's ballpark transformation (no published "
                   "parameters between the datums): unless its datum is in fact CGCS2000 or WGS84, positions may "
                   "be off by tens of metres",)
    return SourceCRS(label, crs=crs, caveats=caveats)


def _legacy(datum: str) -> tuple[str, ...]:
    return (LEGACY_CAVEAT.format(datum=DATUMS[datum]),) if datum != "cgcs2000" else ()


# ---- checks, per geometry (vectorised over coordinates) -------------------------

def _every(mask: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Per geometry: is ``mask`` true for all its coordinates?"""
    return np.bincount(owner, weights=~mask, minlength=n) == 0


def _some(mask: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(owner, weights=mask, minlength=n) > 0


def _first_value(values: np.ndarray, owner: np.ndarray, n: int, where: np.ndarray) -> np.ndarray:
    """Per geometry: the first of its coordinates' ``values`` where ``where`` holds (NaN if none)."""
    out = np.full(n, np.nan)
    idx = np.flatnonzero(where)[::-1]  # reversed: the first is written last
    out[owner[idx]] = values[idx]
    return out


def _per_value(values: np.ndarray, message) -> np.ndarray:
    """``message(value)`` for each element, built once per distinct value (not once per geometry)."""
    distinct, index = np.unique(values, return_inverse=True)
    return np.array([message(int(v)) for v in distinct], dtype=object)[index]


def _check_degrees(x, y, owner, out: Converted, label: str) -> None:
    n = len(out.problem)
    finite = np.isfinite(x) & np.isfinite(y)
    out.add(_some(~finite, owner, n), "coordinates are not finite numbers")
    lat_bad = _some(np.abs(y) > 90, owner, n)
    lon_bad = _some(np.abs(x) > 180, owner, n)
    swapped = lat_bad & _every((np.abs(x) <= 90) & (np.abs(y) <= 180), owner, n)
    out.add(swapped, "latitude out of range: are longitude and latitude (x and y) swapped? lon comes first")
    looks_gk = _some(np.abs(x) > 1000, owner, n) | _some(np.abs(y) > 1000, owner, n)
    out.add((lon_bad | lat_bad) & looks_gk,
            f"coordinates are not lon/lat degrees ({label}): for projected coordinates (Gauss-Krüger "
            f"easting/northing…) give {parameter('crs')}, e.g. cgcs2000-3 or EPSG:4527")
    out.add(lon_bad | lat_bad, "lon/lat out of range (lon -180 to 180, lat -90 to 90)")


def _check_not_degrees(x, y, owner, out: Converted, label: str) -> None:
    n = len(out.problem)
    small = _every((np.abs(x) <= 180) & (np.abs(y) <= 90), owner, n)
    out.add(small, f"coordinates look like lon/lat degrees, but {label} is projected (metres); "
                   f"drop {parameter('crs')} for lon/lat")


def _check_place(out: Converted, owner, label: str) -> None:
    """After conversion: every coordinate finite and inside China."""
    n = len(out.problem)
    finite = np.isfinite(out.lon) & np.isfinite(out.lat)
    out.add(_some(~finite, owner, n), f"coordinates cannot be transformed from {label} to lon/lat: "
                                      "outside that system's area (are X and Y swapped?)")
    west, south, east, north = CHINA
    inside = (out.lon >= west) & (out.lon <= east) & (out.lat >= south) & (out.lat <= north)
    outside = _some(finite & ~inside, owner, n)
    if outside.any():
        lon = _first_value(out.lon, owner, n, finite & ~inside)
        lat = _first_value(out.lat, owner, n, finite & ~inside)
        message = np.full(n, "", dtype=object)
        message[outside] = [f"lies outside China (at lon {a:.4f}, lat {b:.4f}; China is within lon "
                            f"{west:g}–{east:g}°E, lat {south:g}–{north:g}°N): check the coordinates and the CRS"
                            for a, b in zip(lon[outside], lat[outside])]
        out.add(outside, message)


def _gauss_kruger(gk: GaussKruger, x, y, owner, out: Converted) -> None:
    """Orientation, zone and conversion of Gauss-Krüger coordinates (see module doc)."""
    n = len(out.problem)
    finite = np.isfinite(x) & np.isfinite(y)
    out.add(_some(~finite, owner, n), "coordinates are not finite numbers")

    def easting(v):
        prefix = np.floor(v / 1e6)
        rest = v - prefix * 1e6
        zoned = np.isin(prefix, list(ZONES[gk.width])) & (rest >= _EASTING[0]) & (rest <= _EASTING[1])
        return zoned | ((v >= _EASTING[0]) & (v <= _EASTING[1]))

    def northing(v):
        return (v >= _NORTHING[0]) & (v <= _NORTHING[1])

    normal = _every(easting(x) & northing(y), owner, n)
    swapped = _every(easting(y) & northing(x), owner, n)
    out.add(normal & swapped,
            "X and Y could each be the easting: the site is refused rather than guessed; "
            f"give easting first (x = easting, y = northing) with a zone prefix, in {gk.label}")
    other_width = 6 if gk.width == 3 else 3
    wrong_width = ~normal & ~swapped & _some(np.isin(np.floor(np.maximum(x, y) / 1e6), list(ZONES[other_width])),
                                             owner, n)
    out.add(wrong_width, f"the easting's zone prefix is a {other_width}° zone number, but {gk.label} "
                         f"has {gk.width}° zones: use {parameter('crs', f'{gk.datum}-{other_width}')} if the survey "
                         f"used {other_width}° zones")
    out.add(~normal & ~swapped,
            f"coordinates are not easting/northing in {gk.label}: an easting is "
            f"{_EASTING[0]:,.0f}–{_EASTING[1]:,.0f} m (or that with a zone prefix, e.g. 39,448,481.6), "
            f"a northing in China {_NORTHING[0]:,.0f}–{_NORTHING[1]:,.0f} m")
    flip = (swapped & ~normal)[owner]
    out.add(swapped & ~normal, "X and Y swapped: X read as the northing and Y as the easting "
                               "(the Chinese surveying convention)", note=True)
    east = np.where(flip, y, x)
    north = np.where(flip, x, y)

    prefix = np.where(east >= 1e6, np.floor(east / 1e6), 0).astype(np.int64)
    low = np.full(n, np.iinfo(np.int64).max)
    high = np.full(n, -1)
    np.minimum.at(low, owner, prefix)
    np.maximum.at(high, owner, prefix)
    out.add((low != high) & (high >= 0), "eastings carry different zone prefixes: a site's coordinates must all "
                                         "be in one zone (convert them to one zone first)")
    zone = np.where(high >= 0, high, 0)
    if gk.zone is not None:
        mismatch = (zone != 0) & (zone != gk.zone)
        out.add(mismatch, _per_value(zone, lambda z: f"the easting's zone prefix is {z}, but {gk.label} is zone "
                                               f"{gk.zone}: name zone {z} (e.g. "
                                               f"{parameter('crs', f'{gk.datum}-{gk.width}:{z}')}) "
                                               "or check the eastings"))
        if gk.prefixed is True:
            out.add(zone == 0, f"eastings have no zone prefix; read in zone {gk.zone}", note=True)
        elif gk.prefixed is False:
            out.add(zone == gk.zone, f"eastings carry the zone prefix {gk.zone}; read without it", note=True)
        zone = np.full(n, gk.zone)
    else:
        example = f"{gk.datum}-{gk.width}:{39 if gk.width == 3 else 20}"
        out.add(zone == 0, f"eastings have no zone prefix, so the zone is unknown: name it, e.g. "
                           f"{parameter('crs', example)}, or give an EPSG code")
        detected = (zone != 0)
        if detected.any():
            out.add(detected, _per_value(zone, lambda z: f"zone {z} (central meridian "
                                                         f"{central_meridian(gk.width, z)}°E) read from the "
                                                         "eastings' prefix"), note=True)
    usable = out.problem == ""
    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    coord_zone = zone[owner]
    coord_ok = usable[owner]
    for z in np.unique(coord_zone[coord_ok]):
        at = coord_ok & (coord_zone == z)
        e = east[at] - np.where(east[at] >= 1e6, z * 1e6, 0)
        transformer = to_geographic(CRS.from_epsg(gk.epsg(int(z), prefixed=False)))
        lon[at], lat[at] = transformer.transform(e, north[at])
    out.lon, out.lat = lon, lat
    out.problem[~usable & (out.problem == "")] = "unusable coordinates"
