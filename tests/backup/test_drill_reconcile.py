"""A restore drill killed mid-restore leaves a `running` row and a scratch database: the next drill (or any
reconcile) drops the scratch and marks the drill interrupted; a drill in a live run is left alone."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from tests.backup.conftest import PG_ADMIN_URL, configure, local_target

from eduops.backup import drills
from eduops.backup.models import Drill
from eduops.core.models import Run
from eduops.db import session_scope, utcnow


def _admin() -> sa.engine.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _exists(name: str) -> bool:
    with _admin().connect() as conn:
        return bool(conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}))


def test_drills_of_a_dead_run_are_reconciled_and_their_scratch_removed(ws, pg_source: str, tmp_path: Path) -> None:
    s = ws.settings
    configure(s, {"include_state": False,
                  "sources": [{"name": "db", "kind": "postgresql", "dsn": pg_source},
                              {"name": "files", "kind": "sqlite", "path": str(tmp_path / "x.db")}],
                  "targets": [local_target(s, "primary", tmp_path / "repo")]})
    scratch_db = f"eduops_drill_db_{uuid.uuid4().hex[:8]}"
    with _admin().connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{scratch_db}"'))
    folder = tmp_path / "eduops-drill-abc"
    folder.mkdir()
    (folder / "restored.sqlite").write_bytes(b"x")
    base = pg_source.rsplit("/", 1)[0]
    now = utcnow()
    with session_scope(ws.engine) as session:
        dead = Run(task_key="restore-drill", trigger="manual", status="interrupted", started_at=now, evidence={},
                   summary="interrupted: the eduops process running it stopped")
        alive = Run(task_key="restore-drill", trigger="manual", status="running", started_at=now, evidence={},
                    summary="", heartbeat_at=now, pid=0, host="elsewhere")
        session.add_all([dead, alive])
        session.flush()
        session.add_all([
            Drill(run_id=dead.id, source="db", target="primary", status="running", scratch=f"{base}/{scratch_db}",
                  evidence={}, error=""),
            Drill(run_id=dead.id, source="files", target="primary", status="running",
                  scratch=str(folder / "restored.sqlite"), evidence={}, error=""),
            Drill(run_id=alive.id, source="db", target="primary", status="running", scratch="", evidence={},
                  error=""),
        ])
        dead_id = dead.id
    fixed = drills.reconcile(ws.engine, s)
    assert len(fixed) == 2
    assert not _exists(scratch_db) and not folder.exists()
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.select(Drill.run_id, Drill.status, Drill.error).order_by(Drill.id)).all()
    assert [r.status for r in rows] == ["interrupted", "interrupted", "running"]
    assert rows[0].error.startswith(f"run #{dead_id} was interrupted during the restore; removed the scratch")
    assert drills.reconcile(ws.engine, s) == []
