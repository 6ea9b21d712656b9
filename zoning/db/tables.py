"""A project registry kept in a database table, opened as :func:`zoning.inputs.registry.open_registry`
opens a file: headers, then raw rows in chunks for the same screening pipeline.

``postgresql://USER@HOST:PORT/DB?table=projects`` names the table (``schema.table`` allowed). Rows
are read in key order (the table's primary key, or ``key=COLUMN`` in the URL, or ``--key``), one
chunk per query (``WHERE key > last ORDER BY key LIMIT n``), so a run resumes after the last key
written. Values keep their database types (numbers as numbers, ``numeric`` as floats, dates as
dates). The location is a PostGIS geometry column (its SRID the coordinates' CRS) or, as in a file,
lon/lat or WKT columns recognised by their headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from zoning.db.urls import DatabaseURL, connect, database_errors
from zoning.errors import DataError, ParameterError, parameter
from zoning.inputs.crs import from_pyproj
from zoning.inputs.registry import Registry

_INTEGER_TYPES = {"int2", "int4", "int8"}


@dataclass
class TableRegistry(Registry):
    """A registry read from a database table."""

    label: str = ""  # "table NAME (HOST:PORT/DB)", for messages
    geometry_column: str | None = None
    key: str = ""
    types: dict[str, str] = field(default_factory=dict)  # column -> its SQL type, for a table output
    srid: int | None = None

    @property
    def is_vector(self) -> bool:
        return self.geometry_column is not None


def split_table(name: str) -> tuple[str | None, str]:
    schema, _, table = name.rpartition(".")
    return (schema or None), table


def quoted(name: str) -> str:
    """A (possibly schema-qualified) table name quoted for SQL."""
    from psycopg import sql

    schema, table = split_table(name)
    with_schema = sql.Identifier(schema, table) if schema else sql.Identifier(table)
    return with_schema.as_string(None)


def identifier(name: str) -> str:
    from psycopg import sql

    return sql.Identifier(name).as_string(None)


def table_columns(conn, table: str) -> list[tuple[str, str, str]]:
    """``(name, SQL type, type name)`` of a table's columns, in order; empty if there is no such table."""
    oid = conn.execute("SELECT to_regclass(%s)::oid", (quoted(table),)).fetchone()[0]
    if oid is None:
        return []
    return [tuple(r) for r in conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname FROM pg_attribute a "
        "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum", (oid,)).fetchall()]


def open_table(source: str, *, key: str | None = None, chunk_size: int, after: object = None) -> TableRegistry:
    """Open the table a URL names for chunked reading in key order (after the key ``after``, when given)."""
    url = DatabaseURL.parse(source)
    if not url.table:
        raise ParameterError(f"{url.masked}: name the table, e.g. ?table=projects")
    label = f"table {url.table} ({url.label})"
    conn = connect(url, purpose="zoning screen (reading)", autocommit=True)
    with database_errors(url, f"opening {label}"):
        columns = table_columns(conn, url.table)
        if not columns:
            conn.close()
            raise DataError(f"registry {label}: no such table")
        key = key or url.key or _primary_key(conn, url.table)
        names = [c[0] for c in columns]
        if key is None:
            conn.close()
            raise ParameterError(f"registry {label} has no single-column primary key: name the column that orders "
                                 f"its rows with {parameter('key')} (one of {', '.join(names)})")
        if key not in names:
            conn.close()
            raise DataError(f"registry {label}: no column {key!r} to order by (columns: {', '.join(names)})")
        geometry = next((c[0] for c in columns if c[2] == "geometry"), None)
        headers = [c[0] for c in columns if c[0] != geometry]
        srid = _srid(conn, url.table, geometry) if geometry else None
        total = conn.execute(f"SELECT count(*) FROM {quoted(url.table)}"
                             + (f" WHERE {identifier(key)} > %s" if after is not None else ""),
                             (after,) if after is not None else ()).fetchone()[0]
    types = {c[0]: c[1] for c in columns}
    integer_key = dict((c[0], c[2]) for c in columns)[key] in _INTEGER_TYPES
    registry = TableRegistry(Path(url.table), "postgis", headers, int(total), label=label, geometry_column=geometry,
                             key=key, types=types, srid=srid,
                             source=from_pyproj(CRS.from_epsg(srid)) if srid else None)
    registry._chunks = _chunks(conn, url, registry, chunk_size, after, integer_key)
    return registry


def _primary_key(conn, table: str) -> str | None:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary", (quoted(table),)).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _srid(conn, table: str, column: str) -> int | None:
    row = conn.execute("SELECT srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s "
                       "AND f_geometry_column = %s", (*_schema_of(conn, table), column)).fetchone()
    srid = row[0] if row else 0
    if not srid:  # a column without a declared SRID: the first row's
        row = conn.execute(f"SELECT ST_SRID({identifier(column)}) FROM {quoted(table)} "
                           f"WHERE {identifier(column)} IS NOT NULL LIMIT 1").fetchone()
        srid = row[0] if row else 0
    return int(srid) or None


def _schema_of(conn, table: str) -> tuple[str, str]:
    row = conn.execute("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE c.oid = to_regclass(%s)", (quoted(table),)).fetchone()
    return row[0], row[1]


def _chunks(conn, url: DatabaseURL, registry: TableRegistry, chunk_size: int, after: object,
            integer_key: bool) -> Iterator[tuple[pd.DataFrame, gpd.GeoSeries | None, np.ndarray, None]]:
    headers, geometry, key = registry.headers, registry.geometry_column, registry.key
    selected = ", ".join([*map(identifier, headers), *([f"ST_AsBinary({identifier(geometry)})"] if geometry else [])])
    table = str(url.table)
    first = f"SELECT {selected} FROM {quoted(table)} ORDER BY {identifier(key)} LIMIT {int(chunk_size)}"
    following = (f"SELECT {selected} FROM {quoted(table)} WHERE {identifier(key)} > %s "
                 f"ORDER BY {identifier(key)} LIMIT {int(chunk_size)}")
    at = headers.index(key)
    done = 0
    try:
        while True:
            with database_errors(url, f"reading {registry.label}"):
                rows = conn.execute(first).fetchall() if after is None else \
                    conn.execute(following, (after,)).fetchall()
            if not rows:
                return
            frame = pd.DataFrame([r[:len(headers)] for r in rows], columns=headers, dtype=object)
            for column in headers:  # numeric columns: floats, as a spreadsheet's numbers
                values = frame[column].to_numpy()
                if any(isinstance(v, Decimal) for v in values[:100]):
                    frame[column] = [float(v) if isinstance(v, Decimal) else v for v in values]
            geoms = None
            if geometry:
                wkb = [None if r[-1] is None else bytes(r[-1]) for r in rows]
                geoms = gpd.GeoSeries(shapely.from_wkb(wkb), index=frame.index,
                                      crs=CRS.from_epsg(registry.srid) if registry.srid else None)
            keys = frame[key].to_numpy()
            numbers = keys.astype(np.int64) if integer_key else np.arange(done + 1, done + len(frame) + 1)
            done += len(frame)
            after = rows[-1][at]
            yield frame, geoms, numbers, None
            if len(rows) < chunk_size:
                return
    finally:
        conn.close()
