"""What clients send, validated: a check, a batch of checks, a siting-map request.

The models forbid unknown members, so a misspelt field is a 422 naming it.
A site is a GeoJSON geometry or lon/lat, never a path: the engine is given
shapely geometries only, so no client can make the server read one of its
files.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
import shapely.geometry
from pydantic import BaseModel, ConfigDict, Field, field_validator

from zoning.service.problems import Problem

Value = float | int | str | bool


class ProjectFields(BaseModel):
    """A project, as ``zoning check`` takes it, without a location."""

    model_config = ConfigDict(extra="forbid")

    industry: str | None = Field(None, max_length=200, description="GB/T 4754-2017 code or exact name")
    type: str | None = Field(None, max_length=40, description="new, expansion, renovation, relocation (or 新建…)")
    emissions: dict[str, Value] | None = Field(None, description="t/a by pollutant: SO2, NOx, particulate, VOCs…")
    attributes: dict[str, Value] | None = Field(None, description="other attributes: coal_use, in_park…")
    as_of: dt.date | None = Field(None, description="apply the list versions in force on this date")

    def project(self) -> dict[str, Any]:
        """The keywords of :meth:`zoning.engine.Engine.check` and ``where`` for the project."""
        return {"industry": self.industry, "type": self.type, "emissions": self.emissions or {},
                "attributes": self.attributes or {}}


class CheckRequest(ProjectFields):
    """One check: a site (``geometry`` or ``lon``/``lat``, in ``crs``) and a project."""

    lon: float | None = None
    lat: float | None = None
    geometry: dict[str, Any] | None = Field(None, description="a GeoJSON geometry (RFC 7946)")
    crs: str | None = Field(None, max_length=2000, description="as check --crs: EPSG, gcj02, bd09, cgcs2000-3…")
    name: str | None = Field(None, max_length=500)
    min_overlap: list[str] | None = Field(None, max_length=8)
    explain: bool = False
    guidance: bool = False

    @field_validator("geometry")
    @classmethod
    def _geojson(cls, value):
        if value is not None and not isinstance(value.get("type"), str):
            raise ValueError("a GeoJSON geometry needs a type")
        return value

    def check_arguments(self) -> dict[str, Any]:
        """The keywords of :meth:`zoning.engine.Engine.check`."""
        if self.geometry is None and (self.lon is None or self.lat is None):
            raise Problem(422, "give geometry, or lon and lat", errors=[{"field": "geometry",
                                                                          "message": "no site"}])
        if self.geometry is not None and (self.lon is not None or self.lat is not None):
            raise Problem(422, "give either geometry or lon/lat, not both",
                          errors=[{"field": "geometry", "message": "two sites"}])
        site = None if self.geometry is None else geometry_of(self.geometry)
        return {"lon": self.lon, "lat": self.lat, "site": site, "crs": self.crs, **self.project(),
                "name": self.name, "min_overlap": self.min_overlap, "explain": self.explain}


class BatchRequest(BaseModel):
    """Several checks in one request, answered in order."""

    model_config = ConfigDict(extra="forbid")

    projects: list[dict[str, Any]] = Field(..., description="each as the body of POST /api/check")


class WhereRequest(ProjectFields):
    """A siting map: the project, and ``within`` (admin prefixes, unit codes, or a box W,S,E,N)."""

    within: list[str] | list[float] | str | None = None


def geometry_of(value: dict[str, Any]):
    """A shapely geometry from GeoJSON, or a 422 naming ``geometry``."""
    try:
        geometry = shapely.geometry.shape(value)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, shapely.errors.GEOSException) as exc:
        raise Problem(422, f"geometry: not a GeoJSON geometry ({exc})",
                      errors=[{"field": "geometry", "message": "not a GeoJSON geometry"}]) from None
    if geometry.is_empty:
        raise Problem(422, "geometry: empty", errors=[{"field": "geometry", "message": "empty"}])
    return geometry
