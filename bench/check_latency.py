"""Issue-17 benchmark: the latency of one in-process check (``Engine.check``), per call.

From the repository root with the package installed:
    python bench/check_latency.py [/tmp/national] [-n 500] [--profile]

Loads the bundled sample region and, if a directory is given, the national
layer in it (``units.gpkg`` and ``rules/``, made by ``bench/make_national.py``),
warms each engine (``Engine.warm``, as a server does at start) and makes one
check, then runs ``n`` checks at random points inside units (a unit picked at
random, a point drawn inside it) with a mix of typical projects. Prints, per
layer, p50/p95/p99 milliseconds per check and checks per second, by the
clock and in CPU time (the latter unaffected by other work on the machine). Target
(issue 17): a few milliseconds per check (p50 ≤ 4 ms), leaving room for HTTP
and JSON in a service's 10 ms. ``--profile`` prints a cProfile of the run's
hottest functions instead of timing it.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from zoning import Engine

PROJECTS = [
    {"industry": "C2614", "type": "new", "emissions": {"VOCs": 12.5}},
    {"industry": "C3120", "type": "new"},
    {"industry": "A0313", "type": "new"},
    {"industry": "C2614", "type": "expansion", "emissions": {"VOCs": 3, "NOx": 2}},
    {"industry": "C3130", "type": "renovation", "emissions": {"SO2": 1.5, "particulate": 0.8}, "attributes": {
        "coal_use": 800}},
]


def random_points(units: gpd.GeoDataFrame, n: int, seed: int = 17) -> np.ndarray:
    """``n`` (lon, lat) points, each inside a unit picked at random (drawn in its bounds until inside)."""
    rng = np.random.default_rng(seed)
    geoms = units.geometry.to_numpy()
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    out = np.empty((n, 2))
    for i, u in enumerate(rng.integers(0, len(geoms), n)):
        x0, y0, x1, y1 = bounds[u]
        while True:
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if shapely.contains_xy(geoms[u], x, y):
                out[i] = x, y
                break
    return out


def run(engine: Engine, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds per check, one per point, cycling through the projects: wall-clock, and this
    thread's CPU time (what the check costs, whatever else the machine is running)."""
    wall, cpu = np.empty(len(points)), np.empty(len(points))
    for i, (lon, lat) in enumerate(points):
        project = PROJECTS[i % len(PROJECTS)]
        started, started_cpu = time.perf_counter(), time.thread_time()
        engine.check(lon=float(lon), lat=float(lat), **project)
        wall[i] = (time.perf_counter() - started) * 1000
        cpu[i] = (time.thread_time() - started_cpu) * 1000
    return wall, cpu


def bench(label: str, engine: Engine, n: int, profile: bool) -> None:
    started = time.perf_counter()
    engine.warm()
    points = random_points(engine.units, n)
    engine.check(lon=float(points[0, 0]), lat=float(points[0, 1]), **PROJECTS[0])  # first call: caches
    print(f"{label}: {len(engine.units):,} units; warm-up and first check {time.perf_counter() - started:.2f} s")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(engine, points)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return
    for kind, times in zip(("wall", "cpu"), run(engine, points)):
        p50, p95, p99 = np.percentile(times, [50, 95, 99])
        print(f"  {n} checks, {kind:4}: p50 {p50:.2f} ms, p95 {p95:.2f} ms, p99 {p99:.2f} ms, "
              f"max {times.max():.2f} ms; "
              f"{n / times.sum() * 1000:,.0f} checks/s" + ("  (target p50 <= 4 ms)" if kind == "wall" else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("national", nargs="?", type=Path, help="directory with units.gpkg and rules/")
    parser.add_argument("-n", type=int, default=500, help="checks per layer (default 500)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile instead of timings")
    args = parser.parse_args()
    started = time.perf_counter()
    sample = Engine.load()
    print(f"sample region loaded in {time.perf_counter() - started:.2f} s")
    bench("sample", sample, args.n, args.profile)
    if args.national:
        started = time.perf_counter()
        national = Engine.load(args.national / "units.gpkg", args.national / "rules")
        print(f"national layer loaded in {time.perf_counter() - started:.2f} s")
        bench("national", national, args.n, args.profile)


if __name__ == "__main__":
    main()
