"""Clearing stale locks before a check or a prune costs nothing when there is no lock (nearly always): no restic
command for a local repository, one listing for the others. Locks left by a killed restic are cleared in
test_interrupted.py against the real restic."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from eduops.backup import restic
from eduops.backup.restic import Repository


def _recording(monkeypatch: pytest.MonkeyPatch, listed: str = "") -> list[list[str]]:
    calls: list[list[str]] = []

    def fake_run(repo: Repository, args: Sequence[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(list(args))
        return subprocess.CompletedProcess(list(args), 0, stdout=listed if args[0] == "list" else "", stderr="")

    monkeypatch.setattr(restic, "run", fake_run)
    return calls


@pytest.mark.parametrize(("lock_files", "expected"), [
    ((), []),  # no lock: nothing to ask restic
    (("0f" * 32,), [["unlock"]]),  # a lock: restic's unlock first (then its lock is looked at)
])
def test_a_local_repository_is_looked_at_in_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       lock_files: tuple[str, ...],
                                                       expected: list[list[str]]) -> None:
    (tmp_path / "locks").mkdir()
    for name in lock_files:
        (tmp_path / "locks" / name).write_bytes(b"encrypted")
    calls = _recording(monkeypatch)
    restic.clear_stale_locks(Repository("local", f"local:{tmp_path}", "pw"))
    assert calls[:1] == expected


def test_a_local_folder_without_a_repository_has_no_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _recording(monkeypatch)
    assert restic.clear_stale_locks(Repository("local", f"local:{tmp_path / 'missing'}", "pw")) == 0
    assert calls == []


@pytest.mark.parametrize(("listed", "first_calls"), [
    ("", [["list", "locks", "--no-lock"]]),  # no lock: one listing, no unlock
    ("ab" * 32 + "\n", [["list", "locks", "--no-lock"], ["unlock"]]),
])
def test_a_remote_repository_is_listed_once_when_unlocked(monkeypatch: pytest.MonkeyPatch, listed: str,
                                                          first_calls: list[list[str]]) -> None:
    calls = _recording(monkeypatch, listed)
    restic.clear_stale_locks(Repository("s3", "s3:http://127.0.0.1:9/bucket/repo", "pw"))
    assert calls[:2] == first_calls
    if not listed:
        assert len(calls) == 1


def test_an_unreadable_local_folder_is_left_to_restic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locks").mkdir()

    def unreadable(self: Path) -> Any:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", unreadable)
    calls = _recording(monkeypatch)
    assert restic.clear_stale_locks(Repository("local", f"local:{tmp_path}", "pw")) == 0
    assert calls == [["list", "locks", "--no-lock"]]
