"""The map page of ``zoning serve`` in a real browser (headless Chromium through Playwright).

A real ``zoning serve`` (the sample region) runs in a subprocess; the page is driven as a user would:
a click on the map, the industry chosen through the autocomplete, a polygon drawn with Leaflet.draw.
Every request the page makes must go to the service itself (the page works with no internet).

Needs ``playwright`` (the Python package; its own browser download is not used) and Debian's
``/usr/bin/chromium``. Without them the browser tests skip, unless ``ZONING_REQUIRE_CHROMIUM=1``, when
they fail. The static checks at the end need neither.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "zoning" / "service" / "static"
CHROMIUM = os.environ.get("ZONING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SITE = (115.97, 38.93)  # inside ZH13063210001 安新县白洋淀优先保护单元: C2614 new is prohibited there
VERDICTS = {"prohibited", "restricted", "undetermined", "permitted", "not_covered"}


def _missing_prerequisite() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM}"
    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (zoning serve needs it)"
    return None


def _require_browser() -> None:
    reason = _missing_prerequisite()
    if reason is None:
        return
    if os.environ.get("ZONING_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"ZONING_REQUIRE_CHROMIUM=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real ``zoning serve`` on the sample region; its base URL."""
    _require_browser()
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "zoning", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"zoning serve exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"zoning serve did not answer /api/health in 60 s:\n{log.read_text(errors='replace')}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which(CHROMIUM) or CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on ``/``, its units drawn; it may reach only the service (anything else is aborted and
    fails the test), and a JavaScript error fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    outside, errors = [], []

    def only_the_service(route):
        url = route.request.url
        if url.startswith(server + "/") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", only_the_service)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/")
    page.wait_for_function("window.zoningMap && document.querySelectorAll('.leaflet-overlay-pane path').length > 0")
    yield page
    context.close()
    assert not outside, f"the page reached outside the service: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def _screen_points(page, center, lonlats, zoom):
    """Centre the map on ``center`` at ``zoom``; the page (CSS pixel) coordinates of each (lon, lat)."""
    return page.evaluate(
        """([center, points, zoom]) => {
            const map = window.zoningMap;
            map.setView([center[1], center[0]], zoom, {animate: false});
            const box = map.getContainer().getBoundingClientRect();
            return points.map(([lon, lat]) => {
                const p = map.latLngToContainerPoint([lat, lon]);
                return [box.left + p.x, box.top + p.y];
            });
        }""", [list(center), [list(p) for p in lonlats], zoom])


def _choose_industry(page, code):
    page.fill("#industry", code)
    page.click(f"#industry-list li[data-code='{code}']")
    assert page.text_content("#industry-name").startswith(code)


def test_a_click_on_the_map_checks_the_point_and_cites_the_clauses(page):
    assert page.is_visible("#illustrative")  # the sample region says it is illustrative
    [(x, y)] = _screen_points(page, SITE, [SITE], 13)
    page.mouse.click(x, y)
    assert "point" in page.text_content("#site-info")
    _choose_industry(page, "C2614")
    page.select_option("#type", "new")
    page.fill("#em-VOCs", "12.5")
    with page.expect_response(lambda r: r.url.endswith("/api/check") and r.request.method == "POST") as answer:
        page.click("#submit")
    sent = answer.value.request.post_data_json
    result = answer.value.json()
    assert answer.value.status == 200, result
    assert sent["lon"] == pytest.approx(SITE[0], abs=1e-3) and sent["lat"] == pytest.approx(SITE[1], abs=1e-3)
    assert sent["industry"] == "C2614" and sent["type"] == "new" and sent["emissions"] == {"VOCs": 12.5}
    assert "crs" not in sent

    page.wait_for_selector("#verdict[data-verdict]")
    assert page.get_attribute("#verdict", "data-verdict") == result["verdict"] == "prohibited"
    assert "禁止" in page.text_content("#verdict")
    shown = {t.strip() for t in page.locator(".clause-id").all_text_contents()}
    cited = {c["clause"] for c in result["citations"]}
    deciding = {c["clause"] for c in result["citations"] if c["effect"] == "prohibit" and c["status"] == "applies"}
    assert deciding and deciding <= shown <= cited
    assert page.locator("tr.citation").count() == len(result["citations"])
    assert page.is_hidden("#error")


def test_a_polygon_drawn_with_leaflet_draw_is_checked(page):
    lon, lat = SITE
    corners = [(lon - 0.004, lat - 0.003), (lon + 0.004, lat - 0.003), (lon + 0.004, lat + 0.003),
               (lon - 0.004, lat + 0.003)]
    points = _screen_points(page, SITE, corners, 14)
    page.click(".leaflet-draw-draw-polygon")
    for x, y in [*points, points[0]]:  # the first vertex again closes the polygon
        page.mouse.click(x, y)
        page.wait_for_timeout(100)
    page.wait_for_function("document.getElementById('site-info').textContent.includes('polygon')")
    page.fill("#industry", "C2614")  # typed, not chosen: sent as it is
    page.select_option("#type", "new")
    with page.expect_response(lambda r: r.url.endswith("/api/check") and r.request.method == "POST") as answer:
        page.click("#submit")
    sent = answer.value.request.post_data_json
    assert sent["geometry"]["type"] == "Polygon" and len(sent["geometry"]["coordinates"][0]) == 5
    assert "lon" not in sent
    page.wait_for_selector("#verdict[data-verdict]")
    verdict = page.get_attribute("#verdict", "data-verdict")
    assert verdict in VERDICTS and verdict == answer.value.json()["verdict"]


def test_an_input_error_shows_the_problem_detail(page):
    [(x, y)] = _screen_points(page, SITE, [SITE], 12)
    page.mouse.click(x, y)
    page.fill("#industry", "Z9999")
    page.click("body", position={"x": 5, "y": 5})  # close the suggestions
    with page.expect_response(lambda r: r.url.endswith("/api/check")) as answer:
        page.click("#submit")
    problem = answer.value.json()
    assert answer.value.status >= 400 and problem["detail"]
    page.wait_for_selector("#error:not([hidden])")
    assert problem["detail"] in page.text_content("#error")
    assert page.locator("#verdict").count() == 0


def test_the_siting_layer_draws_where_the_project_may_go_in_the_view(page):
    _screen_points(page, SITE, [], 12)
    _choose_industry(page, "C2614")
    page.select_option("#type", "new")
    with page.expect_response(lambda r: r.url.endswith("/api/where")) as answer:
        page.check("#where-toggle")
    sent = answer.value.request.post_data_json
    assert answer.value.status == 200
    assert sent["industry"] == "C2614" and sent["type"] == "new"
    assert len(sent["within"]) == 4 and all(isinstance(x, (int, float)) for x in sent["within"])
    features = answer.value.json()["features"]
    assert features and {f["properties"]["verdict"] for f in features} <= VERDICTS
    page.wait_for_function("document.querySelectorAll('.leaflet-where-pane path').length > 0")


# -- static checks: no browser needed --------------------------------------------------------------

def test_the_page_refers_to_no_external_url():
    for name in ("index.html", "app.js", "app.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert not re.search(r"https?://", text, re.IGNORECASE), name


def test_the_page_loads_only_files_that_are_shipped():
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:src|href)="static/([^"]+)"', html)
    assert refs and all((STATIC / ref).is_file() for ref in refs), refs


@pytest.mark.parametrize("folder", ["leaflet", "leaflet-draw", "swagger-ui"])
def test_each_vendored_package_keeps_its_licence_and_no_source_maps(folder):
    root = STATIC / "vendor" / folder
    assert (root / "LICENSE").is_file() and (root / "README.txt").is_file()
    readme = (root / "README.txt").read_text(encoding="utf-8")
    assert "npm" in readme and re.search(r"\d+\.\d+\.\d+", readme)
    assert not list(root.rglob("*.map"))
    for path in root.rglob("*"):
        if path.suffix in (".js", ".css"):
            assert "sourceMappingURL" not in path.read_text(encoding="utf-8", errors="replace"), path

