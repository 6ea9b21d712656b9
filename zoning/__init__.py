"""zoning: a rule engine for China's ecological-environment zoning control (生态环境分区管控).

Load management units and access lists once with :class:`Engine`, then check
one siting (:meth:`Engine.check`, a :class:`Result` with every citation), a
frame of projects (:meth:`Engine.check_many`) or a registry file
(:func:`screen`).
"""

from zoning._version import __version__
from zoning.engine import Engine
from zoning.errors import DataError, InputError, ParameterError, ZoningError
from zoning.evaluate.min_overlap import MinOverlap
from zoning.evaluate.results import Result
from zoning.screening import screen
from zoning.verdicts import Verdict

__all__ = ["DataError", "Engine", "InputError", "MinOverlap", "ParameterError", "Result", "Verdict", "ZoningError",
           "__version__", "screen"]
