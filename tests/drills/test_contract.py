"""Contract: a drill cuts the real PostgreSQL through eduops's proxy, the DatabaseDown alert fires within
the rule's `for` plus one evaluation interval, recovery is timed, the owner signs off, and the database
answers afterwards.

eduops's shipped DatabaseDown rule holds for 1m; the drill here brings its own copy of the rule with
`for: 3s` (the drill's rule files win over the shipped ones) so the test takes seconds, not minutes.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from tests.conftest import service_missing

from eduops.config import TaskOverride
from eduops.core.runs import run_task
from eduops.core.service import get_run, sign_off
from eduops.drills import faults
from eduops.drills.experiment import parse_experiment
from eduops.drills.runner import ABORT, Drill

PG = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_up() -> None:
    try:
        import psycopg

        psycopg.connect(PG, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        service_missing("PostgreSQL at 127.0.0.1:5432", exc)


def _write(tmp_path: Path) -> Path:
    (tmp_path / "rules.yml").write_text(textwrap.dedent("""\
        groups:
          - name: drill-databases
            rules:
              - alert: DatabaseDown
                expr: db_up == 0
                for: 3s
                labels: {severity: critical}
                annotations: {summary: "{{ $labels.db }} does not answer"}
        """))
    path = tmp_path / "database-down.yml"
    path.write_text(textwrap.dedent("""\
        title: Database down (test)
        environment:
          proxies:
            - {name: db, listen: "127.0.0.1:0", upstream: "127.0.0.1:5432"}
        detection:
          alert: DatabaseDown
          labels: {db: main}
          evaluation_interval: 1s
          timeout: 20s
          recover_timeout: 15s
          rules: [rules.yml]
        steady-state-hypothesis:
          title: The database answers through the proxy
          probes:
            - type: probe
              name: database-answers
              provider: {type: postgres, dsn: "postgresql://postgres@{proxy.db}/test", timeout: 2}
              tolerance: true
              metric: {name: db_up, labels: {db: main}}
        method:
          - type: action
            name: cut-the-database
            provider: {type: fault, name: proxy.cut, proxy: db}
        rollbacks:
          - type: action
            name: reconnect
            provider: {type: revert, action: cut-the-database}
        """))
    return path


def test_cutting_postgres_fires_database_down_and_recovers(ws, tmp_path: Path) -> None:
    sqlite_ws = ws  # the drill's alert events go to the state database: both backends
    _pg_up()
    experiment = _write(tmp_path)
    sqlite_ws.settings.tasks["quarterly-drill"] = TaskOverride.model_validate(
        {"params": {"drills.quarterly": {"experiment": str(experiment)}}})
    run_id = run_task(sqlite_ws.engine, sqlite_ws.settings, "quarterly-drill", actor="tester")
    run = get_run(sqlite_ws.engine, run_id)
    report = run["checks"][0]["evidence"]
    assert run["status"] == "ok", (run["summary"], report.get("reasons"))
    assert report["detected_by"] == "alert DatabaseDown"
    assert report["alert"]["rule_source"].endswith("rules.yml") and report["alert"]["for_s"] == 3
    # fires at the first evaluation at least `for` after it went pending: within [for, for + 2 intervals]
    assert 3.0 <= report["ttd_s"] <= 5.6, report["ttd_s"]
    assert report["alert"]["consistent"] is True
    assert report["alert"]["evaluated_by"] == "eduops alert engine"
    from datetime import datetime

    from eduops.alerting.alerts import first_alert_after

    stored = first_alert_after(ws.engine, datetime.fromisoformat(report["injected_at"]), alertname="DatabaseDown",
                               matchers=['db="main"'])
    assert stored is not None and stored["at"] == report["detected_at"]
    assert report["probe_ttd_s"] <= 1.6  # the probe saw it at the next evaluation
    assert report["ttd_s"] < report["ttr_s"] <= report["ttd_s"] + 2.5
    assert report["alert"]["resolved_at"] is not None
    events = [e["event"] for e in report["journal"]]
    for expected in ("steady state holds", "injected proxy.cut", "steady state lost", "detected",
                     "reverted proxy.cut", "steady state back", "drill finished"):
        assert any(e.startswith(expected) for e in events), (expected, events)
    assert {a["name"] for a in run["artifacts"]} == {"drill-report.md", "drill-journal.json"}
    # the database answers afterwards, and no fault is left behind
    import psycopg

    with psycopg.connect(PG, connect_timeout=3) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert faults._read(sqlite_ws.settings.home / "drills" / "active-faults.json") == []
    # the owner signs the drill off
    signed = sign_off(sqlite_ws.engine, run_id, "ops-lead", "rehearsed, runbook updated")
    assert signed["signed_off_by"] == "ops-lead"
    from fastapi.testclient import TestClient

    from eduops.core.principal import Principal, current_principal
    from eduops.web.app import create_app

    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="vera", kind="user", role="viewer")
    listed = TestClient(app).get("/api/v1/drills/runs").json()
    assert listed[0]["ttd_s"] == report["ttd_s"] and listed[0]["signed_off_by"] == "ops-lead"


def test_an_interrupted_drill_still_rolls_back(tmp_path: Path) -> None:
    target = tmp_path / "uploads"
    exp = parse_experiment(textwrap.dedent(f"""\
        title: Disk full (interrupted)
        detection: {{evaluation_interval: 0.2s, timeout: 30s}}
        steady-state-hypothesis:
          title: disk answers
          probes:
            - {{type: probe, name: disk, provider: {{type: disk, path: "{tmp_path}"}}, tolerance: [0, 100]}}
        method:
          - type: action
            name: fill
            provider: {{type: fault, name: disk.fill, path: "{target}", size: 1MB, keep_free: 0}}
          - {{type: pause, seconds: 30}}
        """), str(tmp_path / "x.yml"))
    timer = threading.Timer(1.0, ABORT.set)
    timer.start()
    try:
        report = Drill(exp, tmp_path / "state.json", tmp_path / "work").run()
    finally:
        ABORT.clear()
        timer.cancel()
    assert "the drill was interrupted; rollbacks ran" in report["reasons"]
    assert any(e["event"] == "reverted disk.fill" for e in report["journal"])
    assert list(target.iterdir()) == []
    assert faults._read(tmp_path / "state.json") == []


def test_leftovers_of_a_killed_drill_are_cleaned_up_on_the_next_start(tmp_path: Path, sqlite_ws) -> None:
    # a drill process that filled a directory and froze a process, then was killed with -9
    target = tmp_path / "uploads"
    state = sqlite_ws.settings.home / "drills" / "active-faults.json"
    frozen = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    script = textwrap.dedent(f"""\
        import os
        from pathlib import Path
        from eduops.drills import faults
        live = faults.Live(Path({str(state)!r}), Path({str(tmp_path)!r}))
        faults.inject(live, "disk.fill", {{"path": {str(target)!r}, "size": "64KB", "keep_free": 0}})
        faults.inject(live, "process.stop", {{"pid": {frozen.pid}}})
        os.kill(os.getpid(), 9)
        """)
    subprocess.run([sys.executable, "-c", script], timeout=60)
    try:
        assert len(list(target.iterdir())) == 1
        assert _state(frozen.pid) == "T"  # stopped
        from eduops.web.app import create_app

        create_app(sqlite_ws)  # `eduops serve` starting up cleans up
        assert len(faults._read(state)) == 0
        assert list(target.iterdir()) == []
        deadline = time.monotonic() + 5
        while _state(frozen.pid) == "T" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(frozen.pid) in ("S", "R")
        assert faults.recover_leftovers(state) == []
    finally:
        frozen.kill()
        frozen.wait()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_exhausting_the_postgres_pool_holds_sessions_until_rollback(tmp_path: Path) -> None:
    _pg_up()
    import psycopg

    def sessions() -> int:
        with psycopg.connect(PG, connect_timeout=3) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'eduops-drill'"
                               ).fetchone()
            return int(row[0]) if row else 0

    live = faults.Live(tmp_path / "state.json", tmp_path)
    dsn = PG + "?application_name=eduops-drill"
    handle = faults.inject(live, "pool.exhaust", {"dsn": dsn, "connections": 4})
    try:
        assert handle["opened"] == 4 and sessions() == 4
    finally:
        faults.revert(live, "pool.exhaust", handle)
    deadline = time.monotonic() + 5
    while sessions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sessions() == 0


def test_a_cut_proxy_refuses_the_database_and_a_restored_one_serves_it(tmp_path: Path) -> None:
    _pg_up()
    from eduops.drills.probes import probe_postgres
    from eduops.drills.proxy import Proxy

    proxy = Proxy("db", "127.0.0.1:0", "127.0.0.1:5432").start()
    try:
        dsn = f"postgresql://postgres@127.0.0.1:{proxy.bound[1]}/test"
        assert probe_postgres({"dsn": dsn}).ok
        proxy.set("cut")
        assert not probe_postgres({"dsn": dsn, "timeout": 2}).ok
        proxy.set("delay", delay_ms=300)
        slow = probe_postgres({"dsn": dsn, "timeout": 5})
        assert slow.ok and slow.value > 600  # connect + query, each way delayed
    finally:
        proxy.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proxy.bound[1]), timeout=1).close()


def test_the_console_lists_drills_with_their_times(sqlite_ws) -> None:
    from fastapi.testclient import TestClient

    from eduops.core.principal import Principal, current_principal
    from eduops.web.app import create_app

    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="vera", kind="user", role="viewer")
    client = TestClient(app)
    experiments = {e["name"]: e for e in client.get("/api/v1/drills/experiments").json()}
    assert experiments["database-down"]["alert"] == "DatabaseDown"
    assert experiments["media-packet-loss"]["faults"] == ["network.impair"]
    page = client.get("/drills", headers={"accept-language": "zh-CN"})
    assert page.status_code == 200 and "应急演练" in page.text and "database-down" in page.text
    assert client.get("/api/v1/drills/runs").json() == []


def test_the_demo_has_a_signed_off_drill(tmp_path: Path) -> None:
    from eduops.core.service import get_run, list_runs
    from eduops.demo.runner import build

    demo = build(tmp_path / "demo", only=["drills"])
    runs = list_runs(demo.ws.engine, task="quarterly-drill")
    assert len(runs) == 1 and runs[0]["signed_off_by"] == "ops-lead"
    report = get_run(demo.ws.engine, runs[0]["id"])["checks"][0]["evidence"]
    assert report["passed"] and report["detected_by"] == "alert CertificateExpiringSoon"
