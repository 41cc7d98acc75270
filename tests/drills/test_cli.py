"""`eduops drill`: bad files exit 2 with the line, Ctrl-C still rolls back, list shows the ready-made drills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

EDUOPS = str(Path(sys.executable).parent / "eduops")


def _env(ws) -> dict[str, str]:  # type: ignore[no-untyped-def]
    (ws.settings.home / "eduops.toml").write_text('timezone = "Asia/Shanghai"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    return {**env, "EDUOPS_HOME": str(ws.settings.home)}


def _eduops(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EDUOPS, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_a_bad_experiment_exits_2_with_the_line_and_the_fix(sqlite_ws, tmp_path: Path, monkeypatch,
                                                             capsys) -> None:
    from tests.loadtest.test_cli import _in_process

    bad = tmp_path / "bad.yml"
    bad.write_text(textwrap.dedent("""\
        title: Broken
        steady-state-hypothesis:
          probes:
            - {type: probe, name: up, provider: {type: tcp, address: "127.0.0.1:5432"}}
        method:
          - type: action
            name: break-it
            provider: {type: fault, name: database.explode}
        """))
    code, _, err = _in_process(sqlite_ws, monkeypatch, capsys, "drill", "run", str(bad))
    assert code == 2
    assert "bad.yml:6: unknown fault 'database.explode'" in err and "use one of" in err
    assert "Traceback" not in err
    code, _, err = _in_process(sqlite_ws, monkeypatch, capsys, "drill", "run", "no-such-drill")
    assert code == 2 and "ready-made: " in err


def test_drill_list_shows_the_ready_made_experiments(sqlite_ws, monkeypatch, capsys) -> None:
    from tests.loadtest.test_cli import _in_process

    _, out, _ = _in_process(sqlite_ws, monkeypatch, capsys, "drill", "list", "--json")
    names = {row["name"]: row for row in json.loads(out)}
    assert names["database-down"]["alert"] == "DatabaseDown"
    _, out, _ = _in_process(sqlite_ws, monkeypatch, capsys, "drill", "list", "--faults", "--json")
    assert {"proxy.cut", "disk.fill", "tls.expired", "pool.exhaust", "process.kill"} <= {f["fault"] for f in
                                                                                       json.loads(out)}


def test_ctrl_c_ends_the_drill_and_still_rolls_back(sqlite_ws, tmp_path: Path) -> None:
    target = tmp_path / "uploads"
    experiment = tmp_path / "fill.yml"
    experiment.write_text(textwrap.dedent(f"""\
        title: Disk full, interrupted
        detection: {{evaluation_interval: 1s, timeout: 60s}}
        steady-state-hypothesis:
          probes:
            - {{type: probe, name: disk, provider: {{type: disk, path: "{tmp_path}"}}, tolerance: [0, 100]}}
        method:
          - type: action
            name: fill
            provider: {{type: fault, name: disk.fill, path: "{target}", size: 1MB, keep_free: 0}}
          - {{type: pause, seconds: 60}}
        """))
    proc = subprocess.Popen([EDUOPS, "drill", "run", str(experiment), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(sqlite_ws))
    deadline = time.monotonic() + 60
    while not (target.exists() and any(target.iterdir())):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    report = json.loads(out)
    assert "the drill was interrupted; rollbacks ran" in report["reasons"]
    assert list(target.iterdir()) == []
    assert any(e["event"] == "reverted disk.fill" for e in report["journal"])
