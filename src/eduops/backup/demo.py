"""The backup share of the demo: four weeks of nightly backups copied to two sites, daily rotating
verification, weekly restore drills (one failed: a table came back short) and one real backup.

The history is synthetic rows; the last night is real: the demo workspace's own state database and
configuration are backed up with restic into a local repository, copied, verified and drilled.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from eduops.alerting import metrics
from eduops.backup.models import BackupCopy, BackupRun, Drill, Verification
from eduops.backup.retention import next_slice
from eduops.backup.settings import seal
from eduops.core.checks import Measurement
from eduops.core.demo import DemoContext
from eduops.core.i18n import encode, msg
from eduops.core.models import CheckRun, FindingRow, Run
from eduops.core.runs import run_task, summary_of
from eduops.core.service import get_run
from eduops.db import session_scope

DAYS = 28
SOURCES = [
    ("lms-postgres", "postgresql", 2.1e9),
    ("question-bank", "mariadb", 3.4e8),
    ("course-media", "files", 4.8e10),
]
TARGETS = ["local", "second-disk"]  # the targets the demo configures (see _real_backup)
FAILED_DRILL_WEEK = 2  # weeks ago: the drill of lms-postgres found pgbench-like table short of rows


def _history(demo: DemoContext) -> None:
    rng, now = demo.rng, demo.now
    with session_scope(demo.ws.engine) as session:
        previous = {t: None for t in TARGETS}
        for day in range(DAYS, 0, -1):
            night = (now - timedelta(days=day)).replace(hour=18, minute=0, second=0, microsecond=0)
            for name, kind, size in SOURCES:
                started = night + timedelta(minutes=rng.randint(0, 20))
                duration = (
                    size / 2.2e8 * rng.uniform(0.1, 0.3) if kind == "files" else size / 9e7 * rng.uniform(0.8, 1.2)
                )
                snap = secrets.token_hex(32)
                run = BackupRun(
                    source=name,
                    kind=kind,
                    mode="full" if started.weekday() == 6 else "incremental",
                    target="local",
                    status="ok",
                    started_at=started,
                    finished_at=started + timedelta(seconds=duration),
                    host="demo",
                    pid=0,
                    snapshot_id=snap,
                    size_bytes=int(size * (1 + (DAYS - day) * 0.004)),
                    added_bytes=int(size * rng.uniform(0.002, 0.03)),
                    files=1 if kind != "files" else 18_400,
                    duration_s=round(duration, 1),
                    record={"tables": {}} if kind != "files" else {},
                    error="",
                )
                session.add(run)
                session.flush()
                for target in TARGETS:
                    lost = target == "second-disk" and day in (9, 8)  # the second disk was down two nights
                    session.add(
                        BackupCopy(
                            backup_id=run.id,
                            target=target,
                            status="failed" if lost else "ok",
                            snapshot_id=None if lost else secrets.token_hex(32),
                            started_at=started,
                            finished_at=started + timedelta(seconds=duration * 1.4),
                            error="target 'second-disk' is unreachable: dial tcp: i/o timeout" if lost else "",
                        )
                    )
            for target in TARGETS:
                previous[target] = next_slice(previous[target], 7)  # type: ignore[assignment]
                at = night + timedelta(hours=1)
                session.add(
                    Verification(
                        target=target,
                        subset=previous[target] or "",
                        status="ok",
                        started_at=at,
                        finished_at=at + timedelta(minutes=rng.randint(2, 9)),
                        output="no errors were found",
                    )
                )
        for week in range(DAYS // 7, 0, -1):
            at = (now - timedelta(weeks=week)).replace(hour=20, minute=0, second=0, microsecond=0)
            drilled = []
            for name, kind, size in SOURCES:
                failed = week == FAILED_DRILL_WEEK and name == "lms-postgres"
                rto = size / 6e7 * rng.uniform(0.9, 1.2) if kind != "files" else size / 3.5e8
                problem = "public.pgbench_accounts: rows 1000000→998720, checksum differs" if failed else ""
                session.add(
                    Drill(
                        source=name,
                        target="second-disk",
                        status="failed" if failed else "ok",
                        started_at=at,
                        finished_at=at + timedelta(seconds=rto),
                        rto_seconds=round(rto, 1),
                        rpo_seconds=round(rng.uniform(1.5, 3.0) * 3600, 0),
                        scratch=f"eduops_drill_{name}",
                        snapshot_id=secrets.token_hex(32),
                        error=problem,
                        evidence={"mismatches": [problem] if failed else [], "cleaned_up": True},
                    )
                )
                drilled.append((name, failed, rto, problem))
            _drill_run(session, at, drilled)


def _drill_run(session: Any, at: Any, drilled: list[tuple[str, bool, float, str]]) -> None:
    failed = [d for d in drilled if d[1]]
    run = Run(
        task_key="restore-drill",
        trigger="scheduled",
        triggered_by="scheduler",
        status="crit" if failed else "ok",
        summary=encode(summary_of({"crit" if failed else "ok": 1}, len(failed))),
        slot=at,
        started_at=at,
        finished_at=at + timedelta(minutes=12),
        host="demo",
        pid=0,
        evidence={"owner": "ops-oncall"},
    )
    session.add(run)
    session.flush()
    measured = [Measurement("backup_drill_failed", 1.0 if f else 0.0, "", {"source": n}) for n, f, _, _ in drilled]
    measured += [Measurement("backup_drill_rto_seconds", round(r, 1), "s", {"source": n}) for n, _, r, _ in drilled]
    session.add(
        CheckRun(
            run_id=run.id,
            name="backup.restore_drill",
            area="backups",
            status=run.status,
            summary=encode(msg("{ok}/{count} sources restored and proven", ok=len(drilled) - len(failed),
                               count=len(drilled))),
            measurements=[{"name": m.name, "value": m.value, "unit": m.unit, "labels": m.labels} for m in measured],
            evidence={},
            started_at=at,
            duration_ms=720_000,
        )
    )
    for name, _, _, problem in failed:
        session.add(
            FindingRow(
                run_id=run.id,
                check_name="backup.restore_drill",
                area="backups",
                severity="crit",
                title=encode(msg("Restore drill of {source} failed", source=name)),
                detail=problem,
                remedy="the backup cannot be trusted: find the cause before the next backup",
            )
        )
    metrics.record(session, measured, at)


def _real_backup(demo: DemoContext) -> None:
    """Configure a local restic target for the demo workspace and back it up for real."""
    settings = demo.ws.settings
    repo = settings.home / "backups" / "restic-local"
    second = settings.home / "backups" / "restic-second"
    password = secrets.token_urlsafe(24)
    targets = [
        {
            "name": "local",
            "kind": "local",
            "path": str(repo),
            "password": seal(settings, password, "target", "local", "password"),
        },
        {
            "name": "second-disk",
            "kind": "local",
            "path": str(second),
            "password": seal(settings, password, "target", "second-disk", "password"),
        },
    ]
    assert settings.__pydantic_extra__ is not None
    settings.__pydantic_extra__["backup"] = {"include_state": True, "targets": targets, "verify_period_days": 7}
    config = settings.config_file if settings.config_file and settings.config_file.exists() else None
    existing = config.read_text(encoding="utf-8") if config else ""
    if config and not any(line.strip().startswith("[backup") for line in existing.splitlines()):
        lines = [
            "",
            "# the demo's backup targets (repository passwords are encrypted; `eduops backup secret`)",
            "[backup]",
            "include_state = true",
            "verify_period_days = 7",
        ]
        for t in targets:
            lines += ["[[backup.targets]]"] + [f'{k} = "{v}"' for k, v in t.items()]
        with config.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    engine = demo.ws.engine
    # the real backup and drill are runs of their calendar tasks, as when the scheduler starts them
    demo.progress("real backup of the demo workspace", 0.6)
    backed_up = get_run(engine, run_task(engine, settings, "backup", actor="demo"))["checks"][0]
    if "error" in backed_up["evidence"]:  # restic missing: the synthetic history still tells the story
        demo.notes["backup"] = f"real demo backup skipped: {backed_up['evidence']['error']}"
        return
    demo.progress("restore drill of the demo workspace", 0.85)
    run_task(engine, settings, "restore-drill", actor="demo")
    demo.notes["backup"] = f"restic repositories of the demo workspace: {repo} and {second}"


def populate(demo: DemoContext) -> None:
    demo.progress("four weeks of backups, copies and drills", 0.0)
    _history(demo)
    _real_backup(demo)
    demo.progress("done", 1.0)
