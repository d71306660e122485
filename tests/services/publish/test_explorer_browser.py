"""The explorer in a real browser: Playwright (PyPI) driving Debian's ``chromium``.

The publish service runs as a process on the embedded broker and is fed through it; the
1,000-event load test serves a store filled directly. Every test fails on a request to
another host than 127.0.0.1 and on a console error; screenshots are kept under
``test-artifacts/explorer/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from services.devtools.broker import free_port
from services.publish.http import ProductServer
from services.publish.store import LatestStore
from symae.data.reference import REPO_ROOT
from tests.services.conftest import ServiceProcess, produce, unique_prefix
from tests.services.publish.test_explorer_api import explorer_result

pytestmark = [pytest.mark.browser]

CHROMIUM = os.environ.get("SYMAE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "explorer"
LOAD_BUDGET_MS = 1000.0

if not Path(CHROMIUM).is_file():
    pytest.skip(
        f"no chromium at {CHROMIUM} (Debian package `chromium`; `make tools` installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Watched:
    """A page that records requests to other hosts (and aborts them) and console errors."""

    def __init__(self, browser) -> None:  # noqa: ANN001
        self.context = browser.new_context(viewport={"width": 1440, "height": 900})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _route(self, route, request) -> None:  # noqa: ANN001
        if urlsplit(request.url).hostname == "127.0.0.1" or request.url.startswith("data:"):
            route.continue_()
        else:
            self.outside.append(request.url)
            route.abort()

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def check(self) -> None:
        assert self.outside == [], f"requests outside 127.0.0.1: {self.outside}"
        assert self.errors == [], f"console errors: {self.errors}"


@pytest.fixture()
def watched(browser) -> Iterator[Watched]:  # noqa: ANN001
    w = Watched(browser)
    yield w
    w.context.close()
    w.check()


def _wait_listed(base: str, want: dict[str, int], timeout: float = 60.0) -> None:
    import json

    deadline = time.monotonic() + timeout
    got: dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/events", timeout=2) as resp:
                got = {e["event_id"]: e["revision"] for e in json.loads(resp.read())["events"]}
        except OSError:
            pass
        if all(got.get(k) == v for k, v in want.items()):
            return
        time.sleep(0.2)
    pytest.fail(f"publisher lists {got}, expected {want}")


def _send(bootstrap: str, prefix: str, *results) -> None:  # noqa: ANN002
    produce(
        bootstrap,
        f"{prefix}.results",
        [(f"{r.event_id}|{r.revision}|tiny:1", r.model_dump_json().encode()) for r in results],
    )


@pytest.mark.kafka
@pytest.mark.slow
def test_explorer_through_the_broker(
    tmp_path: Path, kafka_bootstrap: str, services: list, watched: Watched
) -> None:
    prefix, http_port = unique_prefix(), free_port()
    svc = ServiceProcess(
        [
            "serve",
            "publish",
            "--bootstrap-servers",
            kafka_bootstrap,
            "--http-port",
            str(http_port),
            "--products-dir",
            str(tmp_path / "products"),
        ],
        tmp_path / "publish.log",
        env={"SYMAE_TOPIC_PREFIX": prefix},
    ).start()
    services.append(svc)
    svc.wait_ready()
    base = f"http://127.0.0.1:{http_port}"
    _send(
        kafka_bootstrap,
        prefix,
        explorer_result("ev-a", seed=1, latitude=38.3, longitude=142.4, magnitude=8.0),
        explorer_result("ev-b", seed=2, latitude=-33.0, longitude=-72.0, magnitude=7.2),
    )
    _wait_listed(base, {"ev-a": 1, "ev-b": 1})
    page = watched.page

    # the list renders the rows from the API, beside the map
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']")
    rows = page.locator("#rows tr[data-id]")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.id)")) == ["ev-a", "ev-b"]
    assert page.locator("#world circle.quake").count() == 2
    assert page.locator("#world path.land").count() == 1
    watched.shot("events")

    # clicking an event opens its page
    page.locator("#rows tr[data-id='ev-a'] td").nth(2).click()
    page.wait_for_url(base + "/event/ev-a")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#sphere g[data-pixel]").count() == 8
    assert page.locator("#directivity circle").count() == 8
    assert page.locator("#stations tbody tr").count() == 24
    assert page.locator("#revisions tbody tr").count() == 1
    assert page.locator("#downloads a").count() >= 4
    watched.shot("event")

    # the method toggle changes the plotted series (by keyboard: focus and Enter)
    series = page.locator("#stf-plot path.series")
    before = series.get_attribute("d")
    buttons = page.locator("#methods button")
    assert buttons.all_inner_texts()[:1] == ["SymAE envelope (preferred)"]
    assert "raw mean envelope" in buttons.all_inner_texts()
    toggle = page.locator("#methods button", has_text="raw mean envelope")
    toggle.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#stf-plot[data-method='base:mean_envelope']")
    assert series.get_attribute("d") != before
    assert toggle.get_attribute("aria-pressed") == "true"
    assert page.locator("#stf-plot path.ref").count() == 1  # the preferred STF for reference
    watched.shot("event-mean-envelope")

    # a new revision published now appears without a reload
    page.evaluate("window.__sameDocument = true")
    _send(kafka_bootstrap, prefix, explorer_result("ev-a", revision=2, seed=1, width=9.0))
    page.wait_for_selector("body[data-revision='2']", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#revisions tbody tr").count() == 2
    assert page.get_attribute("#stf-plot", "data-method") == "base:mean_envelope"

    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']")
    page.evaluate("window.__sameDocument = true")
    _send(kafka_bootstrap, prefix, explorer_result("ev-c", seed=3, latitude=0.0, longitude=100.0))
    page.wait_for_selector("#rows tr.fresh[data-id='ev-c']", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#rows tr[data-id]").count() == 3
    assert "ev-c revision 1" in page.inner_text("#live")
    watched.shot("events-live")
    page.close()  # closes the live stream before the publisher stops
    assert svc.stop() == 0


def test_events_page_with_1000_events_loads_within_a_second(
    tmp_path: Path, watched: Watched
) -> None:
    store = LatestStore(tmp_path)
    for i in range(1000):
        store.record(
            explorer_result(
                f"ev{i:04d}",
                seed=i,
                latitude=-60 + (i * 7.3) % 130,
                longitude=-180 + (i * 13.7) % 360,
                magnitude=6.0 + (i % 30) / 10,
            )
        )
    server = ProductServer(store, port=0, host="127.0.0.1").start()
    try:
        page = watched.page
        # three loads (the first with a cold cache); the tests share a busy machine, so
        # the best of them is held to the budget and all are reported
        timings = []
        for _ in range(3):
            page.goto(f"http://127.0.0.1:{server.port}/")
            page.wait_for_selector("#rows[data-rows='1000']")
            timings.append(
                page.evaluate("""() => ({
                rendered: performance.getEntriesByName('events-rendered')[0].startTime,
                complete: performance.getEntriesByName('events-complete')[0].startTime,
                load: performance.getEntriesByType('navigation')[0].loadEventEnd})""")
            )
        report = "\n".join(
            f"load {i}: first rows and map {t['rendered']:.0f} ms, all 1000 rows "
            f"{t['complete']:.0f} ms, load event {t['load']:.0f} ms"
            for i, t in enumerate(timings)
        )
        print(report)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "load-1000.txt").write_text(report + "\n")
        best = min(timings, key=lambda t: t["rendered"])
        assert best["rendered"] < LOAD_BUDGET_MS and best["load"] < LOAD_BUDGET_MS, report
        assert page.locator("#rows tr[data-id]").count() == 1000
        assert page.locator("#world circle.quake").count() == 1000
        watched.shot("events-1000")

        # sort by Mw (descending first), then filter by text and by magnitude
        page.click("#events th[data-key='mw'] button")
        assert page.get_attribute("#events th[data-key='mw']", "aria-sort") == "descending"
        assert page.locator("#rows tr[data-id] td").nth(3).inner_text() == "8.9"
        page.fill("#filter-text", "region 3")
        n_region = page.locator("#rows tr[data-id]").count()
        assert 0 < n_region < 1000 and "of 1000 events" in page.inner_text("#count")
        page.fill("#filter-mw", "8.5")
        assert 0 < page.locator("#rows tr[data-id]").count() < n_region
        # keyboard: rows take the focus and arrow keys move it
        page.fill("#filter-text", "")
        page.locator("#rows tr[data-id]").first.focus()
        page.keyboard.press("ArrowDown")
        focused = page.evaluate("document.activeElement.dataset.id")
        assert focused and focused == page.locator("#rows tr[data-id]").nth(1).get_attribute(
            "data-id"
        )
    finally:
        watched.page.close()
        server.stop()


def test_event_page_shows_schema_2_fields(tmp_path: Path, watched: Watched) -> None:
    """The fields RESULT.json schema 2 adds (preferred method, alternatives, apparent STFs,
    trace misfits and rejections, inversion) are shown when a result has them; the file
    is edited on disk because the pydantic model here is still schema 1."""
    import json

    from tests.services.publish.test_products import publish

    store = LatestStore(tmp_path)
    publish(store, explorer_result("ev-v2", seed=4))
    path = store.folder("ev-v2") / "result.json"
    doc = json.loads(path.read_text())
    envelope = dict(doc["stf"])
    doc["schema_version"] = 2
    doc["stf"] = {**doc["baselines"]["stack"], "method": "inversion"}
    doc["alternatives"] = {"inversion": doc["stf"], "envelope": envelope}
    doc["pixels"][0]["apparent_stf"] = doc["baselines"]["mean_envelope"]
    doc["traces"][0].update(misfit=0.42, used=False, reason="low snr")
    doc["traces"][1].update(misfit=0.1, used=True)
    doc["inversion"] = {
        "depth_km": 21.0,
        "depth_source": "inversion",
        "mechanism": {"strike": 200, "dip": 15, "rake": 90},
        "mechanism_source": "gcmt",
        "duration_s": 31.0,
        "centroid_s": 16.0,
    }
    path.write_text(json.dumps(doc))
    server = ProductServer(store, port=0, host="127.0.0.1").start()
    try:
        page = watched.page
        page.goto(f"http://127.0.0.1:{server.port}/event/ev-v2")
        page.wait_for_selector("body[data-ready='1']")
        labels = page.locator("#methods button").all_inner_texts()
        assert labels[:2] == ["inversion (preferred)", "envelope"], labels
        assert "raw mean envelope" in labels
        page.locator("#methods button", has_text="envelope").first.click()
        assert page.get_attribute("#stf-plot", "data-method") == "alt:envelope"
        first = page.locator("#stations tbody tr").first.inner_text()
        assert "rejected: low snr" in first and "0.420" in first
        assert "gcmt" in page.inner_text("#inversion") and "21 km" in page.inner_text("#inversion")
        watched.shot("event-schema-2")
    finally:
        watched.page.close()
        server.stop()
