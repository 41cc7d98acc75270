"""`eduops loadtest`: a short run against the demo platform, bad input exits 2, a dead host exits 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from eduops.demo.platform import serve_platform

EDUOPS = str(Path(sys.executable).parent / "eduops")


def _eduops(ws, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    (ws.settings.home / "eduops.toml").write_text(
        'timezone = "Asia/Shanghai"\n[loadtest]\nthink_min_seconds = 0.05\nthink_max_seconds = 0.1\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    return subprocess.run([EDUOPS, "loadtest", *args], capture_output=True, text=True, timeout=120,
                          env={**env, "EDUOPS_HOME": str(ws.settings.home)})


def test_a_short_run_is_stored_with_its_verdict(sqlite_ws) -> None:
    url, stop = serve_platform(capacity=8, service_ms=2)
    try:
        done = _eduops(sqlite_ws, "run", "quiz", "--users", "4", "--spawn-rate", "20", "--duration", "3s",
                       "--host", url, "--json")
    finally:
        stop()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and result["verdict"]["passed"] is True
    assert result["overall"]["requests"] > 20 and result["users"] == 4 and result["mode"] == "fixed"
    assert result["report"].endswith("loadtest-report.html")


def test_bad_input_and_a_dead_host(sqlite_ws) -> None:
    bad = _eduops(sqlite_ws, "run", "black-friday")
    assert bad.returncode == 2 and "unknown scenario 'black-friday'" in bad.stderr
    duration = _eduops(sqlite_ws, "run", "quiz", "--duration", "soon")
    assert duration.returncode == 2 and "write e.g. 30s, 5m or 1h" in duration.stderr
    dead = _eduops(sqlite_ws, "run", "quiz", "--host", "http://127.0.0.1:9")
    assert dead.returncode == 3 and "does not answer" in dead.stderr
    listed = json.loads(_eduops(sqlite_ws, "list", "--json").stdout)
    assert {r["scenario"] for r in listed} == {"term-rush", "live-class-spike", "booking-peak", "browse", "quiz"}
