"""The engine installed on every worker of a cluster, and on every worker that joins it later.

:class:`EnginePlugin` is a ``distributed`` worker plugin: registering it sends the
engine's shipment (:class:`zoning.cluster.work.Shipped`) through the scheduler to each
worker, which unpickles and warms it once, at once, and keeps it by its token for the
tasks of the run; a worker that joins mid-run (a replacement for one that died) gets it
too, so no task waits on a copy lost with a worker. Unregistering it at the end of the
run drops the engine from the workers. Imported only when a run uses a cluster.
"""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from zoning.cluster.work import Shipped, forget


class EnginePlugin(WorkerPlugin):
    """Installs one run's engine on each worker (see the module doc)."""

    def __init__(self, shipped: Shipped):
        self.shipped = shipped
        self.name = f"zoning-engine-{shipped.token}"

    def setup(self, worker) -> None:
        self.shipped.engine()

    def teardown(self, worker) -> None:
        forget(self.shipped.token)
