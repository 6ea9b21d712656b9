"""Shared fixtures: tiny unit layers and lists built for each behaviour."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from zoning import Engine
from zoning.cli import main
from zoning.geodesy import GEOGRAPHIC
from zoning.rules.schema import AccessList


def make_units(specs) -> gpd.GeoDataFrame:
    """specs: (code, type, (minx, miny, maxx, maxy)) in lon/lat."""
    return gpd.GeoDataFrame(
        {"code": [s[0] for s in specs], "name": [f"unit {s[0]}" for s in specs],
         "type": [s[1] for s in specs], "admin": ["130632"] * len(specs),
         "province": "", "city": "", "county": "", "remark": "",
         "spatial_layout": "", "emission_control": "", "risk_prevention": "",
         "resource_efficiency": ""},
        geometry=[shapely.box(*s[2]) for s in specs], crs=GEOGRAPHIC,
    )


def make_list(clauses, *, scope=None, list_id="test-list", level="province") -> AccessList:
    return AccessList(
        id=list_id, title="test list", issuer="tester", version="1",
        effective_from=dt.date(2020, 1, 1), level=level, scope=scope or {},
        source={"document": "doc", "issuer": "tester", "date": dt.date(2020, 1, 1)},
        clauses=[{"dimension": "spatial_layout", "text": "t", "source": {"article": str(i)}, **c}
                 for i, c in enumerate(clauses)],
    )


#: two adjacent units sharing the edge lon = 116.0: A general (west), B priority (east)
TWO_UNITS = [("ZH13063230001", 3, (115.9, 38.9, 116.0, 39.0)),
             ("ZH13063210001", 1, (116.0, 38.9, 116.1, 39.0))]


@pytest.fixture
def two_units():
    return make_units(TWO_UNITS)


@pytest.fixture(scope="session", autouse=True)
def engine_cache_dir(tmp_path_factory):
    """Engines loaded by the tests (and the commands they run) are cached in a folder of the session's,
    never in the user's own cache (see zoning.engine_cache)."""
    folder = tmp_path_factory.mktemp("zoning-cache")
    folder.chmod(0o700)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZONING_CACHE_DIR", str(folder / "cache"))
        patch.delenv("ZONING_NO_CACHE", raising=False)
        yield folder / "cache"


@pytest.fixture(scope="session")
def sample_engine():
    return Engine.load()


def run(args, *, expect=None):
    """Run the CLI; a user-facing failure must be a SystemExit, never an uncaught exception."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    if expect is not None:
        assert result.exit_code == expect, (result.exit_code, result.output)
    return result
