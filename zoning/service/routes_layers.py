"""Endpoints for the map and forms: units and zones in a box, one unit's clauses, industry look-up, health."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from zoning._version import __version__
from zoning.service.layers import feature_page, parse_bbox, unit_properties, zone_properties
from zoning.service.problems import Problem
from zoning.service.state import service_of

router = APIRouter(prefix="/api", tags=["layers"])


@router.get("/units", summary="Units in a box, for a map")
def units(request: Request, bbox: str | None = Query(None, description="WEST,SOUTH,EAST,NORTH (lon/lat)"),
          zoom: float | None = Query(None, ge=0, le=22, description="web-map zoom: simplify to half a pixel"),
          offset: int = Query(0, ge=0), limit: int | None = Query(None, ge=1, le=10_000)) -> Response:
    """A GeoJSON FeatureCollection (code, name, type, type_name, county), a page at a time: ``next`` is
    the offset of the next page, ``total`` how many meet the box."""
    return _page(request, "units", bbox, zoom, offset, limit)


@router.get("/zones", summary="Overlay zones in a box, for a map")
def zones(request: Request, bbox: str | None = Query(None), zoom: float | None = Query(None, ge=0, le=22),
          offset: int = Query(0, ge=0), limit: int | None = Query(None, ge=1, le=10_000)) -> Response:
    """A GeoJSON FeatureCollection (zone_id, kind, name), paged as ``/api/units``."""
    return _page(request, "zones", bbox, zoom, offset, limit)


def _page(request: Request, name: str, bbox: str | None, zoom: float | None, offset: int,
          limit: int | None) -> Response:
    """One page of the engine's ``units`` or ``zones`` in the box, as GeoJSON."""
    service = service_of(request)
    engine = service.engine  # read once: a newer release may replace it meanwhile
    layer = engine.units if name == "units" else engine.zones
    body = feature_page(layer, _properties(engine, name, layer), parse_bbox(bbox), zoom, offset,
                        limit or service.settings.page_size)
    return Response(body, media_type="application/geo+json")


@router.get("/units/{code}", summary="One unit with every list and clause that applies")
def unit(code: str, request: Request) -> JSONResponse:
    """What ``zoning rules show CODE --format json`` gives."""
    from zoning.authoring.catalogue import unit_catalogue

    service = service_of(request)
    if len(code) > 100:
        raise Problem(422, "code: too long")
    with service.lock:
        try:
            return JSONResponse(unit_catalogue(service.engine, code))
        except Exception as exc:
            if type(exc).__name__ == "InputError":
                raise Problem(404, str(exc)) from None
            raise


@router.get("/industries", summary="GB/T 4754-2017 look-up, for autocomplete")
def industries(q: str = Query("", max_length=100), limit: int = Query(20, ge=1, le=200)) -> JSONResponse:
    """Codes starting with ``q`` (C26, 2614), or names containing it (化工, 有机化学)."""
    from zoning.industries import table

    frame = table().frame
    label = frame["code"].where(frame["level"] == 1, frame["section"] + frame["code"])
    text = q.strip()
    if not text:
        chosen = frame.index[frame["level"] == 1]
    else:
        by_code = label.str.startswith(text.upper()) | frame["code"].str.startswith(text)
        by_name = frame["name"].str.contains(text, regex=False)
        order = frame.assign(_code=~by_code)[by_code | by_name].sort_values(["_code", "level", "code"])
        chosen = order.index
    levels = {1: "section", 2: "division", 3: "group", 4: "class"}
    items = [{"code": label[i], "name": frame.at[i, "name"], "level": levels.get(int(frame.at[i, "level"]), "")}
             for i in chosen[:limit]]
    return JSONResponse({"items": items})


@router.get("/health", summary="Versions, hashes, date and counts")
def health(request: Request) -> JSONResponse:
    service = service_of(request)
    engine = service.engine
    provenance = engine.provenance
    return JSONResponse({
        "status": "ok", "version": __version__, "as_of": engine.as_of.isoformat(),
        "rules_sha256": provenance.get("rules_sha256"), "units_sha256": provenance.get("units_sha256"),
        "zones_sha256": provenance.get("zones_sha256"), "units": len(engine.units), "zones": len(engine.zones),
        "lists_in_force": provenance.get("lists_in_force"), "bounds": [float(v) for v in engine.units.total_bounds],
        "illustrative": engine.illustrative, "basemap": service.settings.basemap,
        "release": provenance.get("release"),
    })


def _properties(engine, name: str, layer):
    """The map properties of a layer, built once per engine."""
    key = f"service {name} properties"
    cache = engine.derived
    if key not in cache:
        cache[key] = unit_properties(layer) if name == "units" else zone_properties(layer)
    return cache[key]
