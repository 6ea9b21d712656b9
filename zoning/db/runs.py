"""Screening into a database table: a transaction per chunk, every row tagged with its run.

``zoning screen … -o "postgresql://…?table=screened"`` writes the columns a
file output has (the input's, then the results'), typed (a database
source's columns keep their types; numbers read from a file are numbers;
text stays text), plus ``run_id`` first and ``geom`` (the site, CGCS2000)
last. The table is created on first use; a later run appends its own rows.
Each chunk is one transaction, so a run that fails (a lost connection, a
killed process) leaves only whole chunks, and ``--resume RUN`` continues it
where it stopped: after the last key written (a table source) or the
chunks written (a file, read again with the run's chunk size). Runs are
recorded in ``zoning.screening_runs``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from zoning.db.schema import SRID, ensure_schema
from zoning.db.tables import identifier, quoted, table_columns
from zoning.db.urls import DatabaseURL, connect, database_errors
from zoning.errors import DataError, ParameterError, parameter

#: what COPY reads as NULL (a quoted field never is); no registry cell holds it
NULL = "\x01NULL\x01"


@dataclass
class RunState:
    """Where a run stands: its id, the chunk size it reads with, and what it already wrote."""

    run_id: str
    chunk_size: int
    rows_done: int = 0
    last_key: object = None
    resumed: bool = False
    key: str = ""  # the source table's key column ("" for a file)


class TableOutput:
    """The output table of one screening run (new, or resumed)."""

    def __init__(self, output: str, *, source: str, chunk_size: int, resume: str | None, release: dict | None):
        self.url = DatabaseURL.parse(output)
        if not self.url.table:
            raise ParameterError(f"{self.url.masked}: name the output table, e.g. ?table=screened")
        self.table = self.url.table
        self.label = f"table {self.table} ({self.url.label})"
        self.source_types: dict[str, str] = {}
        self.headers: list[str] = []
        self.conn = connect(self.url, purpose="zoning screen (writing)")
        self.columns: dict[str, str] = {}
        with database_errors(self.url, f"opening {self.label}"), self.conn.transaction():
            ensure_schema(self.conn)
            self.columns = {name: sql_type for name, sql_type, _ in table_columns(self.conn, self.table)}
            if resume:
                self.state = self._resumed(resume, source)
            else:
                self.state = RunState(f"{dt.datetime.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}", chunk_size)
                self.conn.execute("INSERT INTO zoning.screening_runs (run_id, output_table, source, key_column, "
                                  "release, chunk_size) VALUES (%s, %s, %s, '', %s, %s)",
                                  (self.state.run_id, self.table, source, json.dumps(release), chunk_size))

    def _resumed(self, run_id: str, source: str) -> RunState:
        row = self.conn.execute("SELECT output_table, source, key_column, state, chunk_size FROM "
                                "zoning.screening_runs WHERE run_id = %s", (run_id,)).fetchone()
        if row is None:
            raise DataError(f"{self.label}: no screening run {run_id!r} to resume")
        table, recorded, key, state, chunk = row
        if table != self.table or recorded != source:
            raise ParameterError(f"{parameter('resume', run_id)}: that run screened {recorded} into table {table}; "
                                 f"give the same registry and output")
        if state == "complete":
            raise DataError(f"screening run {run_id} is complete: nothing to resume")
        done = 0
        last = None
        if self.columns:
            done = self.conn.execute(f"SELECT count(*) FROM {quoted(self.table)} WHERE run_id = %s",
                                     (run_id,)).fetchone()[0]
            if key and done:
                last = self.conn.execute(f"SELECT max({identifier(key)}) FROM {quoted(self.table)} "
                                         "WHERE run_id = %s", (run_id,)).fetchone()[0]
        self.conn.execute("UPDATE zoning.screening_runs SET state = 'running', finished_at = NULL WHERE run_id = %s",
                          (run_id,))
        return RunState(run_id, int(chunk), int(done), last, resumed=True, key=key)

    def started(self, key: str, types: dict[str, str], headers: list[str]) -> None:
        """The registry is open: its key column (a table's; "" for a file), its columns' SQL types (a
        table's) and its headers (a file's columns holding only plain numbers are written as numbers)."""
        self.source_types = dict(types)
        self.headers = [h for h in headers if h not in types]
        if self.state.resumed and self.state.key and key != self.state.key:
            raise ParameterError(f"{parameter('key', key)}: run {self.state.run_id} read in the order of "
                                 f"{self.state.key}; resume it in that order")
        self.state.key = key
        with database_errors(self.url, f"opening {self.label}"), self.conn.transaction():
            self.conn.execute("UPDATE zoning.screening_runs SET key_column = %s WHERE run_id = %s",
                              (key, self.state.run_id))

    def note(self) -> str:
        """What the summary says of the run."""
        before = f", after {self.state.rows_done:,} rows written before (resumed)" if self.state.resumed else ""
        return f"run {self.state.run_id} written to {self.label}{before}"

    def failed(self, message: str) -> str:
        """``message`` with what a failed run leaves and how to resume it."""
        return (f"{message}; run {self.state.run_id}: the chunks written before are kept in {self.label}, "
                f"resume with --resume {self.state.run_id}")

    # -- the writer screening uses ----------------------------------------------------------------
    def write(self, out: pd.DataFrame, sites: np.ndarray) -> None:
        """One chunk, in one transaction."""
        frame = out.copy()
        for column in self.headers:  # a file's text: numbers as numbers while the column holds only numbers
            if column in frame.columns and frame[column].dtype.kind == "O" and \
                    self.columns.get(column) in (None, "bigint", "double precision"):
                numbers = _numbers(frame[column])
                if numbers is not None:
                    frame[column] = numbers
        frame.insert(0, "run_id", self.state.run_id)
        frame["geom"] = _ewkb(sites)
        with database_errors(self.url, f"writing to {self.label}",
                             "; the chunk being written was not committed"), self.conn.transaction():
            if not self.columns:
                self._create(frame)
            else:
                self._fit(frame)
            names = ", ".join(identifier(c) for c in frame.columns)
            text = frame.to_csv(index=False, header=False, na_rep=NULL, quoting=csv.QUOTE_MINIMAL,
                                date_format="%Y-%m-%dT%H:%M:%S")
            with self.conn.cursor() as cur, cur.copy(
                    f"COPY {quoted(self.table)} ({names}) FROM STDIN (FORMAT csv, NULL '{NULL}')") as copy:
                copy.write(text.encode("utf-8"))
            self.conn.execute("UPDATE zoning.screening_runs SET rows_written = rows_written + %s WHERE run_id = %s",
                              (len(frame), self.state.run_id))

    def close(self, table: object = None) -> None:
        with database_errors(self.url, f"finishing {self.label}"), self.conn.transaction():
            # the sites' spatial index, built once at the end of the first run (much faster than row by row)
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {identifier(self._index('geom'))} ON "
                              f"{quoted(self.table)} USING gist (geom)")
            self.conn.execute("UPDATE zoning.screening_runs SET state = 'complete', finished_at = now() "
                              "WHERE run_id = %s", (self.state.run_id,))
        self.conn.close()

    def abort(self) -> None:
        """Mark the run failed (when the connection still works); its whole chunks stay."""
        try:
            if not self.conn.closed:
                self.conn.rollback()
                with self.conn.transaction():
                    self.conn.execute("UPDATE zoning.screening_runs SET state = 'failed', finished_at = now() "
                                      "WHERE run_id = %s", (self.state.run_id,))
        except Exception:  # noqa: BLE001 - the connection is gone: the run stays 'running', resumable all the same
            pass
        finally:
            self.conn.close()

    # -- the table's columns ---------------------------------------------------------------------
    def _create(self, frame: pd.DataFrame) -> None:
        types = {c: "text" if c == "run_id" else self.source_types.get(c) or _sql_type(frame[c]) or "text"
                 for c in frame}
        types["geom"] = f"geometry(Geometry, {SRID})"
        columns = ", ".join(f"{identifier(c)} {t}{' NOT NULL' if c == 'run_id' else ''}" for c, t in types.items())
        self.conn.execute(f"CREATE TABLE {quoted(self.table)} ({columns})")
        self.conn.execute(f"CREATE INDEX {identifier(self._index('run'))} ON {quoted(self.table)} (run_id)")
        self.columns = types

    def _index(self, what: str) -> str:
        return f"{self.table.rpartition('.')[2]}_{what}_idx"

    def _fit(self, frame: pd.DataFrame) -> None:
        """The table has the frame's columns (else a one-line error), each wide enough for its values."""
        lacking = [c for c in frame.columns if c not in self.columns]
        extra = [c for c in self.columns if c not in frame.columns]
        if lacking or extra:
            raise DataError(f"{self.label} exists with other columns (" + "; ".join(
                part for part in (f"lacking {', '.join(lacking)}" if lacking else "",
                                  f"not written: {', '.join(extra)}" if extra else "") if part)
                + "); write to another table")
        for column in frame.columns:  # a file's column whose later values do not fit its type: widened
            if column in ("run_id", "geom") or column in self.source_types:
                continue
            have, need = self.columns[column], _sql_type(frame[column])
            if need is None or need == have or have == "text" or (have, need) == ("double precision", "bigint"):
                continue
            wider = "double precision" if (have, need) == ("bigint", "double precision") else "text"
            self.conn.execute(f"ALTER TABLE {quoted(self.table)} ALTER COLUMN {identifier(column)} TYPE {wider}")
            self.columns[column] = wider


_PLAIN_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"


def _numbers(values: pd.Series) -> pd.Series | None:
    """A column of plain numbers written as text (``12.5``, ``-3``; not ``0311``, ``1,234`` or ``/``) as
    numbers, empty cells as missing; None when a value is not one, or there is none."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    present = text != ""
    if not present.any() or not text[present].str.fullmatch(_PLAIN_NUMBER).all():
        return None
    parsed = pd.to_numeric(text[present])
    out = pd.Series(None, index=values.index, dtype=object)
    out[present] = [int(v) for v in parsed] if parsed.dtype.kind == "i" else [float(v) for v in parsed]
    return out


def _ewkb(sites: np.ndarray) -> np.ndarray:
    geoms = shapely.set_srid(np.asarray(sites, dtype=object), SRID)
    out = np.full(len(geoms), None, dtype=object)
    good = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out[good] = shapely.to_wkb(geoms[good], hex=True, include_srid=True, output_dimension=2)
    return out


def _sql_type(values: pd.Series) -> str | None:
    """The SQL type of a column as read: numbers as numbers, dates as dates, the rest text (None: no values)."""
    kind = values.dtype.kind
    if kind == "b":
        return "boolean"
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double precision"
    if kind == "M":
        return "timestamp"
    present = [v for v in values.to_numpy(dtype=object) if v is not None and not (isinstance(v, float) and v != v)]
    if not present:
        return None
    kinds = {type(v) for v in present}
    if kinds <= {bool, np.bool_}:
        return "boolean"
    if kinds <= {int, np.int64}:
        return "bigint"
    if kinds <= {int, float, np.int64, np.float64}:
        return "double precision"
    if kinds <= {dt.date}:
        return "date"
    if kinds <= {dt.datetime, pd.Timestamp}:
        return "timestamp"
    return "text"

