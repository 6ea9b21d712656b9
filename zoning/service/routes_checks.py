"""Endpoints that judge projects: one check, a batch, a report, a siting map, a site file read."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from zoning.errors import ZoningError
from zoning.inputs.sitefiles import SITE_FORMATS
from zoning.service.problems import Problem
from zoning.service.requests import BatchRequest, CheckRequest, WhereRequest
from zoning.service.state import service_of

router = APIRouter(prefix="/api")
#: site files a client may upload (a Shapefile needs its side files: send GeoPackage or GeoJSON instead)
SITE_UPLOADS = set(SITE_FORMATS) - {".shp"}
_REPORT_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "html": "text/html; charset=utf-8"}


@router.post("/check", summary="Check one project siting", tags=["checks"])
def check(body: CheckRequest, request: Request, format: Literal["json", "geojson"] = "json") -> JSONResponse:
    """The verdict and every clause that decided it: the JSON of ``zoning check --format json`` (or, with
    ``format=geojson``, the Feature of ``--format geojson``); ``guidance`` adds what would change it."""
    service = service_of(request)
    arguments = body.check_arguments()
    with service.lock:
        result = service.on(body.as_of).check(**arguments, guidance=body.guidance)
        payload = result.to_dict() if format == "json" else result.to_feature(None)
    return JSONResponse(payload)


@router.post("/check/batch", summary="Check many projects", tags=["checks"])
def check_batch(body: BatchRequest, request: Request) -> JSONResponse:
    """Up to the server's batch limit of projects, each as the body of ``/api/check`` (without
    ``explain`` and ``guidance``), answered in order: ``{"results": [{"index", "result"} or
    {"index", "error"}]}``, an error being a problem-details object."""
    service = service_of(request)
    service.authorise(request)
    if len(body.projects) > service.settings.max_batch:
        raise Problem(413, f"projects: {len(body.projects):,} in one request; the limit is "
                           f"{service.settings.max_batch:,}")
    answers: list[dict | None] = [None] * len(body.projects)
    dated: dict[object, list[tuple[int, dict]]] = {}
    for i, item in enumerate(body.projects):
        try:
            parsed = CheckRequest.model_validate(item)
            if parsed.explain or parsed.guidance:
                raise Problem(422, "explain and guidance are for single checks (POST /api/check)")
            dated.setdefault(parsed.as_of, []).append((i, parsed.check_arguments()))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "body"
            answers[i] = _item_problem(i, 422, f"{field}: {first['msg']}")
        except Problem as exc:
            answers[i] = _item_problem(i, exc.status, exc.detail)
    with service.lock:
        for as_of, items in dated.items():
            engine = service.on(as_of)  # type: ignore[arg-type]
            for (i, _), outcome in zip(items, engine.check_each([{k: v for k, v in a.items() if k != "explain"}
                                                                 for _, a in items]), strict=True):
                answers[i] = ({"index": i, "result": outcome.to_dict()} if not isinstance(outcome, ZoningError)
                              else _item_problem(i, 422, str(outcome).splitlines()[0]))
    return JSONResponse({"results": answers})


@router.post("/where", summary="Where a project may go", tags=["siting"])
def where(body: WhereRequest, request: Request) -> Response:
    """The siting map (``zoning where``) as a GeoJSON FeatureCollection: polygons tiling every unit in
    scope, each with the verdict a site anywhere inside it would get."""
    from zoning.outputs.writers import feature_strings

    service = service_of(request)
    within = tuple(body.within) if isinstance(body.within, list) and len(body.within) == 4 and all(
        isinstance(v, (int, float)) for v in body.within) else body.within
    with service.lock:
        layer = service.on(body.as_of).where(body.project(), within=within)
    properties = layer.drop(columns=layer.geometry.name)
    features = feature_strings(properties, layer.geometry.to_numpy())
    head = json.dumps({"type": "FeatureCollection", "project": layer.attrs.get("project", {})},
                      ensure_ascii=False)[:-1]
    return Response(head + ',"features":[' + ",".join(features) + "]}", media_type="application/geo+json")


@router.post("/report", summary="The compliance report for a check", tags=["checks"])
def report(body: CheckRequest, request: Request, format: Literal["docx", "html"] = "docx",
           title: str | None = Query(None, max_length=200)) -> Response:
    """The report ``zoning report`` writes (DOCX or self-contained HTML), with the location map and, with
    ``guidance``, the section "What would change the result"."""
    from zoning.outputs.documents import write_document
    from zoning.outputs.maps import location_map
    from zoning.outputs.reports import compliance_report
    from zoning.siting.counterfactuals import guidance as guidance_of

    service = service_of(request)
    service.authorise(request)
    arguments = {**body.check_arguments(), "explain": True}
    with service.lock:
        engine = service.on(body.as_of)
        result = engine.check(**arguments)
        found = guidance_of(engine, result, min_overlap=body.min_overlap) if body.guidance else None
        figure = location_map(engine, result)
        doc = compliance_report(engine, result, location_png=figure, title=title, guidance=found)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"report.{format}"
        write_document(doc, path)
        data = path.read_bytes()
    return Response(data, media_type=_REPORT_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="zoning-report.{format}"'})


@router.post("/site", summary="Read a site file", tags=["checks"])
async def site(request: Request, file: Annotated[UploadFile, File()]) -> JSONResponse:
    """A site file (WKT, GeoJSON, GeoPackage, KML, DXF, a red-line coordinate .txt) read as ``check
    --site`` reads it: ``{"geometry": GeoJSON in CGCS2000 lon/lat, "notes": [...]}``."""
    from shapely.geometry import mapping

    from zoning.inputs.sites import read_site

    service = service_of(request)
    with tempfile.TemporaryDirectory() as tmp:
        path = await service.save_upload(file, Path(tmp), SITE_UPLOADS, "file")
        geometry, notes, source = read_site(site=str(path))
    return JSONResponse({"geometry": mapping(geometry), "notes": notes, "crs": source.label})


def _item_problem(index: int, status: int, detail: str) -> dict:
    return {"index": index, "error": {"type": "about:blank", "status": status, "detail": detail}}
