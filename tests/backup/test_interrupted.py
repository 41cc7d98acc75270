"""kill -9 in the middle of a backup: every repository stays usable and the run is recorded interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from tests.backup.conftest import configure, local_target, write_config

from eduops.backup import service, verification
from eduops.backup.models import BackupRun


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
    rows = service.list_backups(sqlite_ws.engine)
    assert [(r["status"], r["snapshot_id"]) for r in rows] == [("interrupted", None)]
    assert "stopped during the backup" in rows[0]["error"]
    checked = verification.verify(sqlite_ws.engine, s, read_data="full")
    assert [(c["target"], c["status"]) for c in checked] == [("primary", "ok"), ("second", "ok")], checked
    backup["targets"][0]["limit_upload_kib"] = 0
    configure(s, backup)
    again = service.run_backups(sqlite_ws.engine, s)
    assert again[0]["status"] == "ok" and [c["status"] for c in again[0]["copies"]] == ["ok", "ok"]


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
