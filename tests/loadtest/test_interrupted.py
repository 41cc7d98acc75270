"""kill -9 during a load test: the live state stops saying `running`, the Locust processes it started are
stopped (they run in sessions of their own, so they would go on loading the platform), and the run is
interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from eduops.core.runs import recover_interrupted
from eduops.core.service import list_runs
from eduops.demo.platform import serve_platform
from eduops.loadtest.service import live_file, read_live


def _poll(condition, what: str, deadline_s: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _workers(workdir: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        cmd = proc.info.get("cmdline") or []
        if "eduops.loadtest.worker" in cmd and any(a.startswith(workdir) for a in cmd) \
                and proc.info.get("status") != psutil.STATUS_ZOMBIE:
            found.append(proc.info["pid"])
    return found


def test_kill_9_mid_load_test_is_reconciled(sqlite_ws) -> None:
    url, stop = serve_platform(capacity=8, service_ms=2)
    home = sqlite_ws.settings.home
    (home / "eduops.toml").write_text('[loadtest]\nthink_min_seconds = 0.05\nthink_max_seconds = 0.1\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env["EDUOPS_HOME"] = str(home)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "eduops"), "loadtest", "run", "quiz", "--users", "4",
                             "--spawn-rate", "20", "--duration", "120s", "--host", url],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = live_file(sqlite_ws.settings)
    try:
        def ticking() -> dict | None:  # type: ignore[type-arg]
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                return None
            return data if data.get("status") == "running" and len(data.get("ticks", [])) >= 2 else None

        live = _poll(ticking, "the load test to report ticks")
        assert live["pid"] == proc.pid
        assert _workers(live["workdir"])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    try:
        data = read_live(path)
        assert data["status"] == "interrupted" and data["leftovers_stopped"]
        _poll(lambda: not _workers(live["workdir"]), "the Locust processes to stop", 15)
        assert json.loads(path.read_text())["status"] == "interrupted"  # stored, not only answered
        assert read_live(path)["status"] == "interrupted"
        recover_interrupted(sqlite_ws.engine, sqlite_ws.settings)
        runs = list_runs(sqlite_ws.engine)
        assert [(r["task"], r["status"]) for r in runs] == [("load-test", "interrupted")]
    finally:
        stop()


def test_a_live_test_whose_process_lives_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "live.json"
    path.write_text(json.dumps({"status": "running", "pid": os.getpid(), "ticks": [], "workdir": str(tmp_path)}))
    assert read_live(path)["status"] == "running"
    path.write_text(json.dumps({"status": "running", "pid": os.getpid(), "host": "elsewhere", "ticks": []}))
    assert read_live(path)["status"] == "running"  # another host's process is not ours to judge
    assert read_live(tmp_path / "none.json") == {"status": "none", "ticks": []}
