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
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from zoning import sample
from zoning.crs import GEOGRAPHIC, parse_crs
from zoning.errors import InputError
from zoning.evaluation import compile_rules, evaluate, in_force
from zoning.industries import table as industry_table
from zoning.io import DEFAULT_ENGINE, read_vector
from zoning.lists import check_references, load_lists
from zoning.projects import attribute_name, attribute_value, normalise, project_type
from zoning.units import empty_zones, load_units, load_zones
from zoning.verdicts import Result, build_results, summary_columns


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
        return cls(unit_layer, load_lists(rules), zone_layer, as_of=as_of,
                   unit_source=Path(units).name)

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
    def check_many(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Evaluate a GeoDataFrame of projects; return it with result columns added.

        Input columns: geometry (with a CRS), ``industry``, ``type`` and any
        attribute columns (``VOCs``, ``NOx``… see :data:`zoning.projects.ATTRIBUTES`).
        Adds ``verdict``, ``worst_case``, ``unit_codes``, ``unit_types``,
        ``clauses``, ``reasons`` and ``missing``.
        """
        projects = normalise(frame)
        ev = evaluate(projects.reset_index(drop=True), self.units, self.zones, self.rules)
        summary = summary_columns(ev, self.units, self.rules)
        summary.index = frame.index
        out = frame.copy()
        for column in summary:
            out[column] = summary[column]
        return out


def site_geometry(*, lon=None, lat=None, site=None, crs=None):
    """The site as a shapely geometry in CGCS2000 lon/lat."""
    if site is None:
        if lon is None or lat is None:
            raise InputError("give a location: lon and lat, or a site (WKT or file)")
        lon, lat = float(lon), float(lat)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InputError(f"lon/lat out of range: {lon}, {lat}")
        source_crs = parse_crs(crs) if crs else GEOGRAPHIC
        geom = shapely.Point(lon, lat)
    else:
        if lon is not None or lat is not None:
            raise InputError("give either lon/lat or a site, not both")
        source_crs = parse_crs(crs) if crs else None
        if isinstance(site, shapely.Geometry):
            geom = site
        elif Path(str(site)).suffix and Path(str(site)).exists():
            layer = read_vector(site, what="site file")
            if layer.crs is None and source_crs is None:
                raise InputError(f"site file {site} has no CRS; give --crs")
            layer = layer.set_crs(source_crs, allow_override=True) if source_crs else layer
            return shapely.union_all(layer.to_crs(GEOGRAPHIC).geometry.to_numpy())
        else:
            try:
                geom = shapely.from_wkt(str(site))
            except shapely.errors.GEOSException as exc:
                raise InputError(f"site is neither a file nor valid WKT: {exc}") from None
        source_crs = source_crs or GEOGRAPHIC
    if geom is None or geom.is_empty:
        raise InputError("the site geometry is empty")
    return gpd.GeoSeries([geom], crs=source_crs).to_crs(GEOGRAPHIC).iloc[0]


def _project_dict(projects: gpd.GeoDataFrame, i: int, name) -> dict:
    """The normalised input, as reported back in results."""
    from zoning.industries import table
    from zoning.projects import ATTRIBUTES

    row = projects.iloc[i]
    geom = row.geometry
    centre = geom.representative_point() if geom.geom_type != "Point" else geom
    out = {"name": name} if name else {}
    code = row["industry"]
    if code is not None:
        ind = table().get(code)
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
