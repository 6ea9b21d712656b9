"""Screening on a Dask cluster (the ``zoning[dask]`` extra): ``zoning screen --scheduler`` / ``--workers``.

:class:`DaskRunner` runs :func:`zoning.screening.screen`'s chunks on a ``dask.distributed``
cluster; :func:`dask_client` connects to one or starts a local one. Importing this
package does not import dask: :mod:`zoning.cluster.client` does, when a client is made.
"""

from zoning.cluster.client import ClusterError, dask_client, require_dask
from zoning.cluster.runner import DaskRunner

__all__ = ["ClusterError", "DaskRunner", "dask_client", "require_dask"]
