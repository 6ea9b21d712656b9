"""What a cluster's worker runs: the engine, delivered once per worker, and the screening of one part.

The engine goes to every worker once (:class:`Shipped`, installed on each by a worker
plugin, :mod:`zoning.cluster.plugin`): pickled once on the driver, without the caches
that a process rebuilds (spatial indexes, prepared polygons, point grids), unpickled and warmed
once in each worker process and kept there, by its token, for every task, which
names only the token. Tasks are pure: a part read and screened again (after a
worker died) gives the same rows.
"""

from __future__ import annotations

import copy
import pickle
import threading
import time
import uuid
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from zoning import limits
from zoning.chunks import ChunkPlan, Screened, screen_chunk
from zoning.cluster.partitions import Part, Sent
from zoning.engine import Engine
from zoning.inputs.crs import SourceCRS
from zoning.inputs.headers import ColumnMap
from zoning.limits import Limits
from zoning.screening import project_rows

#: engines unpickled in this process (a test asks the workers: once each, whatever the number of parts)
UNPICKLED = 0
_LOCK = threading.Lock()
#: the engines of the runs this process works for, by the token of their shipment
_ENGINES: dict[str, Engine] = {}


class Shipped:
    """An engine as sent to workers: its pickle (``size`` bytes), unpickled once per process (a worker that
    receives the shipment twice, from the driver and from another worker, still unpickles it once)."""

    def __init__(self, payload: bytes, token: str | None = None):
        self.payload = payload
        self.token = token or uuid.uuid4().hex

    @classmethod
    def of(cls, engine: Engine) -> Shipped:
        """``engine`` pickled without what each process rebuilds itself (see the module doc)."""
        cold = copy.copy(engine)
        cold.rules = copy.copy(engine.rules)
        cold.rules.trees = {}  # keyed by id() of the layer's array: stale in another process anyway
        # caches a run fills (a screened million rows' text combinations weigh more than the rules)
        cold.rules.text_cache = {}
        cold.rules.possible_cache, cold.rules.possible_table = {}, None
        cold._warm = False  # prepared polygons do not survive pickling: warm again where unpickled
        # the point grids (146 MB for 40,000 units) are rebuilt by each worker's warm(), all at once, rather
        # than sent to each in turn
        cold.derived = {name: value for name, value in engine.derived.items() if name != "grids"}
        cold._warm_industries = False
        return cls(pickle.dumps(cold, protocol=5))

    @property
    def size(self) -> int:
        return len(self.payload)

    def __reduce__(self):
        return Shipped, (self.payload, self.token)

    def engine(self) -> Engine:
        """The engine, unpickled and warmed the first time in this process."""
        global UNPICKLED
        with _LOCK:
            engine = _ENGINES.get(self.token)
            if engine is None:
                engine = pickle.loads(self.payload)
                engine.warm()
                _ENGINES[self.token] = engine
                UNPICKLED += 1
            return engine


def installed(token: str) -> Engine:
    """The engine of the shipment ``token``, installed in this process by the run's plugin."""
    engine = _ENGINES.get(token)
    if engine is None:
        raise RuntimeError(f"no engine {token} on this worker (its plugin was not set up)")
    return engine


def forget(token: str) -> None:
    """Drop the engine of shipment ``token`` (its run is over)."""
    with _LOCK:
        _ENGINES.pop(token, None)


def unpickled() -> int:
    """Engines unpickled in this process (asked of each worker with ``client.run``)."""
    return UNPICKLED


@dataclass(frozen=True)
class Reading:
    """How a worker turns raw rows into projects: the columns the driver recognised, the coordinates'
    system, the chunk size, and the input limits in force on the driver."""

    colmap: ColumnMap
    source: SourceCRS | None
    chunk_size: int
    limits: Limits = field(default_factory=limits.current)  # the driver's (a worker's own are the defaults)


@dataclass
class Packed:
    """A screened chunk as it travels back to the driver, smaller than :class:`Screened`: the result columns
    not twice (they are in ``out``, under their output names), and as codes into their distinct strings
    (a reason cited by thousands of rows travels once), sites as WKB (decoded at once, vectorised)."""

    out: pd.DataFrame
    wkb: np.ndarray | None  # None when the output takes no geometries (see ChunkPlan.sites)
    columns: list[tuple[str, str]]  # (result column, its name in ``out``), in the results' order
    numbers: np.ndarray
    kinds: np.ndarray
    raw: pd.DataFrame | None = None
    projects: gpd.GeoDataFrame | None = None

    @classmethod
    def of(cls, done: Screened, plan: ChunkPlan) -> Packed:
        columns = [(c, plan.renamed.get(c, c)) for c in done.results.columns]
        out = done.out.copy(deep=False)
        for _, name in columns:
            if isinstance(out[name].dtype, pd.StringDtype) and out[name].dtype.storage == "pyarrow":
                out[name] = pc.dictionary_encode(pa.array(out[name])).to_pandas().set_axis(out.index)
        return cls(out, shapely.to_wkb(done.sites) if plan.sites else None, columns, done.numbers, done.kinds,
                   done.raw, done.projects)

    def unpack(self) -> Screened:
        for _, name in self.columns:  # the text again, as one process has it
            if isinstance(self.out[name].dtype, pd.CategoricalDtype):
                self.out[name] = pa.array(self.out[name]).cast(pa.string()).to_pandas().set_axis(self.out.index)
        results = self.out[[name for _, name in self.columns]]
        results.columns = [c for c, _ in self.columns]
        sites = shapely.from_wkb(self.wkb) if self.wkb is not None else np.full(len(self.out), None, dtype=object)
        return Screened(self.out, sites, results, self.numbers, self.kinds, self.raw,
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


def screen_part(token: str, plan: ChunkPlan, reading: Reading, part: Part | Sent) -> PartDone:
    """Read (or take) a part's rows and screen them, chunk by chunk, on the one vectorised path, with the engine
    of shipment ``token`` (installed on the worker by :class:`zoning.cluster.plugin.EnginePlugin`)."""
    with limits.using(reading.limits):
        return _screen_part(installed(token), plan, reading, part)


def _screen_part(engine: Engine, plan: ChunkPlan, reading: Reading, part: Part | Sent) -> PartDone:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    if isinstance(part, Sent):
        done = screen_chunk(engine, plan, part.item, timings=timings)
        return PartDone([Packed.of(done, plan)], [np.zeros(len(done.out), bool)], len(done.out), True, {},
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
        pieces.append(Packed.of(screen_chunk(engine, plan, (raw, projects, problems, numbers), timings=timings),
                                plan))
        # rows a CSV reader put back in place (malformed, or short: their missing cells are None, never "")
        placed.append(np.zeros(len(raw), bool) if malformed is None
                      else (malformed != "") | raw.isna().any(axis=1).to_numpy())
    timings["read"] = timings.get("read", 0.0) + read
    return PartDone(pieces, placed, sum(len(p.out) for p in pieces), part.numbered, notes, timings,
                    time.perf_counter() - started)
