"""How a server runs: limits, protection, where jobs live. One frozen record, set at start."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    """What ``zoning serve`` and :func:`zoning.service.create_app` are given.

    ``token``: when set, the job, report and batch endpoints need ``Authorization: Bearer TOKEN``.
    ``load_args``: how the engine was loaded (``Engine.load``'s keywords), so that screening jobs
    can load it in their own process; None runs them in threads.
    """

    jobs_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / f"zoning-jobs-{os.getuid()}")
    job_workers: int = 1
    max_upload_mb: int = 200
    max_batch: int = 10_000
    token: str | None = None
    cors_origins: tuple[str, ...] = ()
    basemap: str | None = None
    load_args: dict[str, Any] | None = None
    #: page size of GET /api/units and /api/zones
    page_size: int = 2_000
    #: with ``load_args["db"]`` (zoning serve --db): seconds between asking the database for a newer release
    db_poll_s: float = 30.0
