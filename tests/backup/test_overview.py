"""The backup overview: per source the newest backup, the newest good one with its copies, the newest drill;
per target the newest verification — chosen by start time (then id), whatever order rows were written in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eduops.backup.models import BackupCopy, BackupRun, Drill, Verification
from eduops.backup.overview import overview
from eduops.core.workspace import Workspace
from eduops.db import session_scope

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def run(source: str, status: str, hours: int) -> BackupRun:
    return BackupRun(source=source, kind="postgres", target="local", status=status,
                     started_at=T0 + timedelta(hours=hours), snapshot_id=f"{source}-{hours}")


def test_overview_picks_the_newest_rows_per_source_and_target(ws: Workspace) -> None:
    with session_scope(ws.engine) as s:
        # written out of time order: the newest row is not the one with the highest id
        newest_good_db, older_good_db = run("db", "ok", 5), run("db", "ok", 1)
        s.add_all([newest_good_db, older_good_db, run("db", "failed", 7), run("db", "ok", 3), run("files", "ok", 2)])
        s.flush()
        s.add_all([BackupCopy(backup_id=newest_good_db.id, target="s3", status="ok", snapshot_id="c1"),
                   BackupCopy(backup_id=older_good_db.id, target="sftp", status="failed"),
                   Drill(source="db", target="local", status="ok", started_at=T0 + timedelta(hours=9)),
                   Drill(source="db", target="local", status="failed", started_at=T0 + timedelta(hours=4)),
                   Drill(source="drill-only", target="local", status="ok", started_at=T0),
                   Verification(target="s3", status="failed", started_at=T0 + timedelta(hours=8)),
                   Verification(target="s3", status="ok", started_at=T0 + timedelta(hours=6)),
                   Verification(target="local", status="ok", started_at=T0)])
    view = overview(ws.engine)
    by_source = {s["source"]: s for s in view["sources"]}
    assert list(by_source) == ["db", "drill-only", "files"]
    db = by_source["db"]
    assert db["last_backup"]["status"] == "failed" and db["last_backup"]["started_at"].startswith("2026-12-01T09")
    assert db["last_good"]["snapshot_id"] == "db-5"
    assert [c["target"] for c in db["copies"]] == ["s3"]
    assert db["last_drill"]["status"] == "ok"
    assert by_source["drill-only"]["last_backup"] is None and by_source["drill-only"]["last_good"] is None
    assert by_source["files"]["last_drill"] is None and by_source["files"]["last_good"]["snapshot_id"] == "files-2"
    assert [(v["target"], v["status"]) for v in view["verifications"]] == [("local", "ok"), ("s3", "failed")]
