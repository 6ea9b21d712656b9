"""Issue-16 benchmark: the siting map (``Engine.where``) of one project over the 40,000-unit layer.

Make the data first (synthetic: ~40,000 units and their lists):
    python bench/make_national.py /tmp/national
then, from the repository root with the package installed:
    python bench/where_national.py /tmp/national [--zones 3000]

The national data has no overlay zones, so this adds SYNTHETIC ones, written
to a temporary directory with a zone list and clauses that read them: river
lines (within 1 km), drinking-water source points (within 500 m) and park
polygons (inside, and a zone-scoped list), spread over the units' extent.
Prints, measured in this one run: engine load, then for each project the
time of ``Engine.where``, polygons out, units split, and the process's peak
memory; then the sample region's time for the same projects.
Targets (issue 16): one project over the 40,000 units in under 60 s and 4 GB;
the sample region in under 2 s.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import yaml

from zoning import Engine
from zoning.geodesy import GEOGRAPHIC

PROJECTS = [
    {"industry": "C2614", "type": "new", "emissions": {"VOCs": 10}},
    {"industry": "A0313", "type": "new"},
    {"industry": "C3120", "type": "new"},
]
ZONE_RULES = [
    {"id": "NEAR-RIVER", "effect": "prohibit", "conditions": {"all": [
        {"industry": ["A03", "C26"]}, {"within_distance": {"zone_kinds": ["river"], "distance_m": 1000}}]}},
    {"id": "NEAR-WELL", "effect": "prohibit", "conditions": {"all": [
        {"industry": ["C26", "C33"]}, {"within_distance": {"zone_kinds": ["water_source"], "distance_m": 500}}]}},
    {"id": "OUT-OF-PARK", "effect": "restrict", "conditions": {"all": [
        {"industry": ["C26"]}, {"not": {"inside": {"zone_kinds": ["park"]}}}]}},
]


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def synthetic_zones(units: gpd.GeoDataFrame, n: int, seed: int = 16) -> gpd.GeoDataFrame:
    """``n`` zones over the units' extent: a third river lines, a third well points, a third park boxes."""
    rng = np.random.default_rng(seed)
    centres = shapely.get_coordinates(shapely.point_on_surface(units.geometry.sample(n, random_state=seed,
                                                                                     replace=True).to_numpy()))
    third = n // 3
    rivers = [shapely.LineString(np.cumsum(np.vstack([c, rng.normal(0, 0.05, (6, 2))]), axis=0))
              for c in centres[:third]]
    wells = list(shapely.points(centres[third:2 * third]))
    parks = [shapely.box(x, y, x + rng.uniform(0.01, 0.05), y + rng.uniform(0.01, 0.04))
             for x, y in centres[2 * third:]]
    kinds = ["river"] * len(rivers) + ["water_source"] * len(wells) + ["park"] * len(parks)
    return gpd.GeoDataFrame({"zone_id": [f"Z{i}" for i in range(len(kinds))], "kind": kinds,
                             "name": [f"synthetic {k} {i}" for i, k in enumerate(kinds)]},
                            geometry=rivers + wells + parks, crs=GEOGRAPHIC)


def write_rules(folder: Path) -> None:
    meta = {"version": "1", "effective_from": "2023-01-01", "issuer": "合成（SYNTHETIC）",
            "source": {"document": "synthetic zone clauses", "issuer": "合成", "date": "2023-01-01"}}
    clauses = [{"dimension": "spatial_layout", "text": "合成条款（SYNTHETIC）", "source": {"article": str(i)}, **c}
               for i, c in enumerate(ZONE_RULES)]
    (folder / "zone-clauses.yaml").write_text(yaml.safe_dump(
        {"id": "syn-zone-clauses", "title": "合成区位条款（SYNTHETIC）", "level": "province", "scope": {},
         "clauses": clauses, **meta}, allow_unicode=True), encoding="utf-8")
    park = [{"dimension": "spatial_layout", "text": "园区内合成条款（SYNTHETIC）", "source": {"article": "1"},
             "id": "PARK-1", "effect": "restrict", "conditions": {"industry": ["C31"]}}]
    (folder / "park-list.yaml").write_text(yaml.safe_dump(
        {"id": "syn-park-list", "title": "合成园区清单（SYNTHETIC）", "level": "zone",
         "scope": {"zone_kinds": ["park"]}, "clauses": park, **meta}, allow_unicode=True), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="directory written by bench/make_national.py")
    parser.add_argument("--zones", type=int, default=3000, help="synthetic overlay zones to add")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        extra = Path(tmp) / "rules"
        extra.mkdir()
        write_rules(extra)
        units = gpd.read_file(args.data / "units.gpkg", engine="pyogrio")
        zones_path = Path(tmp) / "zones.gpkg"
        synthetic_zones(units, args.zones).to_file(zones_path, engine="pyogrio")
        del units
        start = time.perf_counter()
        engine = Engine.load(args.data / "units.gpkg", [args.data / "rules", extra], zones_path)
        print(f"engine load: {time.perf_counter() - start:.1f} s ({len(engine.units):,} units, "
              f"{len(engine.zones):,} synthetic zones, {len(engine.rules.clauses):,} clauses)")
        for project in PROJECTS:
            start = time.perf_counter()
            layer = engine.where(project)
            took = time.perf_counter() - start
            split = int((layer["unit_code"].value_counts() > 1).sum())
            counts = layer["verdict"].value_counts().to_dict()
            print(f"where {project}: {took:.1f} s, {len(layer):,} polygons, {split:,} units split, "
                  f"verdicts {counts}, peak {peak_rss_gb():.2f} GB")
    sample = Engine.load()
    for project in PROJECTS:
        start = time.perf_counter()
        layer = sample.where(project)
        print(f"sample region where {project}: {time.perf_counter() - start:.2f} s, {len(layer)} polygons")
    print("targets: national one project < 60 s and < 4 GB; sample region < 2 s")


if __name__ == "__main__":
    main()
