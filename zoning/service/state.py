"""What a running service holds: the engine (and its other dates), the settings, the jobs."""

from __future__ import annotations

import datetime as dt
import hmac
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request, UploadFile

from zoning.service.jobs import JobStore
from zoning.service.problems import Problem
from zoning.service.settings import Settings

if TYPE_CHECKING:
    from zoning.engine import Engine

#: engines kept for other as-of dates than the server's
_DATES_KEPT = 8
_CHUNK = 1 << 20


class Service:
    """The engine loaded once at start and shared by every request; checks run one at a time per
    process (the engine's caches are not shared across threads), so several processes (uvicorn
    workers) give parallel checks."""

    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self.lock = threading.RLock()
        self._dates: OrderedDict[dt.date, Engine] = OrderedDict()
        # an engine read from a database follows its releases (see switch): jobs run with it, in threads
        from_db = bool(settings.load_args and settings.load_args.get("db"))
        self.jobs = JobStore(settings.jobs_dir, load_args=None if from_db else settings.load_args, engine=engine,
                             max_running=settings.job_workers)

    def switch(self, engine: Engine) -> None:
        """Serve ``engine`` from now on (a newer release): requests in flight finish on the one they have."""
        with self.lock:
            self.engine = engine
            self._dates = OrderedDict()
            self.jobs.engine = engine

    def on(self, as_of: dt.date | None) -> Engine:
        """The engine for ``as_of`` (the server's own when None); other dates' engines are kept."""
        if as_of is None or as_of == self.engine.as_of:
            return self.engine
        with self.lock:
            if as_of not in self._dates:
                self._dates[as_of] = self.engine.on(as_of)
                while len(self._dates) > _DATES_KEPT:
                    self._dates.popitem(last=False)
            self._dates.move_to_end(as_of)
            return self._dates[as_of]

    def authorise(self, request: Request) -> None:
        """With a token set, the request must carry it as a bearer token (compared in constant time)."""
        token = self.settings.token
        if token is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise Problem(401, "this endpoint needs 'Authorization: Bearer <token>'",
                          headers={"WWW-Authenticate": 'Bearer realm="zoning"'})

    async def save_upload(self, upload: UploadFile, folder: Path, allowed: set[str], what: str) -> Path:
        """Stream an upload to ``folder`` under a name of our own (keeping only its extension), within
        the size limit (413) and the formats ``allowed`` (415)."""
        suffix = Path(upload.filename or "").suffix.lower()
        if suffix not in allowed:
            raise Problem(415, f"{what}: {suffix or 'no extension'} is not a format read here "
                               f"(known: {', '.join(sorted(allowed))})")
        limit = self.settings.max_upload_mb * 1024 * 1024
        target = folder / f"upload{suffix}"
        size = 0
        with open(target, "wb") as out:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    out.close()
                    target.unlink(missing_ok=True)
                    raise Problem(413, f"{what}: larger than the limit of {self.settings.max_upload_mb} MB")
                out.write(chunk)
        return target


def service_of(request: Request) -> Service:
    return request.app.state.service
