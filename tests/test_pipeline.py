"""Screening's pipeline: chunks read ahead in a thread, written behind in another, the output unchanged.

The outputs of the pipelined run are compared byte for byte with chunks read,
evaluated and written in turn, on the sample registry and on a 100,000-row
benchmark registry (``bench/make_national.py``, 2,000 units), and the sample
registry's CSV output with the digest it had before the pipeline existed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from zoning import Engine, sample
from zoning.chunks import LocalRunner, _Ahead
from zoning.outputs.behind import WriteBehind
from zoning.screening import screen

ROOT = Path(__file__).resolve().parent.parent
#: sha256 of the sample registry's CSV output at commit ad3d2e2, before chunks were read ahead and
#: written behind (text only: no geometry, so no library's number formatting in it)
SAMPLE_CSV_SHA256 = "e126b8b6ebec9e2e7c288c3e067813f792be3e5b46442efb928e42d7c4ce5235"
FORMATS = ("csv", "parquet", "geojson", "geojsons")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_sample_registrys_csv_output_is_what_it_was_before_the_pipeline(sample_engine, tmp_path):
    screen(sample_engine, sample.registry_path(), tmp_path / "out.csv")
    assert _sha256(tmp_path / "out.csv") == SAMPLE_CSV_SHA256


@pytest.mark.parametrize("fmt", FORMATS)
def test_pipelined_and_sequential_outputs_are_byte_identical_on_the_sample(sample_engine, tmp_path, fmt):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder, runner in (("a", LocalRunner(read_ahead=0)), ("b", LocalRunner())):
        screen(sample_engine, sample.registry_path(), tmp_path / folder / f"out.{fmt}", chunk_size=37, runner=runner)
    assert (tmp_path / "a" / f"out.{fmt}").read_bytes() == (tmp_path / "b" / f"out.{fmt}").read_bytes()


@pytest.fixture(scope="module")
def national_100k(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("national")
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_national.py"), str(folder), "--units", "2000",
                    "--points", "100000"], check=True, capture_output=True)
    return folder


def test_pipelined_and_sequential_outputs_are_byte_identical_on_100k_benchmark_rows(national_100k, tmp_path):
    engine = Engine.load(units=national_100k / "units.gpkg", rules=national_100k / "rules")
    sequential, pipelined = tmp_path / "a.csv", tmp_path / "b.csv"
    first = screen(engine, national_100k / "registry.csv", sequential, chunk_size=30_000,
                   runner=LocalRunner(read_ahead=0))
    second = screen(engine, national_100k / "registry.csv", pipelined, chunk_size=30_000)
    assert first.rows == second.rows == 100_000
    assert first.verdicts == second.verdicts
    assert sequential.read_bytes() == pipelined.read_bytes()


def test_a_reading_failure_in_the_thread_is_raised_where_its_chunk_would_have_come():
    def items():
        yield 1
        yield 2
        raise ValueError("row 3 is broken")

    got = []
    with pytest.raises(ValueError, match="row 3 is broken"):
        for item in _Ahead(items(), 1):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_stops_the_reading_thread():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i

    before = threading.active_count()
    ahead = _Ahead(items(), 1)
    for item in ahead:
        if item == 2:
            break
    ahead.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before
    assert len(produced) <= 5  # read at most a little ahead, never the whole source


class _Recorder:
    def __init__(self, fail_at: int | None = None):
        self.written: list[int] = []
        self.closed = self.aborted = False
        self.fail_at = fail_at

    def write(self, frame, geometry):
        if frame == self.fail_at:
            raise OSError(28, "No space left on device")
        time.sleep(0.001)
        self.written.append(frame)

    def close(self, summary=None):
        self.closed = True

    def abort(self):
        self.aborted = True


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_chunks_written_behind_keep_their_order(depth):
    recorder = _Recorder()
    writer = WriteBehind(recorder, depth=depth)
    for i in range(50):
        writer.write(i, None)
    writer.close()
    assert recorder.written == list(range(50)) and recorder.closed


def test_a_write_failing_in_the_thread_stops_the_run_at_the_next_call():
    recorder = _Recorder(fail_at=3)
    writer = WriteBehind(recorder)
    with pytest.raises(OSError, match="No space left"):
        for i in range(50):
            writer.write(i, None)
        writer.close()
    assert recorder.written == [0, 1, 2] and not recorder.closed
    writer.abort()
    assert recorder.aborted


def test_aborting_drops_the_chunks_still_queued():
    recorder = _Recorder()
    writer = WriteBehind(recorder, depth=5)
    for i in range(5):
        writer.write(i, None)
    writer.abort()
    assert recorder.aborted and not recorder.closed
    assert recorder.written == sorted(recorder.written) and len(recorder.written) <= 5


def test_the_summary_a_workbook_ends_with_counts_every_chunk_written_behind(sample_engine, tmp_path, monkeypatch):
    from zoning.outputs.excel import ExcelWriter

    real = ExcelWriter.write

    def slow(self, *args, **kwargs):  # the last chunks still queued when the evaluating thread is done
        time.sleep(0.05)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ExcelWriter, "write", slow)
    out = tmp_path / "out.xlsx"
    summary = screen(sample_engine, sample.registry_path(), out, chunk_size=7)
    sheet = pd.read_excel(out, sheet_name="summary", engine="calamine")
    total = sheet[(sheet.iloc[:, 0] == "rows") & (sheet.iloc[:, 1] == "total")].iloc[0, 2]
    assert total == summary.rows == len(pd.read_csv(sample.registry_path()))


def test_waiting_runs_every_task_queued_before():
    done = []
    writer = WriteBehind(_Recorder(), depth=3)
    for i in range(10):
        writer.submit(lambda i=i: (time.sleep(0.005), done.append(i)))
    writer.wait()
    assert done == list(range(10))
    writer.close()
