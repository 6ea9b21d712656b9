"""Exceptions raised for user-facing problems (bad data, bad input).

The CLI turns these into a one-line message and exit status 1; anything else
is a bug and is allowed to surface as a traceback.
"""


class ZoningError(Exception):
    """Base class for problems a user can fix."""


class DataError(ZoningError):
    """A unit layer, zone layer or access list is malformed."""


class InputError(ZoningError):
    """A project description (location, industry, attributes) is malformed."""
