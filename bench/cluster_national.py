"""Issue-19 benchmark: screening a national registry in one process and on a local Dask cluster, and an
estimate for 40 million rows on 8 and 32 workers.

Make the data first (synthetic: ~40,000 units, 1,000,000 points):
    python bench/make_national.py /tmp/national
then, from the repository root with the package and its dask extra installed:
    python bench/cluster_national.py [/tmp/national/registry.csv] [--workers 2] [--chunk-size 250000]

Measures, in this one run (units and rules/ beside the registry):
- one process (:class:`zoning.chunks.LocalRunner`) and ``--workers N`` (a ``LocalCluster`` of N processes
  of one thread; its start-up timed apart), whole runs to a CSV, and that the two outputs are byte-identical;
- the engine's transfer: its pickled size, the time to install it on every worker (a worker plugin: sent,
  unpickled and warmed on each), and the time a worker takes to unpickle and warm it (measured here);
- per part: the time a worker took (mean, max) and the bytes of one part's result (one part screened here
  and pickled, as it travels back);
- the driver: rows per second written (the writer's time) and taken back (results received and cut into
  the chunks one process writes).

Estimate, for R = 40,000,000 rows on W = 8 and 32 workers, from those measurements (simulated, not run):
    send    = engine bytes × W ÷ the transfer rate measured (the scheduler sends each worker its copy of the
              engine's worker plugin) + the unpickle-and-warm time (on every worker at once)
    compute = ceil(parts ÷ W) × the mean part time, parts = ceil(R ÷ rows per part)
    driver  = R × the driver's seconds per row (writing, taking results back)
    makespan ≈ send + max(compute, driver) + one part's time (the driver writes while workers compute:
               the slower of the two bounds the run; the first part must be done before anything is written)
The larger of compute and driver is the term that dominates, and is printed. Caveats: measured on this
machine, whose cores the driver and the workers share (part times are inflated when workers outnumber free
cores), and with the cluster on 127.0.0.1 (a real network's rate is lower; the engine's transfer grows with W).
"""

from __future__ import annotations

import argparse
import filecmp
import math
import pickle
import statistics
import tempfile
import time
from pathlib import Path

from zoning import Engine
from zoning.chunks import ChunkPlan
from zoning.cluster import DaskRunner, dask_client
from zoning.cluster.partitions import plan_parts
from zoning.cluster.work import Reading, Shipped, screen_part
from zoning.evaluate.summary import RESULT_COLUMNS
from zoning.screening import ProjectReader, screen

ROWS = 40_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", nargs="?", type=Path, default=Path("/tmp/national/registry.csv"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=250_000)
    parser.add_argument("--part-rows", type=int, default=None, help="rows per part (default: the chunk size, "
                        "or fewer so that each worker gets two)")
    args = parser.parse_args()
    data = args.registry.parent
    print(f"registry {args.registry}; units and rules from {data}")
    started = time.perf_counter()
    engine = Engine.load(data / "units.gpkg", data / "rules")
    print(f"engine loaded in {time.perf_counter() - started:.1f} s")
    out = Path(tempfile.mkdtemp(prefix="zoning-cluster-bench-"))

    (out / "one").mkdir()
    (out / "dask").mkdir()
    started = time.perf_counter()
    one = screen(engine, args.registry, out / "one" / "screened.csv", chunk_size=args.chunk_size)
    single = time.perf_counter() - started
    rows = one.rows
    print(f"one process: {rows:,} rows in {single:.1f} s ({rows / single:,.0f} rows/s); "
          + ", ".join(f"{k} {v:.1f}" for k, v in one.timings.items()))

    started = time.perf_counter()
    shipped = Shipped.of(engine)
    pickled = time.perf_counter() - started
    started = time.perf_counter()
    here = Shipped(shipped.payload)
    here.engine()
    unpickle = time.perf_counter() - started
    print(f"engine: {shipped.size / 2**20:,.1f} MB pickled (in {pickled:.1f} s); unpickled and warmed in "
          f"{unpickle:.1f} s")

    started = time.perf_counter()
    with dask_client(workers=args.workers, quiet_logs=True) as client:
        up = time.perf_counter() - started
        runner = DaskRunner(client, rows=args.part_rows)
        started = time.perf_counter()
        two = screen(engine, args.registry, out / "dask" / "screened.csv", chunk_size=args.chunk_size, runner=runner)
        clustered = time.perf_counter() - started
    same = filecmp.cmp(out / "one" / "screened.csv", out / "dask" / "screened.csv", shallow=False)
    send = two.timings.get("send engine", 0.0)
    print(f"--workers {args.workers}: cluster up in {up:.1f} s; {two.rows:,} rows in {clustered:.1f} s "
          f"({two.rows / clustered:,.0f} rows/s; {single / clustered:.2f}× one process); output byte-identical: "
          f"{same}")
    print(f"  {runner.note()}")
    transfer = max(send - unpickle, 1e-3)  # the plugin's registration waits for every worker's unpickling too
    print(f"  engine installed on {runner.workers} workers in {send:.1f} s (sent, unpickled and warmed on each; "
          f"transfer about {runner.engine_bytes * runner.workers / transfer / 2**20:,.0f} MB/s)")
    parts = runner.part_seconds
    per_part = rows / max(runner.parts, 1)
    print(f"  parts: {runner.parts} of ~{per_part:,.0f} rows; worker time per part mean {statistics.mean(parts):.2f} s,"
          f" max {max(parts):.2f} s ({per_part / statistics.mean(parts):,.0f} rows/s per worker)")

    reader = ProjectReader(args.registry, chunk_size=args.chunk_size, vocabulary=engine.vocabulary)
    planned = plan_parts(reader.registry, args.chunk_size, runner.workers, args.part_rows) or []
    plan = ChunkPlan({c: c for c in RESULT_COLUMNS}, keep_inputs=False)
    done = screen_part(here.token, plan, Reading(reader.colmap, reader.source, args.chunk_size),
                       planned[0])
    result_bytes = len(pickle.dumps(done, protocol=5))
    print(f"  one part's result: {result_bytes / 2**20:,.1f} MB for {done.records:,} rows "
          f"({result_bytes / max(done.records, 1):,.0f} bytes/row)")
    driver = (two.timings.get("write", 0.0) + runner.driver_seconds) / rows
    print(f"  driver: writing {two.timings.get('write', 0.0):.1f} s, taking results back {runner.driver_seconds:.1f} s"
          f" (of which fetching them from the workers {runner.fetch_seconds:.1f} s) → {1 / driver:,.0f} rows/s")

    print(f"\nestimate for {ROWS:,} rows (simulated from the measurements above; method in this script's doc):")
    rate = runner.engine_bytes * runner.workers / transfer
    mean = statistics.mean(parts)
    for workers in (8, 32):
        n_parts = math.ceil(ROWS / per_part)
        t_send = runner.engine_bytes * workers / rate + unpickle
        t_compute = math.ceil(n_parts / workers) * mean
        t_driver = ROWS * driver
        makespan = t_send + max(t_compute, t_driver) + mean
        bound = "the workers' compute" if t_compute >= t_driver else "the driver (writing, taking results back)"
        print(f"  {workers:>2} workers: send engine {t_send:,.0f} s + max(compute {t_compute:,.0f} s, "
              f"driver {t_driver:,.0f} s) + one part {mean:.0f} s ≈ {makespan / 60:,.1f} min; dominated by {bound}")
    print(f"  (one process, at the rate measured: {ROWS / (rows / single) / 60:,.1f} min)")
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
