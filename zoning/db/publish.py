"""Publishing a rule set to the database: validated, then written whole in one transaction.

:func:`publish` validates the lists against the layers as ``zoning rules
validate --strict`` does (an error or a warning refuses the publish, and
nothing is written), then writes in one transaction a new release: its row
in ``zoning.releases`` (content hashes, time, who published, note, the
date it takes effect), the units and zones, every list (its YAML text, its
clauses parsed), the attribute declarations and parameter tables beside
them (and the CSV files the tables name). Earlier releases are never
changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from zoning import sample
from zoning._version import __version__
from zoning.db.layers import write_layer
from zoning.db.schema import ensure_postgis, ensure_schema
from zoning.db.urls import DatabaseURL, connect, database_errors
from zoning.errors import DataError, ParameterError, parameter
from zoning.evaluate.provenance import layer_hash, rules_hash
from zoning.inputs.units import empty_zones, load_units, load_zones
from zoning.inputs.vector import DEFAULT_IO_ENGINE
from zoning.rules.loading import load_lists, load_vocabulary, rule_files
from zoning.rules.parameters import load_parameters

#: findings shown in the message of a publish refused by validation
SHOWN = 3


@dataclass
class RuleFile:
    """A file of the rule set, by its path relative to the rule set (as it is stored and rebuilt)."""

    path: str
    kind: str  # lists, attributes, parameters, parameter_csv
    text: str
    source: Path


def gather_files(paths: Iterable[str | Path]) -> list[RuleFile]:
    """The rule set's files under ``paths`` (lists, attribute declarations, parameter tables and the CSV
    files they name), each with a path relative to its root directory (a root's own name first)."""
    out: dict[str, RuleFile] = {}
    roots = [Path(p) for p in paths]
    names = [r.name or "rules" for r in roots]
    for index, root in enumerate(roots):
        prefix = names[index] if names.count(names[index]) == 1 else f"{index + 1}-{names[index]}"
        for kind in ("lists", "attributes", "parameters"):
            for path in rule_files([root], kind=kind):
                rel = f"{prefix}/{path.relative_to(root).as_posix()}" if root.is_dir() else path.name
                out[rel] = RuleFile(rel, kind, _text(path), path)
                if kind == "parameters":
                    for csv in _parameter_csvs(path):
                        csv_rel = str(Path(rel).parent / csv.relative_to(path.parent)).replace("\\", "/")
                        out[csv_rel] = RuleFile(csv_rel, "parameter_csv", _text(csv), csv)
    return list(out.values())


def _parameter_csvs(path: Path) -> list[Path]:
    return [path.parent / spec.file for spec in load_parameters([path]) if spec.file]


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None


@dataclass
class Published:
    """What :func:`publish` wrote."""

    release_id: int
    published_at: dt.datetime
    published_by: str
    effective_from: dt.date
    rules_sha256: str
    units: int
    zones: int
    lists: int
    files: int


def publish(url: str, units: str | Path | None = None, rules: str | Path | Iterable[str | Path] | None = None,
            zones: str | Path | None = None, *, note: str = "", effective_from: dt.date | None = None,
            io_engine: str = DEFAULT_IO_ENGINE) -> Published:
    """Validate the rule set (as ``rules validate --strict``) and write it as a new release (see the module)."""
    from zoning.authoring.validation import validate

    target = DatabaseURL.parse(url)
    if units is not None and not rules:
        raise ParameterError(f"{parameter('units')} given without {parameter('rules')}: give the access lists "
                             "for these units")
    if units is None:
        units, zones = sample.units_path(), zones or sample.zones_path()
    paths = [rules] if isinstance(rules, (str, Path)) else list(rules or [sample.rules_dir()])
    for p in paths:
        if not Path(p).exists():
            raise DataError(f"{p}: no such rule file or directory")
    day = effective_from or dt.date.today()
    unit_layer = load_units(units, io_engine=io_engine)
    zone_layer = load_zones(zones, io_engine=io_engine) if zones else empty_zones()
    findings, _ = validate(paths, unit_layer, zone_layer if zones else None, as_of=day, units_source=str(units))
    refused = [f for f in findings if f.severity in ("error", "warning")]
    if refused:
        shown = "; ".join(f"{f.location}: {f.severity}: {f.message}" for f in refused[:SHOWN])
        raise DataError(f"the rule set does not pass 'zoning rules validate --strict' ({len(refused)} error(s) and "
                        f"warning(s); {shown}); nothing was published")
    vocabulary = load_vocabulary(paths)
    parameters = load_parameters(rule_files(paths, kind="parameters"))
    lists = load_lists(paths, vocabulary, [p.name for p in parameters])
    files = gather_files(paths)
    by_source = {f.source.resolve(): f.path for f in files}
    hashes = {"rules_sha256": rules_hash(lists, vocabulary, parameters), "units_sha256": layer_hash(unit_layer),
              "zones_sha256": layer_hash(zone_layer)}
    content = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    with connect(target, purpose="zoning db publish") as conn, \
            database_errors(target, "publishing", "; nothing was published"):
        ensure_postgis(conn, target.label)
        with conn.transaction():
            ensure_schema(conn)
            conn.execute("LOCK TABLE zoning.releases IN EXCLUSIVE MODE")  # one publish at a time
            latest = conn.execute("SELECT max(effective_from) FROM zoning.releases").fetchone()[0]
            if latest is not None and day < latest:
                raise DataError(f"release would take effect on {day}, before the latest release ({latest}); give "
                                f"{parameter('effective_from')} on or after {latest}; nothing was published")
            row = conn.execute(
                "INSERT INTO zoning.releases (effective_from, note, content_sha256, rules_sha256, units_sha256, "
                "zones_sha256, units_source, units_count, zones_count, lists_count, units_columns, zones_columns, "
                "engine_version, illustrative) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '{}', '{}', %s, %s) "
                "RETURNING release_id, published_at, published_by",
                (day, note, content, hashes["rules_sha256"], hashes["units_sha256"], hashes["zones_sha256"],
                 Path(units).name, len(unit_layer), len(zone_layer), len(lists), __version__,
                 sample.uses_sample([units]))).fetchone()
            release_id = row[0]
            layouts = [json.dumps(write_layer(conn, release_id, kind, frame))
                       for kind, frame in (("units", unit_layer), ("zones", zone_layer))]
            conn.execute("UPDATE zoning.releases SET units_columns = %s, zones_columns = %s WHERE release_id = %s",
                         (*layouts, release_id))
            _write_rules(conn, release_id, lists, parameters, files, by_source)
            conn.execute("SELECT pg_notify('zoning_release', %s)", (str(release_id),))
    return Published(release_id, row[1], row[2], day, hashes["rules_sha256"], len(unit_layer), len(zone_layer),
                     len(lists), len(files))


def _write_rules(conn, release_id: int, lists, parameters, files: list[RuleFile], by_source: dict) -> None:
    with conn.cursor() as cur:
        with cur.copy("COPY zoning.rule_files (release_id, path, kind, text) FROM STDIN") as copy:
            for f in files:
                copy.write_row((release_id, f.path, f.kind, f.text))
        texts = {f.path: f.text for f in files}
        with cur.copy("COPY zoning.lists (release_id, list_id, version, level, title, issuer, effective_from, "
                      "effective_to, path, yaml, sha256) FROM STDIN") as copy:
            for lst in lists:
                rel = by_source[Path(lst.path).resolve()]
                copy.write_row((release_id, lst.id, lst.version, lst.level, lst.title, lst.issuer,
                                lst.effective_from, lst.effective_to, rel, texts[rel],
                                hashlib.sha256(texts[rel].encode("utf-8")).hexdigest()))
        with cur.copy("COPY zoning.clauses (release_id, list_id, version, ord, clause_id, dimension, effect, text, "
                      "conditions, unless, source, clause) FROM STDIN") as copy:
            for lst in lists:
                for i, clause in enumerate(lst.clauses):
                    data = clause.model_dump(mode="json", by_alias=True, exclude_none=True)
                    copy.write_row((release_id, lst.id, lst.version, i, clause.id, clause.dimension, clause.effect,
                                    clause.text, _json(data.get("conditions")), _json(data.get("unless")),
                                    _json(data.get("source")), _json(data)))
        with cur.copy("COPY zoning.parameters (release_id, name, by, unit, effective_from, effective_to, path, spec) "
                      "FROM STDIN") as copy:
            for spec in parameters:
                copy.write_row((release_id, spec.name, spec.by, spec.unit, spec.effective_from, spec.effective_to,
                                by_source[Path(spec.path).resolve()], _json(spec.model_dump(mode="json"))))


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)

