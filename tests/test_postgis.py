"""PostgreSQL/PostGIS: published releases, --db, registries in tables, faults (README, "PostgreSQL/PostGIS").

Against a real server: ``ZONING_TEST_DB`` (``.ci/run`` starts one), else a throw-away cluster started
by ``tests/postgis_server.py``. Without PostgreSQL and PostGIS the tests skip, unless
``ZONING_REQUIRE_POSTGIS=1`` (set by ``.ci/run``), when that is a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import postgis_server  # noqa: E402

psycopg = pytest.importorskip("psycopg") if os.environ.get("ZONING_REQUIRE_POSTGIS") != "1" else __import__("psycopg")

from conftest import run  # noqa: E402

from zoning import sample  # noqa: E402
from zoning.errors import DataError  # noqa: E402

SITE = ["--lon", 115.97, "--lat", 38.93, "--industry", "C2614", "--type", "new", "--emission", "VOCs=12.5"]
PASSWORD = "s3cr3t-Pw"


@pytest.fixture(scope="session")
def server():
    url, reason = postgis_server.server_url()
    if url is None:
        if os.environ.get("ZONING_REQUIRE_POSTGIS") == "1":
            pytest.fail(f"ZONING_REQUIRE_POSTGIS=1 but {reason}")
        pytest.skip(f"PostgreSQL with PostGIS not available: {reason}")
    return url


@pytest.fixture
def db(server):
    url = postgis_server.fresh_database(server)
    yield url
    postgis_server.drop_database(url)


@pytest.fixture(scope="module")
def published(server):
    """A database with the sample published once (release 1), shared by the read-only tests."""
    url = postgis_server.fresh_database(server)
    run(["db", "publish", "--db", url, "--note", "sample"], expect=0)
    yield url
    postgis_server.drop_database(url)


def _registry_table(url: str, table: str = "projects") -> pd.DataFrame:
    """The sample registry as a typed table keyed by project_id."""
    reg = pd.read_csv(sample.registry_path(), dtype={"project_id": str})
    types = {k: "double precision" if reg[k].dtype.kind == "f" else "bigint" if reg[k].dtype.kind == "i" else "text"
             for k in reg.columns}
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TABLE {table} ({', '.join(f'{chr(34)}{k}{chr(34)} {t}' for k, t in types.items())}, "
                     "PRIMARY KEY (project_id))")
        with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
            for row in reg.itertuples(index=False):
                copy.write_row([None if isinstance(v, float) and v != v else v for v in row])
    return reg


def _query(url: str, sql: str, params=()) -> list:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _without_provenance(text: str) -> dict:
    data = json.loads(text)
    return {k: v for k, v in data.items() if k != "provenance"}


def test_publish_then_check_gives_the_files_results(published):
    from_db = run(["check", *SITE, "--db", published, "--format", "json", "--explain"], expect=0).output
    from_files = run(["check", *SITE, "--format", "json", "--explain"], expect=0).output
    assert _without_provenance(from_db) == _without_provenance(from_files)
    db_prov, file_prov = json.loads(from_db)["provenance"], json.loads(from_files)["provenance"]
    for key in ("rules_sha256", "units_sha256", "zones_sha256", "units_count", "zones_count", "lists_loaded"):
        assert db_prov[key] == file_prov[key]
    assert db_prov["release"]["id"] == 1 and db_prov["release"]["note"] == "sample"
    assert "release" not in file_prov
    shown = run(["rules", "show", "ZH13063210001", "--db", published, "--format", "json"], expect=0).output
    assert _without_provenance(shown) == _without_provenance(
        run(["rules", "show", "ZH13063210001", "--format", "json"]).output)


def test_publish_writes_every_part_of_the_rule_set(published):
    counts = dict(_query(published, "SELECT 'units', count(*) FROM zoning.units UNION ALL SELECT 'zones', count(*) "
                                    "FROM zoning.zones UNION ALL SELECT 'lists', count(*) FROM zoning.lists UNION ALL "
                                    "SELECT 'clauses', count(*) FROM zoning.clauses UNION ALL SELECT 'files', count(*) "
                                    "FROM zoning.rule_files UNION ALL SELECT 'parameters', count(*) FROM "
                                    "zoning.parameters"))
    assert counts["units"] == 65 and counts["zones"] == 20 and counts["lists"] == 25
    assert counts["clauses"] > 100 and counts["parameters"] >= 1
    kinds = {k for (k,) in _query(published, "SELECT DISTINCT kind FROM zoning.rule_files")}
    assert {"lists", "attributes", "parameters"} <= kinds
    srid, = _query(published, "SELECT DISTINCT ST_SRID(geom) FROM zoning.units")[0]
    assert srid == 4490
    assert _query(published, "SELECT indexdef FROM pg_indexes WHERE indexname = 'units_geom_idx'")[0][0].count("gist")
    who, = _query(published, "SELECT published_by = current_user FROM zoning.releases")[0]
    assert who
    # for people querying from SQL: the units a site lies in
    codes = [c for (c,) in _query(published, "SELECT code FROM zoning.units_of(ST_Point(115.97, 38.93, 4490))")]
    assert codes == ["ZH13063210001"]


def test_screen_with_db_gives_the_files_results(published, tmp_path):
    run(["screen", sample.registry_path(), "-o", tmp_path / "db.csv", "--db", published, "-q"], expect=0)
    run(["screen", sample.registry_path(), "-o", tmp_path / "files.csv", "-q"], expect=0)
    assert (tmp_path / "db.csv").read_bytes() == (tmp_path / "files.csv").read_bytes()


def _revised_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(sample.rules_dir(), rules, ignore=shutil.ignore_patterns("README.md"))
    path = rules / "units" / "ZH13063210001.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("淀区及周边湿地内禁止新建", "淀区及周边湿地内（修订）禁止新建", 1), encoding="utf-8")
    return rules


def test_as_of_picks_the_release_in_force_then(db, tmp_path):
    run(["db", "publish", "--db", db, "--effective-from", "2022-01-01", "--note", "old"], expect=0)
    run(["db", "publish", "--db", db, "--rules", _revised_rules(tmp_path), "--units", sample.units_path(),
         "--zones", sample.zones_path(), "--note", "new"], expect=0)
    then = json.loads(run(["check", *SITE, "--db", db, "--as-of", "2023-01-01", "--format", "json"], expect=0).output)
    now = json.loads(run(["check", *SITE, "--db", db, "--format", "json"], expect=0).output)
    pinned = json.loads(run(["check", *SITE, "--db", db, "--release", "1", "--format", "json"], expect=0).output)
    assert then["provenance"]["release"]["id"] == 1 and now["provenance"]["release"]["id"] == 2
    assert pinned["provenance"]["release"]["id"] == 1
    texts = [" ".join(c["text"] for c in r["citations"]) for r in (then, now)]
    assert "（修订）" not in texts[0] and "（修订）" in texts[1]
    assert then["provenance"]["as_of"] == "2023-01-01"
    refused = run(["check", *SITE, "--db", db, "--as-of", "2021-12-31"], expect=1)
    assert "no release in force on 2021-12-31" in refused.output
    status = json.loads(run(["db", "status", "--db", db, "--format", "json"], expect=0).output)
    assert [r["note"] for r in status["releases"]] == ["old", "new"] and status["current"] == 2
    changes = json.loads(run(["db", "diff", "--db", db, "1", "2", "--format", "json"], expect=0).output)
    assert [c["change"] for c in changes["clauses"]] == ["changed"]


def test_a_failed_publish_changes_nothing(db, tmp_path):
    run(["db", "publish", "--db", db], expect=0)
    before = _query(db, "SELECT (SELECT count(*) FROM zoning.releases), (SELECT count(*) FROM zoning.units), "
                        "(SELECT count(*) FROM zoning.clauses), (SELECT count(*) FROM zoning.rule_files)")
    rules = _revised_rules(tmp_path)
    bad = rules / "units" / "ZH13063210001.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("industry: [", "industry: [Z9999, ", 1), encoding="utf-8")
    refused = run(["db", "publish", "--db", db, "--rules", rules, "--units", sample.units_path(),
                   "--zones", sample.zones_path()], expect=1)
    assert "nothing was published" in refused.output and "Z9999" in refused.output
    early = run(["db", "publish", "--db", db, "--effective-from", "2022-01-01"], expect=1)  # before release 1
    assert "nothing was published" in early.output
    after = _query(db, "SELECT (SELECT count(*) FROM zoning.releases), (SELECT count(*) FROM zoning.units), "
                       "(SELECT count(*) FROM zoning.clauses), (SELECT count(*) FROM zoning.rule_files)")
    assert after == before


def _screened_table(url: str, table: str, run_id: str | None = None) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(f"SELECT * FROM {table}" + (" WHERE run_id = %s" if run_id else ""),
                           (run_id,) if run_id else ())
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description], dtype=object)


def test_table_to_table_equals_file_to_file(db, tmp_path):
    _registry_table(db)
    run(["screen", f"{db}?table=projects", "-o", f"{db}?table=screened", "--chunk-size", 70, "-q"], expect=0)
    run(["screen", sample.registry_path(), "-o", tmp_path / "screened.csv", "-q"], expect=0)
    table = _screened_table(db, "screened").set_index("project_id").sort_index()
    files = pd.read_csv(tmp_path / "screened.csv", dtype=str, keep_default_na=False).set_index("project_id")
    assert list(table.columns) == ["run_id", *files.columns, "geom"]
    results = ["verdict", "worst_case", "unit_codes", "unit_types", "clauses", "reasons", "missing", "disregarded",
               "obligations", "encouraged", "error"]
    assert table[results].fillna("").astype(str).equals(files.loc[table.index, results])
    assert table.loc["P0001", "VOCs"] == 12.5  # numbers as numbers
    types = dict(_query(db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = "
                            "'screened'"))
    assert types["lon"] == "double precision" and types["verdict"] == "text" and types["geom"] == "USER-DEFINED"
    # a file into a table: the same columns, plain numbers typed
    run(["screen", sample.registry_path(), "-o", f"{db}?table=from_csv", "-q"], expect=0)
    from_csv = _screened_table(db, "from_csv").set_index("project_id").sort_index()
    assert list(from_csv.columns) == list(table.columns)
    assert from_csv[results].equals(table[results])
    # for people querying from SQL: units per project (after publishing a release)
    run(["db", "publish", "--db", db], expect=0)
    rows = _query(db, "SELECT s.project_id, string_agg(u.code, ';' ORDER BY u.code) FROM screened s, "
                      "LATERAL zoning.units_of(s.geom) u WHERE s.project_id = 'P0001' GROUP BY 1")
    assert rows == [("P0001", table.loc["P0001", "unit_codes"])]


def test_a_connection_killed_mid_run_leaves_whole_chunks_and_resumes(db):
    from zoning import Engine
    from zoning.screening import screen

    _registry_table(db)
    killed = []

    def kill_after_first_chunk(done, total):
        if done and not killed:
            killed.append(_query(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                     "WHERE application_name LIKE 'zoning screen%%'"))

    with pytest.raises(DataError) as failed:
        screen(Engine.load(), f"{db}?table=projects", f"{db}?table=screened", chunk_size=50,
               progress=kill_after_first_chunk)
    message = str(failed.value)
    assert "lost the connection" in message and "127.0.0.1" in message and "--resume" in message
    run_id = message.rsplit("--resume ", 1)[1].split()[0]
    assert len(_screened_table(db, "screened")) == 50  # the first chunk, whole; nothing of the second
    state = run(["screen", f"{db}?table=projects", "-o", f"{db}?table=screened", "--resume", run_id],
                expect=0)  # (not -q: the summary, on stderr, names the run)
    assert f"run {run_id}" in state.output
    out = _screened_table(db, "screened")
    assert len(out) == 200 and out["project_id"].is_unique and set(out["run_id"]) == {run_id}
    assert run(["screen", f"{db}?table=projects", "-o", f"{db}?table=screened", "--resume", run_id],
               expect=1).output.count("complete")


def test_resuming_a_file_registry_skips_the_chunks_written(db, tmp_path):
    from zoning.db.runs import TableOutput

    output = f"{db}?table=screened"
    first = TableOutput(output, source=str(sample.registry_path()), chunk_size=80, resume=None, release=None)
    run_id = first.state.run_id
    first.conn.close()  # as if the process had died before writing anything
    run(["screen", sample.registry_path(), "-o", output, "--resume", run_id, "-q"], expect=0)
    assert len(_screened_table(db, "screened", run_id)) == 200


def test_passwords_never_appear(published, tmp_path):
    refused = run(["check", *SITE, "--db", f"postgresql://zoning:{PASSWORD}@127.0.0.1:1/nowhere"], expect=1)
    assert "127.0.0.1:1" in refused.output and PASSWORD not in refused.output
    assert refused.output.count("\n") == 1
    with_password = published.replace("zoning@", f"zoning:{PASSWORD}@")  # the local server trusts: accepted
    result = run(["check", *SITE, "--db", with_password, "--format", "json"], expect=0)
    assert PASSWORD not in result.output
    screened = run(["screen", sample.registry_path(), "-o", f"{with_password}?table=screened_pw"], expect=0)
    assert PASSWORD not in screened.output and "***" in screened.output
    assert PASSWORD not in json.dumps(_query(published, "SELECT * FROM zoning.screening_runs"), default=str)
    missing = run(["screen", f"{with_password}?table=nowhere", "-o", tmp_path / "x.csv"], expect=1)
    assert PASSWORD not in missing.output and "no such table" in missing.output


def test_a_table_without_location_columns_is_refused_as_a_file_is(db, tmp_path):
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE bare (id integer PRIMARY KEY, name text, industry text)")
        conn.execute("INSERT INTO bare VALUES (1, 'a', 'C2614')")
    result = run(["screen", f"{db}?table=bare", "-o", tmp_path / "out.csv"], expect=1)
    assert "table bare (127.0.0.1" in result.output
    assert "no lon or lat column found among id, name, industry; name it with --col lon=HEADER" in result.output
    pd.DataFrame({"id": [1], "name": ["a"], "industry": ["C2614"]}).to_csv(tmp_path / "bare.csv", index=False)
    as_file = run(["screen", tmp_path / "bare.csv", "-o", tmp_path / "out.csv"], expect=1)
    assert as_file.output.split(": no lon")[1] == result.output.split(": no lon")[1]


def test_a_geometry_column_locates_the_rows(db, tmp_path):
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE sites (code text PRIMARY KEY, industry text, geom geometry(Point, 4326))")
        conn.execute("INSERT INTO sites VALUES ('b', 'C2614', ST_SetSRID(ST_Point(115.97, 38.93), 4326)), "
                     "('a', 'C3120', ST_SetSRID(ST_Point(118.527849, 38.986622), 4326))")
    run(["screen", f"{db}?table=sites", "-o", tmp_path / "out.csv"], expect=0)
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(out["code"]) == ["a", "b"]  # key order
    assert out.loc[1, "unit_codes"] == "ZH13063210001" and out["wkt"].str.startswith("POINT").all()


def test_a_server_switches_to_a_newer_release_without_dropping_requests(db, tmp_path):
    from fastapi.testclient import TestClient

    from zoning.db.releases import load_engine
    from zoning.service import Settings, create_app

    run(["db", "publish", "--db", db, "--note", "first"], expect=0)
    settings = Settings(jobs_dir=tmp_path / "jobs", load_args={"db": db, "release": None, "as_of": None},
                        db_poll_s=0.2)
    body = {"lon": 115.97, "lat": 38.93, "industry": "C2614", "type": "new"}
    with TestClient(create_app(load_engine(db), settings)) as client:
        assert client.get("/api/health").json()["release"]["id"] == 1
        run(["db", "publish", "--db", db, "--rules", _revised_rules(tmp_path), "--units", sample.units_path(),
             "--zones", sample.zones_path(), "--note", "second"], expect=0)
        deadline, seen = time.monotonic() + 30, set()
        while time.monotonic() < deadline and seen != {1, 2}:
            answer = client.post("/api/check", json=body)
            assert answer.status_code == 200
            seen.add(answer.json()["provenance"]["release"]["id"])
            if 2 in seen:
                break
        assert 2 in seen
        health = client.get("/api/health").json()
        assert health["release"]["id"] == 2 and health["release"]["note"] == "second"
        assert PASSWORD not in json.dumps(health)


def test_db_options_that_do_not_fit(published):
    assert "give --db too" in run(["check", *SITE, "--release", "1"], expect=2).output
    assert "either --db or" in run(["check", *SITE, "--db", published, "--units", "u.gpkg"], expect=2).output
    assert "--resume" in run(["screen", sample.registry_path(), "-o", "x.csv", "--resume", "r1"], expect=2).output
    assert "no release 9" in run(["check", *SITE, "--db", published, "--release", "9"], expect=1).output
    assert dt.date.today().isoformat()  # the release in force today is release 1
