"""Issue-17 load benchmark: ``zoning serve`` under single, concurrent and background load.

From the repository root with the package installed (with its service extras):
    python bench/serve_load.py [/tmp/national] [--workers 1,2,4] [--time-limit 1500]

Starts ``zoning serve`` as a subprocess on 127.0.0.1 on a free port (its own
process group, stopped at the end, and the whole run bounded by
``--time-limit`` seconds), for the bundled sample region and, if a directory
is given, for the layer in it (``units.gpkg`` and ``rules/``, made by
``bench/make_national.py``). Checks go to ``POST /api/check`` at random
points inside units (a unit picked at random, a point drawn inside it) with
a mix of typical projects, from a minimal asyncio HTTP/1.1 client (one
kept-alive connection per client; httpx for the upload and job polls) on
this machine, so the client's own work shares the processors with the
server (its CPU per check is printed). Measured:

(a) one client, ``-n`` (500) sequential checks: p50 <= 10 ms, p99 <= 50 ms;
(b) 50 concurrent clients x 40 checks each, for each ``--workers`` count:
    >= 150 checks/s, no errors, p99 <= 1 s;
(c) one client checking while a screening job of the registry
    (``registry.csv`` of the directory, 1,000,000 rows, uploaded to
    ``POST /api/screen``) runs: p99 <= 500 ms; the job's progress is
    followed at ``GET /api/jobs/{id}``.

Each prints p50/p95/p99 latency, throughput and errors, and PASS or FAIL
against its target. (c) runs against the layer given (the sample region has
no million-row registry); without a directory, only (a) and (b) run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_latency import PROJECTS, random_points  # noqa: E402

from zoning import sample  # noqa: E402

DEADLINE = [float("inf")]  # the whole run's end (time.monotonic), see --time-limit


class OutOfTime(Exception):
    """The run's time limit was reached."""


def remaining() -> float:
    left = DEADLINE[0] - time.monotonic()
    if left <= 0:
        raise OutOfTime
    return left


@dataclass
class Layer:
    label: str
    units: Path
    rules: Path | None
    zones: Path | None
    registry: Path | None
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def args(self) -> list[str]:
        out = ["--units", str(self.units)]
        out += ["--zones", str(self.zones)] if self.zones else []
        out += ["--rules", str(self.rules)] if self.rules else []
        return out

    def body(self, i: int) -> dict:
        lon, lat = self.points[i % len(self.points)]
        return {"lon": float(lon), "lat": float(lat), **PROJECTS[i % len(PROJECTS)]}


@dataclass
class Run:
    """Latencies (s) of the checks that answered 200, and the others' count and first reasons."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def failed(self, reason: str) -> None:
        self.errors += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def percentiles(self) -> tuple[float, float, float]:
        if not self.latencies:
            return (float("nan"),) * 3
        p50, p95, p99 = np.percentile(np.array(self.latencies) * 1000, [50, 95, 99])
        return float(p50), float(p95), float(p99)

    def line(self) -> str:
        p50, p95, p99 = self.percentiles()
        rate = len(self.latencies) / self.elapsed if self.elapsed else 0.0
        reasons = ("; " + ", ".join(f"{k} x{v}" for k, v in list(self.reasons.items())[:3])) if self.reasons else ""
        return (f"{len(self.latencies)} ok, {self.errors} errors{reasons}; p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                f"p99 {p99:.1f} ms; {rate:,.1f} checks/s over {self.elapsed:.1f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``zoning serve`` in its own process group on a free port; stopped (the group) on exit."""

    def __init__(self, layer: Layer, workers: int, jobs_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [sys.executable, "-m", "zoning", "serve", *layer.args(), "--host", "127.0.0.1",
                        "--port", str(self.port), "--workers", str(workers), "--jobs-dir", str(jobs_dir),
                        "--max-upload", "1000"]
        self.log = tempfile.TemporaryFile()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        started = time.monotonic()
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"zoning serve exited ({self.process.returncode}): {self.output()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/api/health").status_code == 200:
                        break
                if time.monotonic() - started > min(300, remaining()):
                    raise RuntimeError(f"zoning serve did not answer in time: {self.output()}")
                time.sleep(0.25)
        up = time.monotonic() - started
        settled = self.settle()
        print(f"  server up in {up:.1f} s on {self.url}; its processes idle after {settled:.1f} s")
        return self

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (its process group: the workers too)."""
        assert self.process is not None
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # the process group
                    total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def settle(self) -> float:
        """Wait until the server's processes are idle (every worker has loaded and warmed its engine: a
        worker still starting answers nothing yet, so a check or two cannot tell), at most two minutes."""
        started = time.monotonic()
        before = self.cpu_seconds()
        while time.monotonic() - started < min(120, remaining()):
            time.sleep(1.0)
            now = self.cpu_seconds()
            if now - before < 0.1:
                break
            before = now
        return time.monotonic() - started

    def __exit__(self, *exc) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the server and its workers, nothing else
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]


class Connection:
    """A minimal HTTP/1.1 client on one kept-alive connection, for checks: a general client (httpx) spends
    about 4 ms of processor per request, as much as the server's check, on a machine the two share."""

    def __init__(self, url: str):
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: dict) -> tuple[int, bytes]:
        """``(status, body)`` of a POST with a JSON body; the connection is opened (again) when needed."""
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode()
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            try:
                self.writer.write(head + data)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server")
                length, close = 0, False
                while (line := await self.reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and value.strip().lower() == "close":
                        close = True
                payload = await self.reader.readexactly(length)
                if close:
                    await self.close()
                return int(status_line.split()[1]), payload
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def check(client: Connection, body: dict, run: Run) -> None:
    started = time.perf_counter()
    try:
        status, payload = await asyncio.wait_for(client.post_json("/api/check", body), timeout=min(60, remaining()))
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
        run.failed(type(exc).__name__)
        return
    if status != 200:
        run.failed(f"HTTP {status}")
        return
    json.loads(payload)  # the client reads what it asked for
    run.latencies.append(time.perf_counter() - started)


async def warm_up(url: str, layer: Layer, workers: int) -> None:
    """Rounds of concurrent checks until one runs quickly: every worker has loaded its engine and answered
    (a worker still loading holds its connections), at most two minutes."""
    started = time.monotonic()
    clients = [Connection(url) for _ in range(4 * workers)]
    while time.monotonic() - started < min(120, remaining()):
        run = Run()
        await asyncio.gather(*(check(client, layer.body(i), run) for i, client in enumerate(clients)))
        if not run.errors and max(run.latencies) < 0.5:
            break
    for client in clients:
        await client.close()
    print(f"  warmed up in {time.monotonic() - started:.1f} s")


async def sequential(url: str, layer: Layer, n: int) -> Run:
    """(a): one client, ``n`` checks one after another (one kept-alive connection)."""
    run = Run()
    client = Connection(url)
    started = time.perf_counter()
    for i in range(n):
        remaining()
        await check(client, layer.body(i), run)
    run.elapsed = time.perf_counter() - started
    await client.close()
    return run


async def concurrent(url: str, layer: Layer, clients: int, each: int) -> Run:
    """(b): ``clients`` clients, each with its own connection, ``each`` checks one after another."""
    run = Run()

    async def one(c: int) -> None:
        client = Connection(url)
        for k in range(each):
            remaining()
            await check(client, layer.body(c * each + k), run)
        await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(clients)))
    run.elapsed = time.perf_counter() - started
    return run


async def during_screening(url: str, layer: Layer, registry: Path, max_checks: int) -> tuple[Run, dict]:
    """(c): upload the registry as a job, then one client checks until the job ends (or ``max_checks``)."""
    run = Run()
    job: dict = {}
    checker = Connection(url)
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        started = time.perf_counter()
        with open(registry, "rb") as f:
            response = await client.post("/api/screen", files={"file": (registry.name, f, "text/csv")})
        upload = time.perf_counter() - started
        if response.status_code != 202:
            raise RuntimeError(f"POST /api/screen: HTTP {response.status_code}: {response.text[:300]}")
        job_id = response.json()["id"]
        print(f"  uploaded {registry.stat().st_size / 1e6:,.0f} MB in {upload:.1f} s; job {job_id}")
        i, last_poll, seen_running = 0, 0.0, None
        started = time.perf_counter()
        while i < max_checks:
            remaining()
            now = time.perf_counter()
            if now - last_poll >= 1.0:
                last_poll = now
                job = (await client.get(f"/api/jobs/{job_id}")).json()
                if job["state"] == "running" and seen_running is None:
                    seen_running = now - started
                if job["state"] in ("done", "failed"):
                    break
            if job.get("state") == "running":  # only checks made while the job runs count
                await check(checker, layer.body(i), run)
                i += 1
            else:
                await asyncio.sleep(0.05)
        run.elapsed = time.perf_counter() - started - (seen_running or 0.0)
        job = (await client.get(f"/api/jobs/{job_id}")).json()
        if job["state"] in ("queued", "running"):
            await client.delete(f"/api/jobs/{job_id}")  # stop it: the server is about to stop too
    await checker.close()
    return run, job


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def bench_layer(layer: Layer, args: argparse.Namespace, jobs_root: Path) -> None:
    units = gpd.read_file(layer.units, columns=["code"])
    layer.points = random_points(units, 2000)
    print(f"\n== {layer.label}: {len(units):,} units ==")
    best: tuple[float, int] | None = None
    for workers in args.workers:
        print(f"-- zoning serve --workers {workers}")
        with Server(layer, workers, jobs_root / f"{layer.label}-{workers}") as server:
            asyncio.run(warm_up(server.url, layer, workers))
            if workers == args.workers[0]:
                a = asyncio.run(sequential(server.url, layer, args.n))
                p50, _, p99 = a.percentiles()
                print(f"  (a) one client, {args.n} sequential checks: {a.line()}")
                print(f"      target p50 <= 10 ms, p99 <= 50 ms: {verdict(p50 <= 10 and p99 <= 50 and not a.errors)}")
            client_cpu, server_cpu = time.process_time(), server.cpu_seconds()
            b = asyncio.run(concurrent(server.url, layer, args.clients, args.each))
            client_cpu, server_cpu = time.process_time() - client_cpu, server.cpu_seconds() - server_cpu
            _, _, p99 = b.percentiles()
            rate = len(b.latencies) / b.elapsed if b.elapsed else 0.0
            print(f"  (b) {args.clients} clients x {args.each} checks: {b.line()}")
            checks = max(1, len(b.latencies) + b.errors)
            print(f"      CPU per check: server {server_cpu / checks * 1000:.1f} ms, this client "
                  f"{client_cpu / checks * 1000:.1f} ms (of {os.cpu_count()} processors, shared with all else)")
            print(f"      target >= 150 checks/s, 0 errors, p99 <= 1 s: "
                  f"{verdict(rate >= 150 and b.errors == 0 and p99 <= 1000)}")
            if best is None or rate > best[0]:
                best = (rate, workers)
            if layer.registry is not None and workers == args.screen_workers:
                c, job = asyncio.run(during_screening(server.url, layer, layer.registry, args.max_checks))
                _, _, p99 = c.percentiles()
                print(f"  (c) one client while screening {layer.registry.name}: {c.line()}")
                print(f"      job: {job.get('state')}, {job.get('rows_done') or 0:,} of "
                      f"{job.get('rows_total') or 0:,} rows" + (f" ({job['error']})" if job.get("error") else ""))
                print(f"      target p99 <= 500 ms: {verdict(p99 <= 500 and not c.errors)}")
    if best is not None and len(args.workers) > 1:
        print(f"  best for (b): --workers {best[1]} ({best[0]:,.1f} checks/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("national", nargs="?", type=Path, help="directory with units.gpkg, rules/, registry.csv")
    parser.add_argument("-n", type=int, default=500, help="(a): sequential checks (default 500)")
    parser.add_argument("--clients", type=int, default=50, help="(b): concurrent clients (default 50)")
    parser.add_argument("--each", type=int, default=40, help="(b): checks per client (default 40)")
    parser.add_argument("--workers", default="1,2,4", help="(b): server worker counts to try (default 1,2,4)")
    parser.add_argument("--screen-workers", type=int, default=None,
                        help="(c): with this worker count (default: the first of --workers)")
    parser.add_argument("--max-checks", type=int, default=100_000,
                        help="(c): at most this many checks, else until the job ends (default 100,000)")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample region")
    parser.add_argument("--time-limit", type=float, default=1800, help="seconds for the whole run (default 1800)")
    args = parser.parse_args()
    args.workers = [int(w) for w in args.workers.split(",")]
    args.screen_workers = args.screen_workers or args.workers[0]
    DEADLINE[0] = time.monotonic() + args.time_limit
    layers = [] if args.no_sample else [
        Layer("sample", sample.units_path(), sample.rules_dir(), sample.zones_path(), None)]
    if args.national:
        registry = args.national / "registry.csv"
        layers.append(Layer(args.national.name or "national", args.national / "units.gpkg", args.national / "rules",
                            None, registry if registry.exists() else None))
    with tempfile.TemporaryDirectory(prefix="zoning-serve-load-") as jobs_root:
        try:
            for layer in layers:
                bench_layer(layer, args, Path(jobs_root))
        except OutOfTime:
            print(f"time limit of {args.time_limit:.0f} s reached: stopped")


if __name__ == "__main__":
    main()
