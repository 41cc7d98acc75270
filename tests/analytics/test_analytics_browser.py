"""The learning pages in a real browser: every chart is drawn by Plotly, nothing leaves the host."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn

from eduops.analytics import lrs
from eduops.analytics.store import close_stores, open_store
from eduops.core import principal as security
from eduops.core.workspace import Workspace
from eduops.web.app import create_app

from . import datasets

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "test"}}


@pytest.fixture
def console_url(sqlite_ws: Workspace) -> Iterator[str]:
    data = datasets.outcomes() + datasets.weekly_cohorts() + datasets.funnel_steps() + datasets.video()
    lrs.store_statements(open_store(sqlite_ws.settings), data, AUTHORITY)
    app = create_app(sqlite_ws)
    viewer = security.Principal(name="viewer", kind="user", role="viewer")
    app.dependency_overrides[security.current_principal] = lambda: viewer
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{uv.servers[0].sockets[0].getsockname()[1]}"
    uv.should_exit = True
    thread.join(timeout=10)
    close_stores()


def test_learning_pages_draw_their_charts(console_url: str, artifacts_dir: Path) -> None:
    if not Path(CHROMIUM).exists():
        from tests.conftest import service_missing

        service_missing("chromium at /usr/bin/chromium", "not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
        requested: list[str] = []
        errors: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        course = "https://lms.example.edu/course/a"
        for name, path in [("overview", "/analytics?until=2026-03-31"), ("retention", "/analytics/retention?unit=week"),
                           ("funnel", "/analytics/funnel?steps=registered,launched,completed,passed"),
                           ("course", f"/analytics/course?course={course}")]:
            page.goto(console_url + path)
            charts = page.locator("script.chart-data").count()
            assert charts >= 1, name
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                                   timeout=30_000)
            page.screenshot(path=str(artifacts_dir / f"analytics-{name}.png"), full_page=True)
        assert page.locator("h1").first.inner_text().startswith("课程")
        browser.close()
    own = urlsplit(console_url).netloc
    assert not [u for u in requested if urlsplit(u).netloc != own and not u.startswith(("data:", "blob:"))]
    assert not errors, errors
