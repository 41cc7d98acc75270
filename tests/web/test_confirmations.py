"""Actions that load or break production say what will happen and wait for a yes: the load test and the
quarterly drill in the console (a server-side step, no JavaScript needed), restore and key rotation in the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eduops.backup.drills import is_scratch
from eduops.cli import app
from eduops.core import console as cli_console
from eduops.core.service import list_runs
from eduops.errors import UsageError

from .conftest import Console, csrf_of


@pytest.mark.parametrize("task", ["load-test", "quarterly-drill"])
def test_a_disruptive_task_asks_first_and_starts_only_when_confirmed(sqlite_console: Console, task: str) -> None:
    client = sqlite_console.login("ops")
    token = csrf_of(client.get("/calendar?view=list").text)
    asked = client.post(f"/calendar/{task}/run", data={"csrf_token": token}, headers={"accept-language": "zh-CN"})
    assert asked.status_code == 200 and 'id="confirm-form"' in asked.text
    assert "将会发生什么" in asked.text and ("压测" in asked.text or "故障" in asked.text)
    assert list_runs(sqlite_console.ws.engine, task=task) == []  # nothing started yet
    started = client.post(f"/calendar/{task}/run", data={"csrf_token": csrf_of(asked.text), "confirmed": "yes"})
    assert started.status_code == 303 and started.headers["location"].startswith("/runs/")
    assert len(list_runs(sqlite_console.ws.engine, task=task)) == 1


def test_an_ordinary_task_starts_at_once(sqlite_console: Console) -> None:
    client = sqlite_console.login("ops")
    token = csrf_of(client.get("/calendar?view=list").text)
    answer = client.post("/calendar/content-audit/run", data={"csrf_token": token})
    assert answer.status_code == 303


@pytest.mark.parametrize(
    ("to", "scratch"),
    [("{temp}/restore-here", True), ("{home}/scratch/lms", True), ("/srv/lms-restored", False),
     ("{home}/lms", False), ("postgresql://db.internal/scratch_lms", True),
     ("postgresql://db.internal/eduops_drill_lms", True), ("postgresql://db.internal/lms_restored", False),
     ("mysql+pymysql://root@db/test_qb?charset=utf8mb4", True)],
)
def test_is_scratch(tmp_path: Path, to: str, scratch: bool) -> None:
    home, temp = tmp_path / "ws", tmp_path / "system-tmp"
    assert is_scratch(to.format(home=home, temp=temp), home, temp) is scratch


@pytest.mark.parametrize(
    "args",
    [["keys", "rotate"], ["backup", "restore", "latest", "--to", "/srv/lms-restored"]],
)
def test_cli_refuses_without_yes_and_says_what_would_happen(sqlite_ws, monkeypatch: pytest.MonkeyPatch,
                                                            args: list[str]) -> None:
    monkeypatch.setenv("EDUOPS_HOME", str(sqlite_ws.settings.home))
    cli_console.reset_workspace()
    try:
        result = CliRunner().invoke(app, args)
    finally:
        cli_console.reset_workspace()
    assert isinstance(result.exception, UsageError) and result.exception.exit_code == 2  # `eduops` exits 2
    message = result.exception.message
    assert "--yes" in message
    assert "re-encrypts every stored secret" in message or "not a scratch place" in message
