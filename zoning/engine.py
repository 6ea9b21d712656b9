"""The Python API: load units and lists once, then check projects.

>>> from zoning import Engine
>>> engine = Engine.load()            # the bundled illustrative sample region
>>> result = engine.check(lon=115.97, lat=38.93, industry="C2614", type="new",
...                       emissions={"VOCs": 12.5})
>>> result.verdict
'prohibited'

:meth:`Engine.check` gives one project's full :class:`~zoning.evaluate.results.Result`;
:meth:`Engine.check_many` adds the batch result columns to a frame of
projects; :func:`zoning.screening.screen` screens a registry file.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geopandas.array import from_shapely

from zoning import engine_cache, sample
from zoning._version import __version__
from zoning.errors import DataError, InputError, ParameterError, ZoningError, parameter
from zoning.evaluate.compile import compile_rules
from zoning.evaluate.evaluation import evaluate
from zoning.evaluate.explanation import explain_column, explain_results
from zoning.evaluate.min_overlap import MinOverlap
from zoning.evaluate.overlay import layer_grid, prepare_layer
from zoning.evaluate.prefilter import prime
from zoning.evaluate.provenance import provenance
from zoning.evaluate.results import Result, build_results, project_record
from zoning.evaluate.summary import Batch, BatchPart
from zoning.geodesy import GEOGRAPHIC
from zoning.industries import table as industry_table
from zoning.inputs.frames import projects_of_frame
from zoning.inputs.sites import read_site
from zoning.inputs.units import empty_zones, load_units, load_zones
from zoning.inputs.vector import DEFAULT_IO_ENGINE
from zoning.projects import RowErrors, normalise, project_type
from zoning.rules.findings import raise_errors
from zoning.rules.loading import load_lists, load_vocabulary, rule_files
from zoning.rules.parameters import ParameterSpec, load_parameters
from zoning.rules.parameters import in_force as parameters_in_force
from zoning.rules.references import check_references
from zoning.rules.schema import AccessList
from zoning.rules.versions import coverage, in_force, lapsed_lists, version_findings
from zoning.vocabulary import Vocabulary, builtin

#: a minimum overlap as :class:`MinOverlap`, one text such as ``"1%"``, or several
MinOverlapLike = MinOverlap | str | Iterable[str] | None
PathLike = str | Path


@dataclass
class Layers:
    """What :meth:`Engine.read` read and validated: units, lists and zones, not yet tied to a date."""

    units: gpd.GeoDataFrame
    lists: list[AccessList]
    zones: gpd.GeoDataFrame | None
    unit_source: str  # the unit layer's file name, for citations and provenance
    sources: list[Path] = field(default_factory=list)  # every file read: outputs must not replace them
    vocabulary: Vocabulary = field(default_factory=builtin)  # the attributes the rule set knows
    parameters: list[ParameterSpec] = field(default_factory=list)  # its parameter tables, every version
    release: dict | None = None  # read from a database (zoning.db): the published release, named in provenance


class Engine:
    """Units, overlay zones and the access lists in force, compiled for evaluation."""

    def __init__(self, units: gpd.GeoDataFrame, lists: Iterable[AccessList], zones: gpd.GeoDataFrame | None = None,
                 *, as_of: dt.date | None = None, unit_source: str = "unit layer",
                 vocabulary: Vocabulary | None = None, parameters: Iterable[ParameterSpec] = ()):
        self.units = units
        #: the project attributes the rule set knows: the built-in ones and those it declares
        self.vocabulary = vocabulary or builtin()
        self.zones = zones if zones is not None else empty_zones()
        self.all_lists = list(lists)
        raise_errors(version_findings(self.all_lists))
        check_references(self.all_lists, units["code"], self.zones["zone_id"], self.zones["kind"],
                         np.isin(shapely.get_type_id(self.zones.geometry.to_numpy()), (3, 6)))
        self.as_of = as_of or dt.date.today()  # the date whose lists apply
        self.lists = in_force(self.all_lists, self.as_of)
        if not self.lists:
            raise DataError(f"no access list is in force on {self.as_of} ({coverage(self.all_lists)}); "
                            "choose a date in that period")
        #: lists loaded with no version in force on the date: said in every result, never silently skipped
        self.lapsed = lapsed_lists(self.all_lists, self.as_of)
        self.unit_source = unit_source
        #: every version of the rule set's parameter tables; those in force on the date are compiled
        self.all_parameters = list(parameters)
        self.rules = compile_rules(self.lists, units, self.zones, unit_source=unit_source, vocabulary=self.vocabulary,
                                   parameters=parameters_in_force(self.all_parameters, self.as_of))
        self._warm = False  # see warm()
        self._warm_industries = False  # see warm(industries=True)
        #: engines for other dates' versions (registries with a date per row), by the versions in force
        self._versions: dict[tuple, tuple[Engine | None, str]] = {}
        self.sources: list[Path] = []  # files loaded (see load): outputs must not replace them
        #: facts about the layers that callers compute once and keep (siting: which units overlap)
        self.derived: dict[str, Any] = {}
        #: the database release the layers were read from (see :mod:`zoning.db`), or None for files
        self.release: dict | None = None

    @classmethod
    def load(cls, units: PathLike | None = None, rules: PathLike | Iterable[PathLike] | None = None,
             zones: PathLike | None = None, *, io_engine: str = DEFAULT_IO_ENGINE,
             as_of: dt.date | None = None) -> Engine:
        """Load from files; with no arguments, the bundled illustrative sample region.

        ``rules`` is a path or a list of paths (files or directories of YAML). The sample lists are used only
        when neither ``units`` nor ``rules`` is given: units of your own without ``rules`` raise
        :class:`ParameterError` (a ``ValueError``), since the sample's invented clauses must never judge real
        units. ``zones`` defaults to the sample zones only when ``units`` is not given. ``io_engine`` reads
        the layers (``pyogrio`` or ``fiona``). Loading the same files again reads the engine from a cache
        (see :mod:`zoning.engine_cache`; ``ZONING_NO_CACHE=1``: not).
        """
        day, rules = as_of or dt.date.today(), rules if rules is None or isinstance(rules, (str, Path)) else [*rules]
        return engine_cache.load(units, rules, zones, io_engine=io_engine, as_of=day, build=lambda: cls.from_layers(
            cls.read(units, rules, zones, io_engine=io_engine), as_of=day).build_grids().decide_industries())

    @staticmethod
    def read(units: PathLike | None = None, rules: PathLike | Iterable[PathLike] | None = None,
             zones: PathLike | None = None, *, io_engine: str = DEFAULT_IO_ENGINE) -> Layers:
        """Read and validate the files :meth:`load` uses (the same defaults), without choosing a date."""
        if units is not None and not Path(units).exists():
            raise DataError(f"unit layer {units}: no such file")
        if units is not None and not rules:
            raise ParameterError(f"{parameter('units')} given without {parameter('rules')}: the bundled sample "
                                 f"lists describe only the illustrative sample region; give the access lists for "
                                 f"these units with {parameter('rules')}")
        if units is None:
            units, zones = sample.units_path(), zones or sample.zones_path()
        paths = [rules] if isinstance(rules, (str, Path)) else list(rules or [sample.rules_dir()])
        vocabulary = load_vocabulary(paths)
        parameters = load_parameters(rule_files(paths, kind="parameters"))
        lists = load_lists(paths, vocabulary, [p.name for p in parameters])
        return Layers(units=load_units(units, io_engine=io_engine), lists=lists,
                      zones=load_zones(zones, io_engine=io_engine) if zones else None,
                      unit_source=Path(units).name,
                      sources=[Path(units), *([Path(zones)] if zones else []), *(Path(lst.path) for lst in lists),
                               *(Path(p.path) for p in parameters)],
                      vocabulary=vocabulary, parameters=parameters)

    @classmethod
    def from_layers(cls, layers: Layers, *, as_of: dt.date | None = None) -> Engine:
        """An engine for ``as_of`` from what :meth:`read` returned."""
        loaded = cls(layers.units, layers.lists, layers.zones, as_of=as_of, unit_source=layers.unit_source,
                     vocabulary=layers.vocabulary, parameters=layers.parameters)
        loaded.sources = layers.sources
        loaded.release = layers.release
        return loaded

    def on(self, as_of: dt.date | None) -> Engine:
        """The same units, zones and lists, applying the versions in force on ``as_of`` (None: this engine's date)."""
        if as_of is None or as_of == self.as_of:
            return self
        other = Engine(self.units, self.all_lists, self.zones, as_of=as_of, unit_source=self.unit_source,
                       vocabulary=self.vocabulary, parameters=self.all_parameters)
        other.sources = self.sources
        other.release = self.release
        other.derived = self.derived  # the same layers
        return other

    @property
    def illustrative(self) -> bool:
        """True when the units are the bundled, illustrative sample region (outputs must say so)."""
        return sample.uses_sample(self.sources)

    @functools.cached_property
    def provenance(self) -> dict:
        """Engine version, the as-of date and lists in force, and content hashes of the
        rule set and the unit and zone layers (see :mod:`zoning.evaluate.provenance`); ``release``, the
        database release they were read from (see :mod:`zoning.db`), when they were."""
        record = provenance(version=__version__, as_of=self.as_of, lists=self.all_lists, in_force=self.lists,
                            units=self.units, units_source=self.unit_source, zones=self.zones,
                            vocabulary=self.vocabulary, parameters=self.all_parameters)
        if self.release is not None:
            record["release"] = dict(self.release)
        return record

    def warm(self, *, industries: bool = False) -> None:
        """Build every unit's point-in-polygon index now, not at first use (a check pays for the few units
        it touches, a screening for all): screening calls this before its first chunk (about 0.6 s for 40,000
        detailed units, in threads); later calls return at once. Also the layers' trees that single checks look sites up
        in, and their point grids (:meth:`build_grids`) when not built.

        ``industries`` (for a server) also calls :meth:`decide_industries` (which
        :meth:`load` has done already).
        """
        if industries:
            self.decide_industries()
        if self._warm:
            return
        self._warm = True
        self.build_grids()
        for layer in (self.units, self.zones):
            prepare_layer(layer.geometry.to_numpy(), self.rules.trees)

    def decide_industries(self) -> Engine:
        """The engine, having decided for every industry code and project type which clauses they alone rule
        out (the batch prefilter's table, :mod:`zoning.evaluate.prefilter`: 0.3 s and 20 MB for a thousand
        distinct conditions), so that no chunk or check pays for a combination it is the first to bring:
        :meth:`load` does, and the engine cache keeps it."""
        if not self._warm_industries:
            self._warm_industries = True
            prime(self.rules, industry_table().frame["code"])
        return self

    def build_grids(self) -> Engine:
        """The engine, with its layers' point grids (:mod:`zoning.evaluate.point_grid`) built unless they are:
        a few seconds for 40,000 detailed units, done by :meth:`load` and kept in the engine cache."""
        if "grids" not in self.derived:
            self.derived["grids"] = {name: layer_grid(layer.geometry.to_numpy())
                                     for name, layer in (("units", self.units), ("zones", self.zones))}
        return self

    # -- one project ---------------------------------------------------------
    def check(self, *, lon: float | None = None, lat: float | None = None, site: object = None,
              crs: object = None, industry: str | None = None, type: str | None = None,
              emissions: Mapping[str, object] | None = None, attributes: Mapping[str, object] | None = None,
              name: str | None = None, min_overlap: MinOverlapLike = None, explain: bool = False,
              guidance: bool = False) -> Result:
        """Check one project. Give ``lon``/``lat`` or ``site`` (WKT, a shapely
        geometry, or a site file; see :mod:`zoning.inputs.sites`), in ``crs``
        (default CGCS2000 lon/lat; see :func:`zoning.inputs.crs.parse_crs`).
        ``min_overlap`` (a :class:`~zoning.evaluate.min_overlap.MinOverlap` or
        texts such as ``["1%"]``) disregards slivers of line and polygon sites.
        ``explain`` adds the audit trail (:attr:`Result.explanation`): every
        clause considered, each condition with the project's value and truth. ``guidance`` adds what
        would change the result (:attr:`Result.guidance`, see :mod:`zoning.siting.counterfactuals`):
        input changes that lift the deciding clauses, each re-checked, and the nearest places where the
        project would be less restricted."""
        geometry, site_notes, source = read_site(lon=lon, lat=lat, site=site, crs=crs)
        row = self.project_row(industry=industry, type=type, emissions=emissions, attributes=attributes)
        # column by column: a frame from a list of records costs more than the whole evaluation
        frame = gpd.GeoDataFrame({"geometry": from_shapely([geometry], crs=GEOGRAPHIC),
                                  **{key: [value] for key, value in row.items()}}, geometry="geometry")
        result = self._check_rows(frame, names=[name], min_overlap=min_overlap, explain=explain or guidance)[0]
        result.notes[:0] = site_notes  # what was read or repaired comes first: it changes what was checked
        result.project["input_crs"] = source.label
        if guidance:
            from zoning.siting.counterfactuals import guidance as guidance_for

            result.guidance = guidance_for(self, result, min_overlap=min_overlap)
            if not explain:
                result.explanation = None
        return result

    def check_each(self, projects: list[Mapping[str, object]]) -> list[Result | ZoningError]:
        """Check several projects, each given as :meth:`check`'s keywords (without ``explain``): one
        :class:`Result` per project, in order, or the error that project raised. The projects are
        evaluated together, as ``check_many`` evaluates a frame."""
        out: list[Result | ZoningError] = [DataError("not checked")] * len(projects)
        groups: dict[str, tuple[MinOverlap | None, list[tuple[int, object, dict, list[str], str, str | None]]]] = {}
        for i, project in enumerate(projects):
            kwargs = dict(project)
            try:
                geometry, notes, source = read_site(lon=kwargs.pop("lon", None), lat=kwargs.pop("lat", None),
                                                    site=kwargs.pop("site", None), crs=kwargs.pop("crs", None))
                name = kwargs.pop("name", None)
                overlap = MinOverlap.coerce(kwargs.pop("min_overlap", None))  # type: ignore[arg-type]
                row = self.project_row(**kwargs)  # type: ignore[arg-type]
            except (ZoningError, TypeError) as exc:  # TypeError: a keyword check does not take
                out[i] = exc if isinstance(exc, ZoningError) else InputError(f"project {i + 1}: {exc}")
                continue
            groups.setdefault(repr(overlap), (overlap, []))[1].append(
                (i, geometry, row, notes, source.label, name if isinstance(name, str) else None))
        for overlap, items in groups.values():
            frame = gpd.GeoDataFrame([row for _, _, row, _, _, _ in items],
                                     geometry=[geometry for _, geometry, _, _, _, _ in items], crs=GEOGRAPHIC)
            results = self._check_rows(frame, names=[name for *_, name in items], min_overlap=overlap)
            for (i, _, _, notes, label, _), result in zip(items, results, strict=True):
                result.notes[:0] = notes
                result.project["input_crs"] = label
                out[i] = result
        return out

    def project_row(self, *, industry: str | None = None, type: str | None = None,
                    emissions: Mapping[str, object] | None = None,
                    attributes: Mapping[str, object] | None = None) -> dict[str, object]:
        """One project's inputs as a registry row (canonical attribute names), each checked: a bad
        industry code, type or value raises :class:`InputError` naming it."""
        if industry is not None:
            industry_table().resolve(industry)  # report a bad code without a row number
        if type is not None:
            project_type(type)
        row: dict[str, object] = {"industry": industry, "type": type}
        for mapping in (emissions or {}, attributes or {}):
            for key, value in mapping.items():
                canonical = self.vocabulary.name(key)
                if canonical in row:
                    raise InputError(f"attribute {canonical} is given twice")
                self.vocabulary.value(canonical, value)  # refuse a bad value without a row number
                row[canonical] = value  # normalise parses it (a category's code is not text)
        return row

    def where(self, project: Mapping[str, object] | None = None, within: object = None) -> gpd.GeoDataFrame:
        """Where ``project`` would be prohibited, restricted or permitted: polygons tiling every unit in
        scope, split wherever a location-dependent clause changes the answer (see
        :func:`zoning.siting.where.where`). ``project`` holds :meth:`check`'s ``industry``, ``type``,
        ``emissions`` and ``attributes``; ``within`` limits the area (admin prefixes, unit codes, a box)."""
        from zoning.siting.where import where

        return where(self, project or {}, within)

    def _check_rows(self, frame: gpd.GeoDataFrame, names: list[str | None], min_overlap: MinOverlapLike = None,
                    explain: bool = False) -> list[Result]:
        """Full :class:`Result` objects for each row of a (small) frame."""
        projects = normalise(frame, vocabulary=self.vocabulary)
        ev = evaluate(projects, self.units, self.zones, self.rules, min_overlap=MinOverlap.coerce(min_overlap),
                      explain=explain)
        inputs = [project_record(projects, i, names[i], self.vocabulary) for i in range(len(projects))]
        results = build_results(ev, projects, self.units, self.zones, self.rules, inputs)
        trails = explain_results(ev, projects, self.units, self.zones, self.rules) if explain else None
        for i, result in enumerate(results):
            result.provenance = self.provenance
            result.notes += self.lapsed
            if trails is not None:
                result.explanation = trails[i]
        return results

    # -- many projects -------------------------------------------------------
    def check_many(self, frame: pd.DataFrame, *, errors: str = "collect",
                   timings: dict[str, float] | None = None, min_overlap: MinOverlapLike = None,
                   explain: bool = False, columns: Mapping[str, str] | None = None,
                   crs: object = None) -> gpd.GeoDataFrame:
        """Evaluate a frame of projects; return a copy with the batch result columns added.

        ``frame`` is a GeoDataFrame (geometry with a CRS), or a plain DataFrame located by its
        lon/lat or WKT columns (in ``crs``, default CGCS2000 lon/lat). Its headers are recognised
        as ``zoning screen`` recognises a registry's (``行业代码``, ``建设性质``, ``VOCs排放量(kg/a)``…;
        ``columns`` overrides, ``{"industry": "HYDM"}``); the mapping used is in the result's
        ``attrs["zoning_columns"]``, and a warning names the headers taken under another name.
        Attribute columns (``VOCs``, ``NOx``…) are named or aliased as :attr:`vocabulary` declares.
        Adds the columns of :data:`~zoning.evaluate.summary.RESULT_COLUMNS`
        (replacing any of the same name). A row that cannot be evaluated (no
        location, unknown industry, non-numeric emission…) gets verdict
        ``error`` and a one-line reason in ``error``; with ``errors="raise"``
        the first such row raises :class:`InputError` instead. ``timings``,
        when given, accumulates seconds spent in ``assign`` and ``evaluate``.
        ``explain`` adds a column ``explain``: per project, each
        prohibit/restrict clause considered with its conditions' values and truths.
        """
        if errors not in ("collect", "raise"):
            raise ParameterError(f"{parameter('errors', str(errors))}: use 'collect' or 'raise'")
        projects, problems, mapped = projects_of_frame(frame, columns, crs, self.vocabulary)
        if errors == "raise":
            problems.raise_first()
        out = frame.copy() if isinstance(frame, gpd.GeoDataFrame) else gpd.GeoDataFrame(
            frame.copy(), geometry=projects.geometry.to_numpy(), crs=GEOGRAPHIC)
        results = self.screen_columns(projects, problems, timings=timings, min_overlap=min_overlap, explain=explain)
        for column in results.columns:
            out[column] = results[column].to_numpy()
        out.attrs["zoning_columns"] = mapped
        return out

    def screen_columns(self, projects: gpd.GeoDataFrame, problems: RowErrors, *,
                       timings: dict[str, float] | None = None, min_overlap: MinOverlapLike = None,
                       explain: bool = False) -> pd.DataFrame:
        """The batch result columns (:data:`~zoning.evaluate.summary.RESULT_COLUMNS`, and ``explain``
        if asked) for normalised ``projects`` (see :func:`zoning.projects.normalise`), on their index.

        Rows flagged in ``problems`` are not evaluated: their verdict is
        ``error`` and ``error`` holds the reason.
        """
        return self.evaluate_batch(projects, problems, timings=timings, min_overlap=min_overlap,
                                   explain=explain).columns(timings)

    def evaluate_batch(self, projects: gpd.GeoDataFrame, problems: RowErrors, *,
                       timings: dict[str, float] | None = None, min_overlap: MinOverlapLike = None,
                       explain: bool = False) -> Batch:
        """:meth:`screen_columns` without its text: every row evaluated (by the lists in force on its own
        date, with a ``date`` column); the :class:`~zoning.evaluate.summary.Batch` makes the columns."""
        parts = []
        frame = projects.reset_index(drop=True)
        for engine, rows in self._by_version(projects, problems):
            # every row, those not judged here skipped: no copy of the rows judged
            ev = evaluate(frame, engine.units, engine.zones, engine.rules, detail=False, timings=timings,
                          min_overlap=MinOverlap.coerce(min_overlap), explain=explain,
                          grids=engine.derived.get("grids"), skip=None if rows.all() else ~rows)
            parts.append(BatchPart(rows, ev, engine.units, engine.rules, explain_column(
                ev, frame, engine.units, engine.zones, engine.rules) if explain else None))
        as_of = None
        if "date" in projects.columns:  # the date each row was judged on: its own, or this engine's
            as_of = np.full(len(projects), "", dtype=object)
            days = projects["date"].to_numpy(dtype=object)
            judged = ~problems.bad
            own = judged & pd.notna(days)
            as_of[own] = pd.Series(days[own], dtype=object).map(dt.date.isoformat).to_numpy(dtype=object)
            as_of[judged & ~own] = self.as_of.isoformat()
        return Batch(projects.index, parts, problems, as_of, explain)

    def _by_version(self, projects: gpd.GeoDataFrame, problems: RowErrors) -> Iterator[tuple[Engine, np.ndarray]]:
        """The rows to evaluate (not flagged in ``problems``) grouped by the list versions in force on their
        own date (column ``date``; rows without one: this engine's date), each with its engine. Rows
        dated when no list is in force are flagged in ``problems``."""
        good = ~problems.bad
        if "date" not in projects.columns or projects["date"][good].isna().all():
            yield self, good
            return
        codes, days = pd.factorize(projects["date"].to_numpy(dtype=object), use_na_sentinel=True)
        # the versions in force change only at the lists' and tables' boundaries: one engine per period
        periods = [(lst.effective_from, lst.effective_to) for lst in self.all_lists] + [
            (p.effective_from, p.effective_to) for p in self.all_parameters]
        bounds = np.array(sorted({d.toordinal() for start, end in periods
                                  for d in (start, end and end + dt.timedelta(days=1)) if d is not None}))
        period = np.searchsorted(bounds, np.array([d.toordinal() for d in days], dtype=np.int64), side="right")
        engine_of_day = np.zeros(len(days) + 1, np.int64)  # the last entry, for rows without a date: this engine
        engines: dict[int, Engine] = {id(self): self}
        for p in np.unique(period).tolist():
            at = np.flatnonzero(period == p)
            engine, reason = self._versions_on(days[at[0]])
            if engine is None:
                problems.add(good & np.isin(codes, at), "no list in force", f"field 'date': {reason}")
                continue
            engines.setdefault(id(engine), engine)
            engine_of_day[at] = list(engines).index(id(engine))
        good = ~problems.bad
        row_engine = engine_of_day[codes]
        for e in np.unique(row_engine[good]).tolist():
            yield list(engines.values())[e], good & (row_engine == e)

    def _versions_on(self, day: dt.date) -> tuple[Engine | None, str]:
        """The engine for the list and parameter versions in force on ``day`` (one per distinct set of
        versions, kept), or None and why."""
        key = self._version_key(day)
        if key == self._version_key(self.as_of):
            return self, ""
        if key not in self._versions:
            try:
                self._versions[key] = (self.on(day), "")
            except DataError as exc:
                self._versions[key] = (None, str(exc))
        return self._versions[key]

    def _version_key(self, day: dt.date) -> tuple:
        """Which list and parameter versions are in force on ``day``."""
        return (tuple(i for i, lst in enumerate(self.all_lists) if lst.in_force(day)),
                tuple(i for i, p in enumerate(self.all_parameters) if p.in_force(day)))
