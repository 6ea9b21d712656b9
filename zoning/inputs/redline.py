"""The land red-line coordinate file (界址点坐标 TXT), as land and resources departments issue it.

A ``[属性描述]`` header names the datum (坐标系), zone width (几度分带) and
zone (带号); then, under ``[地块坐标]``, each parcel has a line ending in
``@`` and one ``point,ring,X,Y`` line per vertex (X northing, Y easting).
Ring 1 is the boundary, further rings are holes or more parts. UTF-8 or GBK.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from zoning.errors import InputError
from zoning.inputs.crs import SourceCRS, gauss_kruger
from zoning.inputs.sitefiles import SiteLayer, assemble, decode_text

_DATUM_WORDS = (("2000", "cgcs2000"), ("cgcs", "cgcs2000"), ("西安", "xian80"), ("xian", "xian80"),
                ("80", "xian80"), ("北京", "beijing54"), ("beijing", "beijing54"), ("54", "beijing54"))
_SHAPES = {"面": 2, "线": 1, "点": 0}


def read_red_line(path: Path) -> SiteLayer:
    """A land red-line coordinate file: one feature per parcel, in its stated Gauss-Krüger zone."""
    text = unicodedata.normalize("NFKC", decode_text(path.read_bytes(), path))  # full-width digits, commas
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
    for number, ring in rings.items():
        coords = np.array(ring)
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
