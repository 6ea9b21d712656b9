"""Issue-19 benchmark: loading a 40,000-unit layer's engine, ``Engine.load`` + ``Engine.warm``, cold and warm.

From the repository root with the package installed:
    python bench/engine_load.py [/tmp/national] [-n 3]

Loads ``units.gpkg`` and ``rules/`` of the directory (made by
``bench/make_national.py``) in a fresh process each time, ``n`` times each:
cold, a cache miss (an empty cache directory of the benchmark's own: the files
are read, the engine built and stored), then warm, a cache hit (the OS file
cache warm too). Prints the median seconds of each and the split: checking the
files (stat, and hashing those whose stat changed), reading and verifying the
entry, unpickling, and on a miss reading the units, the YAML lists, compiling
and storing; then ``warm()``, the polygon indexes screening builds first. Both
by the clock and in CPU time (the latter less affected by other work on the
machine). Target (issue 19): load + warm of the warm run ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, sys, time
wall, cpu = time.perf_counter, time.process_time
import zoning.engine as engine_module
from zoning import Engine, engine_cache
split = {}

def timed(name, f):
    def wrapper(*args, **kwargs):
        begun = wall()
        try:
            return f(*args, **kwargs)
        finally:
            split[name] = split.get(name, 0.0) + wall() - begun
    return wrapper

for name, label in (("load_units", "units read"), ("load_lists", "YAML lists"), ("load_vocabulary", "YAML lists"),
                    ("load_parameters", "YAML lists"), ("compile_rules", "compile")):
    setattr(engine_module, name, timed(label, getattr(engine_module, name)))
w0, c0 = wall(), cpu()
engine = Engine.load(units=sys.argv[1], rules=sys.argv[2])
w1, c1 = wall(), cpu()
engine.warm()
w2, c2 = wall(), cpu()
split.update({k: v for k, v in engine_cache.last.items() if isinstance(v, float)})
print(json.dumps({"result": engine_cache.last.get("result"), "load": w1 - w0, "warm": w2 - w1,
                  "load_cpu": c1 - c0, "warm_cpu": c2 - c1, "split": split}))
"""


def run(folder: Path, cache: str) -> dict:
    env = {**os.environ, "ZONING_CACHE_DIR": cache}
    env.pop("ZONING_NO_CACHE", None)
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder / "units.gpkg"), str(folder / "rules")],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(name: str, runs: list[dict]) -> float:
    total = median([{"t": r["load"] + r["warm"]} for r in runs], "t")
    print(f"{name}: load {median(runs, 'load'):.2f} s + warm {median(runs, 'warm'):.2f} s = {total:.2f} s "
          f"(CPU: load {median(runs, 'load_cpu'):.2f} s, warm {median(runs, 'warm_cpu'):.2f} s; "
          f"{', '.join(sorted({r['result'] for r in runs}))})")
    parts = sorted({k for r in runs for k in r["split"]})
    print("   split (median s): " + ", ".join(
        f"{k} {statistics.median(r['split'].get(k, 0.0) for r in runs):.2f}" for k in parts))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="/tmp/national", type=Path)
    parser.add_argument("-n", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zoning-bench-cache-") as scratch:
        cold = []
        for i in range(args.n):  # a new empty cache each time: a miss
            cold.append(run(args.folder, str(Path(scratch) / f"cold-{i}")))
        warm = [run(args.folder, str(Path(scratch) / "cold-0")) for _ in range(args.n)]
        report("cold (cache miss)", cold)
        total = report("warm (cache hit)", warm)
    print(f"target (warm load + warm() <= 1 s): {'met' if total <= 1.0 else 'NOT met'} ({total:.2f} s)")


if __name__ == "__main__":
    main()
