"""Issue-2 timings: `zoning check` end to end, and 10,000 registry projects via the API.

Run from the repository root with the package installed:
    python bench/time_check.py
Prints the median of 5 CLI runs and the API time for 10,000 projects made by
resampling the sample registry (jittered within ~1 km).
"""

import statistics
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning import Engine, sample

CMD = [sys.executable, "-m", "zoning", "check", "--lon", "115.97", "--lat", "38.93", "--industry", "C2614",
       "--type", "new", "--emission", "VOCs=12.5", "--emission", "NOx=3", "--format", "json"]


def main():
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(CMD, check=True, capture_output=True)
        runs.append(time.perf_counter() - t)
    print(f"zoning check end to end: median {statistics.median(runs):.2f} s over 5 runs "
          f"(min {min(runs):.2f}, max {max(runs):.2f})")

    registry = pd.read_csv(sample.registry_path())
    rng = np.random.default_rng(0)
    big = registry.sample(10_000, replace=True, random_state=0).reset_index(drop=True)
    big["lon"] += rng.normal(0, 0.01, len(big))
    big["lat"] += rng.normal(0, 0.01, len(big))
    frame = gpd.GeoDataFrame(big.drop(columns=["lon", "lat"]),
                             geometry=gpd.points_from_xy(big["lon"], big["lat"]), crs=4490)
    t = time.perf_counter()
    engine = Engine.load()
    load = time.perf_counter() - t
    t = time.perf_counter()
    out = engine.check_many(frame)
    run = time.perf_counter() - t
    print(f"API: Engine.load() {load:.2f} s; check_many(10,000 projects) {run:.2f} s")
    print(out["verdict"].value_counts().to_string())


if __name__ == "__main__":
    main()
