"""A server started with ``--db`` follows the database: a newer release in force is loaded and switched to.

A background thread asks the database every ``Settings.db_poll_s`` seconds
which release is in force (on the server's ``--as-of``, or today); when it
is not the one being served, the new release is read, its engine built and
warmed beside the running one, then swapped in at once
(:meth:`zoning.service.state.Service.switch`). Requests in flight finish on
the engine they started with; none is dropped. A database that cannot be
reached is logged (host only, never the password) and asked again later;
the server keeps serving the release it has. ``/api/health`` names the
release served.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING

from zoning.errors import ZoningError

if TYPE_CHECKING:
    from zoning.service.state import Service

log = logging.getLogger("zoning.service")


class ReleaseWatcher:
    """The thread that switches a service to a newer release (see the module)."""

    def __init__(self, service: Service, url: str, as_of: dt.date | None, interval_s: float):
        from zoning.db.urls import DatabaseURL

        self.service = service
        self.url = DatabaseURL.parse(url)
        self.as_of = as_of
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zoning release watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except ZoningError as exc:
                log.warning("zoning serve: release not checked: %s", exc)
            except Exception:  # noqa: BLE001 - a watcher that dies would silently stop following releases
                log.exception("zoning serve: checking for a new release failed")

    def check(self) -> bool:
        """Switch to the release in force if it is not the one served; True when switched."""
        from zoning.db.releases import current_release_id, load_engine
        from zoning.db.urls import connect, database_errors

        with connect(self.url, purpose="zoning serve (release watcher)", autocommit=True) as conn, \
                database_errors(self.url, "asking for the release in force"):
            current = current_release_id(conn, self.as_of)
        served = (self.service.engine.release or {}).get("id")
        if current is None or current == served:
            return False
        engine = load_engine(self.url, current, self.as_of)
        engine.warm(industries=True)
        self.service.switch(engine)
        log.warning("zoning serve: switched from release %s to release %s of %s", served, current, self.url.label)
        return True
