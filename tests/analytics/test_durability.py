"""Acknowledged statements survive kill -9 of a real `eduops serve`; a second process gets a clear error."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eduops.core.workspace import init_workspace
from eduops.db import dispose_engines
from eduops.web.apikeys import create_key

from .helpers import XAPI, day, statement

EDUOPS = str(Path(sys.executable).parent / "eduops")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(home: Path, port: int, **settings: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env.update(EDUOPS_CONFIG=str(home / "eduops.toml"), **settings)
    proc = subprocess.Popen([EDUOPS, "serve", "--port", str(port), "--no-scheduler"], cwd=home, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"eduops serve exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)  # polling a server that is starting, with a deadline
    proc.kill()
    raise AssertionError("eduops serve did not answer /healthz within 60 s")


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2:].split()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2] != "Z"


def _helpers_ready(port: int, headers: dict[str, str], count: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        status = httpx.get(f"http://127.0.0.1:{port}/api/v1/analytics/status", headers=headers, timeout=30).json()
        if status.get("ingest_helpers", {}).get("ready") == count:
            return
        assert time.monotonic() < deadline, status
        time.sleep(0.1)  # polling helpers that are starting, with a deadline


def _children(pid: int, count: int) -> list[int]:
    """The ``count`` child processes of ``pid`` (the ingest helpers it starts), once they are all there."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_of(int(p)) == pid]
        if len(found) >= count:
            return found
        time.sleep(0.1)  # polling for processes that are starting, with a deadline
    raise AssertionError(f"the server started {len(found)} helper processes, not {count}")


@pytest.fixture
def workspace_with_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    for key in [k for k in os.environ if k.startswith("EDUOPS_")]:
        monkeypatch.delenv(key)
    home = tmp_path / "ws"
    ws, _password = init_workspace(home, admin_password="Durable-Test-2026!x")
    _info, key = create_key(ws.engine, "lms", ["ingest:xapi", "read"], actor="test")
    dispose_engines()
    yield home, key


@pytest.mark.slow
def test_kill_9_right_after_2xx_loses_nothing(workspace_with_key: tuple[Path, str]) -> None:
    home, key = workspace_with_key
    basic = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = {**XAPI, "Authorization": basic, "Content-Type": "application/json"}
    port = _free_port()
    server = _serve(home, port, EDUOPS_EVENTS__INGEST_PROCESSES="2")  # acknowledged through a helper process
    ids = [str(uuid.uuid4()) for _ in range(100)]
    try:
        warm = httpx.post(f"http://127.0.0.1:{port}/xapi/statements", headers=headers, timeout=30,
                          content=json.dumps([statement(f"w{i}", "launched", day(0)) for i in range(100)]))
        assert warm.status_code == 200, warm.text  # the helpers start with the first batch
        _helpers_ready(port, headers, 2)
        helpers = _children(server.pid, count=2)
        r = httpx.post(f"http://127.0.0.1:{port}/xapi/statements", headers=headers, timeout=30,
                       content=json.dumps([statement(f"k{i}", "launched", day(0), id=sid)
                                           for i, sid in enumerate(ids)]))
        assert r.status_code == 200, r.text
        os.kill(server.pid, signal.SIGKILL)
    finally:
        server.kill()
        server.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)  # polling for the orphaned helpers to notice, with a deadline
    assert not [pid for pid in helpers if _alive(pid)], "ingest helpers outlived the killed server"

    port = _free_port()
    server = _serve(home, port)
    try:
        for sid in (ids[0], ids[-1]):
            got = httpx.get(f"http://127.0.0.1:{port}/xapi/statements", params={"statementId": sid},
                            headers=headers, timeout=30)
            assert got.status_code == 200 and got.json()["id"] == sid
        page = httpx.get(f"http://127.0.0.1:{port}/xapi/statements", params={"limit": "0"}, headers=headers,
                         timeout=30).json()
        assert len(page["statements"]) == 200
        # while the server holds the event store, the CLI asks the server (issue 20) and sees every statement
        cli = subprocess.run([EDUOPS, "analytics", "active", "--json"], cwd=home, capture_output=True, text=True,
                             env={**{k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")},
                                  "EDUOPS_CONFIG": str(home / "eduops.toml")}, timeout=60)
        assert cli.returncode == 0, cli.stderr
        assert max(d["dau"] for d in json.loads(cli.stdout)["days"]) == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
