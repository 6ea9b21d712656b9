"""Screening on a Dask cluster (README, "Screening on a Dask cluster"): the same output as one process.

A local cluster of two worker processes (``LocalCluster``, 127.0.0.1) screens small registries cut into
many parts; a scheduler with two workers started as ``dask scheduler``/``dask worker`` processes
(``ZONING_TEST_DASK_SCHEDULER``, which ``.ci/run`` sets, else started by ``tests/dask_servers.py``) serves
the command line; private ones are killed in part to test faults. Without dask the tests skip, unless
``ZONING_REQUIRE_DASK=1`` (set by ``.ci/run``), when that is a failure.
"""

from __future__ import annotations

import csv
import filecmp
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import dask_servers  # noqa: E402
from conftest import run  # noqa: E402

if os.environ.get("ZONING_REQUIRE_DASK") != "1":
    pytest.importorskip("distributed")

from zoning import Engine  # noqa: E402
from zoning.cluster import ClusterError, DaskRunner, dask_client  # noqa: E402
from zoning.cluster.partitions import csv_ranges  # noqa: E402
from zoning.cluster.work import unpickled  # noqa: E402
from zoning.screening import Digest, ProjectReader, screen  # noqa: E402

SAMPLE = Path(__file__).parent.parent / "sample_geodata"
CHUNK = 100  # rows per chunk: every registry here is several chunks, cut into parts of other sizes
PART = 70


def _require(reason: str) -> None:
    if os.environ.get("ZONING_REQUIRE_DASK") == "1":
        pytest.fail(f"ZONING_REQUIRE_DASK=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def engine():
    return Engine.load()


@pytest.fixture(scope="module")
def local():
    """A client of a local cluster: two worker processes of one thread, on 127.0.0.1."""
    with dask_client(workers=2, quiet_logs=True) as client:
        yield client


@pytest.fixture(scope="module")
def scheduler():
    address, reason = dask_servers.scheduler_address()
    if address is None:
        _require(reason)
    return address


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """About 1,000 rows of the sample registry with what a cut must not break: values with a quoted newline
    (and a quoted delimiter, and doubled quotes), malformed rows (too many cells: an unquoted comma) and short
    rows, some of them around every part boundary; a title line above the header."""
    lines = (SAMPLE / "registry.csv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    out = ["示例登记表（测试）", header]
    for k in range(5):
        for line in rows:
            cells = line.split(",")
            n = len(out)
            if n % 37 == 0:  # a name over two lines, with a comma and quotes in it
                cells[1] = f'"{cells[1]}\n第二行, 含""引号""{k}"'
            if n % 53 == 0:
                out.append(line + ",extra,cells")  # malformed: more cells than the header
                continue
            if n % 61 == 0:
                out.append(",".join(cells[:6]))  # short: the missing cells are empty
                continue
            out.append(",".join(cells))
    path = tmp_path_factory.mktemp("registry") / "registry.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _single(engine, source, out: Path, **kwargs):
    out.parent.mkdir(exist_ok=True)
    return screen(engine, source, out, chunk_size=CHUNK, **kwargs)


def _both(engine, client, source, tmp_path, name, **kwargs):
    """Screen ``source`` to ``name`` in one process and on the cluster; the two outputs and summaries."""
    one = _single(engine, source, tmp_path / "one" / name, **kwargs)
    (tmp_path / "dask").mkdir(exist_ok=True)
    runner = DaskRunner(client, rows=PART)
    two = screen(engine, source, tmp_path / "dask" / name, chunk_size=CHUNK, runner=runner, **kwargs)
    return (tmp_path / "one" / name, one), (tmp_path / "dask" / name, two), runner


def _zoning(*args) -> subprocess.CompletedProcess:
    """The command line in a process of its own (as a user runs it: no Dask client made before)."""
    return subprocess.run([sys.executable, "-m", "zoning", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": dask_servers.CODE})


def _same_summary(one, two):
    assert (one.rows, one.verdicts, one.worst, one.errors, one.examples, one.unit_types) == \
        (two.rows, two.verdicts, two.worst, two.errors, two.examples, two.unit_types)


@pytest.mark.parametrize("name", ["screened.csv", "screened.parquet", "screened.geojson", "screened.geojsons"])
def test_outputs_are_byte_identical(engine, local, registry, tmp_path, name):
    (a, one), (b, two), runner = _both(engine, local, registry, tmp_path, name)
    assert filecmp.cmp(a, b, shallow=False)
    _same_summary(one, two)
    assert runner.parts >= 12  # ~14 parts of ~70 rows: cuts fall everywhere
    assert one.errors["malformed row"] > 12 and one.examples["malformed row"][0].startswith("row ")


def test_geopackage_and_workbook_outputs_have_the_same_content(engine, local, registry, tmp_path):
    for name in ("screened.gpkg", "screened.xlsx"):
        (a, _), (b, _), _ = _both(engine, local, registry, tmp_path, name)
        if name.endswith(".gpkg"):
            pd.testing.assert_frame_equal(pyogrio.read_dataframe(a), pyogrio.read_dataframe(b))
        else:
            for sheet in ("screened", "summary"):
                pd.testing.assert_frame_equal(pd.read_excel(a, sheet_name=sheet, engine="calamine"),
                                              pd.read_excel(b, sheet_name=sheet, engine="calamine"))


def test_gb18030_input(engine, local, registry, tmp_path):
    source = tmp_path / "gbk.csv"
    source.write_bytes(registry.read_text(encoding="utf-8").encode("gb18030"))
    (a, one), (b, two), runner = _both(engine, local, source, tmp_path, "screened.csv")
    assert one.encoding == "gb18030" and filecmp.cmp(a, b, shallow=False)
    assert "byte ranges" in runner.note()


def test_a_registry_report_gathers_the_same(engine, local, registry, tmp_path):
    digests = Digest(), Digest()
    _single(engine, registry, tmp_path / "d1.csv", digest=digests[0])
    screen(engine, registry, tmp_path / "d2.csv", chunk_size=CHUNK, digest=digests[1],
           runner=DaskRunner(local, rows=PART))
    assert digests[0].listed == digests[1].listed
    for x, y in zip(digests[0].arrays(), digests[1].arrays()):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("source", ["registry.gpkg", "registry.xlsx"])
def test_layers_by_feature_range_and_workbooks_sent_by_the_driver(engine, local, tmp_path, source):
    if source.endswith(".gpkg"):  # the sample registry as a layer of points
        frame = pd.read_csv(SAMPLE / "registry.csv", dtype=str, keep_default_na=False)
        layer = gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), crs="EPSG:4490",
                                 geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)))
        path = tmp_path / source
        layer.to_file(path, driver="GPKG")
    else:  # the sample's workbook is written by ``zoning sample``
        run(["sample", str(tmp_path / "s")], expect=0)
        path = tmp_path / "s" / source
    (a, one), (b, two), runner = _both(engine, local, path, tmp_path, "screened.csv")
    assert filecmp.cmp(a, b, shallow=False)
    _same_summary(one, two)
    assert ("feature ranges" if source.endswith(".gpkg") else "read by the driver") in runner.note()


def test_cuts_fall_between_records_only(tmp_path):
    path = tmp_path / "q.csv"
    body = "".join(f'{i},"a\nb\n{i}",x\n' if i % 2 else f"{i},plain,x\n" for i in range(400))
    path.write_text("id,name,lon\n" + body, encoding="utf-8")
    ranges = csv_ranges(path, "utf-8", ",", 0, ["id", "name", "lon"], rows=7, workers=2)
    data = path.read_bytes()
    assert len(ranges) > 20 and ranges[0].start == len(b"id,name,lon\n") and ranges[-1].end == len(data)
    for r in ranges:
        part = data[r.start:r.end]
        assert part.count(b'"') % 2 == 0 and part.endswith(b"\n")  # whole records only
        assert part.split(b",", 1)[0].isdigit()
    # a quote opening mid-cell: no cut after it (the parser keeps it as text; a count of quotes would be off)
    path.write_text("id,name,lon\n" + body.replace("2,plain", 'x"y,plain', 1), encoding="utf-8")
    after = csv_ranges(path, "utf-8", ",", 0, ["id", "name", "lon"], rows=7, workers=2)
    stray = path.read_bytes().index(b'x"y')
    assert all(r.start <= stray for r in after) and after[-1].end == len(path.read_bytes())


def test_the_command_line_on_a_running_scheduler(scheduler, registry, tmp_path):
    from distributed import Client

    with Client(scheduler, set_as_default=False) as client:
        before = client.run(unpickled)
        run(["screen", registry, "-o", tmp_path / "one.csv", "--chunk-size", CHUNK, "-q"], expect=0)
        result = _zoning("screen", registry, "-o", tmp_path / "dask.csv", "--chunk-size", CHUNK,  # no default client
                         "--scheduler", scheduler, "--summary-json", tmp_path / "s.json")
        after = client.run(unpickled)
    assert result.returncode == 0, result.stderr
    assert filecmp.cmp(tmp_path / "one.csv", tmp_path / "dask.csv", shallow=False)
    assert "screened on a Dask cluster" in (tmp_path / "s.json").read_text(encoding="utf-8")
    assert "part(s) on 2 worker(s)" in result.stderr.replace("\n", " ")
    # the engine was sent once: each worker unpickled it at most once, whatever the number of parts
    assert all(after[w] - before.get(w, 0) in (0, 1) for w in after) and sum(after.values()) > sum(before.values()), \
        (before, after)


def test_the_engine_is_unpickled_once_per_worker(engine, local, registry, tmp_path):
    before = local.run(unpickled)
    runner = DaskRunner(local, rows=PART)
    screen(engine, registry, tmp_path / "x.csv", chunk_size=CHUNK, runner=runner)
    after = local.run(unpickled)
    assert runner.parts >= 12 and runner.engine_bytes > 0
    assert {w: after[w] - before[w] for w in after} == {w: 1 for w in after}


@pytest.fixture
def servers():
    try:
        servers = dask_servers.Servers(2)
    except RuntimeError as exc:
        _require(str(exc))
    yield servers
    servers.stop()


def test_a_worker_killed_mid_run(engine, servers, registry, tmp_path):
    _single(engine, registry, tmp_path / "one.csv")
    killed = []

    def progress(done, total):
        if done >= 1 and not killed:  # the first part is done: kill a worker mid-run
            killed.append(done)
            servers.kill(servers.workers[0])

    with dask_client(servers.address, quiet_logs=True) as client:
        runner = DaskRunner(client, rows=PART, progress=progress)
        summary = screen(engine, registry, tmp_path / "dask.csv", chunk_size=CHUNK, runner=runner)
    assert killed and servers.workers[0].poll() is not None
    assert filecmp.cmp(tmp_path / "one.csv", tmp_path / "dask.csv", shallow=False)
    assert summary.rows == sum(1 for _ in pd.read_csv(tmp_path / "one.csv", dtype=str).itertuples())


def test_the_scheduler_lost_mid_run(engine, servers, registry, tmp_path):
    def progress(done, total):
        if done >= 1:
            servers.kill(servers.scheduler)

    out = tmp_path / "out"
    out.mkdir()
    with dask_client(servers.address, quiet_logs=True) as client:
        with pytest.raises(ClusterError, match="scheduler"):
            screen(engine, registry, out / "dask.gpkg", chunk_size=CHUNK, runner=DaskRunner(client, rows=PART,
                                                                                             progress=progress))
    assert list(out.iterdir()) == []  # neither the output nor its partial file


def test_an_unreachable_scheduler_is_one_line(registry, tmp_path):
    port = dask_servers._free_port()  # nothing listens there
    out = tmp_path / "dask.csv"
    done = _zoning("screen", registry, "-o", out, "--scheduler", f"tcp://127.0.0.1:{port}")
    assert done.returncode == 1 and not out.exists() and list(tmp_path.iterdir()) == []
    assert done.stderr.count("\n") == 1 and "cannot reach the Dask scheduler" in done.stderr, done.stderr


def test_options(registry, tmp_path, monkeypatch):
    result = run(["screen", registry, "-o", tmp_path / "x.csv", "--workers", 2, "--scheduler", "tcp://127.0.0.1:1"],
                 expect=2)
    assert result.stderr.count("\n") == 1 and "give one of them" in result.stderr
    monkeypatch.setitem(sys.modules, "distributed", None)  # the extra not installed
    result = run(["screen", registry, "-o", tmp_path / "x.csv", "--workers", 2], expect=1)
    assert result.stderr.strip().endswith('pip install "zoning[dask]"') and result.stderr.count("\n") == 1


def test_a_refused_cell_is_named_by_its_row_in_the_file(engine, local, registry, tmp_path):
    from zoning import limits
    from zoning.errors import DataError

    lines = registry.read_text(encoding="utf-8").split("\n")
    late = next(i for i in range(850, len(lines)) if "示例" in lines[i])
    lines[late] = lines[late].replace("示例", "示例" + "长" * 80, 1)  # a name too long, in a late part
    source = tmp_path / "long.csv"
    source.write_text("\n".join(lines), encoding="utf-8")
    messages = []
    with limits.using(limits.Limits(cell_chars=70)):  # the driver's limits hold on the workers too
        for runner in (None, DaskRunner(local, rows=PART)):
            with pytest.raises(DataError) as caught:
                screen(engine, source, tmp_path / "x.csv", chunk_size=CHUNK, runner=runner)
            messages.append(str(caught.value))
    # the same message, the row counted in the file, not within its part (in both, counted as the reader
    # counts it: the malformed rows just before it in its chunk are not, so the number may be a little low)
    rows = [int(re.search(r"row (\d+)", m).group(1)) for m in messages]
    assert [re.sub(r"row \d+", "row N", m) for m in messages] == [re.sub(r"row \d+", "row N", messages[0])] * 2
    records = list(csv.reader(source.open(encoding="utf-8", newline="")))
    row = next(i for i, r in enumerate(records) if any("长长长" in c for c in r)) + 1  # its spreadsheet row
    assert all(row - 60 <= n <= row for n in rows) and "limit of 70" in messages[0]


def test_the_command_line_when_the_scheduler_is_lost(servers, registry, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "zoning", "screen", str(registry), "-o", str(out / "dask.csv"),
                                "--chunk-size", str(CHUNK), "--scheduler", servers.address],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": dask_servers.CODE,
                                    "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "4s"})  # reconnecting: 15 s
    try:
        deadline = time.monotonic() + 120
        while not any(out.iterdir()) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # until the first rows are written (to the partial file)
        servers.kill(servers.scheduler)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1 and stderr.count("\n") == 1 and "scheduler" in stderr, stderr
    assert list(out.iterdir()) == []


def test_database_tables_in_and_out(engine, local, registry, tmp_path):
    """A CSV into a table (workers read byte ranges, the driver writes a transaction per chunk) and a table as
    the registry (read by the driver and sent): the same rows as in one process."""
    import postgis_server

    url, reason = postgis_server.server_url()
    if url is None:
        if os.environ.get("ZONING_REQUIRE_POSTGIS") == "1":
            pytest.fail(f"ZONING_REQUIRE_POSTGIS=1 but {reason}")
        pytest.skip(f"PostgreSQL with PostGIS not available: {reason}")
    import psycopg

    db = postgis_server.fresh_database(url)

    def table(name: str) -> pd.DataFrame:
        with psycopg.connect(db) as conn:
            cur = conn.execute(f"SELECT * FROM {name}")
            return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description],
                                dtype=object).drop(columns="run_id")

    try:
        screen(engine, registry, f"{db}?table=one", chunk_size=CHUNK)
        runner = DaskRunner(local, rows=PART)
        screen(engine, registry, f"{db}?table=two", chunk_size=CHUNK, runner=runner)
        pd.testing.assert_frame_equal(table("one"), table("two"))
        assert "byte ranges" in runner.note()
        screen(engine, SAMPLE / "registry.csv", f"{db}?table=sample")  # a registry with a key: project_id
        _single(engine, f"{db}?table=sample", tmp_path / "one" / "from_table.csv", key="project_id")
        (tmp_path / "dask").mkdir()
        screen(engine, f"{db}?table=sample", tmp_path / "dask" / "from_table.csv", chunk_size=CHUNK, runner=runner,
               key="project_id")
        assert filecmp.cmp(tmp_path / "one" / "from_table.csv", tmp_path / "dask" / "from_table.csv", shallow=False)
        assert "read by the driver" in runner.note()
    finally:
        postgis_server.drop_database(db)


def test_a_chunk_travels_back_with_its_result_text_as_codes_and_unpacks_as_one_process_has_it(engine):
    import pickle

    from zoning import sample
    from zoning.chunks import ChunkPlan, screen_chunk
    from zoning.cluster.work import Packed
    from zoning.evaluate.summary import RESULT_COLUMNS

    reader = ProjectReader(sample.registry_path(), vocabulary=engine.vocabulary)
    item = next(reader.chunks())
    plan = ChunkPlan({c: f"结果_{c}" for c in RESULT_COLUMNS}, sites=False)
    done = screen_chunk(engine, plan, item)
    packed = Packed.of(done, plan)
    assert isinstance(packed.out["结果_reasons"].dtype, pd.CategoricalDtype)
    assert len(pickle.dumps(packed.out)) < len(pickle.dumps(done.out))  # each distinct text once
    back = pickle.loads(pickle.dumps(packed)).unpack()
    pd.testing.assert_frame_equal(back.out, done.out)  # the same text and dtypes
    pd.testing.assert_frame_equal(back.results, done.results)
