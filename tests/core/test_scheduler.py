"""The scheduler: each slot once (also across processes), one catch-up after downtime, interrupted runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from eduops.config import load_settings
from eduops.core.calendar import latest_slot, sync_tasks
from eduops.core.models import Run, Task
from eduops.core.runs import HOST, claim, recover_interrupted
from eduops.core.scheduler import Scheduler, trigger_for
from eduops.db import session_scope

HERE = Path(__file__).parent
EDUOPS = Path(sys.executable).with_name("eduops")


def _set_last_slot(ws, key: str, value: datetime | None) -> None:
    with session_scope(ws.engine) as session:
        session.execute(sa.update(Task).where(Task.key == key).values(last_slot=value))


@pytest.mark.parametrize(
    ("age_seconds", "tick", "expected"),
    [(2, 5, "scheduled"), (59, 5, "scheduled"), (61, 5, "catch-up"), (3 * 3600, 5, "catch-up"), (70, 30, "scheduled")],
)
def test_trigger_for_slot_age(age_seconds: float, tick: float, expected: str) -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert trigger_for(now - timedelta(seconds=age_seconds), now, tick) == expected


def test_missed_slots_run_once_as_a_catch_up(ws) -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    sync_tasks(ws.engine, ws.settings, now=now)
    # daily-inspection runs at 08:00 Asia/Shanghai (00:00 UTC): three days missed while eduops was down
    _set_last_slot(ws, "daily-inspection", now - timedelta(days=3, hours=13))
    scheduler = Scheduler(ws.engine, ws.settings)

    def inspections(at: datetime) -> list[tuple[str, datetime, str]]:
        return [c for c in scheduler.claim_due(at) if c[0] == "daily-inspection"]

    claimed = inspections(now)
    assert [(k, t) for k, _, t in claimed] == [("daily-inspection", "catch-up")]
    assert claimed[0][1] == latest_slot("0 8 * * *", "Asia/Shanghai", now)
    assert inspections(now) == []
    assert inspections(now + timedelta(hours=11, minutes=59)) == []
    next_day = inspections(now + timedelta(hours=12, seconds=1))
    assert [(k, t) for k, _, t in next_day] == [("daily-inspection", "scheduled")]


def test_concurrent_schedulers_claim_each_slot_once(ws) -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    sync_tasks(ws.engine, ws.settings, now=now)
    for key in ("daily-inspection", "backup", "feedback-digest"):
        _set_last_slot(ws, key, now - timedelta(days=2))
    results: list[list[tuple[str, datetime, str]]] = []
    barrier = threading.Barrier(4)

    def contend() -> None:
        barrier.wait()
        results.append(Scheduler(ws.engine, ws.settings).claim_due(now))

    threads = [threading.Thread(target=contend) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = sorted(k for batch in results for k, _, _ in batch)
    assert claimed == ["backup", "daily-inspection", "feedback-digest"]


def test_a_running_task_cannot_start_twice(ws) -> None:
    from eduops.errors import Conflict

    sync_tasks(ws.engine, ws.settings)
    first = claim(ws.engine, ws.settings, "backup", "manual", "alice", None)
    with pytest.raises(Conflict, match="already running"):
        claim(ws.engine, ws.settings, "backup", "manual", "bob", None)
    assert first > 0


def test_run_of_a_dead_process_is_interrupted_and_its_slot_comes_back(ws) -> None:
    now = datetime.now(UTC)
    sync_tasks(ws.engine, ws.settings, now=now)
    dead = subprocess.Popen(["true"])
    dead.wait()
    slot = latest_slot("0 8 * * *", "Asia/Shanghai", now)
    with session_scope(ws.engine) as session:
        run = Run(task_key="daily-inspection", trigger="scheduled", status="running", slot=slot, host=HOST,
                  pid=dead.pid, started_at=now, heartbeat_at=now, evidence={})
        session.add(run)
        session.flush()
        session.execute(sa.update(Task).where(Task.key == "daily-inspection")
                        .values(lock_run_id=run.id, lock_expires_at=now + timedelta(hours=1), last_slot=slot))
        run_id = run.id
    assert recover_interrupted(ws.engine, ws.settings, now) == [run_id]
    with session_scope(ws.engine) as session:
        run = session.get(Run, run_id)
        task = session.get(Task, "daily-inspection")
        assert run.status == "interrupted" and "stopped" in run.summary
        assert task.lock_run_id is None
    claimed = Scheduler(ws.engine, ws.settings).claim_due(now)
    assert [(k, s) for k, s, _ in claimed] == [("daily-inspection", slot)]


def test_silent_run_on_another_host_is_interrupted_after_the_stale_period(ws) -> None:
    now = datetime.now(UTC)
    sync_tasks(ws.engine, ws.settings, now=now)
    with session_scope(ws.engine) as session:
        fresh = Run(task_key="backup", trigger="manual", status="running", host="other-host", pid=1,
                    started_at=now, heartbeat_at=now - timedelta(seconds=5), evidence={})
        stale = Run(task_key="restore-drill", trigger="manual", status="running", host="other-host", pid=1,
                    started_at=now, heartbeat_at=now - timedelta(minutes=5), evidence={})
        session.add_all([fresh, stale])
        session.flush()
        ids = (fresh.id, stale.id)
    assert recover_interrupted(ws.engine, ws.settings, now) == [ids[1]]


# --- real `eduops serve` processes -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_config(home: Path, database_url: str, cron: str, check: str, block_file: Path | None = None) -> None:
    home.mkdir(parents=True, exist_ok=True)
    params = f'\n[tasks.daily-inspection.params."{check}"]\nblock_file = "{block_file}"\n' if block_file else ""
    (home / "eduops.toml").write_text(
        f'database_url = "{database_url}"\nplugins = ["eduops_test_plugins"]\n'
        "[scheduler]\ntick_seconds = 0.2\nheartbeat_seconds = 0.2\nstale_after_seconds = 3\n"
        f'[tasks.daily-inspection]\ncron = "{cron}"\nchecks = ["{check}"]\n{params}'
    )


def _serve(home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EDUOPS_HOME": str(home), "PYTHONPATH": str(HERE)}
    env.pop("EDUOPS_CONFIG", None)
    return subprocess.Popen([str(EDUOPS), "serve", "--port", str(_free_port())], env=env,
                            stdout=subprocess.DEVNULL, stderr=(home / f"serve-{time.time_ns()}.log").open("wb"))


def _poll(what: str, condition, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _runs(ws) -> list[Run]:
    with session_scope(ws.engine) as session:
        return list(session.scalars(sa.select(Run).where(Run.task_key == "daily-inspection").order_by(Run.id)))


@pytest.mark.slow
def test_kill_9_during_a_run_then_restart_interrupts_it_and_catches_up_once(ws, tmp_path: Path) -> None:
    home = ws.settings.home
    block = tmp_path / "block"
    block.write_text("hold")
    _write_config(home, ws.settings.state_url, "0 3 * * *", "testing.blocking", block)
    sync_tasks(ws.engine, load_settings(home / "eduops.toml"))
    slot = latest_slot("0 3 * * *", "Asia/Shanghai", datetime.now(UTC))
    _set_last_slot(ws, "daily-inspection", slot - timedelta(days=1))  # the 03:00 slot was missed

    first = _serve(home)
    try:
        _poll("the catch-up run to start", lambda: (tmp_path / "started").exists())
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    [killed] = _runs(ws)
    assert killed.status == "running" and killed.trigger == "catch-up"

    block.unlink()
    second = _serve(home)
    try:
        def caught_up() -> list[Run] | None:
            runs = _runs(ws)
            return runs if len(runs) == 2 and runs[1].status == "ok" else None

        runs = _poll("the interrupted run to be caught up", caught_up)
    finally:
        second.terminate()
        second.wait(timeout=20)
    assert runs[0].status == "interrupted"
    assert runs[1].trigger == "catch-up" and runs[1].slot == slot
    assert len(_runs(ws)) == 2  # once, not once per missed slot


@pytest.mark.slow
def test_two_serve_processes_on_one_postgresql_run_each_slot_once(ws, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("the multi-process contract is about a shared PostgreSQL database")
    home_a, home_b = ws.settings.home / "a", ws.settings.home / "b"
    for home in (home_a, home_b):
        _write_config(home, ws.settings.state_url, "* * * * * */1", "testing.quick")
        (home / "secret.key").write_bytes(ws.settings.key_file.read_bytes())
    sync_tasks(ws.engine, ws.settings)
    procs = [_serve(home_a), _serve(home_b)]
    try:
        _poll("six slots to run", lambda: len({r.slot for r in _runs(ws) if r.slot}) >= 6, timeout=40)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
    runs = [r for r in _runs(ws) if r.slot]
    slots = [r.slot for r in runs]
    assert len(slots) == len(set(slots)), "a slot ran twice"
    assert {r.pid for r in runs} <= {p.pid for p in procs}
