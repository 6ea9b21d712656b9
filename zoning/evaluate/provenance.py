"""What a result was computed with: the engine's version, the date whose lists
were applied, and content hashes of the rule set and the unit and zone layers.

The hashes are of content, not of files: the rule set's hash covers the
validated lists (so comments, key order and quoting do not change it, while
any clause, condition, date or text does); a layer's hash covers its
canonical attribute columns and geometry (as WKB), so re-saving the same
units in another format gives the same hash. Two results with the same
hashes and date were judged against the same rules and units.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

import geopandas as gpd
import shapely

from zoning.rules.parameters import ParameterSpec
from zoning.rules.schema import AccessList
from zoning.vocabulary import Vocabulary, builtin


def rules_hash(lists: list[AccessList], vocabulary: Vocabulary | None = None,
               parameters: Iterable[ParameterSpec] = ()) -> str:
    """SHA-256 of the validated lists (all versions loaded), in (id, version) order, with the
    attributes the rule set declares beyond the built-in ones and its parameter tables (all versions):
    a changed declaration or threshold is a changed rule set."""
    documents: list = [lst.model_dump(mode="json", by_alias=True)
                       for lst in sorted(lists, key=lambda x: (x.id, x.version))]
    own = builtin().attributes
    declared = [spec.model_dump(mode="json") for name, spec in sorted((vocabulary.attributes if vocabulary else
                                                                          {}).items()) if own.get(name) != spec]
    tables = sorted((p.model_dump(mode="json") for p in parameters),
                    key=lambda d: (d["name"], str(d.get("effective_from"))))
    if declared or tables:  # a rule set with neither hashes as it always did
        documents = [documents, declared, tables]
    canonical = json.dumps(documents, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def layer_hash(layer: gpd.GeoDataFrame) -> str:
    """SHA-256 of a canonical layer: its attribute columns (as text) and its geometry (WKB), row by row."""
    digest = hashlib.sha256()
    columns = sorted(c for c in layer.columns if c != layer.geometry.name)
    digest.update(json.dumps(columns).encode())
    for column in columns:  # each value as text, missing as NUL, separated by a unit separator
        text = layer[column].astype(object).where(layer[column].notna(), "\x00").astype(str)
        digest.update("\x1f".join(text).encode("utf-8"))
        digest.update(b"\x1e")
    for wkb in shapely.to_wkb(layer.geometry.to_numpy(), output_dimension=2, byte_order=1):
        digest.update(len(wkb).to_bytes(8, "little"))
        digest.update(wkb)
    digest.update(str(layer.crs.to_epsg() if layer.crs else None).encode())
    return digest.hexdigest()


def provenance(*, version: str, as_of: dt.date, lists: list[AccessList], in_force: list[AccessList],
               units: gpd.GeoDataFrame, units_source: str, zones: gpd.GeoDataFrame,
               vocabulary: Vocabulary | None = None, parameters: Iterable[ParameterSpec] = ()) -> dict:
    """The record every JSON result carries (see ``Engine.provenance``)."""
    return {
        "engine": "zoning", "engine_version": version, "as_of": as_of.isoformat(),
        "rules_sha256": rules_hash(lists, vocabulary, parameters),
        "lists_loaded": len(lists), "lists_in_force": len(in_force),  # citations name each list's version
        "units_sha256": layer_hash(units), "units_source": units_source, "units_count": len(units),
        "zones_sha256": layer_hash(zones), "zones_count": len(zones),
    }
