"""Screening one chunk of a registry, and running the chunks of a run in order.

A screening run (:func:`zoning.screening.screen`) is a stream of chunks: each
chunk of raw rows is read and normalised (:class:`zoning.screening.ProjectReader`),
evaluated on the engine's one vectorised path (:func:`evaluate_chunk`), and
turned into output rows (:meth:`Evaluated.finish`), following a picklable
:class:`ChunkPlan`; :func:`screen_chunk` does both. A *runner* produces the
chunks in input order: :class:`LocalRunner` in this process, reading the next
chunk in a thread while the current one is evaluated, and leaving its text to
the thread that writes it, so that both cores work (Arrow's CSV parser and
writer and GEOS release the GIL); :mod:`zoning.cluster` on a Dask cluster.
Whatever the runner, every chunk goes through the same two steps, so the
output is the same.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.engine import Engine, MinOverlapLike
from zoning.evaluate.summary import Batch
from zoning.inputs.webmap import to_webmap
from zoning.projects import RowErrors

if TYPE_CHECKING:
    from zoning.screening import ProjectReader

#: chunks read ahead of the one being evaluated
READ_AHEAD = 1


@dataclass(frozen=True)
class ChunkPlan:
    """What turns a chunk of projects into output rows, the same for every chunk of a run (and picklable,
    to be sent to a cluster's workers once): the result columns' names in the output (``renamed``, never
    overwriting an input column), the web-map system for geometries, whether a ``wkt`` column is added, and
    the evaluation options."""

    renamed: dict[str, str]
    web: str | None = None
    add_wkt: bool = False
    min_overlap: MinOverlapLike = None
    explain: bool = False
    guidance: bool = False
    #: whether the screened chunks keep their raw rows and projects (a registry report's digest reads them; a
    #: cluster's workers then send them back too)
    keep_inputs: bool = True
    #: whether the output takes the sites' geometries (a CSV or workbook does not: a cluster's workers then
    #: need not send them back)
    sites: bool = True


@dataclass
class Screened:
    """One chunk screened: the output rows and their geometries, with what the run's summary and a registry
    report gather (``results`` are the result columns under their own names; ``kinds`` each row's error kind,
    empty when none; ``numbers`` the rows' spreadsheet row numbers)."""

    out: pd.DataFrame
    sites: np.ndarray
    results: pd.DataFrame
    numbers: np.ndarray
    kinds: np.ndarray
    raw: pd.DataFrame | None = None
    projects: gpd.GeoDataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def finish(self, timings: dict[str, float] | None = None) -> Screened:
        """The chunk screened: itself (see :class:`Evaluated`)."""
        return self


Item = tuple[pd.DataFrame, gpd.GeoDataFrame, RowErrors, np.ndarray]


@dataclass
class Evaluated:
    """One chunk evaluated, its text not yet made: :meth:`finish` makes the output rows, in any thread (it
    reads no shared geometry), so that a run writes chunk *n* while it evaluates chunk *n + 1*."""

    plan: ChunkPlan
    raw: pd.DataFrame
    projects: gpd.GeoDataFrame
    problems: RowErrors
    numbers: np.ndarray
    sites: np.ndarray
    batch: Batch | None = None  # the evaluation, or (with guidance) the result columns already made
    results: pd.DataFrame | None = None

    def finish(self, timings: dict[str, float] | None = None) -> Screened:
        """The chunk screened, as :func:`screen_chunk` returns it; the text's seconds go to ``timings``."""
        plan = self.plan
        results = self.batch.columns(timings) if self.batch is not None else self.results
        assert results is not None  # one of the two is given
        out = pd.concat([self.raw, results.rename(columns=plan.renamed)], axis=1)
        if plan.add_wkt:
            out["wkt"] = shapely.to_wkt(self.sites, rounding_precision=7)
        return Screened(out, self.sites, results, self.numbers, self.problems.kind,
                        self.raw if plan.keep_inputs else None, self.projects if plan.keep_inputs else None,
                        timings if timings is not None else {})


def evaluate_chunk(engine: Engine, plan: ChunkPlan, item: Item, *,
                   timings: dict[str, float] | None = None) -> Evaluated:
    """Evaluate one chunk ``item`` (raw rows, normalised projects, row problems, row numbers) as ``plan``
    says; :meth:`Evaluated.finish` makes its output rows."""
    raw, projects, problems, numbers = item
    sites = projects.geometry.to_numpy()
    if plan.web:
        sites = to_webmap(sites, plan.web)
    batch = engine.evaluate_batch(projects, problems, timings=timings, min_overlap=plan.min_overlap,
                                  explain=plan.explain)
    if plan.guidance:  # siting guidance reads the layers' geometry: made here, in the evaluating thread
        results = _with_guidance(engine, projects, batch.columns(timings), plan.min_overlap)
        return Evaluated(plan, raw, projects, problems, numbers, sites, results=results)
    return Evaluated(plan, raw, projects, problems, numbers, sites, batch=batch)


def screen_chunk(engine: Engine, plan: ChunkPlan, item: Item, *,
                 timings: dict[str, float] | None = None) -> Screened:
    """Screen one chunk ``item`` (raw rows, normalised projects, row problems, row numbers) as ``plan`` says
    (with ``plan.keep_inputs``, the raw rows and projects stay on the result: a registry report's digest
    reads them)."""
    timings = {} if timings is None else timings
    return evaluate_chunk(engine, plan, item, timings=timings).finish(timings)


def _with_guidance(engine: Engine, projects: gpd.GeoDataFrame, results: pd.DataFrame,
                   min_overlap: MinOverlapLike) -> pd.DataFrame:
    """``results`` with a column ``guidance`` before ``as_of``, each row's lines computed by the engine for
    the date it was judged on."""
    from zoning.siting.registry_guidance import guidance_column

    text = np.full(len(results), "", dtype=object)
    verdict = results["verdict"].to_numpy(dtype=object)
    days = results["as_of"].to_numpy(dtype=object) if "as_of" in results else np.full(len(results), "", object)
    for day in pd.unique(days):
        rows = days == day
        judged = engine if not day or day == engine.as_of.isoformat() else \
            engine._versions_on(dt.date.fromisoformat(day))[0]
        if judged is not None:
            text[rows] = guidance_column(judged, projects[rows], verdict[rows], min_overlap=min_overlap)
    results = results.copy()
    results.insert(len(results.columns) - ("as_of" in results), "guidance", text)
    return results


class Runner(Protocol):
    """Produces a run's chunks in input order, each :class:`Screened` or :class:`Evaluated` (whose
    ``finish`` screens it)."""

    def screened(self, engine: Engine, plan: ChunkPlan, reader: ProjectReader, *, skip: int = 0,
                 timings: dict[str, float]) -> Iterator[Screened | Evaluated]:
        """Every chunk of ``reader`` after the first ``skip``, screened, in order, by ``engine`` once warmed
        (:meth:`Engine.warm`, timed as ``timings['prepare']``); read time goes to ``timings['read']``,
        evaluation's to its own keys."""
        ...


class LocalRunner:
    """Chunks evaluated in this process, the next one read (parsed, located, normalised) in a thread while
    the current one is evaluated (the first while the engine builds its indexes, :meth:`Engine.warm`);
    ``read_ahead=0`` reads them in turn. Each is :class:`Evaluated`: the run finishes it where it writes."""

    def __init__(self, read_ahead: int = READ_AHEAD):
        self.read_ahead = read_ahead

    def screened(self, engine: Engine, plan: ChunkPlan, reader: ProjectReader, *, skip: int = 0,
                 timings: dict[str, float]) -> Iterator[Screened | Evaluated]:
        chunks = reader.chunks(timings=timings)
        items = _Ahead(chunks, self.read_ahead) if self.read_ahead else chunks
        try:
            started = time.perf_counter()  # the first chunk is read while the units' indexes are built
            engine.warm()
            timings["prepare"] = timings.get("prepare", 0.0) + time.perf_counter() - started
            for item in items:
                if skip:  # resuming: this chunk was written by the run before
                    skip -= 1
                    continue
                yield evaluate_chunk(engine, plan, item, timings=timings)
        finally:
            if isinstance(items, _Ahead):
                items.close()


_END = object()


class _Ahead:
    """``items`` produced by a thread started at once, at most ``depth`` ahead of the consumer; an
    exception in the thread is raised by ``next``, where the failing item would have come; :meth:`close`
    (also at the end) stops the thread after the item it is reading."""

    def __init__(self, items: Iterator[Item], depth: int):
        self._box: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._items = items
        # the thread sees the caller's context (the limits in force, see zoning.limits)
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._produce,),
                                        name="zoning-read-ahead", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            for item in self._items:
                while not self._stop.is_set():
                    try:
                        self._box.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._box.put((_END, None))
        except BaseException as exc:  # handed to the consumer, raised there
            self._box.put((_END, exc))

    def __iter__(self) -> _Ahead:
        return self

    def __next__(self) -> Item:
        item, error = self._box.get()
        if item is _END:
            self.close()
            if error is not None:
                raise error
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting to put
            try:
                self._box.get_nowait()
            except queue.Empty:
                self._thread.join(timeout=0.05)

