"""The unit layer annotated with its access lists, for QGIS and web maps.

Each unit carries its type, a summary of the clauses that apply to it (counts
by effect, the industries its prohibit and restrict clauses name, the overlay
zones that intersect it) and the clauses in full (list, id, level, dimension,
effect, text and source). Built column-wise from the compiled rules' unit →
clause index; strings are made once per distinct combination.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from zoning.errors import DataError, ParameterError
from zoning.evaluate.compile import expand_csr
from zoning.evaluate.results import str_or_none
from zoning.evaluate.summary import join_per_project
from zoning.industries import table as industry_table
from zoning.inputs.units import UNIT_TYPES
from zoning.inputs.webmap import to_webmap
from zoning.outputs.atomic import atomic_path
from zoning.outputs.formats import output_format, output_system
from zoning.outputs.writers import open_writer
from zoning.rules.conditions import named_industries

UNIT_EXPORT_FORMATS = ("geojson", "gpkg")
_SOURCE = ("document", "issuer", "date", "article")


def unit_summary(engine) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The units with list summaries, and each unit's clauses as a JSON array text.

    Zone-scoped lists are not attached to units (they apply where a site lies
    in the zone); the ``zones`` column names the zones that intersect each unit.
    """
    units, rules = engine.units, engine.rules
    n = len(units)
    offsets, items = rules.unit_offsets, rules.unit_clauses
    owner = np.repeat(np.arange(n), np.diff(offsets))
    c = rules.clauses
    out = gpd.GeoDataFrame({
        "code": units["code"], "name": units["name"], "type": units["type"].astype(int),
        "type_name": units["type"].map(lambda t: UNIT_TYPES[int(t)][1]),
        "province": units["province"], "city": units["city"], "county": units["county"],
    }, geometry=units.geometry, crs=units.crs)

    list_ids, list_item = np.unique(c["list"].to_numpy(dtype=object)[items], return_inverse=True)
    pairs = pd.DataFrame({"u": owner, "i": list_item}).drop_duplicates()
    out["lists"], = join_per_project(pairs["u"].to_numpy(), pairs["i"].to_numpy(), n, (list_ids, ";"))
    effect = c["effect"].to_numpy(dtype=object)[items]
    for name in ("prohibit", "restrict", "require"):
        out[f"n_{name}"] = np.bincount(owner[effect == name], minlength=n)
    out["n_clauses"] = np.diff(offsets)

    # industries named by each clause's condition, as a CSR clause -> code index
    named = [named_industries(cond) for cond, _ in rules.conditions]
    vocab = np.array(sorted({industry_table().get(k).label for codes in named for k in codes}), dtype=object)
    position = {label: i for i, label in enumerate(vocab)}
    per_cond = [[position[industry_table().get(k).label] for k in codes] for codes in named]
    per_clause = [per_cond[k] for k in c["cond"].to_numpy(dtype=np.int64)]
    code_offsets = np.concatenate([[0], np.cumsum([len(x) for x in per_clause])]).astype(np.int64)
    code_items = np.fromiter((i for x in per_clause for i in x), np.int64, count=int(code_offsets[-1]))
    for name in ("prohibit", "restrict"):
        chosen = effect == name
        at, code = expand_csr(items[chosen], code_offsets, code_items)
        pairs = pd.DataFrame({"u": owner[chosen][at], "i": code}).drop_duplicates().sort_values(["u", "i"])
        out[f"{name}ed_industries"], = join_per_project(pairs["u"].to_numpy(), pairs["i"].to_numpy(), n,
                                                        (vocab, ";"))

    zones = engine.zones
    if len(zones):
        z_idx, u_idx = zones.sindex.query(units.geometry, predicate="intersects")[::-1]
        order = np.lexsort((z_idx, u_idx))
        out["zones"], = join_per_project(u_idx[order], z_idx[order], n, (zones["zone_id"].to_numpy(dtype=object), ";"))
    else:
        out["zones"] = ""

    clause_json = np.array([json.dumps(_clause_dict(row), ensure_ascii=False)
                            for row in c.itertuples(index=False)], dtype=object)
    full, = join_per_project(owner, items, n, (clause_json, ","))
    return out, "[" + full + "]"


def _clause_dict(row) -> dict:
    text = str_or_none
    return {"list": row.list, "list_title": row.list_title, "level": row.level, "clause": row.clause,
            "dimension": row.dimension, "effect": row.effect, "review_only": bool(row.review_only),
            "text": row.text, "text_en": text(row.text_en),
            "source": {k: text(getattr(row, k)) for k in _SOURCE}}


def export_units(engine, path, *, output_crs=None) -> int:
    """Write the annotated unit layer to ``path`` (.geojson or .gpkg); returns the unit count.

    GeoJSON follows RFC 7946 (lon/lat, counter-clockwise exteriors, 7
    decimals) and nests each unit's clauses as an array; GeoPackage keeps them
    as JSON text in ``clauses_json``. ``output_crs`` ``gcj02`` or ``bd09``
    writes GeoJSON coordinates for Chinese web maps instead.
    """
    fmt = output_format(path)
    web = output_system(output_crs, fmt)
    if Path(path).resolve() in {Path(p).resolve() for p in engine.sources}:
        raise ParameterError(f"export units {path}: that is one of the files the units or lists were loaded from")
    if fmt not in UNIT_EXPORT_FORMATS:
        raise DataError(f"export units {path}: write .geojson or .gpkg (got {Path(path).suffix})")
    frame, clauses = unit_summary(engine)
    geometry = frame.geometry.to_numpy()
    if web:
        geometry = to_webmap(geometry, web)
    properties = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    with atomic_path(path) as tmp:
        writer = open_writer(tmp, fmt, layer=Path(path).stem, geometry_type="MultiPolygon"
                             if fmt == "gpkg" else "Unknown")
        try:
            writer.write(properties, geometry, raw_json={"clauses": clauses})
            writer.close()
        except BaseException:
            writer.abort()
            raise
    return len(frame)
