"""kill -9 in the middle of `eduops backup run`: every repository stays usable, core marks the run interrupted
(the one recovery there is) and the run's backups with it, and the next backup run starts at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from tests.backup.conftest import configure, eduops, local_target, write_config

from eduops.backup import service, verification
from eduops.backup.models import BackupCopy, BackupRun
from eduops.core.models import Run
from eduops.core.service import get_run


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _poll(condition, what: str, deadline_s: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_mid_backup_leaves_repositories_usable_and_the_run_interrupted(sqlite_ws, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    for i in range(4):
        (media / f"part{i}.mp4").write_bytes(os.urandom(700_000))
    s = sqlite_ws.settings
    primary = local_target(s, "primary", tmp_path / "repo1")
    primary["limit_upload_kib"] = 256  # about ten seconds of upload: time to pull the plug
    backup = {
        "include_state": False,
        "sources": [{"name": "media", "kind": "files", "paths": [str(media)]}],
        "targets": [primary, local_target(s, "second", tmp_path / "repo2")],
    }
    config = write_config(s.home, backup)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env["EDUOPS_CONFIG"] = str(config)
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "eduops"), "backup", "run", "media"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def restic_uploading() -> list[int]:
            kids = [k for k in _children(proc.pid) if b"backup" in _read(f"/proc/{k}/cmdline").split(b"\0")]
            # restic has read the media and is now in its slow, rate-limited upload
            return [k for k in kids if _rchar(k) > 2_000_000]

        restic_pids = _poll(restic_uploading, "restic to start uploading")
        with sqlite_ws.engine.connect() as conn:
            assert conn.execute(sa.select(BackupRun.status)).scalars().all() == ["running"]
            runs = conn.execute(sa.select(Run.id, Run.task_key, Run.status, Run.pid)).all()
        assert [(task, status, pid) for _, task, status, pid in runs] == [("backup", "running", proc.pid)]
        run_id = runs[0][0]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # restic dies with eduops: no orphan finishes a snapshot nobody recorded
    _poll(
        lambda: not any(os.path.exists(f"/proc/{p}") and "zombie" not in _state(p) for p in restic_pids),
        "restic to die with its parent",
        15,
    )

    configure(s, backup)
    rows = service.list_backups(sqlite_ws.engine, settings=s)
    assert [(r["status"], r["snapshot_id"], r["run_id"]) for r in rows] == [("interrupted", None, run_id)]
    assert f"run #{run_id} was interrupted" in rows[0]["error"] and f"pid {proc.pid}" in rows[0]["error"]
    run = get_run(sqlite_ws.engine, run_id)
    assert run["status"] == "interrupted" and "stopped" in run["summary"]
    assert run["triggered_by"].startswith("cli") and run["evidence"]["params"] == {"backup.run": {"source": "media"}}
    checked = verification.verify(sqlite_ws.engine, s, read_data="full")
    assert [(c["target"], c["status"]) for c in checked] == [("primary", "ok"), ("second", "ok")], checked

    backup["targets"][0]["limit_upload_kib"] = 0
    again = eduops(write_config(s.home, backup), "backup", "run", "media", "--json")
    assert again.returncode == 0, again.stderr  # the dead run's task lock did not block this one
    done = json.loads(again.stdout)
    assert [(r["source"], r["status"]) for r in done] == [("media", "ok")]
    assert [c["status"] for c in done[0]["copies"]] == ["ok", "ok"]
    assert get_run(sqlite_ws.engine, done[0]["run_id"])["status"] == "ok"


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def _rchar(pid: int) -> int:
    for line in _read(f"/proc/{pid}/io").decode().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:", 1)[1].split("\n", 1)[0].lower()
    except OSError:
        return "zombie"


def test_backups_of_a_run_that_ended_are_interrupted_with_their_copies_and_no_others(ws) -> None:
    from eduops.backup.models import BackupCopy
    from eduops.db import session_scope, utcnow

    now = utcnow()
    with session_scope(ws.engine) as session:
        runs = {
            status: Run(task_key="backup", trigger="manual", status=status, started_at=now, evidence={}, summary=status)
            for status in ("interrupted", "error", "running")
        }
        session.add_all(runs.values())
        session.flush()
        for source, run_id in [(s, r.id) for s, r in runs.items()] + [("no-run", None)]:
            session.add(
                BackupRun(run_id=run_id, source=source, kind="files", target="local", status="running", record={})
            )
        session.flush()
        first = session.scalars(sa.select(BackupRun).where(BackupRun.source == "interrupted")).one()
        session.add(BackupCopy(backup_id=first.id, target="second", status="running", error=""))
    fixed = service.mark_interrupted(ws.engine)
    rows = {r["source"]: r for r in service.list_backups(ws.engine)}
    assert {s: r["status"] for s, r in rows.items()} == {
        "interrupted": "interrupted",
        "error": "interrupted",
        "running": "running",  # its run is alive: nothing to guess
        "no-run": "running",  # outside a run: never guessed at
    }
    assert sorted(fixed) == sorted(rows[s]["id"] for s in ("interrupted", "error"))
    assert rows["interrupted"]["error"].startswith(f"run #{runs['interrupted'].id} was interrupted")
    assert rows["error"]["error"].startswith(f"run #{runs['error'].id} ended (error)")
    assert [c["status"] for c in rows["interrupted"]["copies"]] == ["interrupted"]


def test_kill_9_during_restic_copy_is_reconciled_and_the_copy_made_next_run(sqlite_ws, tmp_path: Path) -> None:
    """The backup is on the primary, `restic copy` to the second target is under way: kill -9. The copy row
    does not stay `running`; the next run copies that backup too."""
    media = tmp_path / "media"
    media.mkdir()
    for i in range(4):
        (media / f"part{i}.mp4").write_bytes(os.urandom(700_000))
    s = sqlite_ws.settings
    second = local_target(s, "second", tmp_path / "repo2")
    second["limit_upload_kib"] = 256  # the copy, not the backup, is slow: time to pull the plug during it
    backup = {
        "include_state": False,
        "sources": [{"name": "media", "kind": "files", "paths": [str(media)]}],
        "targets": [local_target(s, "primary", tmp_path / "repo1"), second],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env["EDUOPS_CONFIG"] = str(write_config(s.home, backup))
    proc = subprocess.Popen([str(Path(sys.executable).parent / "eduops"), "backup", "run", "media"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def copying() -> list[int]:
            kids = [k for k in _children(proc.pid) if b"copy" in _read(f"/proc/{k}/cmdline").split(b"\0")]
            return [k for k in kids if _rchar(k) > 1_000_000]

        _poll(copying, "restic copy to start uploading")
        with sqlite_ws.engine.connect() as conn:
            assert conn.execute(sa.select(BackupCopy.target, BackupCopy.status)).all() == [
                ("primary", "ok"), ("second", "running")]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    configure(s, backup)
    first = service.list_backups(sqlite_ws.engine, settings=s)
    assert [(r["status"], [(c["target"], c["status"]) for c in r["copies"]]) for r in first] == [
        ("ok", [("primary", "ok"), ("second", "interrupted")])]
    assert "during the copy" in first[0]["copies"][1]["error"]

    backup["targets"][1]["limit_upload_kib"] = 0
    again = eduops(write_config(s.home, backup), "backup", "run", "media", "--json")
    assert again.returncode == 0, again.stderr
    rows = {r["id"]: r for r in service.list_backups(sqlite_ws.engine, settings=s)}
    killed = rows[first[0]["id"]]
    assert sorted(c["status"] for c in killed["copies"] if c["target"] == "second") == ["interrupted", "ok"]
    assert all(c["status"] == "ok" for r in rows.values() if r["id"] != killed["id"] for c in r["copies"])
    checked = verification.verify(sqlite_ws.engine, s, read_data="full")
    assert [(c["target"], c["status"]) for c in checked] == [("primary", "ok"), ("second", "ok")], checked


def test_owed_copies(ws) -> None:
    """What the next run copies to a target: backups the primary holds and the target lacks."""
    from eduops.backup import copies
    from eduops.backup.models import BackupCopy
    from eduops.db import session_scope

    cases = {  # source: (backup status, primary copy, second copy) → owed?
        "never-copied": ("ok", "ok", None, True),
        "interrupted": ("ok", "ok", "interrupted", True),
        "failed": ("ok", "ok", "failed", True),
        "copied": ("ok", "ok", "ok", False),
        "copying": ("ok", "ok", "running", False),
        "forgotten-on-primary": ("ok", "forgotten", None, False),
        "backup-failed": ("failed", None, None, False),
    }
    ids = {}
    with session_scope(ws.engine) as session:
        for source, (status, primary, second, _) in cases.items():
            row = BackupRun(source=source, kind="files", target="primary", status=status, record={})
            session.add(row)
            session.flush()
            ids[source] = row.id
            if primary:
                session.add(BackupCopy(backup_id=row.id, target="primary", snapshot_id=f"snap-{source}",
                                       status=primary, error=""))
            if second:
                session.add(BackupCopy(backup_id=row.id, target="second", status=second, error=""))
    owed = copies.owed(ws.engine, "primary", "second", list(cases))
    assert owed == {ids[s]: f"snap-{s}" for s, case in cases.items() if case[3]}
    assert copies.owed(ws.engine, "primary", "second", ["copied"]) == {}
