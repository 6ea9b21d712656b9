"""The cache of loaded engines (zoning.engine_cache): a hit gives the same engine without reading the
files; any change to a source file misses; a damaged, foreign or unsafe entry is ignored, never an error."""

from __future__ import annotations

import os
import pickle
import shutil
import stat

import geopandas as gpd
import pandas as pd
import pytest

import zoning.engine
from tests.conftest import run
from zoning import Engine, engine_cache, sample
from zoning.rules import yamlfile


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("ZONING_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def layers(tmp_path):
    """A copy of the sample's units (as GeoJSON, a text file), zones and lists."""
    units = tmp_path / "units.geojson"
    gpd.read_file(sample.units_path()).to_file(units, driver="GeoJSON")
    zones = tmp_path / "zones.gpkg"
    shutil.copy(sample.zones_path(), zones)
    rules = tmp_path / "rules"
    shutil.copytree(sample.rules_dir(), rules)
    return units, rules, zones


def load(layers, **kwargs) -> Engine:
    units, rules, zones = layers
    return Engine.load(units, rules, zones, **kwargs)


def entries(cache) -> list:
    return sorted(cache.glob("*.engine")) if cache.exists() else []


def screened(engine: Engine) -> bytes:
    """The sample registry's batch result columns, as CSV."""
    registry = pd.read_csv(sample.registry_path(), dtype=str, keep_default_na=False)
    return engine.check_many(registry).drop(columns="geometry").to_csv(index=False).encode()


def test_a_second_load_is_a_hit_that_reads_no_file_and_gives_the_same_engine(cache, layers, monkeypatch):
    first = load(layers)
    assert engine_cache.last["result"] == "miss" and len(entries(cache)) == 1
    stat_mode = stat.S_IMODE(os.stat(cache).st_mode)
    assert stat_mode == 0o700 and stat.S_IMODE(os.stat(cache / "secret").st_mode) == 0o600

    def not_read(*args, **kwargs):
        raise AssertionError("a hit must not read the layers or lists")

    with monkeypatch.context() as patch:
        for name in ("load_units", "load_zones", "load_lists", "load_vocabulary", "load_parameters"):
            patch.setattr(zoning.engine, name, not_read)
        patch.setattr(yamlfile, "read_yaml", not_read)
        hits = engine_cache.counts["hits"]
        second = load(layers)
    assert engine_cache.last["result"] == "hit" and engine_cache.counts["hits"] == hits + 1
    assert second is not first
    assert second.provenance == first.provenance
    assert second.sources == first.sources and second.unit_source == first.unit_source
    assert second.all_lists == first.all_lists and second.lapsed == first.lapsed and second.as_of == first.as_of
    assert second.units.equals(first.units) and second.zones.equals(first.zones)
    assert second.vocabulary.attributes == first.vocabulary.attributes
    assert second.all_parameters == first.all_parameters
    assert screened(second) == screened(first)
    check = {"lon": 115.97, "lat": 38.93, "industry": "C2614", "type": "new", "emissions": {"VOCs": 12.5}}
    a, b = first.check(**check, explain=True), second.check(**check, explain=True)
    assert a.to_dict() == b.to_dict() and a.verdict == "prohibited"
    second.warm()  # a cached engine warms as a fresh one does
    assert second.check(**check, explain=True).to_dict() == a.to_dict()


def test_the_cached_screening_output_is_byte_identical(cache, layers, tmp_path):
    units, rules, zones = layers
    outputs = []
    for name, flags in (("miss", []), ("hit", []), ("off", ["--no-cache"])):
        out = tmp_path / f"{name}.csv"
        run([*flags, "screen", sample.registry_path(), "-o", out, "--units", units, "--rules", rules,
             "--zones", zones, "-q"], expect=0)
        outputs.append(out.read_bytes())
        assert engine_cache.last["result"] == name
    assert outputs[0] == outputs[1] == outputs[2]


def test_the_bundled_sample_is_cached_too(cache):
    Engine.load()
    assert engine_cache.last["result"] == "miss"
    again = Engine.load()
    assert engine_cache.last["result"] == "hit" and again.illustrative


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_changed_byte_in_any_source_misses(cache, layers):
    units, rules, zones = layers
    load(layers)
    some_list = sorted(p for p in rules.rglob("*.yaml") if "title:" in p.read_text(encoding="utf-8"))[0]
    title = next(line for line in some_list.read_text(encoding="utf-8").splitlines() if line.startswith("title:"))
    edit(some_list, title, title[:-1] + ("X" if title[-1] != "X" else "Y"))  # same size
    engine = load(layers)
    assert engine_cache.last["result"] == "miss"
    assert any(lst.title.endswith(("X", "Y")) for lst in engine.all_lists)
    name = engine.units["name"].iloc[0]
    edit(units, name, name[:-1] + "Z")
    engine = load(layers)
    assert engine_cache.last["result"] == "miss" and name[:-1] + "Z" in set(engine.units["name"])
    load(layers)
    assert engine_cache.last["result"] == "hit"


def test_a_rule_file_added_or_removed_misses_and_a_touch_does_not(cache, layers):
    units, rules, zones = layers
    load(layers)
    os.utime(units, ns=(1_000_000_000, 1_000_000_000))  # new times, same content: hashed again, same key
    load(layers)
    assert engine_cache.last["result"] == "hit"
    extra = rules / "extra.attributes.yaml"
    extra.write_text("attributes:\n  - name: extra_flag\n    kind: flag\n    description: an extra flag\n",
                     encoding="utf-8")
    engine = load(layers)
    assert engine_cache.last["result"] == "miss" and "extra_flag" in engine.vocabulary.attributes
    extra.unlink()
    again = load(layers)
    assert engine_cache.last["result"] == "hit"  # the first entry, still kept
    assert "extra_flag" not in again.vocabulary.attributes


def test_the_date_and_limits_are_part_of_the_key(cache, layers):
    import datetime as dt

    from zoning import limits

    load(layers, as_of=dt.date(2024, 7, 1))
    load(layers, as_of=dt.date(2024, 7, 2))
    assert engine_cache.last["result"] == "miss"
    with limits.using(limits.Limits(rule_items=1_000)):
        load(layers, as_of=dt.date(2024, 7, 1))
        assert engine_cache.last["result"] == "miss"
    load(layers, as_of=dt.date(2024, 7, 1))
    assert engine_cache.last["result"] == "hit"


def damage(entry, how: str) -> None:
    data = bytearray(entry.read_bytes())
    if how == "pickle":
        data[len(data) // 10] ^= 0xFF  # inside the signed pickle
    elif how == "coordinates":
        data[-100] ^= 0x01  # a coordinate's last bit
    elif how == "truncated":
        data = data[:len(data) // 2]
    elif how == "empty":
        data = bytearray()
    elif how == "garbage":
        data = bytearray(os.urandom(1000))
    entry.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["pickle", "coordinates", "truncated", "empty", "garbage"])
def test_a_damaged_entry_is_ignored_and_rebuilt(cache, layers, how):
    first = load(layers)
    (entry,) = entries(cache)
    damage(entry, how)
    again = load(layers)
    assert engine_cache.last["result"] == "miss"
    assert again.provenance == first.provenance and again.units.equals(first.units)
    load(layers)
    assert engine_cache.last["result"] == "hit"


class _Marker:
    """A pickle that, if ever loaded, creates a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_an_entry_signed_with_another_key_is_never_unpickled(cache, layers, tmp_path):
    load(layers)
    (entry,) = entries(cache)
    marker = tmp_path / "pwned"
    other = engine_cache._Store(cache, os.urandom(32))  # another cache's secret
    other.put(entry.stem, _Marker(marker), [])  # type: ignore[arg-type]
    assert entry.exists()
    load(layers)
    assert engine_cache.last["result"] == "miss" and not marker.exists()
    # and a plain pickle in its place, with no signature at all
    entry.write_bytes(pickle.dumps(_Marker(marker)))
    load(layers)
    assert engine_cache.last["result"] == "miss" and not marker.exists()


def test_a_new_secret_ignores_every_entry(cache, layers):
    load(layers)
    (cache / "secret").write_bytes(os.urandom(32))
    load(layers)
    assert engine_cache.last["result"] == "miss"


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_a_directory_others_can_write_is_not_used(cache, layers, mode):
    cache.mkdir()
    cache.chmod(mode)
    engine = load(layers)
    assert engine_cache.last["result"] == "off" and entries(cache) == [] and engine.units is not None
    assert not (cache / "secret").exists()


def test_a_secret_others_can_read_is_not_used(cache, layers):
    load(layers)
    (cache / "secret").chmod(0o644)
    load(layers)
    assert engine_cache.last["result"] == "off"


def test_a_cache_path_that_cannot_be_made_is_no_error(tmp_path, layers, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ZONING_CACHE_DIR", str(blocker / "cache"))
    load(layers)
    assert engine_cache.last["result"] == "off"


def test_opting_out(cache, layers, monkeypatch):
    units, rules, zones = layers
    with monkeypatch.context() as patch:
        patch.setenv("ZONING_NO_CACHE", "1")
        load(layers)
        assert engine_cache.last["result"] == "off" and not cache.exists()
    with engine_cache.disabled():
        load(layers)
        assert engine_cache.last["result"] == "off" and not cache.exists()
    run(["--no-cache", "check", "--lon", 115.97, "--lat", 38.93, "--units", units, "--rules", rules,
         "--zones", zones], expect=0)
    assert engine_cache.last["result"] == "off" and not cache.exists()
    run(["check", "--lon", 115.97, "--lat", 38.93, "--units", units, "--rules", rules, "--zones", zones],
        expect=0)
    assert engine_cache.last["result"] == "miss" and len(entries(cache)) == 1


def test_at_most_keep_entries_are_kept(cache, layers, monkeypatch):
    import datetime as dt

    monkeypatch.setattr(engine_cache, "KEEP", 2)
    for day in (1, 2, 3):
        load(layers, as_of=dt.date(2024, 7, day))
    assert len(entries(cache)) == 2
    load(layers, as_of=dt.date(2024, 7, 3))
    assert engine_cache.last["result"] == "hit"


def test_errors_are_the_same_with_the_cache(cache, layers, tmp_path):
    units, rules, zones = layers
    bad = rules / "zz-bad.yaml"
    bad.write_text("a: &a [1, *a]\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(Exception, match="recursive anchor"):
            load(layers)
    assert entries(cache) == []
    with pytest.raises(Exception, match="no such file"):
        Engine.load(tmp_path / "missing.gpkg", rules)


def test_rules_given_as_an_iterator_are_read_once(cache, layers):
    units, rules, zones = layers
    for result in ("miss", "hit"):
        engine = Engine.load(units, iter([rules]), zones)
        assert engine_cache.last["result"] == result and engine.all_lists


def test_a_shapefile_s_side_files_are_part_of_the_key(cache, layers, tmp_path):
    _, rules, zones = layers
    frame = gpd.read_file(sample.units_path())
    shp = tmp_path / "shp" / "units.shp"
    shp.parent.mkdir()
    frame.to_file(shp, encoding="utf-8")
    Engine.load(shp, rules, zones)
    geometry = shp.read_bytes()
    frame.loc[0, frame.columns[1]] = str(frame.iloc[0, 1])[:-1] + "Z"  # an attribute: only the .dbf changes
    frame.to_file(shp, encoding="utf-8")
    assert shp.read_bytes() == geometry
    engine = Engine.load(shp, rules, zones)
    assert engine_cache.last["result"] == "miss"
    Engine.load(shp, rules, zones)
    assert engine_cache.last["result"] == "hit" and engine.units is not None


def test_a_parameter_csv_outside_the_rules_folder_is_part_of_the_entry(cache, layers, tmp_path):
    """A table's values may come from a CSV a rule file names (``file: ../caps.csv``): changing it misses."""
    units, rules, zones = layers
    table = rules / "hebei" / "water.parameters.yaml"
    text = table.read_text(encoding="utf-8")
    values = text[text.index("    values:"):text.index("    source:")]
    table.write_text(text.replace(values, "    file: ../../caps.csv\n"), encoding="utf-8")
    caps = tmp_path / "caps.csv"
    caps.write_text("key,value\n13,12\n1306,9\n130632,6\n", encoding="utf-8")
    first = load(layers)
    assert engine_cache.last["result"] == "miss"
    assert load(layers).all_parameters == first.all_parameters and engine_cache.last["result"] == "hit"
    caps.write_text("key,value\n13,12\n1306,9\n130632,5\n", encoding="utf-8")
    changed = load(layers)
    assert engine_cache.last["result"] == "miss"
    water = next(p for p in changed.all_parameters if p.name == "water_per_output_cap")
    assert water.values["130632"] == 5


def test_other_code_under_the_same_version_misses(cache, layers, monkeypatch):
    """An engine pickled by other code (a development checkout, the same version number) is never read."""
    load(layers)
    monkeypatch.setattr(engine_cache, "_code_hash", lambda: "other code")
    load(layers)
    assert engine_cache.last["result"] == "miss"


def test_large_arrays_are_kept_beside_the_pickle_and_read_back_as_writable_copies():
    import io

    import numpy as np
    import shapely
    from geopandas.array import from_shapely

    from zoning.geometry_pickling import RAW_ARRAY_BYTES, GeometryPickler, GeometryUnpickler

    odd = np.arange(RAW_ARRAY_BYTES // 4 + 1, dtype=np.int32)  # an odd byte count: what follows stays aligned
    grid = np.arange(RAW_ARRAY_BYTES // 4 * 6, dtype=np.int32).reshape(-1, 3)[:, ::2]  # not contiguous
    flags = np.zeros(RAW_ARRAY_BYTES + 3, bool)
    flags[::7] = True
    polygons = from_shapely(shapely.buffer(shapely.points(np.arange(50.0), np.arange(50.0)), 0.4))
    small = np.arange(10)
    stored = {"odd": odd, "grid": grid, "again": grid, "flags": flags, "polygons": polygons, "small": small}
    body = io.BytesIO()
    pickler = GeometryPickler(body)
    pickler.dump(stored)
    assert pickler.size >= odd.nbytes + grid.nbytes + flags.nbytes and body.tell() < RAW_ARRAY_BYTES  # beside it
    raw = memoryview(b"".join(a.data.cast("B") for a in pickler.raw))
    back = GeometryUnpickler(io.BytesIO(body.getvalue()), raw).load()
    for name in ("odd", "grid", "flags", "small"):
        assert np.array_equal(back[name], stored[name]) and back[name].dtype == stored[name].dtype
        assert back[name].flags.writeable
    assert back["again"] is back["grid"]  # one array, referenced twice, stays one
    assert shapely.equals_identical(back["polygons"]._data, polygons._data).all()
    back["grid"][0, 0] = -1  # a copy: not the file's bytes


def test_the_point_grids_come_back_from_the_cache(cache, layers):
    import numpy as np

    built = load(layers).derived["grids"]
    again = load(layers)
    assert engine_cache.last["result"] == "hit"
    for name, grid in built.items():
        cached = again.derived["grids"][name]
        assert (cached.x0, cached.y0, cached.size) == (grid.x0, grid.y0, grid.size)
        for field in ("labels", "offsets", "members"):
            assert np.array_equal(getattr(cached, field), getattr(grid, field))


def test_a_loaded_engine_has_decided_every_industry_so_no_chunk_decides_one(cache, layers):
    from zoning.engine import industry_table
    from zoning.evaluate.columns import Columns
    from zoning.evaluate.prefilter import possible
    from zoning.inputs.frames import projects_of_frame

    load(layers)
    engine = load(layers)
    assert engine_cache.last["result"] == "hit"
    known = dict(engine.rules.possible_cache)
    codes = industry_table().frame["code"].tolist()
    assert len(known) == (len(codes) + 1) * 5  # every code and none, with every type and none
    registry = pd.read_csv(sample.registry_path(), dtype=str, keep_default_na=False)
    projects, problems, _ = projects_of_frame(registry, None, None, engine.vocabulary)  # as a chunk's
    assert not problems.bad.all()
    possible(engine.rules, Columns.from_projects(projects, engine.vocabulary))
    assert engine.rules.possible_cache == known  # nothing new to decide
