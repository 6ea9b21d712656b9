"""Site files as users bring them: WKT, GeoJSON/Shapefile/GeoPackage, KML and DXF.

Each reader returns a :class:`SiteLayer`: the features' attributes, their
geometries in the file's own coordinates, the CRS the file states (None
when it states none) and notes on what was read or left out:

* WKT, given as a ``.wkt`` file (one geometry, or one per line): lon/lat
  unless a CRS is given, like WKT given inline;
* GeoJSON, Shapefile, GeoPackage: every feature of the (first) layer, read
  with the chosen I/O engine;
* KML: every placemark of every folder (WGS84);
* DXF: closed polylines become polygons, a closed polyline inside another
  a hole (even-odd nesting, :func:`assemble`); open polylines stay lines,
  with a note; text and points are left out, with a note. A DXF has no CRS.

The land red-line coordinate file is read by :mod:`zoning.inputs.redline`;
:func:`zoning.inputs.sites.read_site_layer` chooses the reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from zoning.errors import DataError, InputError
from zoning.inputs.crs import LONLAT, SourceCRS, parse_crs
from zoning.inputs.vector import DEFAULT_IO_ENGINE, read_vector

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


def read_wkt_file(path: Path) -> SiteLayer:
    """A text file of WKT: one geometry, or one per non-blank line."""
    text = decode_text(path.read_bytes(), path)
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
    # WKT carries no CRS: like WKT given inline, it is lon/lat unless a CRS is given
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


def read_dxf(path: Path, *, io_engine: str = DEFAULT_IO_ENGINE) -> SiteLayer:
    """A CAD drawing: closed polylines as polygons (nested ones as holes), open ones as lines.

    Entities are grouped by CAD layer: each layer's closed polylines are
    assembled together, so a hole drawn on the boundary's layer cuts it.
    """
    frame = read_vector(path, io_engine=io_engine, what="site file")
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


def assemble(polygons: np.ndarray) -> shapely.Geometry:
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



def decode_text(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"site file {path}: neither UTF-8 nor GBK text")
