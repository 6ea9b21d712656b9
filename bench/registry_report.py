"""Issue-6 benchmark: what ``screen --report`` adds to a screening run.

Make the data first (synthetic: ~40,000 units and a registry of points):
    python bench/make_national.py /tmp/national
then, from the repository root with the package installed:
    python bench/registry_report.py /tmp/national [--registry registry.csv]

Prints, measured in this one run: screening without and with the report's
digest (each row's location and verdict, the listed rows), drawing the
registry map (PNG), and writing the report as DOCX, HTML and Markdown, with
the files' sizes and the process's peak memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from zoning import Engine
from zoning.outputs.documents import write_document
from zoning.outputs.maps import registry_map
from zoning.outputs.registry_report import registry_report
from zoning.screening import Digest, screen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--registry", default="registry.csv")
    args = parser.parse_args()
    engine = Engine.load(args.data / "units.gpkg", [args.data / "rules"])
    engine.warm()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        screen(engine, args.data / args.registry, out / "plain.csv")
        plain = time.perf_counter() - started
        digest = Digest()
        started = time.perf_counter()
        summary = screen(engine, args.data / args.registry, out / "digest.csv", digest=digest)
        with_digest = time.perf_counter() - started
        print(f"rows {summary.rows:,}: screening {plain:.1f} s, with the report's digest {with_digest:.1f} s")
        started = time.perf_counter()
        lon, lat, verdict = digest.arrays()
        png = registry_map(engine, lon, lat, verdict)
        print(f"registry map: {time.perf_counter() - started:.1f} s, {len(png) / 1e3:,.0f} KB")
        started = time.perf_counter()
        doc = registry_report(engine, summary, digest, map_png=png)
        print(f"report content: {time.perf_counter() - started:.2f} s "
              f"({len(digest.listed['prohibited'])} prohibited and {len(digest.listed['restricted'])} restricted "
              "rows listed)")
        for ext in ("docx", "html", "md"):
            started = time.perf_counter()
            paths = write_document(doc, out / f"report.{ext}")
            size = sum(p.stat().st_size for p in paths)
            print(f"  .{ext}: {time.perf_counter() - started:.2f} s, {size / 1e6:.2f} MB")
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
