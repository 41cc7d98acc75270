"""Secrets never reach a command line, a log or a record; a wrong password or a dead target names the target."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.backup.conftest import (
    REPO_PASSWORD,
    S3_KEY,
    S3_SECRET,
    configure,
    eduops,
    local_target,
    s3_target,
    sftp_target,
    write_config,
)

from eduops.backup import service, verification
from eduops.backup.models import BackupCopy, BackupRun
from eduops.backup.restic import TargetError

SECRETS = (REPO_PASSWORD, S3_KEY, S3_SECRET)


def _cmdlines() -> dict[int, str]:
    found = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                found[int(pid)] = (
                    Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
    return found


def test_no_secret_in_any_process_list_or_log_while_restic_runs(sqlite_ws, tmp_path: Path, s3_server, caplog) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "lecture.mp4").write_bytes(os.urandom(1_500_000))
    s = sqlite_ws.settings
    s3 = s3_target(s, "s3", s3_server, "secrets-bucket")
    s3["limit_upload_kib"] = 600  # slow enough to be watched for a few seconds
    configure(
        s,
        {
            "include_state": False,
            "sources": [{"name": "media", "kind": "files", "paths": [str(media)]}],
            "targets": [s3, local_target(s, "local", tmp_path / "repo")],
        },
    )
    seen_restic, leaks = [], []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for pid, cmd in _cmdlines().items():
                if "restic" in cmd.split(" ", 1)[0]:
                    seen_restic.append(cmd)
                leaks.extend(f"{pid}: {cmd}" for secret in SECRETS if secret in cmd)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    caplog.set_level(logging.DEBUG)
    try:
        results = service.run_backups(sqlite_ws.engine, s)
    finally:
        done.set()
        watcher.join()
    assert results[0]["status"] == "ok", results[0]["error"]
    assert any(" backup " in f" {c} " for c in seen_restic), "restic was watched while it ran"
    assert leaks == []
    assert not [secret for secret in SECRETS if secret in caplog.text]
    with sqlite_ws.engine.connect() as conn:
        stored = " ".join(
            str(v) for table in (BackupRun, BackupCopy) for row in conn.execute(sa.select(table.__table__)) for v in row
        )
    assert not [secret for secret in SECRETS if secret in stored]


def test_wrong_password_names_the_target_and_never_shows_a_password(sqlite_ws, tmp_path: Path) -> None:
    s = sqlite_ws.settings
    src = tmp_path / "f.txt"
    src.write_text("lesson")
    sources = [{"name": "notes", "kind": "files", "paths": [str(src)]}]
    configure(s, {"include_state": False, "sources": sources, "targets": [local_target(s, "vault", tmp_path / "r")]})
    assert service.run_backups(sqlite_ws.engine, s)[0]["status"] == "ok"
    wrong = "wrong-password-123456"
    config = write_config(
        s.home,
        {
            "include_state": False,
            "sources": sources,
            "targets": [local_target(s, "vault", tmp_path / "r", password=wrong)],
        },
    )
    proc = eduops(config, "backup", "run", "--json")
    assert proc.returncode == 3
    assert "target 'vault': wrong repository password" in proc.stderr
    for text in (proc.stdout, proc.stderr):
        assert wrong not in text and REPO_PASSWORD not in text
    status = eduops(config, "backup", "targets", "--json")
    assert status.returncode == 1 and "wrong repository password" in status.stdout and wrong not in status.stdout


def test_unreachable_target_is_named_and_other_targets_still_get_their_copy(
    sqlite_ws, tmp_path: Path, sftp_server
) -> None:
    s = sqlite_ws.settings
    src = tmp_path / "f.txt"
    src.write_text("lesson")
    dead = sftp_target(s, "offsite", sftp_server, "dead")
    dead["port"] = 1  # nothing listens there
    configure(
        s,
        {
            "include_state": False,
            "sources": [{"name": "notes", "kind": "files", "paths": [str(src)]}],
            "targets": [local_target(s, "local", tmp_path / "r"), dead],
        },
    )
    with pytest.raises(TargetError, match="target 'offsite' is unreachable"):
        service.run_backups(sqlite_ws.engine, s)
    rows = verification.targets_status(s)
    assert [(r["target"], r["reachable"]) for r in rows] == [("local", True), ("offsite", False)]
    assert "target 'offsite' is unreachable" in rows[1]["error"]
    checked = verification.verify(sqlite_ws.engine, s)
    assert [(c["target"], c["status"]) for c in checked] == [("local", "ok"), ("offsite", "error")]
    assert "offsite" in checked[1]["output"]
