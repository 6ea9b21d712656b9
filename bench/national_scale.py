"""Issue-19 benchmark: whole `zoning screen` runs at 100k, 1M and ~4M rows, against the sjoin floor.

Make the data first (synthetic, illustrative: ~40,000 units, 1,000,000 and 4,000,000 points):
    python bench/make_national.py /tmp/national
    python bench/make_national.py /tmp/national4m --points 4000000
then, from the repository root with the package installed:
    python bench/national_scale.py /tmp/national --big /tmp/national4m/registry.csv

Prints, measured in this one run:
- for each size (100k and 1M rows cut from DATA/registry.csv, the first 3.8M and all 4M rows of the
  ``--big`` registry): the whole process `zoning screen REGISTRY -o OUT.csv` (start-up, engine load,
  reading, evaluation, writing: what a user waits for), seconds per million rows, the stages as the
  run's summary reports them, and the process's peak memory (its maximum resident set size);
- the engine load alone, with the compiled-rules cache cold (when the package has one) and warm;
- the floor: ``geopandas.sjoin(points, units, predicate="within")`` on the 1M and 4M points, read
  before timing, and the ratios whole screening ÷ floor at 1M and (assign + evaluate) ÷ floor at 1M
  and 4M, assign and evaluate timed in a run that reads and writes its chunks in turn (so that the
  reading thread does not share the core being timed);
- linearity: seconds per million at 4M ÷ at 1M;
- with ``--workers N`` (when dask is installed): the 1M run again with ``--workers N``, then
  ``bench/cluster_national.py`` (one process against a local cluster of N workers, per-part times and
  transfer sizes, and the simulated estimate for 40 million rows on 8 and 32 workers, its method stated).
Targets (issue 19): 3.8M rows ≤ 25 s whole process, peak ≤ 4 GB; per-million at 4M within 10% of
1M; whole ≤ 4× floor at 1M; assign + evaluate ≤ 1.3× floor at 1M and 4M; engine load ≤ 1 s warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyogrio
import shapely


def cut(source: Path, rows: int, target: Path) -> Path:
    """The header and first ``rows`` rows of ``source`` (a CSV without quoted newlines)."""
    if target.exists():
        return target
    with open(source, "rb") as f, open(target, "wb") as out:
        for i, line in enumerate(f):
            if i > rows:
                break
            out.write(line)
    return target


def whole_run(registry: Path, data: Path, out: Path, *extra: str) -> dict:
    """``zoning screen`` as a user runs it: wall time, peak memory of the process, its summary."""
    summary = out.with_suffix(".json")
    beside = Path(sys.executable).with_name("zoning")  # the venv's, when run with its python
    program = str(beside) if beside.exists() else shutil.which("zoning") or "zoning"
    command = [program, "screen", str(registry), "--units", str(data / "units.gpkg"),
               "--rules", str(data / "rules"), "-o", str(out), "-q", "--summary-json", str(summary), *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    error = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"zoning screen failed: {error.strip()}")
    facts = json.loads(summary.read_text())
    out.unlink()
    return {"wall": wall, "peak_gb": usage.ru_maxrss / 1024**2, "rows": facts["rows"], "timings": facts["timings"],
            "cpu": usage.ru_utime + usage.ru_stime}


def engine_load(data: Path) -> float:
    """Seconds for ``Engine.load`` and ``warm`` in a fresh process (imports excluded)."""
    code = ("import time; from zoning import Engine; t = time.perf_counter(); "
            f"e = Engine.load(units={str(data / 'units.gpkg')!r}, rules={str(data / 'rules')!r}); e.warm(); "
            "print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def floor(registry: Path, units: gpd.GeoDataFrame) -> tuple[float, int]:
    """Seconds for ``geopandas.sjoin(points, units, predicate="within")`` on the registry's points."""
    table = pa_csv.read_csv(registry, convert_options=pa_csv.ConvertOptions(
        include_columns=["lon", "lat"], column_types={"lon": pa.float64(), "lat": pa.float64()}))
    points = gpd.GeoDataFrame(geometry=shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy()),
                              crs=units.crs)
    started = time.perf_counter()
    joined = gpd.sjoin(points, units, predicate="within", how="inner")
    return time.perf_counter() - started, len(joined)


def core_timings(registry: Path, data: Path) -> dict:
    """assign and evaluate seconds from an in-process run reading and writing its chunks in turn."""
    from zoning import Engine
    from zoning.chunks import LocalRunner
    from zoning.screening import screen

    engine = Engine.load(units=data / "units.gpkg", rules=data / "rules")
    engine.warm()
    with tempfile.TemporaryDirectory() as tmp:
        summary = screen(engine, registry, Path(tmp) / "out.csv", runner=LocalRunner(read_ahead=0))
    return summary.timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="directory written by bench/make_national.py (1M rows)")
    parser.add_argument("--big", type=Path, help="a 4M-row registry.csv from bench/make_national.py --points 4000000")
    parser.add_argument("--workers", type=int, default=2, help="workers for the --workers run (0: skip)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="national-scale-"))
    try:
        sizes = {"100k": cut(args.data / "registry.csv", 100_000, work / "r100k.csv"),
                 "1M": args.data / "registry.csv"}
        if args.big:
            sizes["3.8M"] = cut(args.big, 3_800_000, work / "r3800k.csv")
            sizes["4M"] = args.big
        cold = engine_load(args.data)
        warm = min(engine_load(args.data) for _ in range(2))
        print(f"engine load + warm (40k units), fresh process: first {cold:.2f} s, then {warm:.2f} s "
              f"(target ≤ 1 s warm)")
        runs = {}
        for label, registry in sizes.items():
            run = runs[label] = whole_run(registry, args.data, work / "out.csv")
            t = run["timings"]
            print(f"{label:>5}: whole process {run['wall']:6.2f} s ({run['wall'] / run['rows'] * 1e6:5.2f} s per "
                  f"million; CPU {run['cpu']:.1f} s on 2 cores), peak {run['peak_gb']:.2f} GB; stages "
                  + ", ".join(f"{k} {v:.2f}" for k, v in t.items()))
        units = pyogrio.read_dataframe(args.data / "units.gpkg", columns=[])
        floors = {label: floor(sizes[label], units) for label in ("1M", "4M") if label in sizes}
        for label, (seconds, pairs) in floors.items():
            print(f"floor geopandas.sjoin(predicate='within') at {label}: {seconds:.2f} s ({pairs:,} pairs)")
        one = runs["1M"]
        print(f"ratio whole screening / floor at 1M: {one['wall'] / floors['1M'][0]:.2f} (target ≤ 4)")
        for label in floors:
            t = core_timings(sizes[label], args.data)
            core = t["assign"] + t["evaluate"]
            print(f"ratio (assign + evaluate) / floor at {label}: {core / floors[label][0]:.2f} "
                  f"(assign {t['assign']:.2f} s, evaluate {t['evaluate']:.2f} s; target ≤ 1.3)")
        if "4M" in runs:
            per = {k: runs[k]["wall"] / runs[k]["rows"] for k in ("1M", "4M")}
            print(f"linearity: seconds per million at 4M ÷ at 1M = {per['4M'] / per['1M']:.2f} (target ≤ 1.10)")
            print(f"3.8M rows: {runs['3.8M']['wall']:.1f} s (target ≤ 25 s), peak {runs['3.8M']['peak_gb']:.2f} GB "
                  "(target ≤ 4 GB)")
        if args.workers:
            try:
                import distributed  # noqa: F401
            except ImportError:
                print("--workers: dask is not installed (pip install 'zoning[dask]'); skipped")
            else:
                run = whole_run(sizes["1M"], args.data, work / "out.csv", "--workers", str(args.workers))
                print(f"1M with --workers {args.workers}, whole process: {run['wall']:.2f} s (one process "
                      f"{one['wall']:.2f} s)")
                # the cluster's parts, transfers and the 40M estimate: bench/cluster_national.py, in this run
                subprocess.run([sys.executable, str(Path(__file__).with_name("cluster_national.py")),
                                str(sizes["1M"]), "--workers", str(args.workers)], check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
