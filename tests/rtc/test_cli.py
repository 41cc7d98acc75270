"""The `eduops rtc` commands as a user runs them: exit codes, --json, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from eduops import cli
from eduops.core.console import reset_workspace
from eduops.core.workspace import Workspace

EDUOPS = Path(sys.executable).with_name("eduops")


@pytest.fixture
def eduops(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """`eduops rtc ...` in this process through the real entry point (exit codes as a shell sees them)."""

    def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        monkeypatch.setenv("EDUOPS_HOME", str(home))
        monkeypatch.setattr(sys, "argv", ["eduops", "rtc", *args])
        reset_workspace()
        capsys.readouterr()
        try:
            cli.main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return run


LINES = [
    {"type": "call", "call_id": "c1", "scenario": "one_on_one", "channel": "room-1", "start": "2026-11-30T10:00:00Z"},
    {"type": "session", "call_id": "c1", "user_id": "t1", "role": "teacher", "province": "Henan", "join_ok": True,
     "joined_at": "2026-11-30T10:00:01Z", "network": "wifi"},
    {"type": "session", "call_id": "c1", "user_id": "s1", "role": "student", "province": "Henan", "join_ok": True,
     "joined_at": "2026-11-30T10:00:02Z"},
    *[{"type": "sample", "call_id": "c1", "user_id": u, "ts": f"2026-11-30T10:0{i}:00Z", "interval_s": 5,
       "rtt_ms": 420 if u == "t1" else 60, "jitter_ms": 45 if u == "t1" else 3, "loss_up_pct": 8 if u == "t1" else 0,
       "loss_down_pct": 0, "video_freezes_ms": [] if u == "t1" else [1500]} for i in range(1, 6) for u in ("t1", "s1")],
]


def test_ingest_then_search_and_the_call_page(eduops, sqlite_ws: Workspace, tmp_path: Path) -> None:
    home = sqlite_ws.settings.home
    path = tmp_path / "reports.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in LINES) + "\n")
    done = eduops(home, "ingest", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accepted"]["samples"] == 10
    calls = json.loads(eduops(home, "calls", "--user", "s1", "--json").stdout)
    assert [c["call_id"] for c in calls] == ["c1"] and calls[0]["band"] == "poor"
    page = eduops(home, "call", "c1")
    assert page.returncode == 0 and "likely cause" in page.stdout and "teacher's network" in page.stdout
    assert json.loads(eduops(home, "call", "c1", "--json").stdout)["hint"]["cause"] == "teacher_network"


def test_ingest_exit_codes(eduops, sqlite_ws: Workspace, tmp_path: Path) -> None:
    home = sqlite_ws.settings.home
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps(LINES[0]) + "\n{oops\n")
    result = eduops(home, "ingest", str(mixed))
    assert result.returncode == 1 and "not JSON" in result.stdout
    junk = tmp_path / "junk.jsonl"
    junk.write_text("{oops\n")
    result = eduops(home, "ingest", str(junk))
    assert result.returncode == 2 and "no item could be used" in result.stderr and "Traceback" not in result.stderr
    result = eduops(home, "ingest", str(tmp_path / "missing.csv"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_busy_store_is_a_clear_error(sqlite_ws: Workspace, tmp_path: Path) -> None:
    home = sqlite_ws.settings.home
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env.update(EDUOPS_HOME=str(home), EDUOPS_RTC__STORE_LOCK_TIMEOUT_S="0.3")
    holder = duckdb.connect(str(home / "rtc.duckdb"))  # this test process holds the file
    try:
        result = subprocess.run([str(EDUOPS), "rtc", "worst", "--json"], capture_output=True, text=True, env=env,
                                timeout=120)
    finally:
        holder.close()
    assert result.returncode == 3
    assert "is in use by process" in result.stderr and "Traceback" not in result.stderr


def test_reports_on_an_empty_store(eduops, sqlite_ws: Workspace) -> None:
    home = sqlite_ws.settings.home
    assert json.loads(eduops(home, "worst", "--json").stdout) == []
    trend = eduops(home, "trend")
    assert trend.returncode == 0 and "poor_pct" in trend.stdout
    assert eduops(home, "breakdown", "shoe_size").returncode == 2


@pytest.mark.parametrize(("args", "words"), [
    (("--since", "0001-01-01T00:00"), "--since: 0001-01-01T00:00 is outside the supported range"),
    (("--until", "9999-12-31T23:59:59Z"), "--until: 9999-12-31T23:59:59Z is outside"),
    (("--since", "1000000d"), "--since: '1000000d' is longer than the longest supported"),
    (("--since", "yesterday"), "is not an ISO 8601 time"),
])
def test_times_out_of_range_exit_2_naming_the_option(eduops, sqlite_ws: Workspace, args: tuple[str, str],
                                                     words: str) -> None:
    result = eduops(sqlite_ws.settings.home, "calls", *args)
    assert result.returncode == 2, result.stderr
    assert words in " ".join(result.stderr.split()) and "Traceback" not in result.stderr
