"""Screening jobs: kept in a directory that survives a restart, run outside the requests.

Each job is a folder ``JOBS_DIR/<id>/`` holding the upload, ``job.json``
(state, progress, summary or error; replaced atomically) and, when done,
``result.parquet`` (the screened registry, GeoParquet) from which the
other formats are written on first request. One process at a time runs the
dispatcher (it holds an exclusive lock on ``JOBS_DIR/.dispatcher``), so
several server workers share one queue; it starts up to ``max_running``
jobs, oldest first. A job runs in a child process (``python -m
zoning.service.runner``) at lower priority, so checks stay fast while it
runs and a crash cannot take the server down; an engine built in memory
(no files to load it from) runs its jobs in a thread instead. Jobs found
running at start (the server stopped under them) are queued again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from zoning.outputs.atomic import atomic_path

STATES = ("queued", "running", "done", "failed")
_ID_CHARS = set("0123456789abcdef")


def valid_id(job_id: str) -> bool:
    """Job ids are 32 hex digits (uuid4): anything else never reaches the file system."""
    return len(job_id) == 32 and set(job_id) <= _ID_CHARS


def read_state(folder: Path) -> dict[str, Any] | None:
    """A job's ``job.json``, or None if the job is gone."""
    try:
        return json.loads((folder / "job.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """Replace ``job.json`` atomically."""
    with atomic_path(folder / "job.json") as tmp:
        Path(tmp).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")


def update_state(folder: Path, **changes: Any) -> dict[str, Any] | None:
    state = read_state(folder)
    if state is None:
        return None
    state.update(changes)
    write_state(folder, state)
    return state


class JobStore:
    """The jobs of one directory; see the module doc.

    ``load_args`` are the keywords the child process loads the engine with
    (``Engine.load``'s); None runs jobs in threads with ``engine``.
    """

    def __init__(self, folder: Path, *, load_args: dict[str, Any] | None, engine=None, max_running: int = 1,
                 poll_seconds: float = 0.5):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.load_args = load_args
        self.engine = engine
        self.max_running = max(1, int(max_running))
        self.poll_seconds = poll_seconds
        self._running: dict[str, subprocess.Popen | threading.Thread] = {}
        self._stop = threading.Event()
        self._lock_file: Any = None
        self._thread: threading.Thread | None = None
        self._convert_lock = threading.Lock()

    # -- requests ------------------------------------------------------------
    def submit(self, upload: Path, filename: str, options: dict[str, Any]) -> dict[str, Any]:
        """Queue a job for the registry file ``upload`` (moved into the job's folder)."""
        job_id = uuid.uuid4().hex
        folder = self.folder / job_id
        folder.mkdir()
        target = folder / ("registry" + Path(filename).suffix.lower())
        shutil.move(str(upload), target)
        state = {"id": job_id, "state": "queued", "filename": filename, "input": target.name,
                 "created": _now(), "started": None, "finished": None, "rows_done": 0, "rows_total": None,
                 "options": options, "summary": None, "error": None}
        write_state(folder, state)
        return state

    def get(self, job_id: str) -> dict[str, Any] | None:
        return read_state(self.folder / job_id) if valid_id(job_id) else None

    def delete(self, job_id: str) -> bool:
        """Remove a job; a running one is stopped first (by the dispatcher, which sees the mark)."""
        folder = self.folder / job_id
        state = self.get(job_id)
        if state is None:
            return False
        if state["state"] == "running":
            (folder / "cancel").touch()
            return True
        _remove(folder)
        return True

    def result(self, job_id: str, fmt: str) -> Path:
        """The job's output as ``fmt`` (written from the GeoParquet result on first request)."""
        folder = self.folder / job_id
        source = folder / "result.parquet"
        if fmt == "parquet":
            return source
        target = folder / f"result.{fmt}"
        with self._convert_lock:
            if not target.exists():
                from zoning.service.conversion import convert

                state = read_state(folder) or {}
                convert(source, target, fmt, summary=(state.get("summary") or {}).get("rows"))
        return target

    # -- the dispatcher ------------------------------------------------------
    def start(self) -> None:
        """Start dispatching in a background thread if no other process does."""
        lock = open(self.folder / ".dispatcher", "a")  # noqa: SIM115 - held for the dispatcher's life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return  # another worker process dispatches
        self._lock_file = lock
        self._requeue_interrupted()
        self._thread = threading.Thread(target=self._loop, name="zoning-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop dispatching; running child processes are stopped and their jobs queued again."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for job_id, runner in list(self._running.items()):
            if isinstance(runner, subprocess.Popen):
                runner.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    runner.wait(timeout=10)
                update_state(self.folder / job_id, state="queued", started=None, rows_done=0)
        if self._lock_file is not None:
            self._lock_file.close()

    def _requeue_interrupted(self) -> None:
        for folder in self.folder.iterdir():
            state = read_state(folder) if folder.is_dir() else None
            if state is not None and state["state"] == "running":
                update_state(folder, state="queued", started=None, rows_done=0,
                             note="restarted: the server stopped while it ran")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap()
                self._start_queued()
            except OSError:  # a job folder removed under us: next round
                pass
            self._stop.wait(self.poll_seconds)

    def _reap(self) -> None:
        for job_id, runner in list(self._running.items()):
            folder = self.folder / job_id
            if (folder / "cancel").exists():
                if isinstance(runner, subprocess.Popen):
                    runner.kill()
                    runner.wait()
                del self._running[job_id]
                _remove(folder)
                continue
            alive = runner.poll() is None if isinstance(runner, subprocess.Popen) else runner.is_alive()
            if alive:
                continue
            del self._running[job_id]
            state = read_state(folder)
            if state is not None and state["state"] == "running":  # the runner died without a word
                code = runner.returncode if isinstance(runner, subprocess.Popen) else None
                update_state(folder, state="failed", finished=_now(),
                             error=f"the screening process stopped unexpectedly (exit {code})")

    def _start_queued(self) -> None:
        if len(self._running) >= self.max_running:
            return
        queued = []
        for folder in self.folder.iterdir():
            state = read_state(folder) if folder.is_dir() else None
            if state is not None and state["state"] == "queued" and state["id"] not in self._running:
                queued.append(state)
        for state in sorted(queued, key=lambda s: s["created"])[: self.max_running - len(self._running)]:
            folder = self.folder / state["id"]
            update_state(folder, state="running", started=_now())
            if self.load_args is not None:
                self._running[state["id"]] = subprocess.Popen(
                    [sys.executable, "-m", "zoning.service.runner", str(folder), json.dumps(self.load_args)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_lower_priority)
            else:
                from zoning.service.runner import run_job

                thread = threading.Thread(target=run_job, args=(folder, self.engine), daemon=True)
                thread.start()
                self._running[state["id"]] = thread


def _lower_priority() -> None:
    """In the child process: yield the processor to the server's checks."""
    with contextlib.suppress(OSError):
        os.nice(10)


def _remove(folder: Path) -> None:
    """Remove a job folder: renamed first, so a reader never sees it half gone."""
    gone = folder.with_name(f".deleted-{folder.name}-{time.monotonic_ns()}")
    with contextlib.suppress(FileNotFoundError):
        folder.rename(gone)
        shutil.rmtree(gone, ignore_errors=True)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
