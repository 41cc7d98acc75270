"""The local credential of a running server (issue 20): a stale one never makes a command fail, and the audit
actor of a CLI write through the server names the OS user only when it looks like one."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from eduops.core import local_access as la

EDUOPS_SERVE = "/usr/bin/python3 /opt/eduops/.venv/bin/eduops serve --port 8080"


@pytest.mark.parametrize(("alive", "program", "answered", "expected"), [
    (False, "", None, la.STALE),  # the process is gone (killed, crashed, rebooted)
    (True, "", None, la.STALE),  # gone between the two looks
    (True, "/usr/sbin/nginx -g daemon off;", None, la.STALE),  # the pid was reused by another program
    (True, "sleep 60", True, la.STALE),  # another program, even if something answers on the URL
    (True, EDUOPS_SERVE, None, la.ASK),  # an eduops process: ask it before trusting it
    (True, None, None, la.ASK),  # its command line cannot be read (hidepid): ask
    (True, EDUOPS_SERVE, True, la.SERVER),
    (True, None, True, la.SERVER),
    (True, EDUOPS_SERVE, False, la.DIRECT),  # hung, starting or stopping: open the stores here, keep the file
    (True, None, False, la.DIRECT),
])
def test_what_a_command_does_with_a_credential(alive, program, answered, expected) -> None:
    assert la.verdict(alive, program, answered) == expected


@pytest.mark.parametrize(("header", "actor"), [
    ("alice", "local:cli:alice"),
    ("deploy.bot-2@ops", "local:cli:deploy.bot-2@ops"),
    (None, "local:cli"),
    ("", "local:cli"),
    ("root\nFORGED", "local:cli"),
    ("a" * 65, "local:cli"),
    ("bob; drop", "local:cli"),
])
def test_the_audit_actor_of_a_cli_write_through_the_server(header, actor) -> None:
    assert la.local_actor(header) == actor


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _credential(home: Path, pid: int) -> Path:
    path = la.credential_path(home)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_text(json.dumps({"url": f"http://127.0.0.1:{_closed_port()}", "pid": pid, "token": f"t{pid}",
                                "started_at": "2026-12-01T00:00:00+00:00"}))
    return path


def test_a_stale_credential_falls_back_to_the_stores_and_a_reused_pid_removes_it(sqlite_ws) -> None:
    from tests.web.serving import cli

    home = sqlite_ws.settings.home
    # an alive process that is not eduops (the pid of a dead server, reused), then one that is eduops but does
    # not answer (a hung server): neither makes the command fail; only the first file is known to be stale
    others = [subprocess.Popen(["sleep", "120"]),
              subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "eduops", "serve"])]
    try:
        for process, removed in zip(others, (True, False), strict=True):
            path = _credential(home, process.pid)
            for args in (("analytics", "active", "--json"), ("rtc", "worst", "--json")):
                done = cli(home, *args)
                assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr[-2000:]}"
            assert path.exists() is not removed
    finally:
        for process in others:
            process.kill()
            process.wait()
    from eduops.analytics.store import close_stores

    close_stores()
