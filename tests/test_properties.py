"""Property tests (hypothesis) on the evaluation's invariants."""

import geopandas as gpd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TWO_UNITS, make_list, make_units
from zoning import Engine
from zoning.geodesy import GEOGRAPHIC
from zoning.verdicts import Verdict

INDUSTRIES = ["C3120", "C31", "C2614", "I6513", "D4411", "C", "2521"]
TYPES = ["new", "expansion", "renovation", "relocation", None]
ATTRS = ["VOCs", "NOx", "coal_use", "chp"]


def leaf():
    return st.one_of(
        st.builds(lambda c: {"industry": c}, st.lists(st.sampled_from(INDUSTRIES[:5] + ["C"]), min_size=1,
                                                        max_size=2)),
        st.builds(lambda t: {"type": t}, st.lists(st.sampled_from(TYPES[:4]), min_size=1, max_size=2)),
        st.builds(lambda a, op, v: {"attr": a, op: v}, st.sampled_from(ATTRS),
                  st.sampled_from(["gt", "ge", "lt", "le", "eq", "ne"]), st.sampled_from([0, 1, 5, 20])),
    )


conditions = st.recursive(leaf(), lambda kids: st.one_of(
    st.builds(lambda xs: {"all": xs}, st.lists(kids, min_size=1, max_size=3)),
    st.builds(lambda xs: {"any": xs}, st.lists(kids, min_size=1, max_size=3)),
    st.builds(lambda x: {"not": x}, kids),
), max_leaves=6)

clauses = st.builds(
    lambda effect, cond, unless: {"effect": effect, "conditions": cond,
                                  **({"unless": unless} if unless else {})},
    st.sampled_from(["prohibit", "restrict", "require"]), st.one_of(st.none(), conditions),
    st.one_of(st.none(), conditions),
)

projects = st.lists(st.fixed_dictionaries({
    "lon": st.floats(115.85, 116.15), "lat": st.floats(38.85, 39.05),
    "industry": st.sampled_from(INDUSTRIES + [None]), "type": st.sampled_from(TYPES),
    **{a: st.one_of(st.none(), st.sampled_from([0.0, 1.0] if a == "chp" else [0.0, 1.0, 5.0, 30.0]))
       for a in ATTRS},
}), min_size=1, max_size=8)


def frame(rows):
    return gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k not in ("lon", "lat")} for r in rows],
        geometry=gpd.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows]), crs=GEOGRAPHIC)


def rank(verdict):
    return int(Verdict.of(verdict))


def with_ids(cls):
    return [{**c, "id": f"C-{i}"} for i, c in enumerate(cls)]


UNITS = make_units(TWO_UNITS)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(clauses, max_size=4), conditions, projects)
def test_adding_a_prohibit_clause_never_makes_a_verdict_more_permissive(base, extra, rows):
    before = Engine(UNITS, [make_list(with_ids(base) or [{"id": "R", "effect": "require"}])])
    after = Engine(UNITS, [make_list(with_ids(base + [{"effect": "prohibit", "conditions": extra}]))])
    v0 = before.check_many(frame(rows))
    v1 = after.check_many(frame(rows))
    for a, b in zip(v0["verdict"], v1["verdict"]):
        assert rank(b) >= rank(a)
    for a, b in zip(v0["worst_case"], v1["worst_case"]):
        assert rank(b) >= rank(a)


@FAST
@given(st.lists(clauses, min_size=1, max_size=5), projects)
def test_one_at_a_time_equals_all_together(cls, rows):
    eng = Engine(UNITS, [make_list(with_ids(cls)), make_list(with_ids(cls[:2]), scope={"unit_types": [1]},
                                                             list_id="p")])
    result = ["verdict", "worst_case", "unit_codes", "unit_types", "clauses", "reasons", "missing"]
    together = eng.check_many(frame(rows))[result]
    for i, row in enumerate(rows):
        alone = eng.check_many(frame([row]))[result]
        assert alone.iloc[0].to_dict() == together.iloc[i].to_dict()
