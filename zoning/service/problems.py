"""Errors as RFC 9457 problem details: one JSON shape for every failure, never a traceback.

:class:`Problem` is raised by the endpoints; :func:`install` registers the
handlers that turn it, the engine's typed errors (a bad industry code, an
unreadable site: 422), request validation (422, each field named) and any
unexpected exception (500, logged, with no internals in the body) into
``application/problem+json`` responses.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from zoning.errors import ZoningError

MEDIA_TYPE = "application/problem+json"
_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           409: "Conflict", 413: "Content too large", 415: "Unsupported media type", 422: "Unprocessable content",
           500: "Internal server error", 503: "Service unavailable"}
log = logging.getLogger("zoning.service")


class Problem(Exception):
    """An HTTP error with a problem-details body: ``status``, a one-line ``detail``, and optional
    ``errors`` (``[{"field": ..., "message": ...}]``)."""

    def __init__(self, status: int, detail: str, *, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers


def response(status: int, detail: str, *, errors: list[dict] | None = None, instance: str | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem-details response."""
    body: dict = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return response(exc.status, exc.detail, errors=exc.errors, instance=request.url.path, headers=exc.headers)

    @app.exception_handler(ZoningError)
    async def _zoning(request: Request, exc: ZoningError):
        return response(422, str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                        instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                   "message": str(e.get("msg", "invalid"))} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return response(422, f"{first['field']}: {first['message']}", errors=errors, instance=request.url.path)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return response(exc.status_code, str(exc.detail), instance=request.url.path,
                        headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return response(500, "internal error (logged on the server)", instance=request.url.path)
