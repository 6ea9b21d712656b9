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
import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from zoning import __version__, sample
from zoning.crs import GEOGRAPHIC
from zoning.errors import DataError, InputError
from zoning.evaluation import MinOverlap, compile_rules, evaluate, in_force, overlay
from zoning.explanation import explain_column, explain_results
from zoning.industries import table as industry_table
from zoning.io import DEFAULT_ENGINE
from zoning.lists import check_references, load_lists, raise_errors, version_findings
from zoning.projects import ATTRIBUTES, RowErrors, attribute_name, attribute_value, normalise, project_type
from zoning.provenance import provenance
from zoning.sites import read_site, site_geometry  # noqa: F401 - site_geometry re-exported
from zoning.units import empty_zones, load_units, load_zones
from zoning.verdicts import RESULT_COLUMNS, Result, build_results, summary_columns


class Engine:
    """Units, overlay zones and the access lists in force, compiled for evaluation."""

    def __init__(self, units: gpd.GeoDataFrame, lists, zones: gpd.GeoDataFrame | None = None,
                 *, as_of: dt.date | None = None, unit_source: str = "unit layer"):
        self.units = units
        self.zones = zones if zones is not None else empty_zones()
        self.all_lists = list(lists)
        raise_errors(version_findings(self.all_lists))
        check_references(self.all_lists, units["code"], self.zones["zone_id"], self.zones["kind"])
        self.as_of = as_of or dt.date.today()  # the date whose lists apply
        self.lists = in_force(self.all_lists, self.as_of)
        if not self.lists:
            raise DataError(f"no access list is in force on {self.as_of} ({_coverage(self.all_lists)}); "
                            "choose a date in that period")
        #: lists loaded with no version in force on the date: said in every result, never silently skipped
        self.lapsed = lapsed_lists(self.all_lists, self.as_of)
        self.unit_source = unit_source
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
        layers = cls.read(units, rules, zones, engine=engine)
        return cls.from_layers(layers, as_of=as_of)

    @staticmethod
    def read(units=None, rules=None, zones=None, *, engine: str = DEFAULT_ENGINE) -> dict:
        """Read and validate the files :meth:`load` uses (the same defaults), without choosing a date."""
        if units is None:
            units, zones = sample.units_path(), zones or sample.zones_path()
        rules = rules or [sample.rules_dir()]
        if isinstance(rules, (str, Path)):
            rules = [rules]
        lists = load_lists(rules)
        return {"units": load_units(units, engine=engine), "lists": lists,
                "zones": load_zones(zones, engine=engine) if zones else None, "unit_source": Path(units).name,
                "sources": [Path(units), *([Path(zones)] if zones else []), *(Path(lst.path) for lst in lists)]}

    @classmethod
    def from_layers(cls, layers: dict, *, as_of: dt.date | None = None) -> Engine:
        """An engine for ``as_of`` from what :meth:`read` returned."""
        loaded = cls(layers["units"], layers["lists"], layers["zones"], as_of=as_of, unit_source=layers["unit_source"])
        loaded.sources = layers["sources"]
        return loaded

    def on(self, as_of: dt.date | None) -> Engine:
        """The same units, zones and lists, applying the versions in force on ``as_of`` (None: this engine's date)."""
        if as_of is None or as_of == self.as_of:
            return self
        other = Engine(self.units, self.all_lists, self.zones, as_of=as_of, unit_source=self.unit_source)
        other.sources = self.sources
        return other

    @functools.cached_property
    def provenance(self) -> dict:
        """Engine version, the as-of date and lists in force, and content hashes of the
        rule set and the unit and zone layers (see :mod:`zoning.provenance`)."""
        return provenance(version=__version__, as_of=self.as_of, lists=self.all_lists, in_force=self.lists,
                          units=self.units, units_source=self.unit_source, zones=self.zones)

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
              emissions=None, attributes=None, name=None, min_overlap=None, explain=False) -> Result:
        """Check one project. Give ``lon``/``lat`` or ``site`` (WKT, a shapely
        geometry, or a site file; see :mod:`zoning.sites`), in ``crs``
        (default CGCS2000 lon/lat; see :func:`zoning.crs.parse_crs`).
        ``min_overlap`` (a :class:`~zoning.evaluation.MinOverlap` or texts
        such as ``["1%"]``) disregards slivers of line and polygon sites.
        ``explain`` adds the audit trail (:attr:`Result.explanation`): every
        clause considered, each condition with the project's value and truth."""
        geometry, site_notes, source = read_site(lon=lon, lat=lat, site=site, crs=crs)
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
        result = self.check_frame(frame, names=[name], min_overlap=min_overlap, explain=explain)[0]
        result.notes[:0] = site_notes  # what was read or repaired comes first: it changes what was checked
        result.project["input_crs"] = source.label
        return result

    def check_frame(self, frame: gpd.GeoDataFrame, names=None, min_overlap=None, explain=False) -> list[Result]:
        """Full :class:`Result` objects for each row of a (small) frame."""
        projects = normalise(frame)
        ev = evaluate(projects, self.units, self.zones, self.rules, min_overlap=MinOverlap.coerce(min_overlap),
                      explain=explain)
        inputs = [_project_dict(projects, i, (names or [None] * len(projects))[i])
                  for i in range(len(projects))]
        results = build_results(ev, projects, self.units, self.zones, self.rules, inputs)
        trails = explain_results(ev, projects, self.units, self.zones, self.rules) if explain else None
        for i, result in enumerate(results):
            result.provenance = self.provenance
            result.notes += self.lapsed
            if trails is not None:
                result.explanation = trails[i]
        return results

    # -- many projects -------------------------------------------------------
    def check_many(self, frame: gpd.GeoDataFrame, *, errors: str = "collect",
                   timings: dict | None = None, min_overlap=None, explain=False) -> gpd.GeoDataFrame:
        """Evaluate a GeoDataFrame of projects; return it with result columns added.

        Input columns: geometry (with a CRS), ``industry``, ``type`` and any
        attribute columns (``VOCs``, ``NOx``… see :data:`zoning.projects.ATTRIBUTES`).
        Adds the columns of :data:`RESULT_COLUMNS`. A row that cannot be
        evaluated (no location, unknown industry, non-numeric emission…) gets
        verdict ``error`` and a one-line reason in ``error``; with
        ``errors="raise"`` the first such row raises :class:`InputError` instead.
        ``timings``, when given, accumulates seconds spent in ``assign`` and
        ``evaluate``. ``explain`` adds a column ``explain``: per project, each
        prohibit/restrict clause considered with its conditions' values and truths.
        """
        projects, problems = normalise(frame, errors="collect")
        if errors == "raise":
            problems.raise_first()
        return self.annotate(frame, projects, problems, timings=timings, min_overlap=min_overlap, explain=explain)

    def annotate(self, frame: pd.DataFrame, projects: gpd.GeoDataFrame, problems: RowErrors,
                 *, timings: dict | None = None, min_overlap=None, explain=False) -> pd.DataFrame:
        """``frame`` with the result columns added (replacing any of the same name)."""
        out = frame.copy()
        results = self.result_columns(projects, problems, timings=timings, min_overlap=min_overlap, explain=explain)
        for column in results.columns:
            out[column] = results[column].to_numpy()
        return out

    def result_columns(self, projects: gpd.GeoDataFrame, problems: RowErrors,
                       *, timings: dict | None = None, min_overlap=None, explain=False) -> pd.DataFrame:
        """The :data:`RESULT_COLUMNS` (and ``explain``, if asked) for normalised ``projects`` (same index).

        Rows flagged in ``problems`` are not evaluated: their verdict is
        ``error`` and ``error`` holds the reason.
        """
        good = ~problems.bad
        subset = projects[good].reset_index(drop=True) if not good.all() else projects.reset_index(drop=True)
        ev = evaluate(subset, self.units, self.zones, self.rules, detail=False, timings=timings,
                      min_overlap=MinOverlap.coerce(min_overlap), explain=explain)
        summary = summary_columns(ev, self.units, self.rules, timings=timings)
        result = {}
        for column in RESULT_COLUMNS[:-1]:
            values = np.full(len(projects), "error" if column in ("verdict", "worst_case") else "", dtype=object)
            values[good] = summary[column]
            result[column] = values
        result["error"] = problems.message
        if explain:
            result["explain"] = np.full(len(projects), "", dtype=object)
            result["explain"][good] = explain_column(ev, subset, self.units, self.zones, self.rules)
        return pd.DataFrame({k: pd.Series(v, index=projects.index, dtype=object) for k, v in result.items()})


def _coverage(lists) -> str:
    if not lists:
        return "no lists loaded"
    start = min(lst.effective_from for lst in lists)
    ends = [lst.effective_to for lst in lists]
    end = "open" if any(e is None for e in ends) else max(ends)
    return f"the loaded lists are in force from {start} to {end}"


def lapsed_lists(lists, on: dt.date) -> list[str]:
    """A note for each list id none of whose loaded versions is in force on ``on``."""
    by_id: dict[str, list] = {}
    for lst in lists:
        by_id.setdefault(lst.id, []).append(lst)
    notes = []
    for list_id, versions in by_id.items():
        if not any(v.in_force(on) for v in versions):
            periods = "; ".join(f"{v.version} from {v.effective_from}" + (f" to {v.effective_to}" if v.effective_to
                                                                           else "")
                                for v in sorted(versions, key=lambda v: v.effective_from))
            notes.append(f"list {list_id} has no version in force on {on} ({periods}); it was not applied")
    return notes


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
