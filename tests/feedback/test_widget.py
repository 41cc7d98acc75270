"""The embeddable widget, for real: a page on another origin loads it from eduops and a user sends feedback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from eduops.feedback.service import support_queue
from eduops.web.apikeys import create_key
from eduops.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _serve(app: FastAPI) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


@pytest.fixture
def servers(sqlite_ws) -> Iterator[tuple[str, str]]:
    _, key = create_key(sqlite_ws.engine, "widget on the school site", ["ingest:feedback"], actor="test")
    console_url, console, t1 = _serve(create_app(sqlite_ws))
    school = FastAPI()

    @school.get("/lesson")
    def lesson() -> HTMLResponse:
        return HTMLResponse(
            f'<!doctype html><html><body><h1>Lesson</h1><script src="{console_url}/feedback/static/'
            f'widget.js" data-key="{key}" data-user="u42" data-app-version="5.3.1"></script>'
            "</body></html>"
        )

    school_url, site, t2 = _serve(school)
    yield console_url, school_url
    for server, thread in ((console, t1), (site, t2)):
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.browser
def test_widget_on_another_origin_sends_feedback(sqlite_ws, servers: tuple[str, str], artifacts_dir: Path) -> None:
    if not Path(CHROMIUM).exists():
        from tests.conftest import service_missing

        service_missing("chromium at /usr/bin/chromium", "not installed")
    from playwright.sync_api import sync_playwright

    _, school_url = servers
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(locale="zh-CN")
        page.goto(f"{school_url}/lesson")
        page.click("#eduops-feedback-open")
        page.fill("#eduops-feedback-text", "上课视频一直卡顿，声音断断续续")
        page.click("#eduops-feedback-send")
        page.wait_for_function("document.getElementById('eduops-feedback-status').textContent.length > 0")
        status = page.text_content("#eduops-feedback-status")
        page.screenshot(path=str(artifacts_dir / "widget.png"))
        browser.close()
    assert status == "已收到，谢谢！"
    [item] = support_queue(sqlite_ws.engine)
    assert (item["user"], item["channel"], item["category"]) == ("u42", "widget", "audio_video")
    assert item["text"] == "上课视频一直卡顿，声音断断续续"
