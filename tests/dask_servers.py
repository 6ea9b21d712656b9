"""Throw-away Dask schedulers and workers for the tests (README, "Screening on a Dask cluster").

:func:`scheduler_address` gives the address of a scheduler with two workers: ``ZONING_TEST_DASK_SCHEDULER``
when the environment names one (``.ci/run`` starts one), else one started here (``dask scheduler`` and two
``dask worker`` processes of one thread, on 127.0.0.1 and free ports, no dashboard, stopped at exit).
:class:`Servers` starts a private one for a test that kills parts of it. ``None`` and the reason when
dask is not installed.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import zoning

#: the checkout (or site-packages) that holds the zoning package the tests import: workers import the same
CODE = str(Path(zoning.__file__).resolve().parent.parent)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_command() -> list[str] | None:
    """How to run the ``dask`` command of this Python's environment."""
    beside = Path(sys.executable).parent / "dask"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("dask")
    return [found] if found else None


class Servers:
    """A scheduler and ``workers`` workers (processes of one thread, on 127.0.0.1), started at once."""

    def __init__(self, workers: int = 2):
        command = dask_command()
        if command is None:
            raise RuntimeError("no 'dask' command (pip install \"zoning[dask]\")")
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [CODE, os.environ.get("PYTHONPATH")]))}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env, "start_new_session": True}
        self.scheduler = subprocess.Popen([*command, "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                           "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
                                          **quiet)  # type: ignore[call-overload]
        self._wait_listening()
        self.workers = [subprocess.Popen([*command, "worker", self.address, "--nthreads", "1", "--nworkers", "1",
                                          "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                                          "--no-nanny"], **quiet)
                        for _ in range(workers)]  # type: ignore[call-overload]
        self._wait_workers(workers)

    def _wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the dask scheduler did not start")

    def _wait_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(n, timeout=timeout)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL one process (a worker, or the scheduler)."""
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        for process in [*getattr(self, "workers", []), self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*getattr(self, "workers", []), self.scheduler]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


_shared: list[Servers] = []


def scheduler_address() -> tuple[str | None, str]:
    """``(address, "")`` of a scheduler with two workers, or ``(None, why not)``."""
    named = os.environ.get("ZONING_TEST_DASK_SCHEDULER")
    if named:
        return named, ""
    if not _shared:
        try:
            import distributed  # noqa: F401
        except ImportError:
            return None, "dask and distributed are not installed (pip install \"zoning[dask]\")"
        try:
            _shared.append(Servers(2))
        except RuntimeError as exc:
            return None, str(exc)
        atexit.register(_shared[0].stop)
    return _shared[0].address, ""
