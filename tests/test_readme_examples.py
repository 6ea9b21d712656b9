"""Every example command in README runs as printed, from a fresh folder, after the documented sample step.

Examples are the lines of README's fenced code blocks that start with ``zoning `` or ``$ zoning `` (``\\``
continuations joined, a trailing ``# comment`` dropped). Each runs with bash (README's examples use ``<``,
``>`` and ``|``) from the folder ``zoning sample zoning-sample && cd zoning-sample`` makes, with the venv's
``zoning`` first on ``PATH``, and must exit 0 within :data:`TIME_LIMIT` without a traceback or an error line.
Independent examples run two at a time, so each must work on the sample alone (none may need another's
output).

The examples that cannot simply run and exit are listed in :data:`SPECIAL`, each with its reason and what is
done instead; :func:`test_every_example_is_run_or_listed` fails when README gains an example that fits none of
the ways this module runs examples, or when an entry of the list no longer matches any example.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
#: the one documented step before the examples (README, beside the first two commands)
SAMPLE_STEP = "zoning sample zoning-sample && cd zoning-sample"
SAMPLE_DIR = "zoning-sample"
TIME_LIMIT = 60.0  # seconds, per example
SERVER_START = 60.0

#: examples that are not run as "run it, expect exit 0": a pattern each matches, what is done, and why
SPECIAL = {
    "setup": (r"^zoning sample ", "run first, once: it makes the folder every other example runs in"),
    "serve": (r"^zoning serve\b", "a server never exits: started on a free port (--port replaced or added; port "
                                  "8000/8080 may be taken), waited for until /api/health answers, then stopped "
                                  "with SIGTERM; the sample server also answers README's curl examples"),
    "database": (r"postgresql://", "needs a PostgreSQL/PostGIS server: run in README order against new databases "
                                   "on the server ZONING_TEST_DB names (the example's URL replaced by theirs, "
                                   "the 'projects' table created from the sample registry first); skipped, "
                                   "saying so, when ZONING_TEST_DB is not set"),
    "dask": (r"--scheduler tcp://", "needs a running Dask cluster: run against the scheduler "
                                    "ZONING_TEST_DASK_SCHEDULER names, else one started by tests/dask_servers.py "
                                    "(the example's address replaced by theirs)"),
}
#: in README's curl examples, the placeholder for a screening job's id (replaced by the id the POST returned)
JOB_ID = re.compile(r"\bID\b")


@dataclass(frozen=True)
class Example:
    line: int
    command: str

    @property
    def kind(self) -> str:
        return next((kind for kind, (pattern, _) in SPECIAL.items() if re.search(pattern, self.command)), "run")

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.command}"


def _blocks(text: str):
    """``(line number, line)`` of every line inside a fenced code block."""
    inside = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            inside = not inside
        elif inside:
            yield number, line


def _commands(prefix: str) -> list[Example]:
    """The commands in README's code blocks starting with ``prefix`` (or ``$ prefix``)."""
    lines = list(_blocks(README.read_text(encoding="utf-8")))
    out, i = [], 0
    while i < len(lines):
        number, line = lines[i]
        text = line.strip().removeprefix("$ ")
        if text.startswith(prefix):
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text[:-1].rstrip() + " " + lines[i][1].strip()
            out.append(Example(number, re.sub(r"\s+#\s.*$", "", text).strip()))
        i += 1
    return out


def examples() -> list[Example]:
    return _commands("zoning ")


def _env() -> dict:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "MPLBACKEND": "Agg",
            "COLUMNS": "120"}


def _run(command: str, cwd: Path, timeout: float = TIME_LIMIT) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def _problem(example: Example, done: subprocess.CompletedProcess | None, seconds: float) -> str | None:
    """What is wrong with a run, or None."""
    if done is None:
        return f"{example}\n    did not finish within {TIME_LIMIT:.0f} s"
    said = done.stderr.strip().splitlines()
    if done.returncode != 0 or "Traceback" in done.stderr or any(s.startswith("zoning: error") for s in said):
        return f"{example}\n    exit {done.returncode} after {seconds:.1f} s; stderr: {' | '.join(said[-5:])}"
    return None


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The folder README's sample step makes, made by running that step (from an empty folder)."""
    assert shutil.which("zoning", path=str(BIN)), f"no zoning in {BIN}: install the package into this venv"
    root = tmp_path_factory.mktemp("readme")
    command = SAMPLE_STEP.split("&&")[0].strip()
    done = _run(command, root)
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return root / SAMPLE_DIR


def test_the_sample_goes_only_into_a_new_or_empty_folder(sample, tmp_path):
    written = {p.name for p in sample.iterdir()}
    assert {"projects.csv", "registry.csv", "registry.xlsx", "rules", "rules-2021", "rules-2024", "units.gpkg",
            "zones.gpkg", "counties.gpkg", "site.geojson", "site.kml", "secret.txt"} <= written
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    refused = _run("zoning sample used", tmp_path)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    assert _run("zoning sample used --overwrite", tmp_path).returncode == 0
    assert (tmp_path / "used" / "notes.txt").read_text() == "mine"


def test_the_sample_step_is_documented_once():
    setups = [e for e in examples() if e.kind == "setup"]
    assert [e.command for e in setups] == [SAMPLE_STEP], setups
    first_example = min(e.line for e in examples() if e.kind != "setup")
    assert setups[0].line < first_example, "the sample step must come before every other example"


def test_every_example_is_run_or_listed():
    """Each example is run (kind 'run') or handled by a SPECIAL entry; each entry matches some example."""
    found = examples()
    assert len(found) >= 30, f"README's examples not found ({len(found)}): has the extraction broken?"
    kinds = {e.kind for e in found}
    unused = [kind for kind in SPECIAL if kind not in kinds]
    assert not unused, f"SPECIAL entries matching no README example (remove them): {unused}"
    odd = [str(e) for e in found if e.kind == "run" and re.search(r"\[|\]|<[A-Z]+>|\.\.\.|…", e.command)]
    assert not odd, "examples with a placeholder or optional part ([…], <X>, …) cannot run as printed:\n" \
                    + "\n".join(odd)


def test_readme_examples_run(sample):
    """Every plain example exits 0, two at a time."""
    todo = [e for e in examples() if e.kind == "run"]

    def one(example: Example) -> str | None:
        started = time.perf_counter()
        try:
            done = _run(example.command, sample)
        except subprocess.TimeoutExpired:
            done = None
        return _problem(example, done, time.perf_counter() - started)

    with ThreadPoolExecutor(2) as pool:
        problems = [p for p in pool.map(one, todo) if p]
    assert not problems, f"{len(problems)} of {len(todo)} README examples failed:\n" + "\n".join(problems)


# ---- servers ---------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + SERVER_START
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited ({process.returncode}): {process.stderr.read()[-500:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"no answer from /api/health within {SERVER_START:.0f} s")


def _curl_examples() -> list[Example]:
    return _commands("curl ")


def _run_curls(port: int, cwd: Path) -> list[str]:
    """README's curl examples against the server on ``port``; the job id placeholder replaced."""
    problems, job = [], None
    for example in _curl_examples():
        command = example.command.replace("localhost:8000", f"127.0.0.1:{port}")
        if JOB_ID.search(command):
            if job is None:
                problems.append(f"{example}\n    no job id: the POST to /api/screen must come first")
                continue
            if "/result" in command:  # the result exists once the job is done
                _wait_for_job(port, job)
            command = JOB_ID.sub(job, command)
        done = _run(command, cwd)
        if done.returncode != 0:
            problems.append(f"{example}\n    exit {done.returncode}: {done.stderr.strip()[-300:]}")
        elif "/api/screen" in command:
            job = json.loads(done.stdout)["id"]
    return problems


def _wait_for_job(port: int, job: str) -> None:
    deadline = time.monotonic() + TIME_LIMIT
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/jobs/{job}", timeout=5) as response:
            if json.loads(response.read())["state"] in ("done", "failed"):
                return
        time.sleep(0.3)


@pytest.mark.parametrize("example", [e for e in examples() if e.kind == "serve"], ids=str)
def test_readme_serve_examples_start_and_answer(sample, example):
    port = _free_port()
    command = re.sub(r"--port \d+", f"--port {port}", example.command)
    if "--port" not in command:
        command += f" --port {port}"
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=sample, env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        health = _health(port, process)
        assert health.get("units_count") or health, health
        if "--units" not in command:  # the sample server: README's curl examples are addressed to it
            if not shutil.which("curl"):
                pytest.skip("the server answered; README's curl examples not run: no curl installed")
            curls = _curl_examples()
            assert len(curls) >= 10, f"README's curl examples not found ({len(curls)})"
            problems = _run_curls(port, sample)
            assert not problems, "README's curl examples failed:\n" + "\n".join(problems)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- databases -------------------------------------------------------------------------------------------

_URL = re.compile(r"postgresql://gis@db\.example(?::\d+)?/(\w+)")


def test_readme_database_examples(sample):
    todo = [e for e in examples() if e.kind == "database"]
    server = os.environ.get("ZONING_TEST_DB")
    if not server:
        pytest.skip(f"{len(todo)} README examples need a PostgreSQL/PostGIS server (zoning db …, postgresql:// "
                    "tables): set ZONING_TEST_DB to run them")
    import pandas as pd
    import psycopg

    sys.path.insert(0, str(Path(__file__).parent))
    import postgis_server

    postgis_server.server_url()  # the template database with PostGIS
    databases = {name: postgis_server.fresh_database(server) for name in sorted({m.group(1) for e in todo
                                                                                for m in _URL.finditer(e.command)})}
    try:
        if "bureau" in databases:  # README reads the bureau's registry from a table 'projects'
            rows = pd.read_csv(sample / "registry.csv", dtype=str, keep_default_na=False)
            columns = ", ".join(f'"{c}" double precision' if c in ("lon", "lat") else f'"{c}" text'
                                for c in rows.columns)
            with psycopg.connect(databases["bureau"]) as conn:
                conn.execute(f"CREATE TABLE projects (id serial PRIMARY KEY, {columns})")
                marks = ", ".join(["%s"] * len(rows.columns))
                names = ", ".join(f'"{c}"' for c in rows.columns)
                conn.cursor().executemany(
                    f"INSERT INTO projects ({names}) VALUES ({marks})",
                    [[float(v) if c in ("lon", "lat") else v for c, v in zip(rows.columns, row)]
                     for row in rows.itertuples(index=False)])
        # in README order: publishing comes before the commands that read releases
        problems = _problems(todo, sample, lambda command: _URL.sub(lambda m: databases[m.group(1)], command))
        assert not problems, "README's database examples failed:\n" + "\n".join(problems)
    finally:
        for url in databases.values():
            postgis_server.drop_database(url)


def _problems(todo, sample, rewrite) -> list[str]:
    """Each example of ``todo`` run in turn, its command first rewritten; what went wrong, one line each."""
    problems = []
    for example in todo:
        started = time.perf_counter()
        try:
            done = _run(rewrite(example.command), sample)
        except subprocess.TimeoutExpired:
            done = None
        problem = _problem(example, done, time.perf_counter() - started)
        if problem:
            problems.append(problem)
    return problems


# ---- a Dask cluster --------------------------------------------------------------------------------------

def test_readme_dask_examples(sample):
    """README's examples on a running Dask cluster, against a scheduler of the tests' (see tests/test_cluster.py)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import dask_servers

    todo = [e for e in examples() if e.kind == "dask"]
    address, reason = dask_servers.scheduler_address()
    if address is None:
        if os.environ.get("ZONING_REQUIRE_DASK") == "1":
            pytest.fail(f"ZONING_REQUIRE_DASK=1 but {reason}")
        pytest.skip(reason)
    problems = _problems(todo, sample, lambda command: re.sub(r"--scheduler tcp://\S+", f"--scheduler {address}",
                                                               command))
    assert todo and not problems, "README's Dask examples failed:\n" + "\n".join(problems)
