"""The HTTP service (issue 17): every endpoint and error status, through the real ASGI app.

The app is the one ``zoning serve`` runs, driven in-process by Starlette's
TestClient (with its lifespan: the engine warmed, the job dispatcher
started). Screening jobs run as ``zoning serve`` runs them, in a child process.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd
import pytest
import shapely

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from zoning import Engine  # noqa: E402
from zoning.sample import registry_path  # noqa: E402
from zoning.service import Settings, create_app  # noqa: E402
from zoning.service.jobs import read_state, write_state  # noqa: E402

CHECK = {"lon": 115.97, "lat": 38.93, "industry": "C2614", "type": "new", "emissions": {"VOCs": 12.5}}
SAMPLE_LOAD = {"units": None, "rules": None, "zones": None, "io_engine": "pyogrio", "as_of": None}


@pytest.fixture(scope="module")
def engine():
    return Engine.load()


@pytest.fixture
def client(engine, tmp_path):
    app = create_app(engine, Settings(jobs_dir=tmp_path / "jobs", load_args=SAMPLE_LOAD, job_workers=2))
    with TestClient(app) as c:
        yield c


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"] and "Traceback" not in response.text
    return body


# ---- checks -----------------------------------------------------------------------------

def test_check_returns_what_the_cli_prints(client, engine):
    response = client.post("/api/check", json=CHECK)
    assert response.status_code == 200
    expected = engine.check(lon=115.97, lat=38.93, industry="C2614", type="new", emissions={"VOCs": 12.5})
    assert response.json() == json.loads(json.dumps(expected.to_dict(), ensure_ascii=False))
    feature = client.post("/api/check?format=geojson", json=CHECK).json()
    assert feature["type"] == "Feature" and feature["properties"]["verdict"] == "prohibited"


def test_check_with_a_geometry_a_crs_explain_and_guidance(client, engine):
    polygon = shapely.box(115.5, 38.85, 115.62, 38.95)
    body = {"geometry": shapely.geometry.mapping(polygon), "industry": "C3120", "type": "new"}
    result = client.post("/api/check", json=body).json()
    assert result["project"]["geometry_type"] == "Polygon" and len(result["units"]) > 1
    amap = client.post("/api/check", json={**CHECK, "crs": "gcj02"}).json()
    assert amap["project"]["input_crs"].lower().startswith("gcj")
    explained = client.post("/api/check", json={**CHECK, "explain": True, "guidance": True}).json()
    assert explained["explanation"] and explained["guidance"]["kind"] == "guidance"
    dated = client.post("/api/check", json={**CHECK, "as_of": "2022-06-01"}).json()
    assert dated["provenance"]["as_of"] == "2022-06-01"


@pytest.mark.parametrize(("body", "field"), [
    ({**CHECK, "industry": "X9999"}, None),
    ({**CHECK, "colour": "red"}, "colour"),
    ({"industry": "C2614"}, "geometry"),
    ({**CHECK, "geometry": {"type": "Point", "coordinates": [1, 2]}}, "geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": "nonsense"}}, "geometry"),
    ({**CHECK, "lon": "east"}, "lon"),
    ({**CHECK, "emissions": {"VOCs": "lots"}}, None),
    ({**CHECK, "as_of": "1999-01-01"}, None),
])
def test_bad_checks_are_422_naming_the_field(client, body, field):
    found = problem(client.post("/api/check", json=body), 422)
    if field is not None:
        assert field in json.dumps(found, ensure_ascii=False)


def test_no_path_from_a_client_is_ever_read(client):
    """A site is GeoJSON or lon/lat: a path given where a geometry goes is refused, never opened."""
    problem(client.post("/api/check", json={"geometry": "/etc/passwd", "industry": "C2614"}), 422)
    problem(client.post("/api/check", json={"site": "/etc/passwd", "industry": "C2614"}), 422)


def test_batch_answers_in_order_with_per_item_errors(client, engine):
    projects = [CHECK, {**CHECK, "industry": "X9999"}, {"lon": 115.5, "lat": 38.9, "industry": "C3120"},
                {"industry": "C2614"}, {**CHECK, "explain": True}]
    results = client.post("/api/check/batch", json={"projects": projects}).json()["results"]
    assert [r["index"] for r in results] == list(range(5))
    assert results[0]["result"]["verdict"] == "prohibited"
    assert results[2]["result"]["verdict"] == engine.check(lon=115.5, lat=38.9, industry="C3120").verdict
    for i in (1, 3, 4):
        assert results[i]["error"]["status"] == 422 and results[i]["error"]["detail"]


def test_batch_limit_and_token(engine, tmp_path):
    app = create_app(engine, Settings(jobs_dir=tmp_path, max_batch=2, token="s3cret"))
    with TestClient(app) as c:
        body = {"projects": [CHECK, CHECK, CHECK]}
        problem(c.post("/api/check/batch", json=body), 401)
        problem(c.post("/api/check/batch", json=body, headers={"Authorization": "Bearer wrong"}), 401)
        problem(c.post("/api/check/batch", json=body, headers={"Authorization": "Bearer s3cret"}), 413)
        ok = c.post("/api/check/batch", json={"projects": [CHECK]}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert c.post("/api/check", json=CHECK).status_code == 200  # single checks stay open
        problem(c.post("/api/report", json=CHECK), 401)
        problem(c.get("/api/jobs/" + "0" * 32), 401)


def test_where_is_the_siting_layer_as_geojson(client, engine):
    body = {"industry": "A0313", "type": "new", "within": ["130632"]}
    collection = client.post("/api/where", json=body).json()
    expected = engine.where({"industry": "A0313", "type": "new"}, within=["130632"])
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == len(expected)
    assert sorted(f["properties"]["verdict"] for f in collection["features"]) == sorted(expected["verdict"])
    boxed = client.post("/api/where", json={"industry": "A0313", "within": [115.4, 38.8, 115.6, 38.95]}).json()
    assert all(f["properties"]["unit_code"] for f in boxed["features"])
    problem(client.post("/api/where", json={"industry": "A0313", "within": ["ZH00000000000"]}), 422)


@pytest.mark.parametrize(("fmt", "magic"), [("docx", b"PK"), ("html", b"<!")])
def test_report(client, fmt, magic):
    response = client.post(f"/api/report?format={fmt}", json={**CHECK, "guidance": True})
    assert response.status_code == 200 and response.content[:2] == magic
    assert "attachment" in response.headers["content-disposition"]
    if fmt == "html":
        assert "改变结论的条件" in response.text


def test_site_upload(client, tmp_path):
    wkt = "POLYGON((115.5 38.85, 115.62 38.85, 115.62 38.95, 115.5 38.95, 115.5 38.85))"
    answer = client.post("/api/site", files={"file": ("site.wkt", wkt.encode())}).json()
    assert shapely.geometry.shape(answer["geometry"]).equals(shapely.from_wkt(wkt))
    problem(client.post("/api/site", files={"file": ("site.exe", b"MZ")}), 415)
    problem(client.post("/api/site", files={"file": ("site.wkt", b"not wkt at all")}), 422)


def test_uploads_over_the_limit_are_413(engine, tmp_path):
    app = create_app(engine, Settings(jobs_dir=tmp_path, max_upload_mb=1))
    with TestClient(app) as c:
        big = b"POINT(115.5 38.9)" + b" " * (1024 * 1024 + 10)
        problem(c.post("/api/site", files={"file": ("site.wkt", big)}), 413)
        problem(c.post("/api/screen", files={"file": ("r.csv", big)}), 413)


# ---- layers, industries, health -----------------------------------------------------------

def test_units_in_a_box_paged_and_simplified(client, engine):
    whole = client.get("/api/units?bbox=115,38,120,40").json()
    assert whole["total"] == len(engine.units) and whole["next"] is None
    page = client.get("/api/units?bbox=115,38,120,40&limit=10").json()
    assert len(page["features"]) == 10 and page["next"] == 10
    rest = client.get(f"/api/units?bbox=115,38,120,40&limit=1000&offset={page['next']}").json()
    codes = {f["properties"]["code"] for f in page["features"] + rest["features"]}
    assert codes == set(engine.units["code"])
    coarse = client.get("/api/units?bbox=115,38,120,40&zoom=5").json()
    vertices = sum(len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))) for f in coarse["features"])
    assert vertices < shapely.get_num_coordinates(engine.units.geometry.to_numpy()).sum()
    small = client.get("/api/units?bbox=115.96,38.92,115.98,38.94").json()
    assert 0 < small["total"] < len(engine.units)
    problem(client.get("/api/units?bbox=1,2,3"), 422)
    zones = client.get("/api/zones?bbox=115,38,120,40").json()
    assert zones["total"] == len(engine.zones)


def test_one_unit_with_its_clauses(client, engine):
    code = engine.units["code"].iloc[0]
    body = client.get(f"/api/units/{code}").json()
    assert body["unit"]["code"] == code and body["clauses"]
    problem(client.get("/api/units/ZH00000000000"), 404)


def test_industries_autocomplete(client):
    by_code = client.get("/api/industries?q=C261").json()["items"]
    assert by_code[0]["code"].startswith("C261") and any(i["code"] == "C2614" for i in by_code)
    by_name = client.get("/api/industries?q=有机化学").json()["items"]
    assert any(i["code"] == "C2614" for i in by_name)
    assert client.get("/api/industries").json()["items"][0]["level"] == "section"


def test_health_docs_and_openapi_offline(client, engine):
    health = client.get("/api/health").json()
    assert health["units"] == len(engine.units) and health["rules_sha256"] == engine.provenance["rules_sha256"]
    assert health["illustrative"] is True and len(health["bounds"]) == 4
    spec = client.get("/openapi.json").json()
    for path in ("/api/check", "/api/check/batch", "/api/screen", "/api/jobs/{job_id}", "/api/where",
                 "/api/report", "/api/units", "/api/units/{code}", "/api/zones", "/api/industries", "/api/health"):
        assert path in spec["paths"]
    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn.jsdelivr" not in docs


def test_cors_is_off_unless_asked(engine, tmp_path, client):
    origin = {"Origin": "http://example.org"}
    assert "access-control-allow-origin" not in client.get("/api/health", headers=origin).headers
    app = create_app(engine, Settings(jobs_dir=tmp_path, cors_origins=("http://example.org",)))
    with TestClient(app) as c:
        assert c.get("/api/health", headers=origin).headers["access-control-allow-origin"] == "http://example.org"


def test_an_unexpected_failure_is_a_500_problem_without_internals(engine, tmp_path, monkeypatch):
    app = create_app(engine, Settings(jobs_dir=tmp_path))
    monkeypatch.setattr(Engine, "where", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("secret detail")))
    with TestClient(app, raise_server_exceptions=False) as c:
        body = problem(c.post("/api/where", json={"industry": "A0313"}), 500)
        assert "secret" not in json.dumps(body)


# ---- screening jobs ----------------------------------------------------------------------

def wait_for(client, job_id: str, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job_id}").json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {seconds} s: {state}")


def submit(client, path: Path, name: str | None = None, **form) -> dict:
    with open(path, "rb") as fh:
        response = client.post("/api/screen", files={"file": (name or path.name, fh)}, data=form)
    assert response.status_code == 202, response.text
    return response.json()


def test_two_jobs_at_once_give_correct_outputs(client, engine):
    registry = registry_path()
    jobs = [submit(client, registry), submit(client, registry, "second.csv")]
    states = [wait_for(client, j["id"]) for j in jobs]
    for state in states:
        assert state["state"] == "done", state
        assert state["rows_done"] == state["rows_total"] == 200
    for j in jobs:
        csv = pd.read_csv(io.BytesIO(client.get(f"/api/jobs/{j['id']}/result?format=csv").content), dtype=str)
        assert len(csv) == 200 and "verdict" in csv.columns
        for fmt, magic in (("xlsx", b"PK"), ("gpkg", b"SQLite format 3"), ("parquet", b"PAR1")):
            data = client.get(f"/api/jobs/{j['id']}/result?format={fmt}").content
            assert data.startswith(magic), fmt
        layer = client.get(f"/api/jobs/{j['id']}/result?format=geojson").json()
        assert len(layer["features"]) == 200
        assert sorted(f["properties"]["verdict"] for f in layer["features"]) == sorted(csv["verdict"])
    # the CLI gives the same verdicts
    from zoning.screening import screen

    out = Path(client.app.state.service.jobs.folder) / "cli.csv"
    screen(engine, registry, out)
    assert sorted(pd.read_csv(out, dtype=str)["verdict"]) == sorted(csv["verdict"])


def test_job_errors_and_deletion(client, tmp_path):
    problem(client.post("/api/screen", files={"file": ("r.exe", b"MZ")}), 415)
    problem(client.get("/api/jobs/not-an-id"), 404)
    problem(client.get("/api/jobs/" + "a" * 32), 404)
    bad = tmp_path / "bad.csv"
    bad.write_text("just,a,header\n", encoding="utf-8")
    failed = wait_for(client, submit(client, bad)["id"])
    assert failed["state"] in ("failed", "done")
    job = submit(client, registry_path())
    wait_for(client, job["id"])
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    problem(client.get(f"/api/jobs/{job['id']}"), 404)
    idle = TestClient(create_app(client.app.state.service.engine, Settings(jobs_dir=tmp_path / "idle")))
    # (no lifespan: nothing runs its jobs)
    queued = submit(idle, registry_path())
    problem(idle.get(f"/api/jobs/{queued['id']}/result"), 409)
    problem(client.post("/api/screen", files={"file": ("r.csv", b"a,b\n")}, data={"columns": "[1]"}), 422)


def test_a_job_survives_a_restart(engine, tmp_path):
    """A job queued while no dispatcher runs, and one left 'running' by a server that stopped, are both
    run by the next server on the same jobs directory."""
    settings = Settings(jobs_dir=tmp_path / "jobs", load_args=SAMPLE_LOAD)
    first = create_app(engine, settings)
    queued = submit(TestClient(first), registry_path())  # no lifespan: nothing dispatches
    assert TestClient(first).get(f"/api/jobs/{queued['id']}").json()["state"] == "queued"
    interrupted = submit(TestClient(first), registry_path(), "interrupted.csv")
    folder = settings.jobs_dir / interrupted["id"]
    state = read_state(folder)
    write_state(folder, {**state, "state": "running", "rows_done": 100})
    with TestClient(create_app(engine, settings)) as second:
        for job in (queued, interrupted):
            done = wait_for(second, job["id"])
            assert done["state"] == "done" and done["rows_total"] == 200
        assert "restarted" in second.get(f"/api/jobs/{interrupted['id']}").json().get("note", "")
