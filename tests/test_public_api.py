"""The public face: what ``import zoning`` offers, the one verdict type, sample data only when asked for,
and batch texts keyed by exactly the items they list."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import TWO_UNITS, make_units, run
from hypothesis import given, settings
from hypothesis import strategies as st

import zoning
from zoning import Engine, ParameterError, Verdict
from zoning.evaluate.summary import join_codes, join_per_project, sequence_ids
from zoning.sample import SAMPLE_NOTICE
from zoning.screening import Summary


def test_the_package_exports_its_public_names():
    assert set(zoning.__all__) == {"Engine", "Result", "screen", "MinOverlap", "Verdict", "ZoningError", "DataError",
                                   "InputError", "ParameterError", "__version__"}
    for name in zoning.__all__:
        assert getattr(zoning, name) is not None
    assert zoning.__version__ == importlib.metadata.version("zoning")
    assert (Path(zoning.__file__).parent / "py.typed").exists()  # annotations are part of the package
    assert issubclass(ParameterError, ValueError) and issubclass(ParameterError, zoning.ZoningError)


# ---- the verdict type ------------------------------------------------------------------------------------

def test_verdicts_are_ordered_by_strictness_with_the_undecided_kinds_last():
    assert Verdict.PERMITTED < Verdict.UNDETERMINED < Verdict.RESTRICTED < Verdict.PROHIBITED
    assert [v.key for v in Verdict] == ["permitted", "undetermined", "restricted", "prohibited", "not_covered",
                                        "error"]
    assert Verdict.of("restricted") is Verdict.RESTRICTED and Verdict.of(" Not_Covered ") is Verdict.NOT_COVERED
    with pytest.raises(ValueError, match="unknown verdict"):
        Verdict.of("allowed")
    assert [v.decided for v in Verdict] == [True, True, True, True, False, False]


@pytest.mark.parametrize(("verdict", "threshold", "fails"), [
    ("permitted", "restricted", False), ("undetermined", "restricted", False), ("restricted", "restricted", True),
    ("prohibited", "restricted", True), ("restricted", "prohibited", False), ("prohibited", "prohibited", True),
    ("not_covered", "prohibited", True), ("error", "prohibited", True),  # never a pass
])
def test_at_least_counts_what_is_not_a_pass_as_failing(verdict, threshold, fails):
    assert Verdict.of(verdict).at_least(threshold) is fails


def test_labels_come_from_the_one_type():
    assert Verdict.PROHIBITED.title == "禁止 PROHIBITED" and Verdict.NOT_COVERED.title == "不在管控单元内 NOT COVERED"
    assert Verdict.UNDETERMINED.zh == "待定（缺少输入）" and Verdict.ERROR.zh_short == "无法判定"
    assert Verdict.NOT_COVERED.en == "not covered"


def test_screening_summary_fails_rows_whose_worst_case_is_strict_enough_plus_uncovered_and_errors():
    summary = Summary("in", "out")
    summary.verdicts.update({"permitted": 5, "undetermined": 4, "not_covered": 2, "error": 1})
    summary.worst.update({"permitted": 3, "undetermined": 1, "restricted": 3, "prohibited": 2, "not_covered": 2,
                          "error": 1})
    assert summary.failing("restricted") == 3 + 2 + 2 + 1
    assert summary.failing("prohibited") == 2 + 2 + 1


# ---- sample data only when neither units nor rules are given ---------------------------------------------

@pytest.fixture
def own_units(tmp_path):
    path = tmp_path / "units.gpkg"
    make_units(TWO_UNITS).to_file(path)
    return path


@pytest.fixture
def own_rules(tmp_path):
    doc = {"id": "own", "title": "own list", "issuer": "tester", "version": "1", "effective_from": dt.date(2020, 1, 1),
           "level": "province", "source": {"document": "doc", "issuer": "tester", "date": dt.date(2020, 1, 1)},
           "clauses": [{"id": "KJ-1", "dimension": "spatial_layout", "effect": "prohibit",
                        "conditions": {"industry": ["C3120"]}, "text": "no steel", "source": {"article": "1"}}]}
    path = tmp_path / "own.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_own_units_without_rules_are_refused_in_the_api(own_units):
    with pytest.raises(ValueError, match="without rules") as caught:
        Engine.load(units=own_units)
    assert isinstance(caught.value, ParameterError) and "rules" in str(caught.value).split(":")[-1]


@pytest.mark.parametrize("command", [
    ["check", "--lon", "115.95", "--lat", "38.95", "--industry", "C3120"],
    ["screen", "REGISTRY", "-o", "OUT"],
    ["rules", "show", "ZH13063230001"],
    ["map", "--lon", "115.95", "--lat", "38.95", "-o", "OUT.png"],
])
def test_own_units_without_rules_are_a_usage_error_on_the_cli(own_units, tmp_path, command):
    args = [str(tmp_path / "out.csv") if a == "OUT" else str(tmp_path / "m.png") if a == "OUT.png" else
            str(zoning.sample.registry_path()) if a == "REGISTRY" else a for a in command]
    result = run([*args, "--units", own_units], expect=2)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--units given without --rules" in lines[0] and "give" in lines[0]
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "m.png").exists()


def test_own_units_with_their_rules_decide_and_say_nothing_of_the_sample(own_units, own_rules):
    result = run(["check", "--lon", "115.95", "--lat", "38.95", "--industry", "C3120", "--units", own_units,
                  "--rules", own_rules], expect=0)
    assert "PROHIBITED" in result.stdout and "illustrative" not in result.stdout.lower()
    assert not Engine.load(own_units, own_rules).illustrative


def said(notice: str, text: str) -> bool:
    """Is ``notice`` in ``text``, however the terminal wrapped it?"""
    return " ".join(notice.split()) in " ".join(text.split())


def test_the_sample_says_so_near_the_top_of_check_and_screen(tmp_path):
    check = run(["check", "--lon", "115.97", "--lat", "38.93", "--industry", "C2614"], expect=0)
    assert said(SAMPLE_NOTICE, "\n".join(check.stdout.splitlines()[:4]))
    screen = run(["screen", zoning.sample.registry_path(), "-o", tmp_path / "out.csv"], expect=0)
    assert said(SAMPLE_NOTICE, "\n".join(screen.stderr.splitlines()[:4]))  # the summary is on stderr
    assert Engine.load().illustrative


def test_own_rules_on_the_sample_units_are_still_the_sample_region(own_rules):
    result = run(["check", "--lon", "115.97", "--lat", "38.93", "--industry", "C3120", "--rules", own_rules],
                 expect=0)
    assert said(SAMPLE_NOTICE, result.stdout)  # the units are the sketched sample ones


# ---- batch texts keyed exactly ---------------------------------------------------------------------------

def naive_join(project, item, n, names, sep):
    out = [""] * n
    for p in range(n):
        out[p] = sep.join(names[i] for q, i in zip(project, item) if q == p)
    return out


def test_join_tells_apart_the_same_items_in_another_order():
    names = np.array(["a", "b", "c"], dtype=object)
    project = np.array([0, 0, 1, 1, 2, 2, 2])
    item = np.array([0, 1, 1, 0, 0, 1, 2])
    (out,) = join_per_project(project, item, 3, (names, ";"))
    assert list(out) == ["a;b", "b;a", "a;b;c"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 6), max_size=5), max_size=30))
def test_join_equals_a_plain_join_per_project(groups):
    names = np.array([f"L{i}" for i in range(7)], dtype=object)
    project = np.array([p for p, g in enumerate(groups) for _ in g], dtype=np.int64)
    item = np.array([i for g in groups for i in g], dtype=np.int64)
    expected = naive_join(project, item, len(groups), names, "|")
    (out,) = join_per_project(project, item, len(groups), (names, "|"))
    assert list(out) == expected
    (texts,) = join_codes(project, item, len(groups), (names, "|"))  # as a batch's columns are made
    assert texts.arrow().to_pylist() == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=6), min_size=1, max_size=40))
def test_sequence_ids_are_equal_exactly_when_the_sequences_are(groups):
    item = np.array([i for g in groups for i in g], dtype=np.int64)
    lengths = np.array([len(g) for g in groups])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    ids = sequence_ids(item, starts, lengths)
    for a in range(len(groups)):
        for b in range(len(groups)):
            assert (ids[a] == ids[b]) == (groups[a] == groups[b])


def test_join_gives_each_label_array_its_own_separator_whatever_the_item_dtype():
    codes = np.array(["x", "y"], dtype=object)
    texts = np.array(["甲", "乙"], dtype=object)
    for dtype in (np.int32, np.int64):
        first, second = join_per_project(np.array([0, 0, 2]), np.array([1, 0, 1], dtype=dtype), 3,
                                         (codes, ";"), (texts, " | "))
        assert list(first) == ["y;x", "", "y"] and list(second) == ["乙 | 甲", "", "乙"]


def test_check_many_refuses_an_unknown_errors_mode(two_units):
    import geopandas as gpd
    import shapely
    from conftest import make_list

    from zoning.geodesy import GEOGRAPHIC

    engine = Engine(two_units, [make_list([{"id": "K", "effect": "prohibit"}])])
    frame = gpd.GeoDataFrame({"industry": ["C3120"]}, geometry=[shapely.Point(116.05, 38.95)], crs=GEOGRAPHIC)
    with pytest.raises(ValueError, match="errors='bogus'.*'collect' or 'raise'"):
        engine.check_many(frame, errors="bogus")
