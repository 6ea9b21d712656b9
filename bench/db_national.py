"""Issue-18 benchmark: the national benchmark layer and registry in PostgreSQL/PostGIS.

Make the data first (synthetic: ~40,000 units, 1,000,000 points):
    python bench/make_national.py /tmp/national
then, with the package installed with its postgis extra and a server to write to:
    python bench/db_national.py /tmp/national --db postgresql://USER@HOST:PORT/DB [--rows N]

Without --db a throw-away cluster is started (tests/postgis_server.py: PostgreSQL and PostGIS must be
installed). Prints, measured in this one run:
- publishing the 40,000-unit layer and its lists (validation, then the one transaction);
- loading the engine from the database release vs from the files;
- screening the registry's rows table → table vs the same rows CSV → CSV, and the ratio (the table is
  loaded from the CSV first, typed, with a primary key; that load is timed apart).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--db", help="a database to write to (default: a throw-away cluster)")
    parser.add_argument("--rows", type=int, default=None, help="screen only the first N rows (default: all)")
    parser.add_argument("--chunk-size", type=int, default=250_000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import postgis_server
    import psycopg

    from zoning.db.publish import publish
    from zoning.db.releases import load_engine
    from zoning.engine import Engine
    from zoning.screening import screen

    server = args.db
    if server is None:
        server, reason = postgis_server.start_cluster()
        if server is None:
            sys.exit(f"no server: {reason}")
        postgis_server._template(server)
        url = postgis_server.fresh_database(server)
    else:
        url = server
    units, rules = args.data / "units.gpkg", args.data / "rules"

    started = time.perf_counter()
    done = publish(url, units, rules, note="national benchmark")
    publish_s = time.perf_counter() - started
    print(f"publish: {publish_s:.1f} s for {done.units:,} units, {done.lists} lists, {done.files} files "
          f"(release {done.release_id})")

    started = time.perf_counter()
    from_files = Engine.load(units, rules)
    files_s = time.perf_counter() - started
    started = time.perf_counter()
    from_db = load_engine(url)
    db_s = time.perf_counter() - started
    same = from_db.provenance["units_sha256"] == from_files.provenance["units_sha256"] and \
        from_db.provenance["rules_sha256"] == from_files.provenance["rules_sha256"]
    print(f"engine load: database {db_s:.1f} s, files {files_s:.1f} s (ratio {db_s / files_s:.2f}); "
          f"same hashes: {same}")
    del from_files

    registry = args.data / "registry.csv"
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "registry.csv"
        frame = pd.read_csv(registry, dtype={"project_id": str, "industry": str}, nrows=args.rows)
        frame.to_csv(csv, index=False)
        started = time.perf_counter()
        types = {c: "double precision" if frame[c].dtype.kind == "f" else "bigint" if frame[c].dtype.kind == "i"
                 else "text" for c in frame.columns}
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE projects (" + ", ".join(f'"{c}" {t}' for c, t in types.items())
                         + ", PRIMARY KEY (project_id))")
            with conn.cursor().copy("COPY projects FROM STDIN (FORMAT csv, HEADER true)") as copy:
                copy.write(csv.read_bytes())
        load_s = time.perf_counter() - started
        print(f"registry: {len(frame):,} rows loaded into a table in {load_s:.1f} s (not counted below)")
        del frame

        started = time.perf_counter()
        csv_summary = screen(from_db, csv, Path(tmp) / "screened.csv", chunk_size=args.chunk_size)
        csv_s = time.perf_counter() - started
        started = time.perf_counter()
        table_summary = screen(from_db, f"{url}?table=projects", f"{url}?table=screened", chunk_size=args.chunk_size)
        table_s = time.perf_counter() - started
    assert csv_summary.verdicts == table_summary.verdicts, (csv_summary.verdicts, table_summary.verdicts)
    timing = ", ".join(f"{k} {v:.1f}" for k, v in table_summary.timings.items())
    print(f"screen CSV → CSV: {csv_s:.1f} s; table → table: {table_s:.1f} s ({timing}); "
          f"ratio table/CSV {table_s / csv_s:.2f}; verdicts agree: {dict(table_summary.verdicts)}")


if __name__ == "__main__":
    main()
