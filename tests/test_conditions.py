"""Each condition operator: true, false and unknown (three-valued)."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from zoning.evaluate.columns import Columns
from zoning.geodesy import GEOGRAPHIC
from zoning.projects import normalise
from zoning.rules.conditions import AllOf, Always, AnyOf, Compare, IndustryIn, Not, TypeIn, applies


def columns(*rows):
    frame = gpd.GeoDataFrame(list(rows), geometry=[shapely.Point(116, 39)] * len(rows), crs=GEOGRAPHIC)
    return Columns.from_projects(normalise(frame))


def truth(cond, *rows, unless=None):
    t = applies(cond, unless, columns(*rows))
    return ["T" if a else "F" if b else "U" for a, b in zip(t.true, t.false)]


@pytest.mark.parametrize("op, value, expected", [
    ("gt", 10, ["T", "F", "F", "U"]),
    ("ge", 10, ["T", "T", "F", "U"]),
    ("lt", 10, ["F", "F", "T", "U"]),
    ("le", 10, ["F", "T", "T", "U"]),
    ("eq", 10, ["F", "T", "F", "U"]),
    ("ne", 10, ["T", "F", "T", "U"]),
])
def test_comparisons(op, value, expected):
    rows = [{"VOCs": 12.5}, {"VOCs": 10}, {"VOCs": 0}, {}]
    assert truth(Compare("VOCs", ((op, value),)), *rows) == expected


def test_range_needs_every_operator():
    cond = Compare("NOx", (("ge", 1), ("lt", 5)))
    assert truth(cond, {"NOx": 1}, {"NOx": 5}, {"NOx": 0.5}, {}) == ["T", "F", "F", "U"]


def test_flag_attribute():
    cond = Compare("chp", (("eq", 1.0),))
    assert truth(cond, {"chp": "true"}, {"chp": "否"}, {}) == ["T", "F", "U"]


def test_type():
    cond = TypeIn(("new", "expansion"))
    assert truth(cond, {"type": "new"}, {"type": "改扩建"}, {"type": "relocation"}, {}) == ["T", "T", "F", "U"]


@pytest.mark.parametrize("clause_code, project, expected", [
    ("C", "C3120", "T"),    # section covers its classes
    ("31", "C3120", "T"),   # division
    ("312", "3120", "T"),   # group
    ("3120", "3120", "T"),  # class
    ("3110", "3120", "F"),
    ("32", "3120", "F"),
    ("D", "3120", "F"),
    ("3120", "31", "U"),    # project coded too coarsely to decide
    ("3120", "C", "U"),
    ("3120", "32", "F"),    # coarse, but not an ancestor of the clause code
    ("31", "31", "T"),
    ("3120", None, "U"),    # not supplied
])
def test_industry_prefix_levels(clause_code, project, expected):
    from zoning.industries import table

    cond = IndustryIn((table().normalise(clause_code),))
    row = {"industry": project} if project else {}
    assert truth(cond, row) == [expected]


def test_all_any_not_kleene():
    t, f = Compare("VOCs", (("gt", 0),)), Compare("NOx", (("gt", 0),))
    rows = [{"VOCs": 1, "NOx": 0}, {"VOCs": 1}, {"NOx": 0}, {"VOCs": 0}]
    # VOCs>0: T, T, U, F ; NOx>0: F, U, F, U
    assert truth(AllOf((t, f)), *rows) == ["F", "U", "F", "F"]
    assert truth(AnyOf((t, f)), *rows) == ["T", "T", "U", "U"]
    assert truth(Not(t), *rows) == ["F", "F", "U", "T"]
    assert truth(Always(), *rows) == ["T", "T", "T", "T"]


def test_unless_exception():
    cond = IndustryIn(("4411",))
    unless = Compare("chp", (("eq", 1.0),))
    rows = [{"industry": "D4411", "chp": True}, {"industry": "D4411", "chp": False},
            {"industry": "D4411"}, {"industry": "I6513"}]
    assert truth(cond, *rows, unless=unless) == ["F", "T", "U", "F"]


def test_masks_are_arrays_over_rows():
    t = applies(TypeIn(("new",)), None, columns(*[{"type": "new"}] * 1000))
    assert isinstance(t.true, np.ndarray) and t.true.all()


# ---- expressions: the conditions' fast path agrees with the audit trail's --------------------

def _expressions():
    from hypothesis import strategies as st

    from zoning.rules.expressions import Attr, Bin, Call, Neg, Num

    leaf = st.one_of(st.sampled_from([Num(0.0), Num(1.0), Num(2.5), Num(1e300)]),
                     st.sampled_from([Attr("COD"), Attr("NOx"), Attr("VOCs")]))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.builds(Neg, inner),
        st.builds(Bin, st.sampled_from(["+", "-", "*", "/"]), inner, inner),
        st.builds(lambda fn, a, b: Call(fn, (a, b)), st.sampled_from(["min", "max"]), inner, inner)), max_leaves=6)


class _Inputs:
    def __init__(self, values: dict):
        self.values = values

    def attribute(self, name):
        return self.values[name]

    def parameter(self, name):  # pragma: no cover - the strategies name no parameters
        raise AssertionError(name)


def test_expression_masks_agree_with_the_audited_truth():
    """What conditions evaluate (NaN for every problem) equals what the audit trail explains (problem codes),
    for random expressions over zeros, missing values, huge values and divisions."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from zoning.rules.expressions import COMPARISONS, Comparison

    pool = np.array([0.0, 1.0, 2.5, -3.0, np.nan, 1e300, 1e-300, 7.0])
    rng = np.random.default_rng(7)
    inputs = _Inputs({k: rng.choice(pool, 400) for k in ("COD", "NOx", "VOCs")})

    @settings(max_examples=300, deadline=None)
    @given(_expressions(), _expressions(), st.sampled_from(sorted(COMPARISONS)))
    def check(left, right, op):
        comparison = Comparison(op, left, right)
        true, false, _ = comparison.truth(inputs, 400)
        fast_true, fast_false = comparison.mask(inputs, 400)
        assert (fast_true == true).all() and (fast_false == false).all(), comparison.text()

    check()
