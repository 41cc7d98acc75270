"""The issue's contract: real PostgreSQL (pgbench) and MariaDB, copied to local, SFTP and S3 targets,
verified, a source table dropped, then a drill proves the restored checksums equal the recorded ones."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pymysql
import pytest
from tests.backup.conftest import configure, local_target, s3_target, sftp_target

from eduops.backup import drills, restic, service, verification
from eduops.backup.service import Plan

pytestmark = pytest.mark.slow


def test_backup_copy_verify_and_drill_after_a_table_is_dropped(
    sqlite_ws, tmp_path: Path, pg_source: str, mariadb_source: str, sftp_server, s3_server
) -> None:
    s = sqlite_ws.settings
    configure(
        s,
        {
            "include_state": False,
            "sources": [
                {"name": "lms-pg", "kind": "postgresql", "dsn": pg_source},
                {"name": "lms-maria", "kind": "mariadb", "dsn": mariadb_source},
            ],
            "targets": [
                local_target(s, "local", tmp_path / "repo-local"),
                sftp_target(s, "offsite", sftp_server, f"repo-{tmp_path.name}"),
                s3_target(s, "s3", s3_server, f"bucket-{tmp_path.name[-8:].lower().replace('_', '-')}"),
            ],
            "verify_period_days": 3,
        },
    )
    results = service.run_backups(sqlite_ws.engine, s)
    assert [r["status"] for r in results] == ["ok", "ok"], [r["error"] for r in results]
    for r in results:
        assert {c["target"]: c["status"] for c in r["copies"]} == {"local": "ok", "offsite": "ok", "s3": "ok"}
        assert r["record"]["tables"], "row counts and checksums are recorded at backup time"
    pg_record = results[0]["record"]["tables"]
    assert pg_record["public.pgbench_accounts"]["rows"] == 100000

    plan = Plan.of(s)
    for target in ("local", "offsite", "s3"):  # the copy is a real restic snapshot on each target
        tags = {t for snap in restic.snapshots(plan.repo(target), ["source=lms-pg"], plan.cache) for t in snap.tags}
        assert "kind=postgresql" in tags

    checked = verification.verify(sqlite_ws.engine, s)
    assert [(c["target"], c["subset"], c["status"]) for c in checked] == [
        ("local", "1/3", "ok"),
        ("offsite", "1/3", "ok"),
        ("s3", "1/3", "ok"),
    ]
    assert [c["subset"] for c in verification.verify(sqlite_ws.engine, s, target="s3")] == ["2/3"]

    with psycopg.connect(pg_source, autocommit=True) as conn:
        conn.execute("DROP TABLE pgbench_history")
    maria = pymysql.connect(host="127.0.0.1", user="root", database=mariadb_source.rsplit("/", 1)[1], autocommit=True)
    with maria.cursor() as cur:
        cur.execute("DROP TABLE enrolments")
    maria.close()

    for target, source in (("s3", None), ("offsite", "lms-maria")):
        report = drills.drill(sqlite_ws.engine, s, source=source, target=target)
        assert [d["status"] for d in report] == ["ok"] * len(report), [d["error"] for d in report]
        for d in report:
            assert d["rto_seconds"] > 0 and d["rpo_seconds"] >= 0
            assert d["evidence"]["mismatches"] == [] and d["evidence"]["cleaned_up"] is True
            assert d["evidence"]["restored"]["tables"] == d["evidence"]["recorded"]["tables"]
        by_source = {d["source"]: d for d in report}
        if "lms-pg" in by_source:
            assert "public.pgbench_history" in by_source["lms-pg"]["evidence"]["restored"]["tables"]
        assert by_source["lms-maria"]["evidence"]["restored"]["tables"]["enrolments"]["rows"] == 2000
