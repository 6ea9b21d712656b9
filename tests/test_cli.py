"""``zoning check`` end to end on the bundled sample region, through click's CliRunner.

Sites inside particular kinds of unit are computed from the sample layer
(``Engine.load().units``) rather than typed in, so the tests follow the data.
"""

from __future__ import annotations

import json

import pytest
import shapely

from tests.conftest import run
from zoning import Engine

EXAMPLE = ["check", "--lon", "115.97", "--lat", "38.93", "--industry", "C2614", "--type", "new",
           "--emission", "VOCs=12.5", "--emission", "NOx=3"]
BAIYANGDIAN = "ZH13063210001"  # 安新县白洋淀优先保护单元, where the documented example lies
BEIJING = ["--lon", "116.40", "--lat", "39.90"]  # outside every unit of the sample


@pytest.fixture(scope="module")
def sample_units():
    return Engine.load().units


@pytest.fixture(scope="module")
def general_point(sample_units):
    """A point inside a general-control (type 3) unit of the sample: (code, lon, lat)."""
    unit = sample_units[sample_units["type"] == 3].iloc[0]
    p = unit.geometry.representative_point()
    return unit["code"], p.x, p.y


def check_at(lon, lat, *extra, expect=None):
    return run(["check", "--lon", lon, "--lat", lat, *extra], expect=expect)


def as_json(result) -> dict:
    def reject(constant):
        raise ValueError(f"{constant} is not valid JSON (RFC 8259)")

    return json.loads(result.stdout, parse_constant=reject)


def loose_json(result) -> dict:
    """Parse even if NaN slipped in (strictness is tested on its own)."""
    return json.loads(result.stdout)


# ---- the documented example ------------------------------------------------------

def test_documented_example_text():
    result = run(EXAMPLE, expect=0)
    assert BAIYANGDIAN in result.stdout
    assert "PROHIBITED" in result.stdout
    assert "Traceback" not in result.output


def test_text_report_never_prints_nan_for_a_missing_translation():
    result = run(EXAMPLE, expect=0)
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "nan" not in lines and "None" not in lines


def test_example_json_keys():
    result = run([*EXAMPLE, "--format", "json"], expect=0)
    out = loose_json(result)
    assert out["verdict"] == "prohibited"
    assert {"verdict", "units", "citations", "missing", "project"} <= set(out)

    assert [u["code"] for u in out["units"]] == [BAIYANGDIAN]
    unit = out["units"][0]
    assert {"code", "name", "type", "verdict"} <= set(unit)
    assert unit["type"] == 1 and unit["verdict"] == "prohibited"
    assert unit["name"] == "安新县白洋淀优先保护单元"

    assert out["citations"]
    for c in out["citations"]:
        assert {"unit", "list", "clause", "dimension", "effect", "text", "source"} <= set(c)
        assert {"document", "issuer", "date", "article"} <= set(c["source"])
        assert c["unit"] == BAIYANGDIAN
        assert c["effect"] in ("prohibit", "restrict", "require")
        assert c["dimension"] in ("spatial_layout", "emission_control", "risk_prevention",
                                  "resource_efficiency")
        assert c["text"]
    # the verdict is backed by at least one applying prohibition with a full source
    deciding = [c for c in out["citations"] if c["effect"] == "prohibit" and c["status"] == "applies"]
    assert deciding
    assert all(all(c["source"][k] for k in ("document", "issuer", "date", "article")) for c in deciding)

    assert isinstance(out["missing"], list)
    assert "VOCs" not in out["missing"] and "NOx" not in out["missing"]
    project = out["project"]
    assert project["location"]["lon"] == pytest.approx(115.97)
    assert project["location"]["lat"] == pytest.approx(38.93)
    assert project["industry"]["code"] == "C2614"
    assert project["type"] == "new"
    assert project["attributes"] == {"VOCs": 12.5, "NOx": 3.0}


def test_json_output_is_strict_json():
    """No NaN (invalid JSON) for clauses without an English text."""
    out = as_json(run([*EXAMPLE, "--format", "json"], expect=0))
    for c in out["citations"]:
        assert c["text_en"] is None or isinstance(c["text_en"], str)


def test_example_geojson_feature():
    result = run([*EXAMPLE, "--format", "geojson"], expect=0)
    feature = loose_json(result)
    assert feature["type"] == "Feature"
    assert "crs" not in feature
    assert feature["geometry"]["type"] == "Point"
    assert feature["geometry"]["coordinates"] == pytest.approx([115.97, 38.93])
    assert feature["properties"]["verdict"] == "prohibited"
    assert feature["properties"]["units"][0]["code"] == BAIYANGDIAN


def test_geojson_output_is_strict_json():
    as_json(run([*EXAMPLE, "--format", "geojson"], expect=0))


# ---- exit codes ------------------------------------------------------------------

def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("zoning: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_unknown_industry_exits_1():
    args = [a if a != "C2614" else "C9999" for a in EXAMPLE]
    assert_one_line_error(run(args), "C9999", "nearest valid")


def test_unknown_emission_name_exits_1():
    assert_one_line_error(run([*EXAMPLE, "--emission", "VOX=1"]), "VOX", "VOCs")


def test_non_numeric_emission_exits_1():
    assert_one_line_error(run([*EXAMPLE[:-4], "--emission", "VOCs=lots"]), "VOCs", "lots")


def test_negative_emission_exits_1():
    assert_one_line_error(run([*EXAMPLE[:-4], "--emission", "VOCs=-1"]), "VOCs")


def test_bad_project_type_exits_1():
    args = [a if a != "new" else "brand-new" for a in EXAMPLE]
    assert_one_line_error(run(args), "brand-new")


def test_missing_units_file_exits_1(tmp_path):
    missing = tmp_path / "no-units.gpkg"
    assert_one_line_error(run([*EXAMPLE, "--units", missing]), "no-units.gpkg", "no such file")


def test_missing_rules_path_exits_1(tmp_path):
    assert_one_line_error(run([*EXAMPLE, "--rules", tmp_path / "nope"]), "nope")


@pytest.mark.parametrize("args", [
    ["check", "--industry", "C2614", "--type", "new"],  # no location at all
    ["check", "--lon", "115.97", "--industry", "C2614"],  # --lon without --lat
    ["check", "--lat", "38.93", "--industry", "C2614"],  # --lat without --lon
    [*EXAMPLE, "--emission", "VOCs"],  # NAME=VALUE without '='
    [*EXAMPLE, "--attr", "in_park"],
    [*EXAMPLE, "--site", "POINT (115.97 38.93)"],  # both a point and a site
    [*EXAMPLE, "--format", "xml"],
    [*EXAMPLE, "--fail-on", "sometimes"],
    ["check", "--lon", "east", "--lat", "38.93"],
])
def test_usage_errors_exit_2(args):
    result = run(args, expect=2)
    assert "Traceback" not in result.output
    assert "Usage:" in result.stderr


def test_fail_on_prohibited_with_the_prohibited_example():
    assert run([*EXAMPLE, "--fail-on", "prohibited"]).exit_code == 3
    assert run([*EXAMPLE, "--fail-on", "restricted"]).exit_code == 3


def test_software_office_in_a_general_unit_is_permitted(general_point):
    code, lon, lat = general_point
    result = check_at(lon, lat, "--industry", "I6513", "--type", "new", "--format", "json",
                      "--fail-on", "prohibited", expect=0)
    out = loose_json(result)
    assert out["verdict"] == "permitted"
    assert [u["code"] for u in out["units"]] == [code]
    assert out["units"][0]["type"] == 3
    check_at(lon, lat, "--industry", "I6513", "--type", "new", "--fail-on", "restricted", expect=0)
    check_at(lon, lat, "--industry", "I6513", "--type", "new", expect=0)


def test_software_office_is_permitted_in_every_general_unit(sample_units):
    """Requirement: an office software project never fails in a general-control unit."""
    engine = Engine.load()
    general = sample_units[sample_units["type"] == 3]
    assert len(general) > 0
    for unit in general.itertuples():
        p = unit.geometry.representative_point()
        result = engine.check(lon=p.x, lat=p.y, industry="I6513", type="new")
        assert result.verdict == "permitted", (unit.code, result.verdict)
        assert not result.fails("restricted"), unit.code


def restricted_site(sample_units):
    """A livestock farm (A0313, new) in a general unit outside Xiong'an is restricted
    by hebei-general-units KJ-2 and prohibited by nothing."""
    tangshan = sample_units[(sample_units["type"] == 3) & sample_units["code"].str.startswith("ZH1302")]
    p = tangshan.geometry.iloc[0].representative_point()
    return p.x, p.y


def test_fail_on_restricted_semantics(sample_units):
    lon, lat = restricted_site(sample_units)
    farm = ["--industry", "A0313", "--type", "new", "--attr", "hazardous_chemicals=false"]
    out = loose_json(check_at(lon, lat, *farm, "--format", "json", expect=0))
    assert (out["verdict"], out["worst_case"]) == ("restricted", "restricted")
    # restricted is not prohibited …
    check_at(lon, lat, *farm, "--fail-on", "prohibited", expect=0)
    # … but it is at least restricted
    check_at(lon, lat, *farm, "--fail-on", "restricted", expect=3)


def test_fail_on_counts_what_missing_inputs_may_make_it(sample_units):
    """A chemical plant with in_park unknown is undetermined but may be prohibited."""
    lon, lat = restricted_site(sample_units)
    chem = ["--industry", "C2614", "--type", "new"]
    out = loose_json(check_at(lon, lat, *chem, "--format", "json", expect=0))
    assert out["verdict"] == "undetermined" and out["worst_case"] == "prohibited"
    assert "in_park" in out["missing"]
    check_at(lon, lat, *chem, "--fail-on", "prohibited", expect=3)
    check_at(lon, lat, *chem, "--fail-on", "restricted", expect=3)


def test_point_outside_every_unit_is_not_covered():
    out = loose_json(run(["check", *BEIJING, "--industry", "I6513", "--type", "new", "--format", "json"],
                         expect=0))
    assert out["verdict"] == "not_covered"
    assert out["units"] == [] and out["citations"] == []
    text = run(["check", *BEIJING, "--industry", "I6513", "--type", "new"], expect=0).stdout
    assert "NOT_COVERED" in text and "PERMITTED" not in text
    for threshold in ("prohibited", "restricted"):
        run(["check", *BEIJING, "--industry", "I6513", "--type", "new", "--fail-on", threshold], expect=3)


# ---- sites -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_unit_box(sample_units):
    """A ~200 m box centred on the boundary shared by two adjacent sample units."""
    by_code = sample_units.set_index("code").geometry
    a, b = "ZH13063230001", "ZH13063210001"  # 安新县一般管控单元 | 白洋淀优先保护单元
    shared = shapely.line_merge(shapely.intersection(by_code[a].boundary, by_code[b].boundary))
    longest = max(shapely.get_parts(shared), key=lambda g: g.length)
    centre = longest.interpolate(0.5, normalized=True)
    box = centre.buffer(0.001, cap_style="square")
    touched = set(sample_units.loc[sample_units.intersects(box), "code"])
    assert touched == {a, b}, touched  # nothing else nearby, so the test is about two units
    return a, b, box


def test_site_polygon_spanning_two_units(two_unit_box):
    a, b, box = two_unit_box
    out = loose_json(run(["check", "--site", box.wkt, "--industry", "I6513", "--type", "new",
                          "--format", "json"], expect=0))
    units = {u["code"]: u for u in out["units"]}
    assert set(units) == {a, b}
    for u in units.values():
        assert u["overlap_m2"] > 0
        assert 0 < u["overlap_share"] < 1
    total = sum(u["overlap_m2"] for u in units.values())
    assert out["project"]["area_m2"] == pytest.approx(total, rel=1e-3)
    assert 1e4 < out["project"]["area_m2"] < 1e5  # ~0.002° square at 39° N ≈ 3.8 ha
    assert sum(u["overlap_share"] for u in units.values()) == pytest.approx(1, abs=1e-3)


def test_site_polygon_text_and_geojson(two_unit_box):
    a, b, box = two_unit_box
    base = ["check", "--site", box.wkt, "--industry", "I6513", "--type", "new"]
    text = run(base, expect=0).stdout
    assert a in text and b in text
    feature = loose_json(run([*base, "--format", "geojson"], expect=0))
    assert feature["geometry"]["type"] == "Polygon"
    assert "crs" not in feature
    ring = feature["geometry"]["coordinates"][0]
    assert shapely.hausdorff_distance(shapely.Polygon(ring), box) < 1e-6  # 7 decimals kept
    assert shapely.is_ccw(shapely.LinearRing(ring))  # RFC 7946: exterior counter-clockwise


def test_bad_site_wkt_exits_1():
    result = run(["check", "--site", "POLYGON ((1 2, 3", "--industry", "I6513"])
    assert_one_line_error(result, "WKT")
