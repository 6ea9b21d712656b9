"""Screening's chunks computed on a Dask cluster, written in order by the driver.

:class:`DaskRunner` is a :class:`zoning.chunks.Runner`: :func:`zoning.screening.screen`
writes what it yields with its one writer, in input order, to its temporary file, so
every output format works as in one process and nothing is left behind when a run fails.
The engine goes to every worker once (:class:`zoning.cluster.work.Shipped`); the
registry is cut into parts that workers read themselves where its format allows
(:mod:`zoning.cluster.partitions`); at most ``window`` parts are in flight, so the
driver holds a bounded number of results; each part's rows are numbered as in one
process and cut again into the chunks one process writes (:mod:`zoning.cluster.batches`).
A worker lost mid-run has its parts computed again elsewhere (the tasks are pure); a
scheduler lost is a :class:`zoning.cluster.client.ClusterError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator

from zoning.chunks import ChunkPlan, Screened
from zoning.cluster.batches import Rebatch
from zoning.cluster.client import ClusterError, _reachable, first_line
from zoning.cluster.partitions import Sent, plan_parts
from zoning.cluster.work import Reading, Shipped, screen_part
from zoning.engine import Engine
from zoning.errors import DataError, ZoningError
from zoning.screening import ProjectReader

#: seconds between looks at the cluster while waiting for a part; and without a scheduler before giving up
POLL = 0.2
LOST_AFTER = 10.0
#: times a part lost with a worker (cancelled by the scheduler) is submitted again
RESUBMIT = 3


class DaskRunner:
    """Chunks screened on the cluster of ``client`` (a ``distributed.Client``).

    ``rows`` is the rows per part workers read (default: the run's chunk size, or fewer so that each
    worker gets two parts); ``window`` the parts in flight (default: twice the workers);
    ``progress(done, total)`` is called as parts complete, in any order (``total`` is None when the
    driver reads the registry itself); ``shared=False`` says the workers cannot read the registry's file
    (it is the driver's own, e.g. standard input saved to a temporary file): the driver reads it and sends the
    chunks. After a run, ``parts``, ``workers``, ``engine_bytes`` and
    ``part_seconds`` say what it took.
    """

    def __init__(self, client, *, rows: int | None = None, window: int | None = None,
                 progress: Callable[[int, int | None], object] | None = None, shared: bool = True):
        self.client = client
        self.shared = shared
        self.rows = rows
        self.window = window
        self.progress = progress
        self.parts = 0
        self.workers = 0
        self.engine_bytes = 0
        self.part_seconds: list[float] = []
        self.driver_seconds = 0.0  # taking results and cutting them into chunks (the writer's time is screen's)
        self.fetch_seconds = 0.0  # of which fetching the results from the workers
        self.read_by = ""
        self.plugin = ""  # the name of the worker plugin installing the engine, during a run

    def note(self) -> str:
        """One line for the run's summary."""
        return (f"screened on a Dask cluster: {self.parts:,} part(s) on {self.workers} worker(s), {self.read_by}; "
                f"engine sent once to each worker ({self.engine_bytes / 2**20:,.1f} MB)")

    def screened(self, engine: Engine, plan: ChunkPlan, reader: ProjectReader, *, skip: int = 0,
                 timings: dict[str, float]) -> Iterator[Screened]:
        inflight: deque = deque()
        try:
            yield from self._run(engine, plan, reader, skip, timings, inflight)
        except ZoningError:
            raise
        except Exception as exc:
            if _cluster_failure(exc):
                hint = " (the workers read the registry themselves: it must be at the same path on them)" \
                    if isinstance(exc, FileNotFoundError) else ""
                if self.client.status != "running" or "scheduler-connection-lost" in str(exc) \
                        or not _answers(self._address()):  # the client may not have noticed yet
                    raise ClusterError(f"lost the Dask scheduler at {self._address()} mid-run: "
                                       f"{type(exc).__name__}: {first_line(exc)}") from None
                raise ClusterError(f"screening on the Dask cluster at {self._address()} failed: "
                                   f"{type(exc).__name__}: {first_line(exc)}{hint}") from None
            raise
        finally:
            futures = [entry[2] for entry in inflight]
            if self.client.status == "running":
                with _quietly():
                    if futures:
                        self.client.cancel(futures)
                    if self.plugin:  # the engine off the workers
                        self.client.unregister_worker_plugin(self.plugin)
            self.plugin = ""

    def _run(self, engine: Engine, plan: ChunkPlan, reader: ProjectReader, skip: int, timings: dict[str, float],
             inflight: deque) -> Iterator[Screened]:
        client = self.client
        self.parts, self.part_seconds, self.driver_seconds, self.fetch_seconds = 0, [], 0.0, 0.0
        self.workers = len(client.scheduler_info().get("workers", {}))
        from zoning.cluster.plugin import EnginePlugin  # imports distributed

        started = time.perf_counter()
        shipped = Shipped.of(engine)
        self.engine_bytes = shipped.size
        plugin = EnginePlugin(shipped)
        client.register_plugin(plugin)  # on every worker, and any that joins: unpickled and warmed there
        self.plugin = plugin.name
        del shipped, plugin
        token = self.plugin.removeprefix("zoning-engine-")
        timings["send engine"] = time.perf_counter() - started
        chunk_size = reader.chunk_size
        reading = Reading(reader.colmap, reader.source, chunk_size)
        planned = plan_parts(reader.registry, chunk_size, max(self.workers, 1), self.rows) if self.shared else None
        if planned is None:
            self.read_by = "the registry read by the driver and sent in chunks" + \
                ("" if self.shared else " (the workers cannot read it)")
            parts: Iterator = (Sent(item) for item in reader.chunks(timings=timings))
            total = None
        else:
            kind = "byte ranges" if reader.registry.format == "csv" else "feature ranges"
            self.read_by = f"each worker reading its own {kind} of the registry"
            parts = iter(planned)
            total = len(planned)
        window = self.window or max(2 * self.workers, 2)
        header_at = reader.registry.settings.get("header_at", 0)
        counter = itertools.count()
        counted: set[int] = set()
        rebatch = Rebatch(chunk_size, skip)
        before = 0  # records in the parts already taken (their rows are numbered from 1 by CSV workers)
        if self.progress is not None:
            self.progress(0, total)

        def send(i: int, part, attempt: int = 0):
            arg = client.scatter(part, hash=False) if isinstance(part, Sent) else part
            return client.submit(screen_part, token, plan, reading, arg, retries=1, pure=False,
                                 key=f"zoning-part-{i}-{attempt}-{uuid.uuid4().hex[:12]}")

        def submit() -> None:
            while len(inflight) < window:
                part = next(parts, None)
                if part is None:
                    return
                i = next(counter)
                inflight.append([i, part, send(i, part), 0])

        submit()
        while inflight:
            i, part, head, attempt = inflight[0]
            numbered = getattr(part, "numbered", True)
            lost_since = None
            ready = threading.Event()
            head.add_done_callback(lambda _, ready=ready: ready.set())  # (an error is raised below, its part known)
            while not head.done():
                ready.wait(POLL)
                self._count(inflight, counted, total)
                if client.status != "running":
                    lost_since = lost_since or time.perf_counter()
                    if time.perf_counter() - lost_since > LOST_AFTER:
                        raise ClusterError(f"lost the Dask scheduler at {self._address()} (client {client.status})")
                else:
                    lost_since = None
            took = time.perf_counter()
            try:
                done = head.result()
            except DataError as exc:  # a worker's rows are numbered within its part: number them in the file
                if numbered:
                    raise
                raise DataError(_renumbered(str(exc), before + header_at + 1)) from None
            except Exception as exc:  # noqa: BLE001 - a part lost with a worker, the scheduler still there: again
                if not _cluster_failure(exc) or attempt >= RESUBMIT or client.status != "running" \
                        or "scheduler-connection-lost" in str(exc):
                    raise
                inflight[0][2:] = [send(i, part, attempt + 1), attempt + 1]
                continue
            self.fetch_seconds += time.perf_counter() - took
            inflight.popleft()
            self._count(inflight, counted, total, also=i)
            submit()
            self.parts += 1
            self.part_seconds.append(done.seconds)
            pieces = [piece.unpack() for piece in done.pieces]
            if not done.numbered:
                for piece in pieces:
                    piece.numbers = piece.numbers + (before + header_at + 1)
            before += done.records
            for note, n in done.notes.items():
                reader.conversion_notes[note] = reader.conversion_notes.get(note, 0) + n
            for name, seconds in done.timings.items():
                timings[name] = timings.get(name, 0.0) + seconds
            chunks = list(rebatch.add(pieces, done.placed))
            self.driver_seconds += time.perf_counter() - took
            yield from chunks
        yield from rebatch.finish()

    def _count(self, inflight: deque, counted: set[int], total: int | None, also: int | None = None) -> None:
        fresh = [i for i, _, f, _ in inflight if f.done() and f.status == "finished" and i not in counted]
        if also is not None and also not in counted:
            fresh.append(also)
        if fresh:
            counted.update(fresh)
            if self.progress is not None:
                self.progress(len(counted), total)

    def _address(self) -> str:
        try:
            return str(self.client.scheduler.address)
        except Exception:  # noqa: BLE001 - only for a message
            return "?"


def _answers(address: str) -> bool:
    """Whether the scheduler at ``address`` still accepts a connection (within a second)."""
    try:
        _reachable(address, 1.0)
    except ClusterError:
        return False
    return True


def _renumbered(message: str, offset: int) -> str:
    """``message`` with its first "row N" (counted within a part) counted in the file."""
    return re.sub(r"\brow (\d+)", lambda m: f"row {int(m.group(1)) + offset}", message, count=1)


def _cluster_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is the cluster's failing (a lost scheduler or worker, a cancelled task, a file a worker
    cannot read), rather than a bug."""
    return isinstance(exc, (OSError, TimeoutError, asyncio.CancelledError, concurrent.futures.CancelledError)) \
        or type(exc).__module__.split(".")[0] == "distributed"


class _quietly:
    """Suppress the given exceptions (default: any), for best-effort clean-up."""

    def __init__(self, *kinds: type[BaseException]):
        self.kinds = kinds or (Exception,)

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, value, tb) -> bool:
        return kind is not None and issubclass(kind, self.kinds)
