"""Issue-3 benchmark: screening a national-scale registry, against the raw geopandas join.

Make the data first (synthetic: ~40,000 units, 1,000,000 points):
    python bench/make_national.py /tmp/national
then, from the repository root with the package installed:
    python bench/screen_national.py /tmp/national [--registry registry.gpkg] [--output screened.csv]

Prints, measured in this one run:
- engine load time (units + lists, compiled);
- screening time split into prepare (building the units' point-in-polygon
  indexes, once per engine) / read (parse, normalise) / assign (spatial join to
  units and zones) / evaluate (clause conditions, verdicts, each project's
  clause ids) / format (the text columns: unit codes, clause ids, reasons) /
  write, and peak memory
  (the process's maximum resident set size, measured before the baseline runs);
- the baseline: ``geopandas.sjoin(points, units, predicate="within")`` on the
  same points and polygons as read from the files (read time excluded), and
  for reference ``predicate="intersects"`` and a per-point Python loop on a
  sample, extrapolated;
- the ratios (assign + evaluate) ÷ sjoin and full screening ÷ sjoin;
- with ``--expressions F`` (default 0.1): the same registry screened again with a
  fraction F of the clauses rewritten in the newer rule language, each numeric
  comparison ``{attr: X, gt: V}`` becoming ``expr: "X > V"`` or ``expr: "X >
  $p_N"`` with a parameter table by unit type giving V (a chosen clause without
  a comparison gets ``expr: "$p_N >= 0"``, always true): the same decisions, so
  the verdicts must agree; prints evaluate time per million rows for both and
  their ratio.
Targets from issue 3: (assign + evaluate) ≤ 1.5 × the join; peak memory ≤ 4 GB.
Issue 15: evaluate time with expressions and parameters within 20% of the plain clauses.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
import yaml

from zoning import Engine
from zoning.screening import screen


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="directory written by bench/make_national.py")
    parser.add_argument("--registry", default="registry.csv", help="registry file inside DATA")
    parser.add_argument("--output", default="screened.csv", help="output file name (format from extension)")
    parser.add_argument("--chunk-size", type=int, default=250_000)
    parser.add_argument("--loop-sample", type=int, default=2_000, help="points for the naive-loop estimate")
    parser.add_argument("--expressions", type=float, default=0.1,
                        help="share of clauses rewritten as expressions and parameters (0: skip)")
    args = parser.parse_args()

    t = time.perf_counter()
    engine = Engine.load(args.data / "units.gpkg", [args.data / "rules"])
    load = time.perf_counter() - t
    units = engine.units
    vertices = shapely.get_num_coordinates(units.geometry.to_numpy())
    print(f"units: {len(units):,} (median {np.median(vertices):.0f} vertices, max {vertices.max():,}); "
          f"clauses: {len(engine.rules.clauses):,}; mean clauses per unit "
          f"{np.diff(engine.rules.unit_offsets).mean():.1f}")
    print(f"engine load: {load:.2f} s; peak memory so far {peak_rss_gb():.2f} GB")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / args.output
        t = time.perf_counter()
        summary = screen(engine, args.data / args.registry, out, chunk_size=args.chunk_size)
        total = time.perf_counter() - t
        size = out.stat().st_size
        # a second registry screened with the same engine: the units' prepared indexes already exist
        t = time.perf_counter()
        again = screen(engine, args.data / args.registry, out, chunk_size=args.chunk_size)
        second = time.perf_counter() - t
    peak = peak_rss_gb()
    tm = summary.timings
    print(f"screened {summary.rows:,} rows ({args.registry} → {args.output}, {size / 1e6:,.0f} MB) in {total:.2f} s: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in tm.items()))
    print("verdicts: " + ", ".join(f"{k} {v:,}" for k, v in summary.verdicts.most_common()))
    tm2 = again.timings
    print(f"second run, same engine: {second:.2f} s: " + ", ".join(f"{k} {v:,.2f} s" for k, v in tm2.items()))
    print(f"peak memory (screening, after load): {peak:.2f} GB")

    points = pyogrio.read_dataframe(args.data / "registry.gpkg", use_arrow=True, columns=[])
    polygons = pyogrio.read_dataframe(args.data / "units.gpkg", use_arrow=True, columns=["HJZHGKDYBM"])
    t = time.perf_counter()
    joined = gpd.sjoin(points, polygons, predicate="within", how="inner")
    within = time.perf_counter() - t
    print(f"baseline geopandas.sjoin(predicate='within'), units as read: {within:.2f} s ({len(joined):,} pairs)")
    t = time.perf_counter()
    gpd.sjoin(points, polygons, predicate="intersects", how="inner")
    intersects = time.perf_counter() - t
    print(f"reference geopandas.sjoin(predicate='intersects'): {intersects:.2f} s ({intersects / within:.1f}× within)")

    sample = points.geometry.to_numpy()[: args.loop_sample]
    polys = polygons.geometry.to_numpy()
    t = time.perf_counter()
    for p in sample:  # the naive way: every point against every polygon's prepared test
        shapely.contains(polys, p)
    loop = (time.perf_counter() - t) * len(points) / len(sample)
    print(f"reference naive per-point loop (extrapolated from {len(sample):,} points): {loop:.1f} s")

    core = tm["assign"] + tm["evaluate"]
    core2 = tm2["assign"] + tm2["evaluate"]
    print(f"ratio (assign + evaluate) / sjoin within: first run {core / within:.2f}, "
          f"second run {core2 / within:.2f} (target ≤ 1.5)")
    print(f"ratio (prepare + assign + evaluate) / sjoin within: first run "
          f"{(core + tm['prepare']) / within:.2f} (prepare: the units' point-in-polygon indexes, built once "
          "per engine)")
    print(f"ratio (assign + evaluate + format) / sjoin within: first run "
          f"{(core + tm['format']) / within:.2f}, second run {(core2 + tm2['format']) / within:.2f}")
    print(f"ratio full screening / sjoin within: {total / within:.2f}")
    print(f"ratio naive loop / full screening: {loop / total:.1f}")
    print(f"peak memory {peak:.2f} GB (target ≤ 4 GB)")
    if args.expressions > 0:
        compare_expressions(args, summary, again)


_OPS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def rewrite_rules(source: Path, target: Path, share: float) -> tuple[int, int]:
    """Copy the rule set, rewriting ``share`` of its clauses: each numeric comparison node of a chosen
    clause becomes an expression, alternately against the constant and against a parameter (a table by
    unit type holding the same value). Returns (clauses rewritten, clauses)."""
    shutil.copytree(source, target)
    tables, rewritten, total = [], 0, 0
    step = max(1, round(1 / share))
    for path in sorted(target.rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for clause in data.get("clauses", []):
            total += 1
            if total % step:
                continue

            def convert(node):
                if isinstance(node, list):
                    return [convert(n) for n in node]
                if isinstance(node, dict) and "attr" in node and len(node) == 2:
                    (op, value), = [(k, v) for k, v in node.items() if k != "attr"]
                    if op in _OPS and isinstance(value, (int, float)):
                        if len(tables) % 2:
                            return {"expr": f"{node['attr']} {_OPS[op]} {value}"}
                        name = f"p_{len(tables)}"
                        tables.append({"name": name, "by": "unit_type", "values": {t: value for t in ("1", "2", "3")},
                                       "source": {"document": "synthetic", "issuer": "bench", "date": "2021-01-01",
                                                  "article": name}})
                        return {"expr": f"{node['attr']} {_OPS[op]} ${name}"}
                if isinstance(node, dict):
                    return {k: convert(v) for k, v in node.items()}
                return node

            before = yaml.safe_dump(clause.get("conditions"))
            clause["conditions"] = convert(clause.get("conditions"))
            if yaml.safe_dump(clause["conditions"]) == before:  # no comparison to rewrite: add a parameter test
                name = f"p_{len(tables)}"                        # that always holds, so verdicts stay the same
                tables.append({"name": name, "by": "unit_type", "values": {t: 0 for t in ("1", "2", "3")},
                               "source": {"document": "synthetic", "issuer": "bench", "date": "2021-01-01",
                                          "article": name}})
                test = {"expr": f"${name} >= 0"}
                original = clause.get("conditions")
                clause["conditions"] = ([test] if original is None else [*original, test] if isinstance(original, list)
                                        else {"all": [original, test]})
            rewritten += 1
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (target / "bench.parameters.yaml").write_text(yaml.safe_dump({"parameters": tables}), encoding="utf-8")
    return rewritten, total


def compare_expressions(args, plain_first, plain_second) -> None:
    """Screen the registry again with a share of the clauses rewritten (see :func:`rewrite_rules`)."""
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules"
        rewritten, total = rewrite_rules(args.data / "rules", rules, args.expressions)
        engine = Engine.load(args.data / "units.gpkg", [rules])
        out = Path(tmp) / args.output
        first = screen(engine, args.data / args.registry, out, chunk_size=args.chunk_size)
        second = screen(engine, args.data / args.registry, out, chunk_size=args.chunk_size)
    per_million = 1e6 / plain_first.rows
    print(f"rule language: {rewritten:,} of {total:,} clauses rewritten with expressions and parameters")
    for label, plain, rewritten_run in (("first run", plain_first, first), ("second run", plain_second, second)):
        a, b = plain.timings["evaluate"] * per_million, rewritten_run.timings["evaluate"] * per_million
        print(f"evaluate per million rows, {label}: plain clauses {a:.2f} s, with expressions and parameters "
              f"{b:.2f} s (ratio {b / a:.2f}; target ≤ 1.2)")
    same = first.verdicts == plain_first.verdicts and first.worst == plain_first.worst
    print(f"verdicts and worst cases identical to the plain clauses: {same}")


if __name__ == "__main__":
    main()
