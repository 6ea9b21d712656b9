"""Writing behind the caller: an output's chunks written in a thread while the next chunk is computed.

Arrow's CSV and Parquet writers and GDAL release the GIL while they write,
so a screening run keeps both cores busy when one thread evaluates chunk
*n + 1* while another writes chunk *n*. :class:`WriteBehind` wraps any
writer with ``write(frame, geometry)``, ``close(summary)`` and ``abort()``:
chunks are written in the order given, at most ``depth`` waiting; a failure
in the thread is raised at the caller's next call, so a full disk still stops
the run with its one-line message.
"""

from __future__ import annotations

import contextvars
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

_STOP = object()


class WriteBehind:
    """``writer``'s ``write`` calls made in a thread, in order; ``close`` waits for them, then closes.
    ``depth=0`` writes in the caller's thread, each chunk before ``write`` returns."""

    def __init__(self, writer: Any, depth: int = 1):
        self.writer = writer
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if depth:  # the thread sees the caller's context (the limits in force, see zoning.limits)
            self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,),
                                            name="zoning-write-behind", daemon=True)
            self._thread.start()

    def __getattr__(self, name: str) -> Any:  # notes, renamed, rows…: the wrapped writer's
        return getattr(self.writer, name)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is None:  # after a failure, the rest is drained unwritten
                try:
                    item()
                except BaseException as exc:  # raised at the caller's next call
                    self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def write(self, frame: pd.DataFrame, geometry: np.ndarray | None) -> None:
        """Queue a chunk (blocks while ``depth`` chunks wait); raises a failure of an earlier chunk."""
        self.submit(functools.partial(self.writer.write, frame, geometry))

    def submit(self, task: Callable[[], object]) -> None:
        """Queue ``task`` to run in the writing thread after those queued before (blocks while ``depth``
        wait; with ``depth=0`` it runs now); raises a failure of an earlier one."""
        self._raise()
        if self._thread is None:
            task()
            return
        self._queue.put(task)

    def _finish(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def wait(self) -> None:
        """Wait for the queued tasks to run (the thread ends), and raise a failure among them."""
        self._finish()
        self._raise()

    def close(self, summary: list[tuple[str, str, int]] | None = None) -> None:
        """Wait for the queued chunks, raise a failure among them, then close the writer."""
        self.wait()
        self.writer.close(summary)

    def abort(self) -> None:
        """Stop writing (queued chunks are dropped) and release the writer's handles."""
        self._error = self._error or _Aborted()
        self._finish()
        self._error = None
        self.writer.abort()


class _Aborted(Exception):
    """Marks a run being aborted: queued chunks are not written."""
