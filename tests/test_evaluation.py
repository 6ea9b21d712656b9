"""Spatial assignment, aggregation and verdicts on small purpose-built layers."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from tests.conftest import TWO_UNITS, make_list, make_units
from zoning import DataError, Engine
from zoning.geodesy import GEOGRAPHIC

STEEL = {"effect": "prohibit", "id": "KJ-1",
         "conditions": {"all": [{"industry": ["C31"]}, {"type": ["new", "expansion"]}]}}
VOCS = {"effect": "restrict", "id": "PW-1", "dimension": "emission_control",
        "conditions": [{"industry": ["C"]}, {"attr": "VOCs", "gt": 0}]}


def engine(lists, units=TWO_UNITS):
    return Engine(make_units(units), lists)


def priority_only(clauses):
    return make_list(clauses, scope={"unit_types": [1]}, list_id="priority")


def test_point_on_shared_boundary_belongs_to_both_and_strictest_wins():
    eng = engine([priority_only([STEEL])])
    r = eng.check(lon=116.0, lat=38.95, industry="C3120", type="new")
    assert sorted(u["code"] for u in r.units) == sorted(c for c, _, _ in TWO_UNITS)
    assert {u["code"]: u["verdict"] for u in r.units} == {
        "ZH13063230001": "permitted", "ZH13063210001": "prohibited"}
    assert r.verdict == "prohibited"


def test_point_in_no_unit_is_not_covered_never_permitted():
    eng = engine([make_list([STEEL])])
    r = eng.check(lon=120.0, lat=30.0, industry="I6513", type="new")
    assert r.verdict == "not_covered"
    assert r.units == [] and r.citations == []
    assert r.fails("prohibited") and r.fails("restricted")


def test_polygon_across_two_units_areas_sum_and_strictest_wins():
    eng = engine([priority_only([STEEL])])
    site = shapely.box(115.98, 38.94, 116.03, 38.96)  # 2/5 west, 3/5 east of the boundary
    r = eng.check(site=site.wkt, industry="C3120", type="new")
    assert r.verdict == "prohibited"
    areas = {u["code"]: u["overlap_m2"] for u in r.units}
    total = gpd.GeoSeries([site], crs=GEOGRAPHIC).to_crs(6933).area.iloc[0]  # independent equal-area CRS
    assert sum(areas.values()) == pytest.approx(total, rel=1e-3)
    assert areas["ZH13063210001"] / sum(areas.values()) == pytest.approx(0.6, abs=0.01)
    assert r.project["area_m2"] == pytest.approx(total, rel=1e-3)


def test_polygon_touching_a_unit_only_along_an_edge_is_not_in_it():
    eng = engine([priority_only([STEEL])])
    r = eng.check(site=shapely.box(115.95, 38.94, 116.0, 38.96).wkt, industry="C3120", type="new")
    assert [u["code"] for u in r.units] == ["ZH13063230001"]
    assert r.verdict == "permitted"


def test_polygon_partly_outside_every_unit_is_not_permitted():
    eng = engine([make_list([STEEL])])
    r = eng.check(site=shapely.box(116.05, 38.95, 116.15, 38.96).wkt, industry="I6513", type="new")
    assert r.verdict == "undetermined"
    assert any("lies in no unit" in n for n in r.notes)


def test_missing_emission_keeps_project_from_permitted_and_names_it():
    eng = engine([make_list([VOCS])])
    r = eng.check(lon=115.95, lat=38.95, industry="C2614", type="new")
    assert r.verdict == "undetermined"
    assert r.worst_case == "restricted"
    assert "VOCs" in r.missing
    assert [c["status"] for c in r.citations] == ["unknown"]
    assert r.citations[0]["missing"] == ["VOCs"]
    given = eng.check(lon=115.95, lat=38.95, industry="C2614", type="new", emissions={"VOCs": 0})
    assert given.verdict == "permitted"


def test_require_clauses_are_cited_but_do_not_change_the_verdict():
    require = {"effect": "require", "id": "FX-1", "dimension": "risk_prevention"}
    eng = engine([make_list([require])])
    r = eng.check(lon=115.95, lat=38.95, industry="I6513", type="new")
    assert r.verdict == "permitted"
    assert [(c["clause"], c["status"]) for c in r.citations] == [("FX-1", "applies")]


def test_zone_scoped_list_applies_only_inside_the_zone():
    zones = gpd.GeoDataFrame({"zone_id": ["WS1"], "kind": ["water_source_grade1"], "name": ["z"],
                              "remark": [""]}, geometry=[shapely.box(115.90, 38.90, 115.93, 38.93)],
                             crs=GEOGRAPHIC)
    ban = make_list([{"effect": "prohibit", "id": "WS-1", "unless": {"industry": ["D4610"]}}],
                    scope={"zone_kinds": ["water_source_grade1"]}, list_id="ws", level="zone")
    eng = Engine(make_units(TWO_UNITS), [ban], zones)
    inside = eng.check(lon=115.91, lat=38.91, industry="I6513", type="new")
    assert inside.verdict == "prohibited" and inside.citations[0]["zone"] == "WS1"
    assert eng.check(lon=115.91, lat=38.91, industry="D4610", type="new").verdict == "permitted"
    assert eng.check(lon=115.95, lat=38.95, industry="I6513", type="new").verdict == "permitted"


def test_unit_layer_text_is_cited_for_manual_review():
    units = make_units(TWO_UNITS)
    units.loc[0, "spatial_layout"] = "禁止新建化工项目。"
    eng = Engine(units, [make_list([STEEL])])
    r = eng.check(lon=115.95, lat=38.95, industry="I6513", type="new")
    review = [c for c in r.citations if c["status"] == "manual_review"]
    assert [c["text"] for c in review] == ["禁止新建化工项目。"]
    assert r.verdict == "permitted"


def test_lists_out_of_force_are_ignored():
    import datetime as dt

    old = make_list([STEEL]).model_copy(update={"effective_to": dt.date(2021, 1, 1)})
    other = make_list([STEEL], list_id="other").model_copy(update={"effective_from": dt.date(2021, 1, 2)})
    eng = Engine(make_units(TWO_UNITS), [old, other.model_copy(update={"clauses": [
        other.clauses[0].model_copy(update={"effect": "require"})]})])
    assert eng.check(lon=115.95, lat=38.95, industry="C3120", type="new").verdict == "permitted"
    with pytest.raises(DataError, match="no access list is in force on 2026-01-01"):
        Engine(make_units(TWO_UNITS), [old], as_of=dt.date(2026, 1, 1))  # nothing to judge by: refused
    past = Engine(make_units(TWO_UNITS), [old], as_of=dt.date(2020, 6, 1))
    assert past.check(lon=115.95, lat=38.95, industry="C3120", type="new").verdict == "prohibited"


def test_check_many_matches_check(sample_engine):
    points = [(115.97, 38.93, "C2614"), (116.40, 39.90, "I6513"), (118.5, 39.0, "C3120")]
    frame = gpd.GeoDataFrame({"industry": [p[2] for p in points], "type": "new", "VOCs": [12.5, None, 1]},
                             geometry=gpd.points_from_xy([p[0] for p in points], [p[1] for p in points]),
                             crs=GEOGRAPHIC)
    out = sample_engine.check_many(frame)
    singles = [sample_engine.check(lon=x, lat=y, industry=c, type="new",
                                   emissions={"VOCs": v} if v is not None and not np.isnan(v) else {})
               for (x, y, c), v in zip(points, frame["VOCs"])]
    assert list(out["verdict"]) == [r.verdict for r in singles]
    assert list(out["unit_codes"]) == [";".join(u["code"] for u in r.units) for r in singles]


# --- the sample region's required outcomes -------------------------------------

def screen_each_unit(engine, unit_type, industry):
    """A new project of ``industry`` at a point inside every unit of ``unit_type``."""
    units = engine.units[engine.units["type"] == unit_type]
    frame = gpd.GeoDataFrame({"industry": [industry] * len(units), "type": "new"},
                             geometry=units.geometry.representative_point().to_numpy(), crs=GEOGRAPHIC)
    return engine.check_many(frame)


def test_sample_steel_plant_in_every_priority_unit_is_prohibited(sample_engine):
    out = screen_each_unit(sample_engine, 1, "C3120")
    assert (out["verdict"] == "prohibited").all()


def test_sample_software_office_in_every_general_unit_is_permitted(sample_engine):
    out = screen_each_unit(sample_engine, 3, "I6513")
    assert (out["verdict"] == "permitted").all(), out[["unit_codes", "verdict", "reasons"]]


def test_sample_documented_example(sample_engine):
    r = sample_engine.check(lon=115.97, lat=38.93, industry="C2614", type="new",
                            emissions={"VOCs": 12.5, "NOx": 3})
    assert r.verdict == "prohibited"
    assert r.units[0]["code"] == "ZH13063210001"
    decided = [c for c in r.citations if c["effect"] == "prohibit" and c["status"] == "applies"]
    assert decided and all(c["source"]["document"] and c["source"]["article"] for c in decided)


def test_check_many_reports_a_non_numeric_coordinate_per_row(sample_engine):
    from zoning.errors import InputError

    frame = gpd.GeoDataFrame({"industry": ["I6513", "I6513", "X9"], "type": "new"},
                             geometry=gpd.points_from_xy([115.97, float("nan"), 115.97], [38.93] * 3),
                             index=["P1", "P2", "P3"], crs=GEOGRAPHIC)
    out = sample_engine.check_many(frame)
    assert list(out.index) == ["P1", "P2", "P3"]
    assert out.at["P1", "verdict"] != "error" and list(out["verdict"])[1:] == ["error", "error"]
    assert out.at["P1", "error"] == ""
    assert "field 'geometry'" in out.at["P2", "error"]
    assert "field 'industry'" in out.at["P3", "error"] and "X9" in out.at["P3", "error"]
    with pytest.raises(InputError, match="row P2, field 'geometry'"):
        sample_engine.check_many(frame, errors="raise")
