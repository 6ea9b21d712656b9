"""What a cluster's worker runs: the engine, delivered once per worker, and the screening of one part.

The engine goes to every worker once (:class:`Shipped`, scattered to all of them by
:class:`zoning.cluster.runner.DaskRunner`): pickled once on the driver, without the
caches that a process rebuilds (spatial indexes, prepared polygons), unpickled and
warmed on first use in each worker process, then kept there for every task. Tasks
are pure: a part read and screened again (after a worker died) gives the same rows.
"""

from __future__ import annotations

import copy
import pickle
import threading
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.chunks import ChunkPlan, Screened, screen_chunk
from zoning.cluster.partitions import Part, Sent
from zoning.engine import Engine
from zoning.inputs.crs import SourceCRS
from zoning.inputs.headers import ColumnMap
from zoning.screening import project_rows

#: engines unpickled in this process (a test asks the workers: once each, whatever the number of parts)
UNPICKLED = 0
_LOCK = threading.Lock()


class Shipped:
    """An engine as sent to workers: its pickle (``size`` bytes), unpickled once per process."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self._engine: Engine | None = None

    @classmethod
    def of(cls, engine: Engine) -> Shipped:
        """``engine`` pickled without what each process rebuilds itself (see the module doc)."""
        cold = copy.copy(engine)
        cold.rules = copy.copy(engine.rules)
        cold.rules.trees = {}  # keyed by id() of the layer's array: stale in another process anyway
        cold._warm = False  # prepared polygons do not survive pickling: warm again where unpickled
        cold._warm_industries = False
        return cls(pickle.dumps(cold, protocol=5))

    @property
    def size(self) -> int:
        return len(self.payload)

    def __reduce__(self):
        return Shipped, (self.payload,)

    def engine(self) -> Engine:
        """The engine, unpickled and warmed the first time in this process."""
        global UNPICKLED
        with _LOCK:
            if self._engine is None:
                engine = pickle.loads(self.payload)
                engine.warm()
                self._engine = engine
                UNPICKLED += 1
            return self._engine


def unpickled() -> int:
    """Engines unpickled in this process (asked of each worker with ``client.run``)."""
    return UNPICKLED


@dataclass(frozen=True)
class Reading:
    """How a worker turns raw rows into projects: the columns the driver recognised, the coordinates'
    system, and the chunk size."""

    colmap: ColumnMap
    source: SourceCRS | None
    chunk_size: int


@dataclass
class Packed:
    """A screened chunk as it travels back to the driver, smaller than :class:`Screened`: the result columns
    not twice (they are in ``out``, under their output names), sites as WKB (decoded at once, vectorised)."""

    out: pd.DataFrame
    wkb: np.ndarray
    columns: list[tuple[str, str]]  # (result column, its name in ``out``), in the results' order
    numbers: np.ndarray
    kinds: np.ndarray
    raw: pd.DataFrame | None = None
    projects: gpd.GeoDataFrame | None = None

    @classmethod
    def of(cls, done: Screened, renamed: dict[str, str]) -> Packed:
        columns = [(c, renamed.get(c, c)) for c in done.results.columns]
        return cls(done.out, shapely.to_wkb(done.sites), columns, done.numbers, done.kinds, done.raw, done.projects)

    def unpack(self) -> Screened:
        results = self.out[[name for _, name in self.columns]]
        results.columns = [c for c, _ in self.columns]
        return Screened(self.out, shapely.from_wkb(self.wkb), results, self.numbers, self.kinds, self.raw,
                        self.projects)


@dataclass
class PartDone:
    """A part screened: its chunks, which rows of each a CSV reader put in place as malformed (so that the
    driver chunks them as one process would), its record count, coordinate notes, timings and the seconds the
    worker spent."""

    pieces: list[Packed]
    placed: list[np.ndarray]
    records: int
    numbered: bool
    notes: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def screen_part(shipped: Shipped, plan: ChunkPlan, reading: Reading, part: Part | Sent) -> PartDone:
    """Read (or take) a part's rows and screen them, chunk by chunk, on the one vectorised path."""
    started = time.perf_counter()
    engine = shipped.engine()
    timings: dict[str, float] = {}
    if isinstance(part, Sent):
        done = screen_chunk(engine, plan, part.item, keep_inputs=plan.keep_inputs, timings=timings)
        return PartDone([Packed.of(done, plan.renamed)], [np.zeros(len(done.out), bool)], len(done.out), True, {},
                        timings, time.perf_counter() - started)
    pieces: list[Packed] = []
    placed: list[np.ndarray] = []
    notes: dict[str, int] = {}
    read = 0.0
    chunks = part.read(reading.chunk_size)
    while True:
        t = time.perf_counter()
        chunk = next(chunks, None)
        if chunk is None:
            read += time.perf_counter() - t
            break
        raw, geometry, numbers, malformed = chunk
        projects, problems = project_rows(raw, geometry, malformed, colmap=reading.colmap, source=reading.source,
                                          vocabulary=engine.vocabulary, notes=notes)
        read += time.perf_counter() - t
        pieces.append(Packed.of(screen_chunk(engine, plan, (raw, projects, problems, numbers),
                                             keep_inputs=plan.keep_inputs, timings=timings), plan.renamed))
        # rows a CSV reader put back in place (malformed, or short: their missing cells are None, never "")
        placed.append(np.zeros(len(raw), bool) if malformed is None
                      else (malformed != "") | raw.isna().any(axis=1).to_numpy())
    timings["read"] = timings.get("read", 0.0) + read
    return PartDone(pieces, placed, sum(len(p.out) for p in pieces), part.numbered, notes, timings,
                    time.perf_counter() - started)
