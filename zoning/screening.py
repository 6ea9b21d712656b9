"""Screening a registry: every row in, every row out, with a verdict or a reason.

:func:`screen` reads a registry in chunks (:mod:`zoning.inputs.registry`), evaluates
each chunk on the engine's one vectorised path, and streams the annotated rows
to the output (:mod:`zoning.outputs.writers`) through a temporary file that is renamed only
when the whole run succeeded. Memory is bounded by the chunk size, not by the
registry's size.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning.chunks import ChunkPlan, Evaluated, LocalRunner, Runner, Screened
from zoning.db.urls import is_database_url, mask
from zoning.engine import Engine, MinOverlapLike
from zoning.errors import DataError, InputError, ParameterError, ZoningError, parameter
from zoning.evaluate.provenance import rules_hash
from zoning.evaluate.summary import RESULT_COLUMNS
from zoning.industries import table as industry_table
from zoning.inputs.coordinates import projects_from, scale_attributes
from zoning.inputs.crs import SourceCRS, parse_crs
from zoning.inputs.headers import ColumnMap, recognise_columns
from zoning.inputs.registry import DEFAULT_CHUNK, Registry, open_registry
from zoning.inputs.units import UNIT_TYPES
from zoning.inputs.vector import DEFAULT_IO_ENGINE
from zoning.outputs.atomic import atomic_path
from zoning.outputs.behind import WriteBehind
from zoning.outputs.formats import GEO_FORMATS, output_format, output_system
from zoning.outputs.writers import open_writer
from zoning.projects import RowErrors, normalise
from zoning.verdicts import SERIOUSNESS, Verdict
from zoning.vocabulary import Vocabulary, builtin

#: verdict keys in a screened output, most serious first
SCREEN_VERDICTS = tuple(v.key for v in SERIOUSNESS)
EXAMPLES = 3
#: rows per chunk with ``explain`` (its text dominates memory)
EXPLAIN_CHUNK = 50_000
#: prohibited and restricted rows a registry report lists (each; the output has them all)
LISTED = 500


@dataclass
class Summary:
    """What a screening run did: counts, the columns it used, and timings."""

    input: str
    output: str
    columns: str = ""
    encoding: str | None = None
    rows: int = 0
    verdicts: Counter = field(default_factory=Counter)
    worst: Counter = field(default_factory=Counter)
    unit_types: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def failing(self, threshold: str) -> int:
        """Rows whose worst case is at least ``threshold``, plus not_covered and error rows."""
        return sum(n for v, n in self.worst.items() if Verdict.of(v).at_least(threshold))

    def table(self) -> list[tuple[str, str, int]]:
        """(section, label, rows) for printing or a summary sheet."""
        out = [("rows", "total", self.rows)]
        out += [("verdict", v, self.verdicts[v]) for v in SCREEN_VERDICTS if self.verdicts[v]]
        out += [("unit type", f"{t} {UNIT_TYPES[t][1]}", self.unit_types[t])
                for t in sorted(self.unit_types)]
        out += [("error", kind, n) for kind, n in self.errors.most_common()]
        return out

    def _add(self, out: pd.DataFrame, numbers: np.ndarray, kinds: np.ndarray) -> None:
        self.rows += len(out)
        self.verdicts.update(out["verdict"].value_counts().to_dict())
        self.worst.update(out["worst_case"].value_counts().to_dict())
        types = out["unit_types"].value_counts()  # a few distinct texts ("1", "1;3"…)
        for t in UNIT_TYPES:  # projects in at least one unit of type t ("1;3" counts for 1 and 3)
            n = int(types[[str(t) in str(text) for text in types.index]].sum())
            if n:
                self.unit_types[t] += n
        found, counts = np.unique(kinds[kinds != ""], return_counts=True)
        messages = out["error"].to_numpy()
        for kind, count in zip(found, counts):
            self.errors[kind] += int(count)
            examples = self.examples.setdefault(kind, [])
            for i in np.flatnonzero(kinds == kind)[:EXAMPLES - len(examples)]:
                examples.append(f"row {numbers[i]}: {messages[i]}")


class Digest:
    """What a registry report needs, gathered chunk by chunk while screening: every row's
    location (the centre of its site, as float32 lon/lat) and verdict, and the first
    :data:`LISTED` prohibited and restricted rows with their units and reasons."""

    def __init__(self, limit: int = 0):
        self.limit = limit or LISTED
        self._lon: list[np.ndarray] = []
        self._lat: list[np.ndarray] = []
        self._verdict: list[np.ndarray] = []
        self.listed: dict[str, list[dict]] = {Verdict.PROHIBITED.key: [], Verdict.RESTRICTED.key: []}
        self.name_column: str | None = None

    def add(self, raw: pd.DataFrame, projects: gpd.GeoDataFrame, results: pd.DataFrame, numbers: np.ndarray) -> None:
        """Gather one screened chunk: ``raw`` rows as read, normalised ``projects``, their result columns."""
        centre = shapely.centroid(projects.geometry.to_numpy())
        self._lon.append(shapely.get_x(centre).astype(np.float32))
        self._lat.append(shapely.get_y(centre).astype(np.float32))
        verdict = results["verdict"].to_numpy(dtype=object)
        self._verdict.append(pd.Categorical(verdict, categories=SCREEN_VERDICTS).codes)
        names = raw[self.name_column].to_numpy(dtype=object) if self.name_column in raw.columns else None
        industry = projects["industry"].to_numpy(dtype=object)
        for v, rows in self.listed.items():
            for i in np.flatnonzero(verdict == v)[:max(self.limit - len(rows), 0)]:
                code = industry[i]
                rows.append({"row": int(numbers[i]), "name": "" if names is None else _text(names[i]),
                             "industry": industry_table().get(code).title if isinstance(code, str) else "",
                             "units": results["unit_codes"].iat[i], "clauses": results["clauses"].iat[i],
                             "reasons": results["reasons"].iat[i]})

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lon, lat, verdict)`` for every row screened, in order (NaN where a row has no site)."""
        if not self._verdict:
            return np.empty(0), np.empty(0), np.empty(0, dtype=object)
        codes = np.concatenate(self._verdict)
        verdict = np.asarray(SCREEN_VERDICTS, dtype=object)[np.where(codes >= 0, codes, len(SCREEN_VERDICTS) - 1)]
        return np.concatenate(self._lon), np.concatenate(self._lat), verdict


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def screen(engine: Engine, source: str | Path, output: str | Path, *, columns: Mapping[str, str] | None = None,
           crs: object = None, encoding: str | None = None, sheet: str | int | None = None,
           layer: str | int | None = None, io_engine: str = DEFAULT_IO_ENGINE, chunk_size: int = DEFAULT_CHUNK,
           progress: Callable[[int, int | None], object] | None = None, min_overlap: MinOverlapLike = None,
           output_crs: str | None = None, explain: bool = False, digest: Digest | None = None,
           guidance: bool = False, key: str | None = None, resume: str | None = None,
           runner: Runner | None = None) -> Summary:
    """Screen every project of the registry ``source`` and write them to ``output``.

    ``columns`` overrides header recognition (``{"lon": "东经", "VOCs": "VOC排放"}``);
    ``crs`` is the coordinates' CRS (default CGCS2000 lon/lat, or the layer's
    own; see :func:`zoning.inputs.crs.parse_crs`); ``min_overlap`` disregards
    slivers (see :class:`zoning.evaluate.min_overlap.MinOverlap`); ``output_crs``
    (``gcj02`` or ``bd09``) writes geometries for web maps instead of
    CGCS2000 lon/lat; ``explain`` adds a column ``explain`` (see
    :func:`zoning.evaluate.explanation.explain_column`); ``guidance`` adds a column ``guidance``: for
    prohibited, restricted and undetermined rows, one line of re-checked changes that would lift their
    deciding clauses (:func:`zoning.siting.registry_guidance.guidance_column`; no place part); ``digest`` (a
    :class:`Digest`) gathers what
    a registry report needs; ``progress(done, total)`` is called after each chunk (``total`` may
    be None). Returns a :class:`Summary`. The output's format comes from its
    extension; it is written to a temporary file beside it and renamed only
    when complete. Either side may be a database table, ``postgresql://…?table=NAME``
    (see :mod:`zoning.db.tables`, read in the order of ``key`` or the primary key, and
    :mod:`zoning.db.runs`, written a transaction per chunk); ``resume`` continues a failed run
    into a table. ``runner`` produces the screened chunks (default :class:`zoning.chunks.LocalRunner`,
    reading ahead in a thread; :mod:`zoning.cluster` runs them on a Dask cluster); every runner gives the
    same output.
    """
    database = is_database_url(str(output))
    fmt = "postgis" if database else output_format(output)
    if database and output_crs is not None and output_system(output_crs, "geojson"):
        raise ParameterError(f"{parameter('output_crs', output_crs)}: a database table holds CGCS2000 geometries")
    web = None if database else output_system(output_crs, fmt)
    if resume and not database:
        raise ParameterError(f"{parameter('resume', resume)} continues a run into a database table: give the "
                             "table as the output (postgresql://…?table=NAME)")
    if key and not is_database_url(str(source)):
        raise ParameterError(f"{parameter('key', key)} orders a registry read from a database table")
    target = Path(output).resolve()
    if not database and target == Path(source).resolve():
        raise ParameterError(f"output {output} is the input registry; write the results to another file")
    if not database and target in {Path(p).resolve() for p in engine.sources}:
        raise ParameterError(f"output {output} is one of the engine's unit, zone or rule files; write elsewhere")
    if explain:  # the audit trail is about 1.5 KB of text per row: keep chunks small to bound memory
        chunk_size = min(chunk_size, EXPLAIN_CHUNK)
    table_output, skip = None, 0
    if database:
        from zoning.db.runs import TableOutput

        table_output = TableOutput(str(output), source=mask(str(source)), chunk_size=chunk_size, resume=resume,
                                   release=engine.release)
        chunk_size = table_output.state.chunk_size
        if table_output.state.resumed and table_output.state.key:
            key = key or table_output.state.key
        elif table_output.state.resumed:  # a file, read again: skip the chunks the run wrote
            skip = -(-table_output.state.rows_done // chunk_size)
    try:
        reader = ProjectReader(source, columns=columns, crs=crs, encoding=encoding, sheet=sheet, layer=layer,
                               io_engine=io_engine, chunk_size=chunk_size, vocabulary=engine.vocabulary, key=key,
                               after=table_output.state.last_key if table_output else None)
    except BaseException:
        if table_output is not None:
            table_output.abort()
        raise
    registry, colmap = reader.registry, reader.colmap
    if table_output is not None:
        table_output.started(getattr(registry, "key", ""), getattr(registry, "types", {}), registry.headers)
    if digest is not None:
        digest.name_column = colmap.columns.get("name")
    summary = Summary(mask(str(source)), mask(str(output)),
                      columns=colmap.describe(location_from_geometry=registry.is_vector), encoding=registry.encoding)
    summary.notes = registry.skipped  # filled in as reading proceeds
    renamed = {}
    dated = "date" in colmap.columns
    for c in (*RESULT_COLUMNS, *(["explain"] if explain else []), *(["guidance"] if guidance else []),
              *(["as_of"] if dated else [])):
        # never overwrite an input column
        name, k = c, 1
        while name in registry.headers:
            k += 1
            name = f"zoning_{c}" if k == 2 else f"zoning_{c}_{k - 1}"
        renamed[c] = name
    if any(k != v for k, v in renamed.items()):
        clashing = [k for k, v in renamed.items() if k != v]
        summary.notes.append(f"the input already has column(s) {', '.join(clashing)}; results are in "
                             f"{', '.join(renamed[c] for c in clashing)}")
    add_wkt = registry.is_vector and fmt not in GEO_FORMATS and not database
    if web and fmt not in GEO_FORMATS and not add_wkt:
        raise ParameterError(f"{parameter('output_crs', web)}: a .{fmt} output of a table keeps its own coordinate "
                         "columns and has no geometry to convert; write .geojson or .geojsons")
    if add_wkt and "wkt" in registry.headers:
        raise InputError("the input already has a column 'wkt'; write to a spatial format (.gpkg, .geojson…)")
    geometry_type = "Unknown" if registry.is_vector or "wkt" in colmap.columns else "Point"
    timings = {"prepare": 0.0, "read": 0.0, "assign": 0.0, "evaluate": 0.0, "format": 0.0, "write": 0.0}
    summary.timings = timings

    with atomic_path(output) if table_output is None else contextlib.nullcontext(None) as tmp:
        # typed outputs: result columns stay text; a CSV's own columns are typed where they hold numbers or
        # flags, except those giving a name or a code
        codes = {colmap.columns.get(f) for f in ("name", "industry", "type", "date", "wkt")}
        direct = table_output or open_writer(tmp, fmt, layer=Path(output).stem, geometry_type=geometry_type,
                                             verdict_column=renamed["verdict"],
                                             text_columns=[*renamed.values(), "wkt"],
                                             parse_columns=[h for h in registry.headers if h not in codes]
                                             if registry.format == "csv" else ())
        # a file's chunk n is written in a thread while chunk n + 1 is evaluated; a table's in turn, a
        # transaction each, so that a chunk reported done is committed
        writer = WriteBehind(direct, depth=1 if table_output is None else 0)
        try:
            if progress is not None:
                progress(0, registry.total)
            plan = ChunkPlan(renamed, web=web, add_wkt=add_wkt, min_overlap=min_overlap, explain=explain,
                             guidance=guidance, keep_inputs=digest is not None,
                             sites=database or fmt in GEO_FORMATS)
            made: dict[str, float] = {}  # seconds spent in the writing thread, by stage

            def deliver(chunk: Screened | Evaluated) -> None:  # in the writing thread, in input order
                done = chunk.finish(made)  # the chunk's text, made here while the next one is evaluated
                started = time.perf_counter()
                direct.write(done.out, done.sites)
                made["write"] = made.get("write", 0.0) + time.perf_counter() - started
                summary._add(done.results, done.numbers, done.kinds)
                if digest is not None:
                    digest.add(done.raw, done.projects, done.results, done.numbers)
                if progress is not None:
                    progress(summary.rows, registry.total)

            for chunk in (runner or LocalRunner()).screened(engine, plan, reader, skip=skip, timings=timings):
                writer.submit(functools.partial(deliver, chunk))
            writer.wait()  # every chunk counted: the summary is complete
            started = time.perf_counter()
            writer.close(summary.table())
            made["write"] = made.get("write", 0.0) + time.perf_counter() - started
            for name, seconds in made.items():
                timings[name] = timings.get(name, 0.0) + seconds
            if web:
                summary.notes.append(f"geometries written in {web.upper()} for web maps, not CGCS2000")
            summary.notes += reader.notes(summary.rows)
            rules_sha = rules_hash(engine.all_lists, engine.vocabulary, engine.all_parameters)[:16]
            if dated:
                summary.notes.append(
                    f"each row judged by the access lists in force on its own date (column "
                    f"{colmap.columns['date']!r}; the date used is in column {renamed['as_of']!r}); rows without "
                    f"a date by those in force on {engine.as_of} (rules sha256 {rules_sha})")
            else:
                summary.notes.append(f"access lists in force on {engine.as_of}: {len(engine.lists)} of "
                                     f"{len(engine.all_lists)} loaded (rules sha256 "
                                     f"{rules_sha})")
            summary.notes += engine.lapsed
            if table_output is not None:
                summary.notes.append(table_output.note())
            for old, new in getattr(writer, "renamed", {}).items():
                summary.notes.append(f"column {old!r} is named {new!r} in the output ({fmt} column names "
                                     "are case-insensitive and 'fid' is reserved)")
            summary.notes += getattr(writer, "notes", [])  # cells that did not fit their column's type
        except ZoningError as exc:
            writer.abort()
            if table_output is not None:
                raise DataError(table_output.failed(str(exc))) from None
            raise
        except BaseException:
            writer.abort()
            raise
    return summary


class ProjectReader:
    """A registry opened for evaluation: its columns recognised, read chunk by chunk into
    normalised projects (see :func:`screen`'s parameters)."""

    def __init__(self, source: str | Path, *, columns: Mapping[str, str] | None = None, crs: object = None,
                 encoding: str | None = None, sheet: str | int | None = None, layer: str | int | None = None,
                 io_engine: str = DEFAULT_IO_ENGINE, chunk_size: int = DEFAULT_CHUNK,
                 vocabulary: Vocabulary | None = None, key: str | None = None, after: object = None):
        self.vocabulary = vocabulary or builtin()
        self.chunk_size = chunk_size
        self.registry: Registry
        if is_database_url(str(source)):  # a table: read in key order, after the key ``after`` (resuming)
            from zoning.db.tables import open_table

            self.registry = open_table(str(source), key=key, chunk_size=chunk_size, after=after)
        else:
            self.registry = open_registry(source, encoding=encoding, sheet=sheet, layer=layer,
                                          io_engine=io_engine, chunk_size=chunk_size)
        registry = self.registry
        self.colmap = colmap = recognise_columns(registry.headers, columns, self.vocabulary)
        if not registry.is_vector and "wkt" not in colmap.columns and not {"lon", "lat"} <= set(colmap.columns):
            lacking = [f for f in ("lon", "lat") if f not in colmap.columns]
            where = f" (sheet {registry.sheet!r} of {', '.join(registry.sheets)}: {parameter('sheet')} to choose)" \
                if len(registry.sheets) > 1 else ""
            raise InputError(f"{getattr(registry, 'label', '') or Path(source).name}{where}: no "
                             f"{' or '.join(lacking)} column found among "
                             f"{', '.join(registry.headers)}; "
                             f"name it with {parameter('columns', (lacking[0], 'HEADER'))}")
        self.source = parse_crs(crs) if crs else registry.source
        self.conversion_notes: dict[str, int] = {}

    def chunks(self, timings: dict[str, float] | None = None
               ) -> Iterator[tuple[pd.DataFrame, gpd.GeoDataFrame, RowErrors, np.ndarray]]:
        """``(raw rows, normalised projects, row problems, row numbers)`` per chunk; the time spent reading
        and normalising is added to ``timings['read']``."""
        timings = {} if timings is None else timings
        raw_chunks = self.registry.chunks()
        while True:
            started = time.perf_counter()
            item = next(raw_chunks, None)
            if item is None:
                timings["read"] = timings.get("read", 0.0) + time.perf_counter() - started
                return
            raw, geometry, numbers, malformed = item
            projects, problems = project_rows(raw, geometry, malformed, colmap=self.colmap, source=self.source,
                                              vocabulary=self.vocabulary, notes=self.conversion_notes)
            timings["read"] = timings.get("read", 0.0) + time.perf_counter() - started
            yield raw, projects, problems, numbers

    def notes(self, rows: int) -> list[str]:
        """Coordinate conversion notes with their row counts, and the CRS's caveats."""
        if self.source is None:
            return []
        return [f"{self.source.label}: {note} ({count:,} rows)" for note, count in self.conversion_notes.items()] \
            + (list(self.source.caveats) if rows else [])


def project_rows(raw: pd.DataFrame, geometry: gpd.GeoSeries | None, malformed: np.ndarray | None, *,
                 colmap: ColumnMap, source: SourceCRS | None, vocabulary: Vocabulary,
                 notes: dict[str, int]) -> tuple[gpd.GeoDataFrame, RowErrors]:
    """One chunk of raw rows (with their geometries, for a vector layer, and the reader's malformed-row
    messages) located and normalised into projects and row problems; coordinate conversion notes are counted
    in ``notes``. :meth:`ProjectReader.chunks` and a cluster's workers (:mod:`zoning.cluster`) both use it."""
    projects, problems = projects_from(raw, colmap, geometry=geometry, source=source, notes=notes)
    if malformed is not None:
        read = RowErrors(raw.index)
        read.add(malformed != "", "malformed row", malformed)
        read.merge(problems)
        problems = read
    projects, more = normalise(projects, errors="collect", labels=colmap.columns, vocabulary=vocabulary)
    problems.merge(more)
    scale_attributes(projects, colmap)
    return projects, problems
