"""A Dask client for a screening run: a running cluster's scheduler, or a local cluster started for it.

dask and distributed are imported here only, when a run asks for a cluster (they
are the ``zoning[dask]`` extra, and slow to import). A scheduler that cannot be
reached, or is lost, is a one-line :class:`ClusterError`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from zoning.errors import ZoningError

#: seconds to wait for a scheduler to answer, and for the first worker to join it
CONNECT_TIMEOUT = 15
INSTALL = 'pip install "zoning[dask]"'


class ClusterError(ZoningError):
    """The Dask cluster cannot be reached, was lost, or failed a task (exit status 1 on the command line)."""


def require_dask() -> None:
    """Refuse, in one line, when dask and distributed are not installed."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError(f"screening on a Dask cluster needs dask and distributed: {INSTALL}") from None


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None, *, quiet_logs: bool = False,
                timeout: float = CONNECT_TIMEOUT) -> Iterator:
    """A ``distributed.Client`` of the scheduler at ``scheduler`` (``tcp://HOST:8786``), or of a local cluster
    of ``workers`` processes of one thread each on 127.0.0.1 (closed at the end). ``quiet_logs`` keeps
    distributed's own log lines off standard error (the command line reports failures itself)."""
    require_dask()
    from distributed import Client, LocalCluster

    if quiet_logs:  # distributed configures a level for some of its loggers (distributed.client…): set each
        for name in [*logging.root.manager.loggerDict, "distributed", "tornado", "asyncio"]:
            if name.split(".")[0] in ("distributed", "tornado", "asyncio"):
                logging.getLogger(name).setLevel(logging.CRITICAL)

    with contextlib.ExitStack() as stack:
        if workers is not None:
            level = logging.CRITICAL if quiet_logs else logging.WARNING
            # no dashboard; the scheduler's HTTP endpoints on 127.0.0.1 and a free port (not 8787, maybe taken)
            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                       host="127.0.0.1", dashboard_address=None, silence_logs=level,
                                                       scheduler_kwargs={"dashboard": False,
                                                                         "dashboard_address": "127.0.0.1:0"}))
            client = stack.enter_context(Client(cluster))
        else:
            _reachable(scheduler, timeout)
            try:
                client = stack.enter_context(Client(scheduler, timeout=timeout, set_as_default=False))
            except (OSError, TimeoutError, ValueError) as exc:
                raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {first_line(exc)}") from None
            try:
                client.wait_for_workers(1, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"the Dask scheduler at {scheduler} has no workers ({first_line(exc)})") from None
        yield client


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _reachable(address: str | None, timeout: float) -> None:
    """Refuse at once a TCP scheduler address nothing listens at (the client would retry until its timeout)."""
    import socket
    from urllib.parse import urlsplit

    if not address:
        raise ClusterError("give the Dask scheduler's address, tcp://HOST:8786")
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname:
        return  # another transport: the client says
    try:
        port = parts.port or 8786
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {first_line(exc)}") from None
