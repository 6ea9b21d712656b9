"""The HTTP service (``zoning serve``): the API, the map page and screening jobs, at the top layer.

:func:`~zoning.service.app.create_app` builds the ASGI app for an engine.
"""

from __future__ import annotations

from zoning.service.app import create_app
from zoning.service.settings import Settings

__all__ = ["Settings", "create_app"]
