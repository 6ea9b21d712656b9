"""The database schema ``zoning``: releases of a rule set, their units, zones, lists and clauses.

Every table is keyed by ``release_id``: a release is written once, in one
transaction, and never changed; later releases add rows. README
("PostgreSQL/PostGIS") lists the tables and columns. Geometries are
CGCS2000 lon/lat (EPSG:4490) with GiST indexes. For people querying from
SQL: ``zoning.current_release(date)``, the view ``zoning.current_units``, and
``zoning.units_of(geometry[, release])``, the units a geometry intersects
(a quick look: verdicts come from the engine).
"""

from __future__ import annotations

SCHEMA = "zoning"
SRID = 4490
#: the canonical unit columns kept as table columns (others go to ``extra``, as JSON)
UNIT_COLUMNS = ("code", "name", "type", "province", "city", "county", "remark", "spatial_layout",
                "emission_control", "risk_prevention", "resource_efficiency", "admin")
ZONE_COLUMNS = ("zone_id", "kind", "name", "remark")

DDL = f"""
CREATE SCHEMA IF NOT EXISTS zoning;
CREATE TABLE IF NOT EXISTS zoning.releases (
    release_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by text NOT NULL DEFAULT current_user,
    effective_from date NOT NULL,
    note text NOT NULL DEFAULT '',
    content_sha256 text NOT NULL,
    rules_sha256 text NOT NULL,
    units_sha256 text NOT NULL,
    zones_sha256 text NOT NULL,
    units_source text NOT NULL,
    units_count integer NOT NULL,
    zones_count integer NOT NULL,
    lists_count integer NOT NULL,
    units_columns jsonb NOT NULL,
    zones_columns jsonb NOT NULL,
    engine_version text NOT NULL,
    illustrative boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS zoning.units (
    release_id integer NOT NULL REFERENCES zoning.releases,
    ord integer NOT NULL,
    code text NOT NULL, name text, type smallint NOT NULL, province text, city text, county text, remark text,
    spatial_layout text, emission_control text, risk_prevention text, resource_efficiency text, admin text,
    extra jsonb,
    geom geometry(Geometry, {SRID}) NOT NULL,
    PRIMARY KEY (release_id, code)
);
CREATE INDEX IF NOT EXISTS units_geom_idx ON zoning.units USING gist (geom);
CREATE TABLE IF NOT EXISTS zoning.zones (
    release_id integer NOT NULL REFERENCES zoning.releases,
    ord integer NOT NULL,
    zone_id text NOT NULL, kind text NOT NULL, name text, remark text,
    extra jsonb,
    geom geometry(Geometry, {SRID}) NOT NULL,
    PRIMARY KEY (release_id, zone_id)
);
CREATE INDEX IF NOT EXISTS zones_geom_idx ON zoning.zones USING gist (geom);
CREATE TABLE IF NOT EXISTS zoning.lists (
    release_id integer NOT NULL REFERENCES zoning.releases,
    list_id text NOT NULL, version text NOT NULL, level text NOT NULL, title text NOT NULL,
    issuer text, effective_from date NOT NULL, effective_to date,
    path text NOT NULL, yaml text NOT NULL, sha256 text NOT NULL,
    PRIMARY KEY (release_id, list_id, version)
);
CREATE TABLE IF NOT EXISTS zoning.clauses (
    release_id integer NOT NULL,
    list_id text NOT NULL, version text NOT NULL, ord integer NOT NULL, clause_id text NOT NULL,
    dimension text NOT NULL, effect text NOT NULL, text text NOT NULL,
    conditions jsonb, unless jsonb, source jsonb, clause jsonb NOT NULL,
    PRIMARY KEY (release_id, list_id, version, clause_id),
    FOREIGN KEY (release_id, list_id, version) REFERENCES zoning.lists
);
CREATE TABLE IF NOT EXISTS zoning.rule_files (
    release_id integer NOT NULL REFERENCES zoning.releases,
    path text NOT NULL, kind text NOT NULL, text text NOT NULL,
    PRIMARY KEY (release_id, path)
);
CREATE TABLE IF NOT EXISTS zoning.parameters (
    release_id integer NOT NULL REFERENCES zoning.releases,
    name text NOT NULL, by text NOT NULL, unit text,
    effective_from date, effective_to date, path text NOT NULL, spec jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS zoning.screening_runs (
    run_id text PRIMARY KEY,
    output_table text NOT NULL, source text NOT NULL, key_column text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
    state text NOT NULL DEFAULT 'running', rows_written bigint NOT NULL DEFAULT 0, chunk_size integer NOT NULL,
    release jsonb, started_by text NOT NULL DEFAULT current_user
);
CREATE OR REPLACE FUNCTION zoning.current_release(on_date date DEFAULT current_date) RETURNS integer
    LANGUAGE sql STABLE AS $$
    SELECT max(release_id) FROM zoning.releases WHERE effective_from <= on_date
$$;
CREATE OR REPLACE VIEW zoning.current_units AS
    SELECT * FROM zoning.units WHERE release_id = zoning.current_release();
CREATE OR REPLACE FUNCTION zoning.units_of(site geometry, release integer DEFAULT NULL)
    RETURNS TABLE (release_id integer, code text, name text, type smallint, province text, city text,
                   county text)
    LANGUAGE sql STABLE AS $$
    SELECT u.release_id, u.code, u.name, u.type, u.province, u.city, u.county
    FROM zoning.units u
    WHERE u.release_id = coalesce(release, zoning.current_release())
      AND ST_Intersects(u.geom, CASE WHEN ST_SRID(site) IN (0, {SRID}) THEN ST_SetSRID(site, {SRID})
                                     ELSE ST_Transform(site, {SRID}) END)
    ORDER BY u.ord
$$;
"""

#: the tables a release writes, in the order they are written (and removed, reversed)
RELEASE_TABLES = ("releases", "units", "zones", "lists", "clauses", "rule_files", "parameters")


def ensure_postgis(conn, label: str) -> None:
    """PostGIS is installed in the database (created when the user may), or a :class:`DataError`."""
    from zoning.errors import DataError

    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
        return
    import psycopg

    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error:
        raise DataError(f"database {label}: PostGIS is not installed; ask an administrator to run "
                        "'CREATE EXTENSION postgis' in it") from None


def ensure_schema(conn) -> None:
    """Create the schema's tables, view and functions if missing (in the caller's transaction)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('zoning schema'))")
    conn.execute(DDL)


def has_schema(conn) -> bool:
    return conn.execute("SELECT to_regclass('zoning.releases') IS NOT NULL").fetchone()[0]
