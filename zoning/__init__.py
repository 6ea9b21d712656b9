"""zoning: a rule engine for China's ecological-environment zoning control.

Load management units and access lists once with :class:`Engine`, then check
one siting (:meth:`Engine.check`) or a GeoDataFrame of projects
(:meth:`Engine.check_many`). Every verdict comes with its citations.
"""

__version__ = "0.1.0"

from zoning.engine import Engine  # noqa: E402
from zoning.errors import DataError, InputError, ZoningError  # noqa: E402

__all__ = ["Engine", "DataError", "InputError", "ZoningError", "__version__"]
