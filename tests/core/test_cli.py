"""The CLI contracts: init, calendar list --json, run --json, runs list, report."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

EDUOPS = Path(sys.executable).with_name("eduops")
DEFAULT_KEYS = [
    "daily-inspection", "weekly-performance", "weekly-security", "backup", "backup-full", "restore-drill",
    "release-check", "quarterly-drill", "load-test", "content-audit", "feedback-digest",
]


def eduops(home: Path, *args: str, check_rc: int | None = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env["EDUOPS_HOME"] = str(home)
    result = subprocess.run([str(EDUOPS), *args], capture_output=True, text=True, env=env, timeout=120)
    if check_rc is not None:
        assert result.returncode == check_rc, result.stderr
    return result


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ws")
    result = eduops(home, "init", str(home))
    assert "admin login" in result.stdout
    return home


def test_init_writes_config_key_and_admin(home: Path) -> None:
    assert (home / "eduops.toml").read_text().startswith("# eduops configuration")
    assert stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "eduops.toml").stat().st_mode) == 0o600
    again = eduops(home, "init", str(home), check_rc=None)
    assert again.returncode == 1 and "exists already" in again.stderr


def test_calendar_list_json_has_the_eleven_default_tasks(home: Path) -> None:
    entries = json.loads(eduops(home, "calendar", "list", "--json").stdout)
    assert [e["key"] for e in entries] == DEFAULT_KEYS
    for entry in entries:
        assert {"key", "title", "cadence", "timezone", "owner", "next_due", "last_status", "overdue"} <= set(entry)
    release = next(e for e in entries if e["key"] == "release-check")
    assert release["cadence"] == "on-demand" and release["next_due"] is None


def test_run_daily_inspection_then_list_and_report(home: Path) -> None:
    result = eduops(home, "run", "daily-inspection", "--json", check_rc=None)
    assert result.returncode in (0, 1), result.stderr  # 1 when the machine itself has warnings
    run = json.loads(result.stdout)
    assert {"id", "task", "status", "summary", "started_at", "finished_at", "checks"} <= set(run)
    assert run["task"] == "daily-inspection"
    for c in run["checks"]:
        assert {"name", "status", "summary", "measurements", "findings"} <= set(c)
    assert run["checks"][0]["name"] == "host.status"
    assert (result.returncode == 1) == (run["status"] in ("warn", "crit"))
    listed = json.loads(eduops(home, "runs", "list", "--json").stdout)
    assert run["id"] in [r["id"] for r in listed]
    report = eduops(home, "report", str(run["id"]), "--format", "md").stdout
    assert f"运行 #{run['id']}" in report and "host.status" in report  # in the workspace's language (zh-CN)
    html = eduops(home, "report", str(run["id"]), "--format", "html", "-o", str(home / "r.html")).stdout
    assert "wrote" in html and (home / "r.html").read_text().startswith("<!doctype html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nightly-party"], "no calendar task 'nightly-party'"),
        (["report", "99999"], "no run 99999"),
        (["report", "1", "--format", "pdf"], "unknown report format"),
        (["runs", "list", "--limit", "0"], "greater than or equal to 1"),
    ],
)
def test_usage_errors_exit_2_with_a_message(home: Path, args: list[str], message: str) -> None:
    result = eduops(home, *args, check_rc=2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_every_declared_command_loads_and_answers_help() -> None:
    """Each command a plugin declares names a module and attribute that exist (the listing never lies)."""
    from typer.testing import CliRunner

    from eduops.cli import app, declared_commands

    runner = CliRunner()
    for name in declared_commands():
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, f"eduops {name} --help: {result.output}"
        assert "Usage: eduops " + name in " ".join(result.output.split()), result.output
