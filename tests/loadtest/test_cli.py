"""`eduops loadtest`: a short run against the demo platform, bad input exits 2, a dead host exits 3."""

from __future__ import annotations

import json
import sys

from eduops.demo.platform import serve_platform


def test_a_short_run_is_stored_with_its_verdict(sqlite_ws, monkeypatch, capsys) -> None:
    url, stop = serve_platform(capacity=8, service_ms=2)
    try:
        code, out, err = _in_process(sqlite_ws, monkeypatch, capsys, "loadtest", "run", "quiz", "--users", "4",
                                     "--spawn-rate", "20", "--duration", "3s", "--host", url, "--json")
    finally:
        stop()
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "ok" and result["verdict"]["passed"] is True
    assert result["overall"]["requests"] > 20 and result["users"] == 4 and result["mode"] == "fixed"
    assert result["report"].endswith("loadtest-report.html")


def _in_process(ws, monkeypatch, capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    """The CLI in this process (no start-up cost): exit code, stdout, stderr."""
    from eduops import cli
    from eduops.core import console

    (ws.settings.home / "eduops.toml").write_text(
        'timezone = "Asia/Shanghai"\n[loadtest]\nthink_min_seconds = 0.05\nthink_max_seconds = 0.1\n')
    monkeypatch.setenv("EDUOPS_HOME", str(ws.settings.home))
    monkeypatch.setattr(sys, "argv", ["eduops", *args])
    console.reset_workspace()
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        console.reset_workspace()
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_bad_input_and_a_dead_host(sqlite_ws, monkeypatch, capsys) -> None:
    code, _, err = _in_process(sqlite_ws, monkeypatch, capsys, "loadtest", "run", "black-friday")
    assert code == 2 and "unknown scenario 'black-friday'" in err
    code, _, err = _in_process(sqlite_ws, monkeypatch, capsys, "loadtest", "run", "quiz", "--duration", "soon")
    assert code == 2 and "write e.g. 30s, 5m or 1h" in err
    code, _, err = _in_process(sqlite_ws, monkeypatch, capsys, "loadtest", "run", "quiz", "--host",
                               "http://127.0.0.1:9")
    assert code == 3 and "does not answer" in err
    code, out, _ = _in_process(sqlite_ws, monkeypatch, capsys, "loadtest", "list", "--json")
    assert {r["scenario"] for r in json.loads(out)} == {"term-rush", "live-class-spike", "booking-peak", "browse",
                                                        "join-storm", "quiz"}


def test_the_calendar_task_says_when_the_platform_does_not_answer(sqlite_ws) -> None:
    from eduops.config import TaskOverride
    from eduops.core.runs import run_task
    from eduops.core.service import get_run

    sqlite_ws.settings.tasks["load-test"] = TaskOverride.model_validate(
        {"params": {"loadtest.capacity": {"host": "http://127.0.0.1:9"}}})
    run = get_run(sqlite_ws.engine, run_task(sqlite_ws.engine, sqlite_ws.settings, "load-test"))
    assert run["status"] == "error"
    assert "does not answer" in run["checks"][0]["summary"]
    assert run["checks"][0]["findings"][0]["remedy"].startswith("Start the platform")
