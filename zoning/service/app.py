"""The ASGI application: the engine loaded once, the API, the map page, and the docs, all offline.

:func:`create_app` builds it around an engine (for deployment behind
uvicorn or gunicorn workers); :func:`app_from_environment` is the factory
``zoning serve --workers N`` hands uvicorn, each worker loading the engine
from the files named in ``ZONING_SERVE`` (JSON). The page at ``/`` and the
interactive docs at ``/docs`` use only files shipped in the package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from zoning._version import __version__
from zoning.service import problems
from zoning.service.routes_checks import router as checks_router
from zoning.service.routes_jobs import router as jobs_router
from zoning.service.routes_layers import router as layers_router
from zoning.service.settings import Settings
from zoning.service.state import Service

if TYPE_CHECKING:
    from zoning.engine import Engine

STATIC = Path(__file__).resolve().parent / "static"
#: the environment variable ``zoning serve`` passes its settings to worker processes in
ENVIRONMENT = "ZONING_SERVE"


def create_app(engine: Engine, settings: Settings | None = None) -> FastAPI:
    """The service for ``engine`` (warmed at once, so the first check is as fast as the rest)."""
    settings = settings or Settings()
    service = Service(engine, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        engine.warm(industries=True)  # no first-check delay per industry and type
        service.jobs.start()
        watcher = _release_watcher(service, settings)
        try:
            yield
        finally:
            if watcher is not None:
                watcher.stop()
            service.jobs.stop()

    app = FastAPI(title="zoning", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Ecological-environment zoning control (生态环境分区管控): verdicts with citations, "
                              "siting guidance, registry screening.")
    app.state.service = service
    problems.install(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])
    app.include_router(checks_router)
    app.include_router(jobs_router)
    app.include_router(layers_router)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page():
        index = STATIC / "index.html"
        if not index.exists():
            return HTMLResponse("<!doctype html><title>zoning</title><p>The map page is not installed; the API is "
                                "at <a href='/docs'>/docs</a>.</p>")
        return FileResponse(index, media_type="text/html; charset=utf-8")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url="/openapi.json", title="zoning API",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.png")

    return app


def app_from_environment() -> FastAPI:
    """The app a uvicorn worker builds: the engine loaded from the files in ``ZONING_SERVE``."""
    config = json.loads(os.environ[ENVIRONMENT])
    return create_app(load_engine(config["load_args"]), settings_from(config))


def load_engine(load_args: dict[str, Any]) -> Engine:
    """An engine from ``Engine.load``'s keywords as JSON holds them (dates as ISO text), or from a
    database release (``db``, ``release``: see :mod:`zoning.db`)."""
    from zoning.engine import Engine

    args = dict(load_args)
    as_of = args.pop("as_of", None)
    day = dt.date.fromisoformat(as_of) if as_of else None
    if args.get("db"):
        from zoning.db.releases import load_engine as load_release

        return load_release(args["db"], args.get("release"), day)
    return Engine.load(**args, as_of=day)


def _release_watcher(service: Service, settings: Settings):
    """A server reading a database release it was not pinned to follows newer releases (started here)."""
    args = settings.load_args or {}
    if not args.get("db") or args.get("release") is not None or settings.db_poll_s <= 0:
        return None
    from zoning.service.releases import ReleaseWatcher

    as_of = args.get("as_of")
    watcher = ReleaseWatcher(service, args["db"], dt.date.fromisoformat(as_of) if as_of else None,
                             settings.db_poll_s)
    watcher.start()
    return watcher


def settings_from(config: dict[str, Any]) -> Settings:
    """:class:`Settings` from their JSON form (see ``zoning serve``)."""
    values = dict(config.get("settings", {}))
    if "jobs_dir" in values:
        values["jobs_dir"] = Path(values["jobs_dir"])
    values["cors_origins"] = tuple(values.get("cors_origins", ()))
    return Settings(**values, load_args=config.get("load_args"))
