"""Map furniture drawn in a projected frame: scale bar, north arrow, and a labelled lon/lat graticule.

Each helper draws on a matplotlib axes whose data coordinates are metres in
the map's CRS; ``back`` and ``forth`` transform between that CRS and
CGCS2000 lon/lat, so the arrow points to true north and graticule labels
sit where meridians and parallels cross the frame.
"""

from __future__ import annotations

import math

import numpy as np
from pyproj import Transformer

from zoning.outputs import fonts


def _nice(value: float, steps=(1, 2, 5)) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``value``."""
    k = 10 ** math.floor(math.log10(value))
    return max(s * k for s in steps if s * k <= value)


def scale_bar(ax, frame) -> None:
    """An alternating black and white bar about a fifth of the frame wide, labelled in m or km."""
    from matplotlib.patches import Rectangle

    width = frame[2] - frame[0]
    length = _nice(width / 5)
    height = (frame[3] - frame[1]) * 0.012
    pad = width * 0.04
    x0, y0 = frame[2] - pad - length, frame[1] + pad
    ax.add_patch(Rectangle((x0 - pad * 0.4, y0 - pad * 0.45), length + pad * 0.8, height + pad * 1.35,
                           facecolor="white", edgecolor="none", alpha=0.85, zorder=9))
    half = length / 2
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(Rectangle((x0 + i * half, y0), half, height, facecolor=colour, edgecolor="black",
                               linewidth=0.6, zorder=10))
    km = length >= 1000
    for x, v in ((x0, 0), (x0 + half, half), (x0 + length, length)):
        label = f"{v / 1000:g}" if km else f"{v:g}"
        if v == length:
            label += " km" if km else " m"
        ax.text(x, y0 + height * 1.6, label, ha="center", va="bottom", fontsize=6, zorder=10)


def north_arrow(ax, frame, back: Transformer, forth: Transformer) -> None:
    """An arrow to true north at the frame's centre (the projection's meridian convergence there);
    ``back`` and ``forth`` transform between the frame's CRS and CGCS2000 lon/lat."""
    cx, cy = (frame[0] + frame[2]) / 2, (frame[1] + frame[3]) / 2
    lon, lat = back.transform(cx, cy)
    nx, ny = forth.transform(lon, lat + 0.01)
    angle = math.atan2(nx - cx, ny - cy)  # clockwise from grid north
    bx, by, length = 0.93, 0.83, 0.09  # in axes fractions
    tip = (bx + length / 2 * math.sin(angle), by + length / 2 * math.cos(angle))
    tail = (bx - length / 2 * math.sin(angle), by - length / 2 * math.cos(angle))
    ax.annotate("", xy=tip, xytext=tail, xycoords="axes fraction",
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 3, "headwidth": 9,
                            "headlength": 10}, zorder=10)
    ax.text(tip[0] + 0.012 * math.sin(angle), tip[1] + 0.012 * math.cos(angle), "N", transform=ax.transAxes,
            ha="center", va="bottom", fontsize=9, fontweight="bold", family=fonts.LATIN_FAMILY, zorder=10)


_STEPS = [s / 3600 for s in (1, 2, 5, 10, 15, 30)] + [m / 60 for m in (1, 2, 5, 10, 15, 30)] \
    + [1.0, 2.0, 5.0, 10.0, 20.0]


def _dms(value: float, step: float, positive: str, negative: str) -> str:
    seconds = round(abs(value) * 3600)
    d, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    hemisphere = positive if value >= 0 else negative
    if step >= 1:
        return f"{d}°{hemisphere}"
    if step >= 1 / 60:
        return f"{d}°{m:02d}′{hemisphere}"
    return f"{d}°{m:02d}′{s:02d}″{hemisphere}"


def graticule(ax, frame, back: Transformer, forth: Transformer) -> None:
    """Longitude and latitude lines, faint, labelled where they cross the frame's edges
    (longitudes below and above, latitudes left and right)."""
    x0, y0, x1, y1 = frame
    edge = np.linspace(0, 1, 401)
    corners_lon, corners_lat = back.transform(np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
    lon_range = (min(corners_lon), max(corners_lon))
    lat_range = (min(corners_lat), max(corners_lat))
    lon_step = next((s for s in _STEPS if (lon_range[1] - lon_range[0]) / s <= 5), _STEPS[-1])
    lat_step = next((s for s in _STEPS if (lat_range[1] - lat_range[0]) / s <= 5), _STEPS[-1])
    lons = np.arange(math.ceil(lon_range[0] / lon_step), math.floor(lon_range[1] / lon_step) + 1) * lon_step
    lats = np.arange(math.ceil(lat_range[0] / lat_step), math.floor(lat_range[1] / lat_step) + 1) * lat_step
    sample = np.linspace(lat_range[0] - lat_step, lat_range[1] + lat_step, 200)
    for lon in lons:
        gx, gy = forth.transform(np.full_like(sample, lon), sample)
        ax.plot(gx, gy, color="#7a7a7a", linewidth=0.35, alpha=0.6, zorder=2)
    sample = np.linspace(lon_range[0] - lon_step, lon_range[1] + lon_step, 200)
    for lat in lats:
        gx, gy = forth.transform(sample, np.full_like(sample, lat))
        ax.plot(gx, gy, color="#7a7a7a", linewidth=0.35, alpha=0.6, zorder=2)

    def crossings(xs, ys, values, along):  # where each value is met along an edge, by interpolation
        lon, lat = back.transform(xs, ys)
        seen = np.asarray(lon if along == "lon" else lat)
        order = np.argsort(seen)
        pos = xs if along == "lon" else ys
        return np.interp(values, seen[order], pos[order], left=np.nan, right=np.nan)

    bottom = crossings(x0 + edge * (x1 - x0), np.full_like(edge, y0), lons, "lon")
    top = crossings(x0 + edge * (x1 - x0), np.full_like(edge, y1), lons, "lon")
    left = crossings(np.full_like(edge, x0), y0 + edge * (y1 - y0), lats, "lat")
    right = crossings(np.full_like(edge, x1), y0 + edge * (y1 - y0), lats, "lat")
    lon_labels = [_dms(v, lon_step, "E", "W") for v in lons]
    lat_labels = [_dms(v, lat_step, "N", "S") for v in lats]
    ok = ~np.isnan(bottom)
    ax.set_xticks(bottom[ok], [t for t, k in zip(lon_labels, ok) if k], fontsize=6)
    ok = ~np.isnan(left)
    ax.set_yticks(left[ok], [t for t, k in zip(lat_labels, ok) if k], fontsize=6, rotation=90, va="center")
    top_ax = ax.secondary_xaxis("top")
    ok = ~np.isnan(top)
    top_ax.set_xticks(top[ok], [t for t, k in zip(lon_labels, ok) if k], fontsize=6)
    right_ax = ax.secondary_yaxis("right")
    ok = ~np.isnan(right)
    right_ax.set_yticks(right[ok], [t for t, k in zip(lat_labels, ok) if k], fontsize=6, rotation=90,
                        va="center")
    ax.tick_params(direction="in", length=3)
