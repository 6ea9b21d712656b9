"""A cache of loaded engines: loading the same layers and lists again reads one file, not all of them.

What :meth:`Engine.load <zoning.engine.Engine.load>` builds from the unit and zone layers and the rule
files (access lists, attribute declarations, parameter tables) is kept, the engine itself, in a directory:

* **where**: ``$ZONING_CACHE_DIR``, else ``$XDG_CACHE_HOME/zoning``, else ``~/.cache/zoning``, created
  0700; the :data:`KEEP` most recently used entries are kept (one per set of inputs and date).
* **key**: the content hash (BLAKE2b) of every source file (the layers, with a shapefile's or
  GeoPackage's side files, and every ``*.yaml``/``*.yml`` under the rules paths), the paths as given, the
  as-of date, the input limits (:mod:`zoning.limits`), the I/O engine, a hash of the package's own
  files, and the versions of zoning, Python, GEOS and the libraries. A file whose path, size,
  modification and change times and inode match an earlier load's record (made when the file was
  already 2 s old) is taken to have the hash recorded then; any other is read. A changed byte, or a rule
  file added or removed, changes the key: the engine is built from the files again. Files a rule file
  names (a parameter table's CSV values) are hashed into the entry and checked when it is read.
* **safety**: entries are pickles, which can run code when read, so none is
  read that another user could have written: the directory must belong to the
  user and not be writable by group or others, and every entry is signed
  (HMAC-SHA256) with a random key kept 0600 in the directory (``secret``); an
  entry whose signature does not match is ignored, as is a truncated, corrupt or
  foreign file. The bulk of an entry, the layers' coordinates, is stored as raw
  numbers beside the pickle: they are read into geometries while their
  signature is checked, and the engine is discarded if it does not match.
* **opt-out**: ``ZONING_NO_CACHE=1``, ``zoning --no-cache``, or :func:`disabled`; without ``os.getuid``
  (Windows) the cache is not used.

The cache never makes a load fail: with any problem (a full disk, a directory refused) the files are
read, as without it. Not kept: the polygon indexes :meth:`Engine.warm <zoning.engine.Engine.warm>` builds
(GEOS cannot store them); a cached engine warms as a fresh one does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import hashlib
import hmac
import io
import json
import os
import stat
import struct
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from zoning import limits, sample
from zoning._version import __version__
from zoning.geometry_pickling import GeometryPickler, GeometryUnpickler

if TYPE_CHECKING:
    from zoning.engine import Engine

#: entries kept, the most recently used (a 40,000-unit layer's entry is about the size of its GeoPackage)
KEEP = 4
#: a file changed within this long of being hashed is hashed again next time (timestamps can be coarse)
TRUST_AFTER_NS = 2_000_000_000
#: more source files than this are not cached (a rules path pointing at a whole disk)
MAX_FILES = 20_000
#: files whose size, times and hash are remembered
MAX_RECORDS = 5_000
_MAGIC = b"ZONINGC\x01"
_LIBRARIES = ("numpy", "pandas", "shapely", "geopandas", "pyproj", "pyogrio", "pydantic", "PyYAML")

_DISABLED: ContextVar[bool] = ContextVar("zoning_no_cache", default=False)
#: what the last load did: ``result`` ("hit", "miss" or "off") and seconds per step (bench/engine_load.py)
last: dict[str, Any] = {}
#: loads served from the cache and loads that built the engine, in this process
counts = {"hits": 0, "misses": 0}


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Within the block, engines are loaded from the files, and not cached."""
    token = _DISABLED.set(True)
    try:
        yield
    finally:
        _DISABLED.reset(token)


def enabled() -> bool:
    """Whether loads use the cache: not within :func:`disabled`, nor with ``ZONING_NO_CACHE`` set (not 0)."""
    flag = os.environ.get("ZONING_NO_CACHE", "").strip().lower()
    return not _DISABLED.get() and flag in ("", "0", "false", "no")


def directory() -> Path:
    """The cache directory (see the module doc)."""
    if os.environ.get("ZONING_CACHE_DIR"):
        return Path(os.environ["ZONING_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "zoning"


def load(units, rules, zones, *, io_engine: str, as_of: dt.date, build: Callable[[], Engine]) -> Engine:
    """``build()``'s engine for these arguments (:meth:`Engine.load`'s), from the cache when it holds one
    for the same inputs; else built, and stored. Warnings the build gave are given again on a hit."""
    last.clear()
    started, key = time.perf_counter(), None
    store = _Store.open() if enabled() else None
    if store is not None:
        with contextlib.suppress(Exception):  # a file gone or unreadable: the build says what is wrong
            key = store.key(units, rules, zones, io_engine=io_engine, as_of=as_of)
    last["key"] = time.perf_counter() - started
    if store is None or key is None:
        last["result"] = "off"
        return build()
    found = store.get(key)
    last["result"] = "hit" if found is not None else "miss"
    counts["hits" if found is not None else "misses"] += 1
    if found is not None:
        engine, notes = found
    else:
        begun = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            engine = build()
        last["build"] = time.perf_counter() - begun
        notes = [(w.category, str(w.message)) for w in caught]
        store.put(key, engine, notes)
    for category, message in notes:
        warnings.warn(message, category, stacklevel=3)
    return engine


def _sources(units, rules, zones) -> list[tuple[str, str]] | None:
    """(role, path) of every file the load would read, as :meth:`Engine.read` finds them; None when they
    cannot be listed (the load then reports the problem)."""
    if units is not None and not rules:
        return None
    if units is None:
        units, zones = sample.units_path(), zones or sample.zones_path()
    out: list[tuple[str, str]] = []
    for role, given in (("units", units), ("zones", zones)):
        if given is None:
            continue
        path = Path(given)
        if path.is_dir():
            out += [(role, str(p)) for p in sorted(path.rglob("*")) if p.is_file()]
        elif path.is_file():
            out.append((role, str(path)))
            side = [p for p in path.parent.iterdir() if p.name != path.name
                    and (p.name.startswith(path.name) or p.name.startswith(path.stem + "."))]
            out += [(role, str(p)) for p in sorted(side) if p.is_file()]  # .dbf/.shx/.prj, -wal/-shm
        else:
            return None
    for given in [rules] if isinstance(rules, (str, Path)) else list(rules or [sample.rules_dir()]):
        path = Path(given)
        if path.is_dir():
            out += [("rules", str(p)) for p in sorted(path.rglob("*"))
                    if p.suffix.lower() in (".yaml", ".yml") and p.is_file()]
        elif path.is_file():
            out.append(("rules", str(path)))
        else:
            return None
    return out if len(out) <= MAX_FILES else None


def _versions() -> dict[str, str]:
    found = {"zoning": __version__, "code": _code_hash(), "python": sys.version,
             "geos": shapely.geos_version_string}
    for name in _LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


@functools.cache
def _code_hash() -> str:
    """A hash of the package's own files (its modules and data): an engine pickled by other code, even under
    the same version number (a development checkout), is never read."""
    package = Path(__file__).resolve().parent
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class _Store:
    """The cache directory, checked and with its secret read (see :meth:`open`)."""

    def __init__(self, root: Path, secret: bytes):
        self.root, self.secret = root, secret

    @classmethod
    def open(cls) -> _Store | None:
        """The cache directory, created 0700; None when it is not the user's, is writable by others, or
        cannot be made."""
        getuid = getattr(os, "getuid", None)
        if getuid is None:
            return None
        root = directory()
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.stat(root)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != getuid() or info.st_mode & 0o022:
                return None
            secret = _secret(root, getuid())
        except OSError:
            return None
        return cls(root, secret) if secret is not None else None

    # -- the key -------------------------------------------------------------
    def key(self, units, rules, zones, *, io_engine: str, as_of: dt.date) -> str | None:
        """The key of an engine loaded from these files with these settings (see the module doc)."""
        sources = _sources(units, rules, zones)
        if sources is None:
            return None
        records = self._records()
        now = time.time_ns()
        hashed = 0.0
        files = []
        for role, name in sources:
            resolved = os.path.abspath(name)  # the inode and device say which file it is
            info = os.stat(resolved)
            seen = [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]
            record = records.get(resolved)
            if record is not None and record[:5] == seen and record[5] - seen[1] > TRUST_AFTER_NS:
                digest = record[6]
            else:
                begun = time.perf_counter()
                digest = _file_hash(resolved)
                hashed += time.perf_counter() - begun
                records[resolved] = [*seen, now, digest]
            files.append([role, name, digest])
        last["hashing"] = hashed
        if hashed:
            self._save_records(records)
        text = json.dumps({"versions": _versions(), "as_of": as_of.isoformat(), "io_engine": io_engine,
                           "limits": dataclasses.asdict(limits.current()), "files": files,
                           "given": [str(units), [str(r) for r in ([rules] if isinstance(rules, (str, Path))
                                                                   else list(rules or []))], str(zones)]},
                          sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()

    def _records(self) -> dict[str, list]:
        """What earlier loads recorded of each file: size, times, inode, device, when hashed, hash."""
        try:
            signature, _, text = (self.root / "files.json").read_bytes().partition(b"\n")
            if hmac.compare_digest(signature, self._sign(text).encode()):
                records = json.loads(text)
                if isinstance(records, dict):
                    return records
        except (OSError, ValueError):
            pass
        return {}

    def _save_records(self, records: dict[str, list]) -> None:
        with contextlib.suppress(OSError):
            newest = sorted(records.items(), key=lambda item: item[1][5])[-MAX_RECORDS:]
            text = json.dumps(dict(newest)).encode()
            _write_atomic(self.root / "files.json", [self._sign(text).encode(), b"\n", text])

    def _sign(self, data) -> str:
        return hmac.new(self.secret, data, "sha256").hexdigest()

    # -- entries -------------------------------------------------------------
    def get(self, key: str) -> tuple[Engine, list] | None:
        """The engine and warnings stored under ``key``; None when there is none, or it is not one this
        user's zoning wrote intact (never an error)."""
        path = self.root / f"{key}.engine"
        try:
            begun = time.perf_counter()
            data = memoryview(path.read_bytes())
            last["read"] = time.perf_counter() - begun
        except OSError:
            return None
        try:
            found = self._unpack(data, key)
        except Exception:  # noqa: BLE001 - a damaged entry is rebuilt, whatever it does when read
            found = None
        if found is None:
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: kept longest
        return found

    def _unpack(self, data: memoryview, key: str) -> tuple[Engine, list] | None:
        begun = time.perf_counter()
        if bytes(data[:8]) != _MAGIC:
            return None
        (size,) = struct.unpack("<I", data[8:12])
        meta = json.loads(bytes(data[12:12 + size]))
        start = 12 + size + 32
        body = data[start:start + meta["pickle"]]
        raw = data[start + meta["pickle"]:]
        if meta.get("key") != key or len(body) != meta["pickle"] or len(raw) != meta["raw"]:
            return None
        check = hmac.new(self.secret, data[:12 + size], "sha256")
        check.update(body)
        if not hmac.compare_digest(check.digest(), bytes(data[12 + size:start])):
            return None  # the pickle is read only once signed by this cache's secret
        for name, digest in meta.get("read", []):  # files the lists named (parameter tables' CSVs): unchanged?
            if not os.path.isfile(name) or _file_hash(name) != digest:
                return None
        raw_signature: list[str] = []
        checking = threading.Thread(target=lambda: raw_signature.append(self._sign(raw)))
        checking.start()  # hashing lets go of the GIL: the coordinates are checked while the pickle is read
        last["verify"] = time.perf_counter() - begun
        begun = time.perf_counter()
        collecting = gc.isenabled()
        gc.disable()  # unpickling makes many objects, none garbage: collections would cost twice the reading
        try:
            stored = GeometryUnpickler(io.BytesIO(body), raw).load()
        finally:
            if collecting:
                gc.enable()
            checking.join()
        last["unpickle"] = time.perf_counter() - begun
        if not hmac.compare_digest(raw_signature[0], meta["raw_mac"]):
            return None
        return stored["engine"], stored["warnings"]

    def put(self, key: str, engine: Engine, notes: list) -> None:
        """Store ``engine`` under ``key``, and delete the oldest entries beyond :data:`KEEP` (never an error)."""
        begun = time.perf_counter()
        try:
            body = io.BytesIO()
            pickler = GeometryPickler(body)
            pickler.dump({"engine": engine, "warnings": notes})
            raw = [a.data.cast("B") for a in pickler.raw]
            raw_mac = hmac.new(self.secret, digestmod="sha256")
            for part in raw:
                raw_mac.update(part)
            meta = json.dumps({"key": key, "pickle": body.tell(), "raw": pickler.size,
                               "raw_mac": raw_mac.hexdigest(), "read": _read_files(engine)}).encode()
            head = _MAGIC + struct.pack("<I", len(meta)) + meta
            signature = hmac.new(self.secret, head, "sha256")
            signature.update(body.getbuffer())
            _write_atomic(self.root / f"{key}.engine", [head, signature.digest(), body.getbuffer(), *raw])
            self._prune()
        except Exception:  # noqa: BLE001 - an engine that cannot be stored (a full disk) is still returned
            pass
        last["store"] = time.perf_counter() - begun

    def _prune(self) -> None:
        entries = sorted(self.root.glob("*.engine"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[KEEP:]:
            with contextlib.suppress(OSError):
                old.unlink()
        for stale in self.root.glob(".tmp-*"):  # left by a process killed while writing
            with contextlib.suppress(OSError):
                if time.time() - stale.stat().st_mtime > 3600:
                    stale.unlink()


def _secret(root: Path, uid: int) -> bytes | None:
    """The cache's signing key: 32 random bytes in ``secret``, made 0600 on first use; None when the file is
    not the user's, is readable by others, or is not 32 bytes."""
    path = root / "secret"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".tmp-")  # 0600
        try:
            os.write(fd, os.urandom(32))
            os.close(fd)
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # whole, and only if no other process made one first
        finally:
            os.unlink(tmp)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        secret = f.read(33)
    ok = stat.S_ISREG(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o077 and len(secret) == 32
    return secret if ok else None


def _read_files(engine: Engine) -> list[list[str]]:
    """(path, hash) of the files the build read that the key's list of sources may not hold: the CSV
    values of parameter tables, which a rule file names (``file:``), wherever they are."""
    named = {os.path.abspath(Path(spec.path).parent / spec.file) for spec in getattr(engine, "all_parameters", ())
             if spec.file and spec.path}
    return [[name, _file_hash(name)] for name in sorted(named)]


def _file_hash(path: str) -> str:
    digest = hashlib.blake2b()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_atomic(path: Path, parts: Iterable) -> None:
    """Write ``parts`` to a temporary file beside ``path``, then rename it: a reader sees all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
