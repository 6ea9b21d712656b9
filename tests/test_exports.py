"""``zoning export units`` and the annotated outputs opened the way GDAL users open them."""

from __future__ import annotations

import json
import logging
import warnings

import fiona
import pyogrio
import pytest

from tests.conftest import TWO_UNITS, make_list, make_units
from tests.test_screening import check_rfc7946
from zoning import Engine
from zoning.errors import DataError
from zoning.outputs.unit_export import export_units, unit_summary


@pytest.fixture(scope="module")
def engine():
    lst = make_list([
        {"id": "STEEL", "effect": "prohibit", "conditions": {"all": [{"industry": ["C31"]}, {"type": ["new"]}]}},
        {"id": "NOT-OFFICE", "effect": "restrict", "conditions": {"not": {"industry": ["I6513"]}}},
        {"id": "EIA", "effect": "require"},
    ])
    priority = make_list([{"id": "ALL-INDUSTRY", "effect": "prohibit", "conditions": {"industry": ["C"]}}],
                         scope={"unit_types": [1]}, list_id="priority")
    units = make_units(TWO_UNITS)
    units.loc[1, "spatial_layout"] = "禁止新建工业项目"  # layer text: a review-only requirement
    return Engine(units, [lst, priority])


def test_unit_summary_counts_and_industries(engine):
    frame, clauses = unit_summary(engine)
    a, b = frame.iloc[0], frame.iloc[1]
    assert (a["n_prohibit"], a["n_restrict"], a["n_require"]) == (1, 1, 1)
    assert (b["n_prohibit"], b["n_restrict"], b["n_require"]) == (2, 1, 2)  # + priority list, + layer text
    assert a["prohibited_industries"] == "C31"
    assert b["prohibited_industries"] == "C;C31"
    assert a["restricted_industries"] == ""  # an industry under "not" is an exception, not a target
    assert b["lists"] == "test-list;priority;ZH13063210001-layer"  # in load order
    full = json.loads(clauses[1])
    assert [c["clause"] for c in full] == ["STEEL", "NOT-OFFICE", "EIA", "ALL-INDUSTRY", "spatial_layout"]
    assert full[0]["source"]["document"] == "doc" and full[-1]["review_only"] is True


def _open_without_warnings(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pyogrio turns GDAL warnings into Python warnings
        info = pyogrio.read_info(path)
        frame = pyogrio.read_dataframe(path)
    return info, frame


def test_geojson_export_is_rfc7946_and_opens_cleanly(engine, tmp_path, caplog):
    out = tmp_path / "units.geojson"
    assert export_units(engine, out) == 2
    text = out.read_text(encoding="utf-8")
    collection = json.loads(text)
    check_rfc7946(collection, text)
    props = collection["features"][1]["properties"]
    assert props["code"] == "ZH13063210001" and props["type"] == 1
    assert isinstance(props["clauses"], list) and props["clauses"][0]["effect"] == "prohibit"
    info, frame = _open_without_warnings(out)
    assert info["features"] == 2 and info["crs"] == "EPSG:4326"
    with caplog.at_level(logging.WARNING), fiona.open(out) as src:
        assert len(list(src)) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_gpkg_export_opens_cleanly(engine, tmp_path, caplog):
    out = tmp_path / "units.gpkg"
    export_units(engine, out)
    info, frame = _open_without_warnings(out)
    assert info["geometry_type"] == "MultiPolygon" and info["crs"] == "EPSG:4490"
    assert json.loads(frame.loc[0, "clauses_json"])[0]["clause"] == "STEEL"
    with caplog.at_level(logging.WARNING), fiona.open(out) as src:
        assert len(list(src)) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_screened_outputs_open_cleanly(engine, tmp_path):
    from tests.test_screening import registry_frame
    from zoning.screening import screen

    src = tmp_path / "r.csv"
    registry_frame().to_csv(src, index=False)
    for suffix in (".geojson", ".gpkg", ".geojsons"):
        out = tmp_path / f"o{suffix}"
        screen(engine, src, out)
        info, frame = _open_without_warnings(out)
        assert info["features"] == len(frame) == len(registry_frame())


def test_export_refuses_other_formats(engine, tmp_path):
    with pytest.raises(DataError, match="write .geojson or .gpkg"):
        export_units(engine, tmp_path / "units.csv")
    assert not list(tmp_path.iterdir())


def test_sample_export(tmp_path):
    engine = Engine.load()
    out = tmp_path / "units.geojson"
    assert export_units(engine, out) == len(engine.units)
    text = out.read_text(encoding="utf-8")
    check_rfc7946(json.loads(text), text)
