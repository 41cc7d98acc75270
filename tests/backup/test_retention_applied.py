"""Retention on real repositories: the policy forgets with --prune, and refuses when snapshots went missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.backup.conftest import configure, local_target

from eduops.backup import restic, service
from eduops.backup.drills import compare
from eduops.backup.service import Plan


def test_forget_follows_the_policy_and_stops_when_a_target_lost_snapshots(sqlite_ws, tmp_path: Path) -> None:
    s = sqlite_ws.settings
    notes = tmp_path / "notes.txt"
    configure(
        s,
        {
            "include_state": False,
            "retention": {"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0, "keep_yearly": 0},
            "sources": [{"name": "notes", "kind": "files", "paths": [str(notes)]}],
            "targets": [local_target(s, "a", tmp_path / "ra"), local_target(s, "b", tmp_path / "rb")],
        },
    )
    results = []
    for i in range(2):
        notes.write_text(f"version {i}")
        results.append(service.run_backups(sqlite_ws.engine, s)[0])
    assert [n["forgotten"] for n in results[-1]["record"]["retention"]] == [1, 1]
    plan = Plan.of(s)
    for target in ("a", "b"):
        assert len(restic.snapshots(plan.repo(target), ["source=notes"], plan.cache)) == 1
    first = service.backup_summary(sqlite_ws.engine, results[0]["id"])
    assert {c["status"] for c in first["copies"]} == {"forgotten"}

    # someone (or a broken client) deletes the newest snapshot on target b behind eduops's back
    newest_b = restic.snapshots(plan.repo("b"), ["source=notes"], plan.cache)[-1]
    restic.forget(plan.repo("b"), [newest_b.id], prune=False, cache_dir=plan.cache)
    notes.write_text("version 2")
    third = service.run_backups(sqlite_ws.engine, s)[0]
    by_target = {n["target"]: n for n in third["record"]["retention"]}
    assert by_target["a"]["applied"] is True
    assert by_target["b"]["applied"] is False and "missing on the target" in by_target["b"]["reason"]
    assert len(restic.snapshots(plan.repo("b"), ["source=notes"], plan.cache)) == 1  # nothing more deleted


T = {"rows": 3, "checksum": "42"}


@pytest.mark.parametrize(
    ("recorded", "restored", "problems"),
    [
        ({"tables": {"a": T}}, {"tables": {"a": T}}, []),
        ({"tables": {"a": T}}, {"tables": {}}, ["a: missing after restore"]),
        ({"tables": {}}, {"tables": {"a": T}}, ["a: not in the backup record"]),
        ({"tables": {"a": T}}, {"tables": {"a": {"rows": 2, "checksum": "41"}}}, ["a: rows 3→2, checksum differs"]),
        ({"tables": {"a": T}}, {"tables": {"a": {"rows": 3, "checksum": "41"}}}, ["a: rows 3→3, checksum differs"]),
        (
            {"integrity": "ok", "tables": {}},
            {"integrity": "row 7 missing from index", "tables": {}},
            ["integrity_check: row 7 missing from index"],
        ),
        ({"files": 2, "bytes": 10, "digest": "x"}, {"files": 2, "bytes": 10, "digest": "x"}, []),
        (
            {"files": 2, "bytes": 10, "digest": "x"},
            {"files": 1, "bytes": 10, "digest": "y"},
            ["files: recorded 2, restored 1", "digest: recorded x, restored y"],
        ),
    ],
)
def test_drill_comparison(recorded, restored, problems) -> None:
    assert compare(recorded, restored) == problems
