"""The Python API: load units and lists once, then check projects.

>>> from zoning import Engine
>>> engine = Engine.load()            # the bundled illustrative sample region
>>> result = engine.check(lon=115.97, lat=38.93, industry="C2614", type="new",
...                       emissions={"VOCs": 12.5})
>>> result.verdict
'prohibited'
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning import sample
from zoning.crs import GEOGRAPHIC, parse_crs
from zoning.errors import InputError
from zoning.evaluation import compile_rules, evaluate, in_force, overlay
from zoning.industries import table as industry_table
from zoning.io import DEFAULT_ENGINE, read_vector
from zoning.lists import check_references, load_lists
from zoning.projects import ATTRIBUTES, RowErrors, attribute_name, attribute_value, normalise, project_type
from zoning.units import DataWarning, empty_zones, load_units, load_zones
from zoning.verdicts import RESULT_COLUMNS, Result, build_results, summary_columns


class Engine:
    """Units, overlay zones and the access lists in force, compiled for evaluation."""

    def __init__(self, units: gpd.GeoDataFrame, lists, zones: gpd.GeoDataFrame | None = None,
                 *, as_of: dt.date | None = None, unit_source: str = "unit layer"):
        self.units = units
        self.zones = zones if zones is not None else empty_zones()
        self.all_lists = list(lists)
        check_references(self.all_lists, units["code"], self.zones["zone_id"], self.zones["kind"])
        self.as_of = as_of
        self.lists = in_force(self.all_lists, as_of)
        self.rules = compile_rules(self.lists, units, self.zones, unit_source=unit_source)
        self._warm = False  # see warm()
        self.sources: list[Path] = []  # files loaded (see load): outputs must not replace them

    @classmethod
    def load(cls, units=None, rules=None, zones=None, *, engine: str = DEFAULT_ENGINE,
             as_of: dt.date | None = None) -> Engine:
        """Load from files; with no arguments, the bundled sample region.

        ``rules`` is a path or a list of paths (files or directories of YAML).
        ``zones`` defaults to the sample zones only when ``units`` is not given.
        """
        if units is None:
            units, zones = sample.units_path(), zones or sample.zones_path()
        rules = rules or [sample.rules_dir()]
        if isinstance(rules, (str, Path)):
            rules = [rules]
        unit_layer = load_units(units, engine=engine)
        zone_layer = load_zones(zones, engine=engine) if zones else None
        loaded = cls(unit_layer, load_lists(rules), zone_layer, as_of=as_of, unit_source=Path(units).name)
        loaded.sources = [Path(units), *([Path(zones)] if zones else []), *(lst.path for lst in loaded.all_lists)]
        return loaded

    def warm(self) -> None:
        """Build every unit's point-in-polygon index now, rather than on first use.

        Prepared polygons build their index the first time a site is tested
        against them; a single check pays for the few units it touches, a
        registry screening for all of them. Screening calls this once before
        its first chunk (about 1 s for 40,000 detailed units), so chunks run
        at the same speed; later calls return at once.
        """
        if self._warm:
            return
        self._warm = True
        for layer in (self.units, self.zones):
            polygons = layer.geometry.to_numpy()
            parts = shapely.get_parts(polygons)
            probes = shapely.get_point(shapely.get_exterior_ring(parts), 0)  # a vertex: on the boundary
            overlay(probes, polygons)  # the same prepared test screening runs, once per polygon

    # -- one project ---------------------------------------------------------
    def check(self, *, lon=None, lat=None, site=None, crs=None, industry=None, type=None,
              emissions=None, attributes=None, name=None) -> Result:
        """Check one project. Give ``lon``/``lat`` (CGCS2000 degrees) or ``site``
        (WKT, a shapely geometry, or a path to a vector file, in ``crs``)."""
        geometry = site_geometry(lon=lon, lat=lat, site=site, crs=crs)
        if industry is not None:
            industry_table().resolve(industry)  # report a bad code without a row number
        if type is not None:
            project_type(type)
        row = {"industry": industry, "type": type}
        for mapping in (emissions or {}, attributes or {}):
            for key, value in mapping.items():
                canonical = attribute_name(key)
                if canonical in row:
                    raise InputError(f"attribute {canonical} is given twice")
                row[canonical] = attribute_value(canonical, value)
        frame = gpd.GeoDataFrame([row], geometry=[geometry], crs=GEOGRAPHIC)
        return self.check_frame(frame, names=[name])[0]

    def check_frame(self, frame: gpd.GeoDataFrame, names=None) -> list[Result]:
        """Full :class:`Result` objects for each row of a (small) frame."""
        projects = normalise(frame)
        ev = evaluate(projects, self.units, self.zones, self.rules)
        inputs = [_project_dict(projects, i, (names or [None] * len(projects))[i])
                  for i in range(len(projects))]
        return build_results(ev, projects, self.units, self.zones, self.rules, inputs)

    # -- many projects -------------------------------------------------------
    def check_many(self, frame: gpd.GeoDataFrame, *, errors: str = "collect",
                   timings: dict | None = None) -> gpd.GeoDataFrame:
        """Evaluate a GeoDataFrame of projects; return it with result columns added.

        Input columns: geometry (with a CRS), ``industry``, ``type`` and any
        attribute columns (``VOCs``, ``NOx``… see :data:`zoning.projects.ATTRIBUTES`).
        Adds the columns of :data:`RESULT_COLUMNS`. A row that cannot be
        evaluated (no location, unknown industry, non-numeric emission…) gets
        verdict ``error`` and a one-line reason in ``error``; with
        ``errors="raise"`` the first such row raises :class:`InputError` instead.
        ``timings``, when given, accumulates seconds spent in ``assign`` and
        ``evaluate``.
        """
        projects, problems = normalise(frame, errors="collect")
        if errors == "raise":
            problems.raise_first()
        return self.annotate(frame, projects, problems, timings=timings)

    def annotate(self, frame: pd.DataFrame, projects: gpd.GeoDataFrame, problems: RowErrors,
                 *, timings: dict | None = None) -> pd.DataFrame:
        """``frame`` with the result columns added (replacing any of the same name)."""
        out = frame.copy()
        results = self.result_columns(projects, problems, timings=timings)
        for column in RESULT_COLUMNS:
            out[column] = results[column].to_numpy()
        return out

    def result_columns(self, projects: gpd.GeoDataFrame, problems: RowErrors,
                       *, timings: dict | None = None) -> pd.DataFrame:
        """The :data:`RESULT_COLUMNS` for normalised ``projects`` (same index).

        Rows flagged in ``problems`` are not evaluated: their verdict is
        ``error`` and ``error`` holds the reason.
        """
        good = ~problems.bad
        subset = projects[good].reset_index(drop=True) if not good.all() else projects.reset_index(drop=True)
        ev = evaluate(subset, self.units, self.zones, self.rules, detail=False, timings=timings)
        summary = summary_columns(ev, self.units, self.rules, timings=timings)
        result = {}
        for column in RESULT_COLUMNS[:-1]:
            values = np.full(len(projects), "error" if column in ("verdict", "worst_case") else "", dtype=object)
            values[good] = summary[column]
            result[column] = values
        result["error"] = problems.message
        return pd.DataFrame({k: pd.Series(v, index=projects.index, dtype=object) for k, v in result.items()})


def site_geometry(*, lon=None, lat=None, site=None, crs=None):
    """The site as a valid shapely geometry in CGCS2000 lon/lat.

    Invalid polygons (a self-intersecting ring…) are repaired with
    ``make_valid`` and a warning; an empty site, a polygon without area, or
    coordinates that do not transform to a place on Earth are errors.
    """
    source_crs = parse_crs(crs) if crs else None
    if site is None:
        if lon is None or lat is None:
            raise InputError("give a location: lon and lat, or a site (WKT or file)")
        geom = shapely.Point(float(lon), float(lat))
    else:
        if lon is not None or lat is not None:
            raise InputError("give either lon/lat or a site, not both")
        if isinstance(site, shapely.Geometry):
            geom = site
        elif Path(str(site)).suffix and Path(str(site)).exists():
            layer = read_vector(site, what="site file")
            if len(layer) == 0:
                raise InputError(f"site file {site} has no features")
            if layer.crs is None and source_crs is None:
                raise InputError(f"site file {site} has no CRS; give --crs")
            source_crs = source_crs or layer.crs
            parts = layer.geometry.to_numpy()
            parts = parts[~(shapely.is_missing(parts) | shapely.is_empty(parts))]
            invalid = ~shapely.is_valid(parts)
            if invalid.any():  # union_all would fail on them: repair each, and say so
                reason = shapely.is_valid_reason(parts[invalid][0])
                warnings.warn(f"{invalid.sum()} feature(s) of site file {site} were invalid ({reason}) and have "
                              "been repaired with make_valid; check the result's area", DataWarning, stacklevel=2)
                parts = np.where(invalid, shapely.make_valid(parts), parts)
            if not len(parts):
                raise InputError(f"site file {site} has no geometry")
            geom = shapely.union_all(parts)
        else:
            try:
                geom = shapely.from_wkt(str(site))
            except shapely.errors.GEOSException as exc:
                raise InputError(f"site is neither a file nor valid WKT: {exc}") from None
    if geom is None or geom.is_empty:
        raise InputError("the site geometry is empty")
    geom = _repaired(geom)
    geom = gpd.GeoSeries([geom], crs=source_crs or GEOGRAPHIC).to_crs(GEOGRAPHIC).iloc[0]
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise InputError(
            f"the site's coordinates cannot be transformed from {source_crs.to_string()} to lon/lat: "
            "out of that CRS's area (are easting and northing swapped?)")
    if not ((-180 <= coords[:, 0]) & (coords[:, 0] <= 180) & (-90 <= coords[:, 1]) & (coords[:, 1] <= 90)).all():
        x, y = coords[0]
        hint = " (swapped? lat comes second)" if abs(y) > 90 >= abs(x) else ""
        raise InputError(f"lon/lat out of range: {x:g}, {y:g}{hint}")
    return geom


def _repaired(geom):
    """Repair an invalid site with a warning; refuse polygons that have no area."""
    polygonal = shapely.get_dimensions(geom) == 2
    if geom.is_valid:
        if polygonal and geom.area == 0:
            raise InputError("the site polygon has no area (all its vertices coincide or are collinear)")
        return geom
    reason = shapely.is_valid_reason(geom)
    fixed = shapely.make_valid(geom)
    if polygonal:
        parts = [p for p in shapely.get_parts(fixed) if shapely.get_dimensions(p) == 2]
        if not parts:
            raise InputError(f"the site polygon has no area ({reason})")
        fixed = shapely.union_all(parts)
    warnings.warn(f"site geometry was invalid ({reason}) and has been repaired with make_valid; "
                  "check the result's area", DataWarning, stacklevel=3)
    return fixed


def _project_dict(projects: gpd.GeoDataFrame, i: int, name) -> dict:
    """The normalised input, as reported back in results."""
    row = projects.iloc[i]
    geom = row.geometry
    centre = geom.representative_point() if geom.geom_type != "Point" else geom
    out = {"name": name} if name else {}
    code = row["industry"]
    if code is not None:
        ind = industry_table().get(code)
        out["industry"] = {"code": ind.label, "name": ind.name}
    else:
        out["industry"] = None
    out["type"] = row["type"]
    out["location"] = {"lon": round(centre.x, 7), "lat": round(centre.y, 7), "crs": "EPSG:4490"}
    out["geometry_type"] = geom.geom_type
    attrs = {}
    for a, spec in ATTRIBUTES.items():
        if pd.notna(row[a]):
            attrs[a] = bool(row[a]) if spec.flag else float(row[a])
    out["attributes"] = attrs
    return out
