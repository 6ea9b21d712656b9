"""Releases in the database: listing them, choosing one, and reading it back as the engine's layers.

Which release: ``--release ID`` names one (``latest``: the newest
published); otherwise the release *in force* on a date, the newest whose
``effective_from`` is on or before it: ``--as-of`` when given (an auditor's
question, "what decided this a year ago"), else today (the current
release). A release is read back exactly as published: the same units and
zones (so the same layer hashes), and the lists, attribute declarations and
parameter tables parsed from their stored text as from the files.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from zoning import sample
from zoning.db.layers import read_layer
from zoning.db.schema import has_schema
from zoning.db.urls import DatabaseURL, connect, database_errors
from zoning.engine import Engine, Layers
from zoning.errors import DataError, ParameterError, parameter
from zoning.rules.loading import load_lists, load_vocabulary, rule_files
from zoning.rules.parameters import load_parameters

_COLUMNS = ("release_id", "published_at", "published_by", "effective_from", "note", "content_sha256",
            "rules_sha256", "units_sha256", "zones_sha256", "units_source", "units_count", "zones_count",
            "lists_count", "units_columns", "zones_columns", "engine_version", "illustrative")


@dataclass
class Release:
    """One row of ``zoning.releases``."""

    release_id: int
    published_at: dt.datetime
    published_by: str
    effective_from: dt.date
    note: str
    content_sha256: str
    rules_sha256: str
    units_sha256: str
    zones_sha256: str
    units_source: str
    units_count: int
    zones_count: int
    lists_count: int
    units_columns: dict
    zones_columns: dict
    engine_version: str
    illustrative: bool

    def record(self, url: DatabaseURL) -> dict:
        """What provenance says of it (``release``): no password, ever."""
        return {"id": self.release_id, "published_at": self.published_at.isoformat(timespec="seconds"),
                "published_by": self.published_by, "effective_from": self.effective_from.isoformat(),
                "note": self.note, "content_sha256": self.content_sha256, "database": url.label}

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("units_columns", "zones_columns"):
            data.pop(key)
        data["published_at"] = self.published_at.isoformat(timespec="seconds")
        data["effective_from"] = self.effective_from.isoformat()
        return data


def parse_release(value: object) -> int | None:
    """``--release``: a release id, or ``latest`` (None)."""
    if value is None or str(value).strip().lower() in ("", "latest"):
        return None
    text = str(value).strip()
    if not text.isdigit():
        raise ParameterError(f"{parameter('release', text)}: give a release id (a number, see 'zoning db status') "
                             "or 'latest'")
    return int(text)


def list_releases(url: str | DatabaseURL) -> list[Release]:
    """Every release, oldest first (none when nothing was ever published)."""
    target = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    with connect(target, purpose="zoning db status") as conn, database_errors(target, "listing releases"):
        if not has_schema(conn):
            return []
        rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM zoning.releases ORDER BY release_id").fetchall()
    return [Release(*row) for row in rows]


def choose(conn, target: DatabaseURL, release: object = None, as_of: dt.date | None = None) -> Release:
    """The release named (``release``: an id or ``latest``), or in force on ``as_of`` (default today)."""
    if not has_schema(conn):
        raise DataError(f"database {target.label}: nothing published yet (run 'zoning db publish')")
    wanted = parse_release(release)
    select = f"SELECT {', '.join(_COLUMNS)} FROM zoning.releases"
    if wanted is not None:
        row = conn.execute(f"{select} WHERE release_id = %s", (wanted,)).fetchone()
        if row is None:
            raise DataError(f"database {target.label}: no release {wanted} ({_known(conn)})")
    elif release is not None:  # latest
        row = conn.execute(f"{select} ORDER BY release_id DESC LIMIT 1").fetchone()
    else:
        day = as_of or dt.date.today()
        row = conn.execute(f"{select} WHERE effective_from <= %s ORDER BY release_id DESC LIMIT 1", (day,)).fetchone()
        if row is None:
            raise DataError(f"database {target.label}: no release in force on {day} ({_known(conn)}); choose a "
                            f"later {parameter('as_of')} or a release with {parameter('release')}")
    if row is None:
        raise DataError(f"database {target.label}: nothing published yet (run 'zoning db publish')")
    return Release(*row)


def _known(conn) -> str:
    rows = conn.execute("SELECT release_id, effective_from FROM zoning.releases ORDER BY release_id").fetchall()
    if not rows:
        return "none published"
    return "releases: " + ", ".join(f"{r} from {d}" for r, d in rows[-10:])


def current_release_id(conn, as_of: dt.date | None = None) -> int | None:
    """The id of the release in force on ``as_of`` (default today), or None."""
    if not has_schema(conn):
        return None
    return conn.execute("SELECT max(release_id) FROM zoning.releases WHERE effective_from <= %s",
                        (as_of or dt.date.today(),)).fetchone()[0]


def read_release(url: str | DatabaseURL, release: object = None, as_of: dt.date | None = None) -> Layers:
    """The layers of a release (see :func:`choose`), as :meth:`Engine.read` reads files."""
    target = url if isinstance(url, DatabaseURL) else DatabaseURL.parse(url)
    with connect(target, purpose="zoning (reading a release)") as conn, \
            database_errors(target, "reading a release"):
        chosen = choose(conn, target, release, as_of)
        units = read_layer(conn, chosen.release_id, "units", chosen.units_columns)
        zones = read_layer(conn, chosen.release_id, "zones", chosen.zones_columns)
        files = conn.execute("SELECT path, text FROM zoning.rule_files WHERE release_id = %s ORDER BY path",
                             (chosen.release_id,)).fetchall()
    label = f"release {chosen.release_id}"
    with tempfile.TemporaryDirectory(prefix="zoning-release-") as tmp:
        root = Path(tmp)
        for rel, text in files:
            path = root / rel
            if root.resolve() not in path.resolve().parents:
                raise DataError(f"database {target.label}: {label} has a rule file outside its set: {rel!r}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        vocabulary = load_vocabulary([root])
        parameters = load_parameters(rule_files([root], kind="parameters"))
        lists = load_lists([root], vocabulary, [p.name for p in parameters])
    lists = [lst.model_copy(update={"path": _stored(lst.path, root, label)}) for lst in lists]
    parameters = [p.model_copy(update={"path": _stored(p.path, root, label)}) for p in parameters]
    return Layers(units=units, lists=lists, zones=zones if len(zones) else None, unit_source=chosen.units_source,
                  sources=[sample.units_path()] if chosen.illustrative else [], vocabulary=vocabulary,
                  parameters=parameters, release=chosen.record(target))


def _stored(path: str, root: Path, label: str) -> str:
    try:
        return f"{label}:{Path(path).relative_to(root).as_posix()}"
    except ValueError:
        return f"{label}:{path}"


def load_engine(url: str | DatabaseURL, release: object = None, as_of: dt.date | None = None) -> Engine:
    """An engine for ``as_of`` (default today) from the release named, or in force on that date."""
    return Engine.from_layers(read_release(url, release, as_of), as_of=as_of)
