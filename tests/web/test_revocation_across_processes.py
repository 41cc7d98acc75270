"""Revoking a key or disabling a user from another process (the CLI beside `eduops serve`) takes effect
on a running server within 1 s, even while the server is busy with that key."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.web.live_server import Live, live_server

from eduops.config import load_settings
from eduops.core.crypto import Keyring, write_keyring
from eduops.core.workspace import Workspace, create_user, open_workspace
from eduops.web.accounts import set_disabled
from eduops.web.apikeys import create_key, revoke_key

PASSWORD = "Correct-horse-battery-9-2026"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, Workspace]]:
    home: Path = tmp_path_factory.mktemp("revoke") / "home"
    home.mkdir()
    settings = load_settings(None, home=str(home))
    write_keyring(settings.key_file, Keyring.new())
    ws = open_workspace(settings)
    with live_server(home) as live:
        yield live, ws
    ws.engine.dispose()


def _until_refused(client: httpx.Client, path: str, deadline_s: float = 5.0) -> float:
    """Seconds until the server stops answering 200 (asking all the time, as a busy client would)."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if client.get(path).status_code != 200:
            return time.monotonic() - start
    raise AssertionError(f"still answered 200 after {deadline_s} s")


def test_a_key_revoked_elsewhere_stops_working_within_a_second(served: tuple[Live, Workspace]) -> None:
    live, ws = served
    info, key = create_key(ws.engine, "lms", ["read"], actor="test")
    with httpx.Client(base_url=f"http://{live.host}:{live.port}", headers={"authorization": f"Bearer {key}"}) as c:
        for _ in range(20):  # the server has verified and is trusting the key from its cache
            assert c.get("/api/v1/runs").status_code == 200
        revoke_key(ws.engine, info["key_id"], actor="cli")
        took = _until_refused(c, "/api/v1/runs")
    assert took < 1.0, f"the revoked key still worked for {took:.2f} s"


def test_a_user_disabled_elsewhere_is_logged_out_within_a_second(served: tuple[Live, Workspace]) -> None:
    live, ws = served
    create_user(ws.engine, "vera", "viewer", PASSWORD)
    with httpx.Client(base_url=f"http://{live.host}:{live.port}") as c:
        page = c.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        answer = c.post("/login", data={"username": "vera", "password": PASSWORD, "code": "",
                                        "csrf_token": token.group(1), "next": "/"})
        assert answer.status_code == 303
        assert c.get("/api/v1/runs").status_code == 200
        set_disabled(ws.engine, "vera", True, actor="cli")
        took = _until_refused(c, "/api/v1/runs")
    assert took < 1.0, f"the disabled user still worked for {took:.2f} s"
