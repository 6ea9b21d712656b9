"""Endpoints for screening a registry: upload it as a job, follow it, fetch the result, delete it."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response

from zoning.inputs.registry import SITE_ONLY, TABULAR, VECTOR
from zoning.service.conversion import MEDIA_TYPES
from zoning.service.problems import Problem
from zoning.service.state import service_of

router = APIRouter(prefix="/api", tags=["jobs"])
#: registry formats a client may upload (a Shapefile needs its side files: send GeoPackage instead)
REGISTRY_UPLOADS = (set(TABULAR) | set(VECTOR) | set(SITE_ONLY)) - {".shp"}


@router.post("/screen", status_code=202, summary="Screen a registry (a job)")
async def screen(request: Request, file: Annotated[UploadFile, File()],
                 crs: Annotated[str | None, Form()] = None,
                 columns: Annotated[str | None, Form(description='JSON: {"lon": "东经", "VOCs": "VOC排放"}')] = None,
                 sheet: Annotated[str | None, Form()] = None, layer: Annotated[str | None, Form()] = None,
                 as_of: Annotated[dt.date | None, Form()] = None) -> JSONResponse:
    """Queue the uploaded registry (any format ``zoning screen`` reads) for screening: ``202`` with the
    job, to follow at ``GET /api/jobs/{id}``."""
    service = service_of(request)
    service.authorise(request)
    mapping = None
    if columns:
        try:
            mapping = json.loads(columns)
        except json.JSONDecodeError:
            mapping = None
        if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in mapping.items()):
            raise Problem(422, 'columns: give a JSON object of names, e.g. {"lon": "东经"}',
                          errors=[{"field": "columns", "message": "not a JSON object of names"}])
    with tempfile.TemporaryDirectory(dir=service.jobs.folder) as tmp:
        upload = await service.save_upload(file, Path(tmp), REGISTRY_UPLOADS, "file")
        state = service.jobs.submit(upload, Path(file.filename or "registry").name,
                                    {"crs": crs, "columns": mapping, "sheet": sheet, "layer": layer,
                                     "as_of": as_of.isoformat() if as_of else None})
    return JSONResponse(_public(state), status_code=202, headers={"Location": f"/api/jobs/{state['id']}"})


@router.get("/jobs/{job_id}", summary="A job's state and progress")
def job(job_id: str, request: Request) -> JSONResponse:
    """``state`` (queued, running, done, failed), ``rows_done`` of ``rows_total``, and when done the
    summary (rows by verdict and error kind) or the error."""
    service = service_of(request)
    service.authorise(request)
    return JSONResponse(_public(_found(service, job_id)))


@router.get("/jobs/{job_id}/result", summary="A finished job's screened registry")
def job_result(job_id: str, request: Request,
               format: Literal["csv", "xlsx", "gpkg", "geojson", "parquet"] = "csv") -> Response:
    """The screened registry: every input row with its verdict, units, clauses and reasons."""
    service = service_of(request)
    service.authorise(request)
    state = _found(service, job_id)
    if state["state"] != "done":
        raise Problem(409, f"job {job_id} is {state['state']}: the result is there once it is done")
    path = service.jobs.result(job_id, format)
    stem = Path(state.get("filename") or "registry").stem
    return FileResponse(path, media_type=MEDIA_TYPES[format], filename=f"{stem}-screened.{format}")


@router.delete("/jobs/{job_id}", status_code=204, summary="Delete a job (stopping it if it runs)")
def delete_job(job_id: str, request: Request) -> Response:
    service = service_of(request)
    service.authorise(request)
    _found(service, job_id)
    service.jobs.delete(job_id)
    return Response(status_code=204)


def _found(service, job_id: str) -> dict:
    state = service.jobs.get(job_id)
    if state is None:
        raise Problem(404, f"no job {job_id}")
    return state


def _public(state: dict) -> dict:
    """What a client sees of a job (not the server's file names)."""
    keep = ("id", "state", "filename", "created", "started", "finished", "rows_done", "rows_total", "summary",
            "error", "note")
    return {k: state.get(k) for k in keep if k in state}
