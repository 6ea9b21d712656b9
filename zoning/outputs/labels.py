"""Map labels placed without overlapping: inside polygons, along lines, beside points.

A :class:`Labeller` belongs to one map axes whose data coordinates are metres
(the frame of :mod:`zoning.outputs.maps`). It estimates each label's box from
its text and font size (CJK characters one em wide, others 0.6 em; labels on a
line take the box around the rotated text) and keeps the boxes it has placed:
a label goes at the first candidate position whose box lies inside the frame
and clear of every box placed (or reserved, e.g. for the north arrow) before
it, so whatever is labelled first wins. Labels are drawn with a white halo.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

#: a polygon label is placed where at least this share of its box lies inside the polygon
_INSIDE = 0.85


def text_width_em(text: str) -> float:
    """The width of ``text`` in ems: CJK and full-width characters 1, others 0.6."""
    return sum(1.0 if ord(ch) >= 0x2E80 else 0.6 for ch in text)


class Labeller:
    """Places labels on ``ax`` inside ``frame`` (x0, y0, x1, y1, in data units) without overlaps."""

    def __init__(self, ax, frame):
        self.ax = ax
        self.frame = frame
        position = ax.get_position()
        width_pt = position.width * ax.figure.get_figwidth() * 72
        self.unit = (frame[2] - frame[0]) / width_pt  # data units per point
        self.boxes: list[tuple[float, float, float, float]] = []

    def reserve_fraction(self, fx0: float, fy0: float, fx1: float, fy1: float) -> None:
        """Keep labels out of a part of the frame given in axes fractions (map furniture)."""
        x0, y0, x1, y1 = self.frame
        w, h = x1 - x0, y1 - y0
        self.boxes.append((x0 + fx0 * w, y0 + fy0 * h, x0 + fx1 * w, y0 + fy1 * h))

    def reserve(self, geom, pad_pt: float = 0.0) -> None:
        """Keep labels off ``geom``'s bounds (plus ``pad_pt`` points), e.g. the site's marker."""
        x0, y0, x1, y1 = shapely.bounds(geom)
        pad = pad_pt * self.unit
        self.boxes.append((x0 - pad, y0 - pad, x1 + pad, y1 + pad))

    def box(self, text: str, size: float, x: float, y: float, rotation: float = 0.0, ha: str = "center",
            pad_pt: float = 1.5) -> tuple[float, float, float, float]:
        """The box ``text`` at ``size`` points takes at (x, y), aligned ``ha`` (center, left or right)."""
        w = (text_width_em(text) * size + 2 * pad_pt) * self.unit
        h = (1.25 * size + 2 * pad_pt) * self.unit
        if ha == "left":
            x += w / 2
        elif ha == "right":
            x -= w / 2
        a = math.radians(rotation)
        half_w = (abs(math.cos(a)) * w + abs(math.sin(a)) * h) / 2
        half_h = (abs(math.sin(a)) * w + abs(math.cos(a)) * h) / 2
        return x - half_w, y - half_h, x + half_w, y + half_h

    def free(self, box) -> bool:
        """Whether ``box`` lies in the frame and clear of every label placed."""
        x0, y0, x1, y1 = self.frame
        if box[0] < x0 or box[1] < y0 or box[2] > x1 or box[3] > y1:
            return False
        return not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in self.boxes)

    def place(self, text: str, candidates, size: float, *, force: bool = False, halo: float = 2.2,
              zorder: float = 6, **style):
        """Draw ``text`` at the first free candidate (x, y, rotation, ha); with ``force``, at the first
        candidate when none is free. Returns the matplotlib Text, or None when not placed."""
        from matplotlib import patheffects

        candidates = list(candidates)
        chosen = next((c for c in candidates if self.free(self.box(text, size, *c))), None)
        if chosen is None:
            if not (force and candidates):
                return None
            chosen = next((c for c in self._around(text, size, candidates[0])
                           if self.free(self.box(text, size, *c))), candidates[0])
        x, y, rotation, ha = chosen
        self.boxes.append(self.box(text, size, *chosen))
        effects = [patheffects.withStroke(linewidth=halo, foreground="white")] if halo else None
        return self.ax.annotate(text, (x, y), ha=ha, va="center", rotation=rotation, rotation_mode="anchor",
                                fontsize=size, path_effects=effects, annotation_clip=False, zorder=zorder,
                                **style)

    # -- candidates for a geometry -------------------------------------------------------------

    def inside(self, piece, text: str, size: float, avoid=None) -> list:
        """Positions inside polygon ``piece`` where ``text`` fits (mostly) inside it, best first:
        a point well inside it, then points around that one and along its width."""
        inner = shapely.buffer(piece, -self._height(size) * 1.5)
        if avoid is not None:
            inner = shapely.difference(inner, avoid)
        if shapely.is_empty(inner):
            return []
        centre = shapely.point_on_surface(inner)
        x0, y0, x1, y1 = shapely.bounds(inner)
        step = self._height(size) * 1.6
        points = [(centre.x, centre.y)]
        for k in (1, -1, 2, -2, 3, -3):
            points.append((centre.x, centre.y + k * step))
        points += [(x, centre.y) for x in np.linspace(x0, x1, 7)[1:-1]]
        out = []
        for x, y in points:
            box = shapely.box(*self.box(text, size, x, y))
            if shapely.intersects_xy(inner, x, y) and shapely.area(shapely.intersection(box, piece)) \
                    >= _INSIDE * shapely.area(box):
                out.append((x, y, 0.0, "center"))
        return out

    def along(self, line, text: str, size: float) -> list:
        """Positions along ``line`` (its longest part) where ``text`` is no longer than the line,
        rotated to the line's direction and kept upright, best first from its middle outwards."""
        parts = shapely.get_parts(line)
        part = parts[int(np.argmax(shapely.length(parts)))]
        length = shapely.length(part)
        span = (text_width_em(text) * size + 3) * self.unit
        if length < span:
            return []
        out = []
        for share in (0.5, 0.35, 0.65, 0.2, 0.8):
            at = share * length
            if at - span / 2 < 0 or at + span / 2 > length:
                continue
            a = shapely.line_interpolate_point(part, at - span / 2)
            b = shapely.line_interpolate_point(part, at + span / 2)
            mid = shapely.line_interpolate_point(part, at)
            angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
            if angle > 90:
                angle -= 180
            elif angle < -90:
                angle += 180
            out.append((mid.x, mid.y, angle, "center"))
        return out

    def beside(self, point, size: float, marker_pt: float = 4.0) -> list:
        """Positions beside ``point``: right, left, above, below."""
        gap = marker_pt * self.unit
        h = self._height(size)
        x, y = point.x, point.y
        return [(x + gap, y, 0.0, "left"), (x - gap, y, 0.0, "right"), (x, y + gap + h / 2, 0.0, "center"),
                (x, y - gap - h / 2, 0.0, "center")]

    def candidates(self, geom, text: str, size: float, avoid=None) -> list:
        """Positions for ``text`` on ``geom`` by its dimension: inside, along or beside."""
        dims = shapely.get_dimensions(geom)
        if dims == 2:
            pieces = shapely.get_parts(geom)
            pieces = pieces[np.argsort(-shapely.area(pieces), kind="stable")]
            return [c for piece in pieces[:3] for c in self.inside(piece, text, size, avoid)]
        if dims == 1:
            return self.along(geom, text, size)
        points = shapely.get_parts(geom)
        return self.beside(points[0], size) if len(points) else []

    def _around(self, text: str, size: float, candidate):
        """Positions ever further from ``candidate``: up and down a line at a time, then to the sides."""
        x, y, rotation, ha = candidate
        box = self.box(text, size, x, y, rotation, ha)
        w, h = box[2] - box[0], box[3] - box[1]
        for ring in range(1, 6):
            for dx, dy in ((0, -ring), (0, ring), (-ring, 0), (ring, 0), (-ring, -ring), (ring, -ring),
                           (-ring, ring), (ring, ring)):
                yield x + dx * w * 0.6, y + dy * h * 1.1, rotation, ha

    def _height(self, size: float) -> float:
        return 1.25 * size * self.unit


def furniture(labeller: Labeller) -> None:
    """Keep labels off the north arrow (top right) and the scale bar (bottom right) of
    :mod:`zoning.outputs.cartography`."""
    labeller.reserve_fraction(0.86, 0.74, 1.0, 0.93)
    labeller.reserve_fraction(0.70, 0.0, 1.0, 0.11)


def label_units(labeller: Labeller, units, inside: set, site, limit: int, *, mine: bool) -> None:
    """Unit codes inside their pieces, ``site`` kept clear: with ``mine``, the site's units (codes in
    ``inside``), boxed and always placed; else the largest other units with room for a label, up to
    ``limit`` labels."""
    if not len(units):
        return
    x0, y0, x1, y1 = labeller.frame
    area = units.geometry.area.to_numpy()
    ours = units["code"].isin(inside).to_numpy()
    keep = ours if mine else ~ours & (area > (x1 - x0) * (y1 - y0) * 0.006)
    order = np.argsort(-area, kind="stable")
    avoid = shapely.buffer(site, (x1 - x0) * 0.05) if shapely.get_dimensions(site) == 0 else None
    boxed = {"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "#333333", "linewidth": 0.5,
             "alpha": 0.85}
    placed = 0
    for k in order[keep[order]]:
        if placed >= limit:
            break
        code, geom = units["code"].iat[k], units.geometry.iat[k]
        if mine:
            centre = shapely.point_on_surface(geom)
            candidates = labeller.candidates(geom, code, 6.5, avoid) + [(centre.x, centre.y, 0.0, "center")]
            labeller.place(code, candidates, 6.5, force=True, halo=0, color="#1a1a1a", bbox=boxed)
        elif labeller.place(code, labeller.candidates(geom, code, 5.5, avoid), 5.5, color="#1a1a1a") is None:
            continue
        placed += 1


def label_zones(labeller: Labeller, zones, colour: str, size: float = 5.5) -> None:
    """Overlay zones by name (their id when the name does not fit or is blank): inside polygons,
    along lines, beside points; the smallest polygons first (they have the least room), then lines."""
    if not len(zones):
        return
    dims = shapely.get_dimensions(zones.geometry.to_numpy())
    area = zones.geometry.area.to_numpy()
    length = zones.geometry.length.to_numpy()
    order = np.lexsort((np.where(dims == 2, area, -length), -dims))
    for k in order:
        geom = zones.geometry.iat[k]
        names = [str(zones["name"].iat[k] or "").strip(), str(zones["zone_id"].iat[k])] if "name" in zones \
            else [str(zones["zone_id"].iat[k])]
        for text in (t for t in names if t):
            if labeller.place(text, labeller.candidates(geom, text, size), size, color=colour) is not None:
                break
