"""One site for a check: from coordinates, WKT, a shapely geometry or a site file, to CGCS2000 lon/lat.

Geometry problems are handled the same way for every source
(:func:`repair`): an unclosed ring is closed, a self-intersecting ring is
repaired with ``make_valid``, each with a note saying what changed; an
empty geometry or a polygon without area is refused. Coordinates go through
:meth:`zoning.inputs.crs.SourceCRS.to_lonlat` (swap and zone checks, China
bounds).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from zoning.errors import DataError, DataWarning, InputError, parameter
from zoning.geodesy import measure
from zoning.inputs.crs import LONLAT, Converted, SourceCRS, from_pyproj, parse_crs
from zoning.inputs.redline import read_red_line
from zoning.inputs.sitefiles import (
    SITE_FORMATS,
    SiteLayer,
    is_red_line,
    parse_wkt,
    read_dxf,
    read_kml,
    read_wkt_file,
)
from zoning.inputs.vector import DEFAULT_IO_ENGINE, read_vector


def read_site_layer(path: str | Path, *, io_engine: str = DEFAULT_IO_ENGINE) -> SiteLayer:
    """Read a site file of any supported format (see :mod:`zoning.inputs.sitefiles`)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"site file {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".txt" and is_red_line(path):
        return read_red_line(path)
    if suffix in (".wkt", ".txt"):
        return read_wkt_file(path)
    if suffix == ".dxf":
        return read_dxf(path, io_engine=io_engine)
    if suffix == ".kml":
        return read_kml(path)
    if suffix not in SITE_FORMATS:
        raise DataError(f"site file {path}: unknown format {suffix or '(no extension)'!r} "
                        f"(known: {', '.join(sorted(SITE_FORMATS))})")
    layer = read_vector(path, io_engine=io_engine, what="site file")
    return SiteLayer(pd.DataFrame(layer.drop(columns=layer.geometry.name)), layer.geometry.to_numpy(),
                     from_pyproj(layer.crs) if layer.crs is not None else None)



def repair(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(geometries, problem, note)`` per geometry: invalid ones repaired (with a note saying
    how), empty ones and polygons without area refused (a problem)."""
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    problem = np.full(n, "", dtype=object)
    note = np.full(n, "", dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problem[missing] = "the geometry is empty"
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    unfinite = np.zeros(n, bool)
    unfinite[owner[~np.isfinite(coords).all(axis=1)]] = True
    problem[unfinite & ~missing] = "coordinates are not finite numbers"
    missing |= unfinite
    present = ~missing
    dims = np.full(n, -1)
    dims[present] = shapely.get_dimensions(geoms[present])
    invalid = present & ~shapely.is_valid(geoms)
    flat = present & (dims == 2) & ~invalid & (shapely.area(geoms) == 0)
    problem[flat] = "the polygon has no area (its vertices coincide or are collinear)"
    out = geoms.copy()
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        fixed = shapely.make_valid(geoms[i])
        parts = [p for p in shapely.get_parts(fixed) if shapely.get_dimensions(p) == dims[i]]
        if not parts or (dims[i] == 2 and sum(p.area for p in parts) == 0):
            problem[i] = f"the polygon has no area ({reason})"
            continue
        out[i] = shapely.union_all(parts)
        note[i] = f"invalid ({reason}), repaired with make_valid"
    return out, problem, note


def to_lonlat(geoms: np.ndarray, source: SourceCRS) -> tuple[np.ndarray, Converted]:
    """Geometries in ``source`` coordinates to CGCS2000 lon/lat (None where refused)."""
    geoms = np.asarray(geoms, dtype=object)
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    converted = source.to_lonlat(coords[:, 0], coords[:, 1], owner, len(geoms))
    if converted.identity:
        moved = geoms.copy()
    else:  # refused geometries get placeholder coordinates (rings must stay closed), then None
        refused = (converted.problem != "")[owner]
        xy = np.column_stack([np.where(refused, 0.0, converted.lon), np.where(refused, 0.0, converted.lat)])
        moved = shapely.transform(geoms, lambda _: xy)
    moved[converted.problem != ""] = None
    return moved, converted



def _exists(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # a WKT too long for a file name, or with a NUL
        return False


def _looks_like_file(text: str) -> bool:
    """A name with a site-file extension (a missing file should say so, not "not valid WKT")."""
    try:
        return Path(text).suffix.lower() in SITE_FORMATS
    except (OSError, ValueError):
        return False


def site_geometry(*, lon=None, lat=None, site=None, crs=None, io_engine: str = DEFAULT_IO_ENGINE):
    """One site as a valid shapely geometry in CGCS2000 lon/lat, for a single check.

    Like :func:`read_site`, with its notes issued as :class:`DataWarning`.
    """
    geom, notes, _ = read_site(lon=lon, lat=lat, site=site, crs=crs, io_engine=io_engine)
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=2)
    return geom


def read_site(*, lon=None, lat=None, site=None, crs=None, io_engine: str = DEFAULT_IO_ENGINE):
    """``(geometry, notes, source)``: one site in CGCS2000 lon/lat, what was repaired or
    read along the way, and the :class:`SourceCRS` it was given in.

    ``site`` is WKT, a shapely geometry or a site file (its features are
    merged into one, multi-part, geometry). ``crs`` overrides the file's
    own. What cannot be used raises :class:`InputError`; a site mixing
    areas with points or lines is refused, since its parts would be judged
    differently (check them separately).
    """
    source = parse_crs(crs) if crs else None
    notes: list[str] = []
    if site is None:
        if lon is None or lat is None:
            raise InputError("give a location: lon and lat, or a site (WKT or file)")
        geoms = np.array([shapely.Point(float(lon), float(lat))], dtype=object)
    else:
        if lon is not None or lat is not None:
            raise InputError("give either lon/lat or a site, not both")
        text = str(site)
        if isinstance(site, shapely.Geometry):
            geoms = np.array([site], dtype=object)
        elif _looks_like_file(text) and not _exists(text):
            raise DataError(f"site file {text}: no such file")
        elif _exists(text):  # any file, whatever its name: an unsupported kind is refused by name
            if Path(text).is_dir():
                raise DataError(f"site {text} is a directory; give a site file or WKT")
            layer = read_site_layer(site, io_engine=io_engine)
            notes += layer.notes
            if len(layer.geometry) == 0:
                raise InputError(f"site file {site} has no features" + (f" ({'; '.join(notes)})" if notes else ""))
            if layer.source is None and source is None:
                raise InputError(f"site file {site} does not say its CRS; give {parameter('crs')} (an EPSG code, "
                                 "or e.g. cgcs2000-3 for Gauss-Krüger coordinates)")
            if source is not None and layer.source is not None and layer.source.label != source.label:
                notes.append(f"{parameter('crs', str(crs))} used instead of the file's own {layer.source.label}")
            source = source or layer.source
            geoms = layer.geometry
            geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
            if not len(geoms):
                raise InputError(f"site file {site} has no geometry")
        else:
            geom, note = parse_wkt(text)
            geoms = np.array([geom], dtype=object)
            notes += [note] if note else []
    source = source or LONLAT
    fixed, problem, repaired = repair(geoms)
    if (problem != "").any():
        raise InputError(f"site: {problem[problem != ''][0]}")
    parts = shapely.get_parts(fixed)
    dims = set(shapely.get_dimensions(parts[~shapely.is_empty(parts)]).tolist())
    if len(dims) > 1:
        kinds = {0: "points", 1: "lines", 2: "polygons"}
        raise InputError("the site mixes " + " and ".join(kinds[d] for d in sorted(dims)) + ": their parts "
                         "would be judged differently; check them separately (or remove labels and annotations)")
    lonlat, converted = to_lonlat(fixed, source)
    if (converted.problem != "").any():
        raise InputError(f"site ({source.label}): {converted.problem[converted.problem != ''][0]}")
    notes += [f"{source.label}: {n}" for n in dict.fromkeys(converted.note) if n]
    notes += list(source.caveats)
    geom = lonlat[0] if len(lonlat) == 1 else shapely.union_all(lonlat)
    if not geom.is_valid:  # a conversion can fold a ring onto itself: repair again
        (geom,), problem, again = repair(np.array([geom], dtype=object))
        if problem[0]:
            raise InputError(f"site: {problem[0]}")
        repaired = np.append(repaired, again)
    if any(repaired):
        size = measure(np.array([geom], dtype=object))[0]
        amount = f"{size:,.1f} m² ({size / 10_000:,.4f} ha)" if shapely.get_dimensions(geom) == 2 else f"{size:,.1f} m"
        notes += [f"site geometry was {r}; it now measures {amount}: check it against the drawing"
                  for r in repaired if r]
    return geom, notes, source
