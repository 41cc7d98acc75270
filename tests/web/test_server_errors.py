"""An unexpected exception: a JSON 500 with Connection: close and a request id, logged, never a reset."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.web.live_server import Live, live_server, wait_for

from eduops.core.workspace import Workspace
from eduops.web.app import create_app
from eduops.web.guard import request_id


@pytest.fixture
def failing_app(sqlite_ws: Workspace) -> TestClient:
    app = create_app(sqlite_ws)

    @app.get("/api/v1/test-boom")
    def boom() -> None:
        raise RuntimeError("a bug in a route")

    @app.get("/test-boom-page")
    def boom_page() -> None:
        raise KeyError("a bug in a page")

    return TestClient(app, raise_server_exceptions=False)


def test_api_500_is_json_with_request_id_and_connection_close(failing_app: TestClient,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="eduops.web"):
        answer = failing_app.get("/api/v1/test-boom", headers={"x-request-id": "abc-123"})
    assert answer.status_code == 500
    assert answer.headers["connection"] == "close"
    assert answer.headers["x-request-id"] == "abc-123"
    assert answer.json() == {"error": "internal error; the server log has the details", "request_id": "abc-123"}
    logged = [r for r in caplog.records if "abc-123" in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log, not in the answer
    assert "a bug in a route" not in answer.text


def test_page_500_is_a_short_page_in_the_viewers_language(failing_app: TestClient) -> None:
    answer = failing_app.get("/test-boom-page", headers={"accept-language": "zh-CN"})
    assert answer.status_code == 500
    assert answer.headers["connection"] == "close"
    rid = answer.headers["x-request-id"]
    assert "服务器内部出错" in answer.text and rid in answer.text


@pytest.mark.parametrize(("sent", "kept"), [("abc-123", True), ("", False), ("x" * 65, False),
                                            ("a b", False), ("<script>", False)])
def test_request_id_is_the_callers_only_when_short_and_plain(sent: str, kept: bool) -> None:
    scope = {"headers": [(b"x-request-id", sent.encode())]}
    rid = request_id(scope)
    assert (rid == sent) is kept
    assert 1 <= len(rid) <= 64


def test_every_answer_carries_a_request_id(failing_app: TestClient) -> None:
    assert len(failing_app.get("/healthz").headers["x-request-id"]) == 16


@pytest.fixture(scope="module")
def boom_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from eduops.config import load_settings
    from eduops.core.crypto import Keyring, write_keyring
    from eduops.core.workspace import open_workspace

    home = tmp_path_factory.mktemp("boom") / "home"
    home.mkdir()
    settings = load_settings(None, home=str(home))
    write_keyring(settings.key_file, Keyring.new())
    open_workspace(settings).engine.dispose()
    with live_server(home, EDUOPS_TEST_BOOM="1") as live:
        yield live


def test_a_kept_alive_client_carries_on_after_a_500(boom_server: Live) -> None:
    """The server closes the connection cleanly after the 500; the client's next request just works."""
    with httpx.Client(base_url=f"http://{boom_server.host}:{boom_server.port}") as client:
        for _ in range(3):
            failed = client.get("/api/v1/test-boom")
            assert failed.status_code == 500 and failed.headers["connection"] == "close"
            assert client.get("/healthz").status_code == 200
    log = Path(boom_server.log)
    assert wait_for(lambda: failed.headers["x-request-id"] in log.read_text())
    assert "RuntimeError: a bug in a route" in log.read_text()
