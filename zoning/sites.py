"""Sites as users bring them: coordinates, WKT, and site files, brought to CGCS2000 lon/lat.

Formats (by extension; see README, "Site files"):

* WKT, given inline or as a ``.wkt`` file (one geometry, or one per line);
* GeoJSON, Shapefile, GeoPackage, KML (every folder/layer), read with the
  chosen I/O engine;
* DXF: closed polylines become polygons, a closed polyline inside another
  a hole (even-odd nesting); open polylines stay lines, with a note; text
  and points are left out, with a note. A DXF has no CRS: give one;
* the land red-line coordinate TXT (界址点坐标): a ``[属性描述]`` header
  naming the datum (坐标系), zone width (几度分带) and zone (带号), then
  per parcel a line ending in ``@`` and one ``point,ring,X,Y`` line per
  vertex (X northing, Y easting); ring 1 is the boundary, other rings are
  holes or further parts; UTF-8 or GBK.

Geometry problems are handled the same way for all of them
(:func:`repair`): an unclosed ring is closed, a self-intersecting ring is
repaired with ``make_valid``, each with a note saying what changed; an
empty geometry or a polygon without area is refused. Coordinates go through
:meth:`zoning.crs.SourceCRS.to_lonlat` (swap and zone checks, China bounds).
"""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from zoning import webmap
from zoning.crs import LONLAT, Converted, SourceCRS, from_pyproj, gauss_kruger, parse_crs
from zoning.errors import DataError, InputError
from zoning.evaluation import measure
from zoning.io import DEFAULT_ENGINE, read_vector
from zoning.units import DataWarning

#: site-file formats by extension (``.txt`` is a red-line file, or WKT)
SITE_FORMATS = {".wkt": "wkt", ".txt": "red-line", ".geojson": "geojson", ".json": "geojson", ".shp": "shp",
                ".gpkg": "gpkg", ".kml": "kml", ".dxf": "dxf"}


@dataclass
class SiteLayer:
    """Features read from a site file: attributes, geometries in ``source`` coordinates, and notes."""

    attributes: pd.DataFrame
    geometry: np.ndarray  # shapely geometries (None where a feature has none)
    source: SourceCRS | None  # None: the file does not say
    notes: list[str] = field(default_factory=list)


# ---- reading --------------------------------------------------------------------

def is_red_line(path: Path) -> bool:
    """Does a text file look like a land red-line coordinate file?"""
    with open(path, "rb") as f:
        head = f.read(4096)
    return any(marker.encode(enc) in head for marker in ("[地块坐标]", "[属性描述]") for enc in ("utf-8", "gbk"))


def read_site_layer(path, *, engine: str = DEFAULT_ENGINE) -> SiteLayer:
    """Read a site file of any supported format (see module doc)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"site file {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".txt" and is_red_line(path):
        return read_red_line(path)
    if suffix in (".wkt", ".txt"):
        return read_wkt_file(path)
    if suffix == ".dxf":
        return read_dxf(path, engine=engine)
    if suffix == ".kml":
        return read_kml(path)
    if suffix not in SITE_FORMATS:
        raise DataError(f"site file {path}: unknown format {suffix or '(no extension)'!r} "
                        f"(known: {', '.join(sorted(SITE_FORMATS))})")
    layer = read_vector(path, engine=engine, what="site file")
    return SiteLayer(pd.DataFrame(layer.drop(columns=layer.geometry.name)), layer.geometry.to_numpy(),
                     from_pyproj(layer.crs) if layer.crs is not None else None)


def read_wkt_file(path: Path) -> SiteLayer:
    """A text file of WKT: one geometry, or one per non-blank line."""
    text = _decode(path.read_bytes(), path)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    whole = " ".join(lines)
    if len(lines) > 1 and _parse_wkt(whole)[0] is None:
        items = lines  # one geometry per line
    else:
        items = [whole]
    geoms, notes = [], []
    for number, item in enumerate(items, 1):
        geom, note = _parse_wkt(item)
        if geom is None:
            where = f"line {number}" if len(items) > 1 else "the file"
            raise InputError(f"site file {path}: {where} is not valid WKT: {item[:60]!r}")
        geoms.append(geom)
        notes += [f"geometry {number}: {note}"] if note else []
    # WKT carries no CRS: like WKT given inline, it is lon/lat unless --crs says otherwise
    return SiteLayer(pd.DataFrame(index=range(len(geoms))), np.array(geoms, dtype=object), LONLAT, notes)


def parse_wkt(text: str):
    """``(geometry, note)``: strict WKT, or WKT with unclosed rings closed (and a note saying so)."""
    geom, note = _parse_wkt(text)
    if geom is None:
        raise InputError(f"site is neither a file nor valid WKT: {text[:60]!r}")
    return geom, note


def _parse_wkt(text: str):
    try:
        return shapely.from_wkt(text), ""
    except shapely.errors.GEOSException:
        pass
    try:
        fixed = shapely.from_wkt(text, on_invalid="fix")
    except shapely.errors.GEOSException:
        return None, ""
    if fixed is None:
        return None, ""
    return fixed, "a ring was not closed; closed it by repeating its first vertex"


def read_kml(path: Path) -> SiteLayer:
    """Every layer (folder) of a KML file; KML is WGS84 lon/lat by definition."""
    try:
        layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
        frames = [pyogrio.read_dataframe(path, layer=name) for name in layers]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataError(f"site file {path}: cannot read: {str(exc).splitlines()[0]}") from None
    named = [(name, frame) for name, frame in zip(layers, frames) if len(frame)]
    if not named:
        return SiteLayer(pd.DataFrame(), np.array([], dtype=object), parse_crs("wgs84"))
    for name, frame in named:
        frame["kml_folder"] = name
    frames = [frame for _, frame in named]
    merged = pd.concat(frames, ignore_index=True)
    geometry = shapely.force_2d(merged.geometry.to_numpy())
    notes = [f"read {len(merged)} placemarks from {len(frames)} folders"] if len(frames) > 1 else []
    return SiteLayer(pd.DataFrame(merged.drop(columns="geometry")), geometry, parse_crs("wgs84"), notes)


def read_dxf(path: Path, *, engine: str = DEFAULT_ENGINE) -> SiteLayer:
    """A CAD drawing: closed polylines as polygons (nested ones as holes), open ones as lines.

    Entities are grouped by CAD layer: each layer's closed polylines are
    assembled together, so a hole drawn on the boundary's layer cuts it.
    """
    frame = read_vector(path, engine=engine, what="site file")
    geoms = shapely.force_2d(frame.geometry.to_numpy())
    layer_names = frame["Layer"].astype(str).to_numpy() if "Layer" in frame else np.full(len(frame), "0")
    parts = shapely.get_parts(geoms, return_index=True)
    pieces, owner = parts
    kind = shapely.get_type_id(pieces)
    line = np.isin(kind, (1, 2))  # LineString, LinearRing
    closed = np.zeros(len(pieces), bool)
    closed[line] = shapely.is_closed(pieces[line]) & (shapely.get_num_coordinates(pieces[line]) >= 4)
    polygonal = kind == 3
    notes = []
    dropped = ~(line | polygonal)
    if dropped.any():
        notes.append(f"left out {int(dropped.sum())} DXF entities that are neither polylines nor hatches "
                     "(text, points, blocks)")
    open_lines = line & ~closed
    if open_lines.any():
        notes.append(f"{int(open_lines.sum())} open polylines read as lines (a boundary must be closed "
                     "to count as an area)")
    rows, out = [], []
    for name in dict.fromkeys(layer_names[owner]):
        on = layer_names[owner] == name
        coords, ring_of = shapely.get_coordinates(pieces[on & closed], return_index=True)
        rings = shapely.polygons(shapely.linearrings(coords, indices=ring_of)) if len(coords) else pieces[:0]
        areas = np.concatenate([rings, pieces[on & polygonal]])
        if len(areas):
            rows.append({"Layer": name, "entities": int((on & (closed | polygonal)).sum())})
            out.append(assemble(areas))
        for piece in pieces[on & open_lines]:
            rows.append({"Layer": name, "entities": 1})
            out.append(piece)
    return SiteLayer(pd.DataFrame(rows, columns=["Layer", "entities"]), np.array(out, dtype=object), None, notes)


def assemble(polygons: np.ndarray):
    """One geometry from polygons drawn as separate rings: a polygon nested inside
    another is a hole in it, one inside that hole an island again (even-odd)."""
    polygons = np.asarray(polygons, dtype=object)
    polygons = polygons[~shapely.is_empty(polygons)]
    if len(polygons) <= 1:
        return polygons[0] if len(polygons) else shapely.Polygon()
    valid = np.where(shapely.is_valid(polygons), polygons, shapely.make_valid(polygons))
    tree = shapely.STRtree(valid)
    outer, inner = tree.query(valid, predicate="contains_properly")
    depth = np.bincount(inner, minlength=len(valid))
    direct = depth[inner] == depth[outer] + 1
    outer, inner = outer[direct], inner[direct]
    parts = []
    for i in np.flatnonzero(depth % 2 == 0):
        holes = valid[inner[outer == i]]
        parts.append(shapely.difference(valid[i], shapely.union_all(holes)) if len(holes) else valid[i])
    return shapely.union_all(parts)


# ---- the land red-line coordinate file (界址点坐标) ---------------------------------

_DATUM_WORDS = (("2000", "cgcs2000"), ("cgcs", "cgcs2000"), ("西安", "xian80"), ("xian", "xian80"),
                ("80", "xian80"), ("北京", "beijing54"), ("beijing", "beijing54"), ("54", "beijing54"))
_SHAPES = {"面": 2, "线": 1, "点": 0}


def read_red_line(path: Path) -> SiteLayer:
    """A land red-line coordinate file: one feature per parcel, in its stated Gauss-Krüger zone."""
    text = unicodedata.normalize("NFKC", _decode(path.read_bytes(), path))  # full-width digits, commas
    header: dict[str, tuple[str, int]] = {}
    parcels: list[dict] = []
    section = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == "属性描述":
            key, sep, value = line.partition("=")
            if sep:
                header[key.strip()] = (value.strip(), number)
            continue
        if section != "地块坐标":
            continue
        cells = [c.strip() for c in line.split(",")]
        if cells[-1] == "@":
            parcels.append({"line": number, "cells": cells, "vertices": []})
            continue
        if not parcels:
            raise InputError(f"red-line file {path}, line {number}: a coordinate line before any parcel line "
                             "(a parcel line ends in ',@')")
        if len(cells) < 4:
            raise InputError(f"red-line file {path}, line {number}: expected 'point,ring,X,Y', got {line!r}")
        try:
            ring, x, y = int(float(cells[1])), float(cells[2]), float(cells[3])
        except ValueError:
            raise InputError(f"red-line file {path}, line {number}: ring, X and Y must be numbers, "
                             f"got {line!r}") from None
        parcels[-1]["vertices"].append((ring, y, x, cells[0]))  # X is the northing: store (easting, northing)
    if not parcels:
        raise InputError(f"red-line file {path}: no parcels (expected a [地块坐标] section with lines ending in ',@')")
    source = _red_line_crs(header, path)
    rows, geoms, notes = [], [], []
    for parcel in parcels:
        geom, parcel_notes = _parcel_geometry(parcel, path)
        cells = parcel["cells"] + [""] * 9
        rows.append({"parcel": cells[2], "name": cells[3], "use": cells[6], "land_class": cells[7],
                     "area_ha": pd.to_numeric(cells[1], errors="coerce"), "points": len(parcel["vertices"])})
        geoms.append(geom)
        notes += [f"parcel {cells[2] or parcel['line']}: {n}" for n in parcel_notes]
    return SiteLayer(pd.DataFrame(rows), np.array(geoms, dtype=object), source, notes)


def _red_line_crs(header: dict, path: Path) -> SourceCRS:
    datum_text, datum_line = header.get("坐标系", ("", 0))
    if not datum_text:
        raise InputError(f"red-line file {path}: the header does not name the datum (坐标系=…)")
    datum = next((d for word, d in _DATUM_WORDS if word in datum_text.lower()), None)
    if datum is None:
        raise InputError(f"red-line file {path}, line {datum_line}: unknown datum {datum_text!r} "
                         "(expected 2000国家大地坐标系, 1980西安坐标系 or 1954北京坐标系)")
    width_text, width_line = header.get("几度分带", ("", 0))
    zone_text, zone_line = header.get("带号", ("", 0))
    width_text, zone_text = re.sub(r"[度°带\s]", "", width_text), re.sub(r"[带号\s]", "", zone_text)
    unit, unit_line = header.get("计量单位", ("米", 0))
    if unit and unit not in ("米", "m", "metre", "meter"):
        raise InputError(f"red-line file {path}, line {unit_line}: coordinates in {unit!r}; only metres (米) "
                         "are supported")
    try:
        zone = int(float(zone_text)) if zone_text else None
    except ValueError:
        raise InputError(f"red-line file {path}, line {zone_line}: the zone (带号) must be a number, "
                         f"got {zone_text!r}") from None
    if not width_text:  # zone numbers of 3° (25–45) and 6° (13–23) zones do not overlap
        if zone is None:
            raise InputError(f"red-line file {path}: the header gives neither the zone width (几度分带=3 or 6) "
                             "nor the zone (带号)")
        width = 3 if zone >= 25 else 6
    elif width_text in ("3", "6"):
        width = int(width_text)
    else:
        raise InputError(f"red-line file {path}, line {width_line}: zone width (几度分带) must be 3 or 6, "
                         f"got {width_text!r}")
    try:
        return gauss_kruger(datum, width, zone)
    except InputError as exc:
        raise InputError(f"red-line file {path}: {exc}") from None


def _parcel_geometry(parcel: dict, path: Path):
    """A parcel's geometry from its vertices, by ring; notes on rings closed or counted differently."""
    notes = []
    vertices = parcel["vertices"]
    if not vertices:
        raise InputError(f"red-line file {path}, line {parcel['line']}: parcel without coordinates")
    rings: dict[int, list] = {}
    for ring, e, n, _ in vertices:
        rings.setdefault(ring, []).append((e, n))
    cells = parcel["cells"]
    declared = pd.to_numeric(cells[0], errors="coerce")
    if pd.notna(declared) and int(declared) != len(vertices):
        notes.append(f"the parcel line says {int(declared)} points, the file lists {len(vertices)}")
    shape = _SHAPES.get(cells[4] if len(cells) > 4 else "面", 2)
    if shape == 0:
        return shapely.multipoints([v[1:3] for v in vertices]), notes
    if shape == 1:
        return shapely.multilinestrings([np.array(r) for r in rings.values()]), notes
    polygons = []
    declared_ha = pd.to_numeric(cells[1], errors="coerce") if len(cells) > 1 else np.nan
    for number, coords in rings.items():
        coords = np.array(coords)
        if len(coords) and not np.array_equal(coords[0], coords[-1]):
            notes.append(f"ring {number} was not closed; closed it by repeating its first point")
            coords = np.vstack([coords, coords[:1]])
        if len(coords) < 4:
            raise InputError(f"red-line file {path}, line {parcel['line']}: ring {number} has fewer than "
                             "3 distinct points")
        polygons.append(shapely.Polygon(coords))
    geom = assemble(np.array(polygons, dtype=object))
    computed_ha = geom.area / 10_000 if geom.is_valid else np.nan  # plane area: within 0.1% of the true area
    if declared_ha > 0 and np.isfinite(computed_ha) and abs(computed_ha - declared_ha) > 0.01 * declared_ha:
        notes.append(f"the parcel line declares {declared_ha:g} ha, the coordinates give {computed_ha:.4f} ha: "
                     "check the point order, the zone and the units")
    return geom, notes


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"site file {path}: neither UTF-8 nor GBK text")


# ---- checks and conversion ---------------------------------------------------------

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


def to_webmap(geoms: np.ndarray, system: str) -> np.ndarray:
    """CGCS2000 (≈ WGS84) lon/lat geometries in a web-map system (``gcj02`` or ``bd09``)."""
    return shapely.transform(np.asarray(geoms, dtype=object),
                             functools.partial(webmap.from_wgs84, system), interleaved=False)


def output_system(value, fmt: str) -> str | None:
    """The web-map system geometries are written in (None: CGCS2000 lon/lat), checked against the format."""
    if value is None:
        return None
    key = str(value).strip().lower().replace("-", "")
    if key in ("cgcs2000", "wgs84", "4490", "epsg:4490", "4326", "epsg:4326"):
        return None
    if key not in webmap.SYSTEMS:
        raise InputError(f"output CRS {value!r}: use gcj02 or bd09 (web maps), or cgcs2000 (the default)")
    if fmt in ("gpkg", "parquet"):
        raise InputError(f"output CRS {value}: a .{fmt} file declares its CRS and {key} has no EPSG code; "
                         "write .geojson, .geojsons or .csv for web maps")
    return key


def site_geometry(*, lon=None, lat=None, site=None, crs=None, engine: str = DEFAULT_ENGINE):
    """One site as a valid shapely geometry in CGCS2000 lon/lat, for a single check.

    Like :func:`read_site`, with its notes issued as :class:`DataWarning`.
    """
    geom, notes, _ = read_site(lon=lon, lat=lat, site=site, crs=crs, engine=engine)
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=2)
    return geom


def read_site(*, lon=None, lat=None, site=None, crs=None, engine: str = DEFAULT_ENGINE):
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
        elif Path(text).suffix.lower() in SITE_FORMATS and not Path(text).exists():
            raise InputError(f"site file {text}: no such file")
        elif Path(text).suffix and Path(text).exists():
            layer = read_site_layer(site, engine=engine)
            notes += layer.notes
            if len(layer.geometry) == 0:
                raise InputError(f"site file {site} has no features" + (f" ({'; '.join(notes)})" if notes else ""))
            if layer.source is None and source is None:
                raise InputError(f"site file {site} does not say its CRS; give --crs (an EPSG code, "
                                 "or e.g. cgcs2000-3 for Gauss-Krüger coordinates)")
            if source is not None and layer.source is not None and layer.source.label != source.label:
                notes.append(f"--crs {crs} used instead of the file's own {layer.source.label}")
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
