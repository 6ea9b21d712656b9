"""A throw-away PostgreSQL/PostGIS server for the tests (README, "PostgreSQL/PostGIS").

:func:`server_url` gives the URL of a server the tests may create databases on: ``ZONING_TEST_DB`` when
the environment names one (``.ci/run`` starts a cluster and sets it), else a cluster started here
(``initdb`` in a temporary directory, a free port, listening on 127.0.0.1 and a socket in that
directory only, stopped at exit). ``None`` and the reason when there is no PostgreSQL with PostGIS to
start. :func:`fresh_database` makes an empty database with PostGIS from a template, one per test.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

TEMPLATE = "zoning_test_template"


def _binaries() -> str | None:
    """The newest PostgreSQL's binary directory that has initdb, with PostGIS installed for it."""
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]),
                            reverse=True):
        version = directory.split("/")[-2]
        postgis = glob.glob(f"/usr/share/postgresql/{version}/extension/postgis.control")
        if os.path.exists(f"{directory}/initdb") and postgis:
            return directory
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    return os.path.dirname(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster() -> tuple[str | None, str]:
    """Start a cluster; ``(url, "")``, or ``(None, why not)``."""
    binaries = _binaries()
    if binaries is None:
        return None, "no PostgreSQL server with PostGIS installed (apt-get install postgresql postgis)"
    root = tempfile.mkdtemp(prefix="zoning-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: the cluster is the postgres user's
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(root, "data"), _free_port()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)

    done = run(f"{binaries}/initdb", "-D", data, "-U", "zoning", "--auth=trust", "-E", "UTF8", "--no-sync")
    if done.returncode:
        return None, f"initdb failed: {done.stderr.strip()[-300:]}"
    done = run(f"{binaries}/pg_ctl", "-D", data, "-w", "-l", os.path.join(root, "log"), "-o",
               f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off", "start")
    if done.returncode:
        return None, f"the server did not start: {done.stderr.strip()[-300:]}"
    atexit.register(lambda: (run(f"{binaries}/pg_ctl", "-D", data, "-m", "immediate", "stop"),
                             shutil.rmtree(root, ignore_errors=True)))
    return f"postgresql://zoning@127.0.0.1:{port}/postgres", ""


_server: tuple[str | None, str] | None = None


def server_url() -> tuple[str | None, str]:
    """The server the tests use (started once per session), or None and why there is none."""
    global _server
    if _server is None:
        given = os.environ.get("ZONING_TEST_DB")
        _server = (given, "") if given else start_cluster()
        if _server[0] is not None:
            try:
                _template(_server[0])
            except Exception as exc:  # noqa: BLE001 - any failure here means: no usable server
                _server = (None, f"cannot use the server: {type(exc).__name__}: {exc}")
    return _server


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}", query=""))


def _template(url: str) -> None:
    import psycopg

    admin = with_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
            with psycopg.connect(with_database(url, TEMPLATE), autocommit=True) as tconn:
                tconn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def fresh_database(url: str) -> str:
    """A new, empty database with PostGIS; its URL."""
    import psycopg

    name = f"zoning_test_{uuid.uuid4().hex[:12]}"
    for attempt in range(20):  # the template may be busy for a moment (another test copying it)
        try:
            with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
            break
        except psycopg.errors.ObjectInUse:
            time.sleep(0.1 * (attempt + 1))
    return with_database(url, name)


def drop_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
