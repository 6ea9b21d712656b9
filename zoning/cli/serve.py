"""``zoning serve``: the HTTP API and the map page, for people who never open a terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from zoning.cli.options import as_of_opt, database_option, handle_errors, layer_options


@click.command()
@layer_options
@as_of_opt
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface; put a reverse proxy with TLS in front).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes, each with the engine loaded (checks run in parallel across them).")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True),
              help="A file holding a bearer token that the batch, report and job endpoints then require.")
@click.option("--cors-origin", multiple=True, metavar="ORIGIN",
              help="Allow browser pages from this origin to call the API (repeatable). Default: none.")
@click.option("--jobs-dir", type=click.Path(file_okay=False),
              help="Where screening jobs are kept (survives a restart). Default: a folder in the temp directory.")
@click.option("--job-workers", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Screening jobs run at once.")
@click.option("--max-upload", type=click.IntRange(1, 100_000), default=200, show_default=True, metavar="MB",
              help="Largest upload accepted (larger: 413).")
@click.option("--max-batch", type=click.IntRange(1, 1_000_000), default=10_000, show_default=True,
              help="Most projects in one POST /api/check/batch.")
@click.option("--basemap", metavar="URL", help="A tile URL template ({z}/{x}/{y}) the map page draws under the units.")
@click.option("--db-poll", type=click.FloatRange(min=0), default=30, show_default=True, metavar="SECONDS",
              help="With --db (and no --release): how often to ask the database for a newer release in force, "
                   "switched to without dropping requests (0: never).")
@handle_errors
def serve(units, zones, rules, io_engine, as_of, host, port, workers, token_file, cors_origin, jobs_dir, job_workers,
          max_upload, max_batch, basemap, db_poll):
    """Serve the API and the map page (the sample region by default).

    \b
    Examples:
      zoning serve                  # the sample region on http://127.0.0.1:8000
      zoning serve --units units.gpkg --zones zones.gpkg --rules rules/ --host 0.0.0.0 --port 8080 \\
                   --token-file secret.txt
    """
    import uvicorn

    from zoning.service.app import ENVIRONMENT, create_app, load_engine, settings_from

    token = None
    if token_file:
        token = Path(token_file).read_text(encoding="utf-8").strip()
        if not token:
            raise click.BadParameter("the token file is empty", param_hint="--token-file")
    load_args = {"units": _absolute(units), "rules": [_absolute(r) for r in rules] or None,
                 "zones": _absolute(zones), "io_engine": io_engine, "as_of": as_of.isoformat() if as_of else None}
    db, release = database_option()
    if db is not None:  # a published release (see zoning.db), followed unless --release pins one
        if units or zones or rules:
            raise click.UsageError("--db reads the units, zones and lists of a release: give either --db or "
                                   "--units/--zones/--rules")
        load_args = {"db": db, "release": release, "as_of": load_args["as_of"]}
    settings = {"job_workers": job_workers, "max_upload_mb": max_upload, "max_batch": max_batch, "token": token,
                "cors_origins": list(cors_origin), "basemap": basemap, "db_poll_s": db_poll}
    if jobs_dir:
        settings["jobs_dir"] = _absolute(jobs_dir)
    config = {"load_args": load_args, "settings": settings}
    engine = load_engine(load_args)  # refuse bad layers or lists here, before any worker starts
    click.echo(f"zoning serve: {len(engine.units):,} units, {len(engine.lists)} lists in force on {engine.as_of}"
               + (" (illustrative sample region)" if engine.illustrative else "")
               + (f", release {engine.release['id']} of {engine.release['database']}" if engine.release else "")
               + f"; http://{host}:{port}/", err=True)
    if workers == 1:
        uvicorn.run(create_app(engine, settings_from(config)), host=host, port=port, log_level="warning")
        return
    del engine
    os.environ[ENVIRONMENT] = json.dumps(config)
    uvicorn.run("zoning.service.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning")


def _absolute(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path else None
