"""Restores and restore drills: bring a snapshot back into a scratch place and prove it is the data.

A drill restores the newest good backup of a source from a chosen target, recomputes what was
recorded at backup time (row counts and checksums, integrity_check, content digests), measures RTO
(restore until proven usable) and RPO (age of the restored data), and always cleans up.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.backup import restic, sources
from eduops.backup.models import BackupCopy, BackupRun, Drill
from eduops.backup.service import Plan, _dsn
from eduops.backup.settings import SourceSpec
from eduops.config import Settings
from eduops.core.models import Run
from eduops.core.runs import recover_interrupted
from eduops.db import session_scope, utcnow
from eduops.errors import EduopsError, NotFound, ServiceUnavailable, UsageError

Progress = Callable[[str, float], None]


def compare(recorded: dict[str, Any], restored: dict[str, Any]) -> list[str]:
    """What differs between the record made at backup time and the restored copy (empty: identical)."""
    problems = []
    if "integrity" in restored and restored["integrity"] != "ok":
        problems.append(f"integrity_check: {restored['integrity']}")
    for key in ("files", "bytes", "digest"):
        if key in recorded and recorded.get(key) != restored.get(key):
            problems.append(f"{key}: recorded {recorded.get(key)}, restored {restored.get(key)}")
    want, got = recorded.get("tables", {}), restored.get("tables", {})
    for table in sorted(set(want) | set(got)):
        a, b = want.get(table), got.get(table)
        if a is None or b is None:
            problems.append(f"{table}: {'missing after restore' if b is None else 'not in the backup record'}")
        elif a != b:
            same = "equal" if a["checksum"] == b["checksum"] else "differs"
            problems.append(f"{table}: rows {a['rows']}→{b['rows']}, checksum {same}")
    return problems


def _pipe_dump(
    repo: restic.Repository,
    snapshot: str,
    filename: str,
    consumer: list[str],
    env: dict[str, str],
    cache: Path,
) -> None:
    """``restic dump SNAPSHOT /file | consumer``."""
    dump = restic.popen(repo, ["dump", snapshot, f"/{filename}"], cache_dir=cache)
    try:
        proc = subprocess.run(
            consumer,
            env=env,
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            preexec_fn=restic._die_with_parent,
        )
    except FileNotFoundError:
        dump.kill()
        raise ServiceUnavailable(f"{consumer[0]} is not installed; run `make system-deps`") from None
    finally:
        assert dump.stdout is not None
        dump.stdout.close()
    err = dump.stderr.read().decode(errors="replace") if dump.stderr else ""
    dump.wait()
    if dump.returncode != 0:
        raise restic.classify(repo, err, dump.returncode)
    if proc.returncode != 0:
        raise ServiceUnavailable(f"{consumer[0]} failed restoring {snapshot[:8]}: {proc.stderr.strip()[-600:]}")


def _restore_into(
    plan: Plan, repo: restic.Repository, spec: SourceSpec, snapshot: str, to: str, create: bool, measure: bool = True
) -> dict[str, Any]:
    """Restore a snapshot of ``spec`` into ``to`` (a database name/DSN or a path); returns the measured record."""
    if spec.kind == "postgresql":
        scratch = sources.ServerDsn.parse(to, _dsn(plan, spec).password if "://" in to else "")
        if create:
            admin = sources.pg_connect(scratch.with_database("postgres"))
            admin.autocommit = True
            admin.execute(f'CREATE DATABASE "{scratch.database}"')
            admin.close()
        _pipe_dump(
            repo,
            snapshot,
            f"{spec.name}.dump",
            ["pg_restore", "--no-owner", "--no-acl", "--exit-on-error", "--no-password", "-d", scratch.libpq],
            scratch.tool_env(),
            plan.cache,
        )
        conn = sources.pg_connect(scratch)
        try:
            return sources.pg_record(conn.cursor())
        finally:
            conn.close()
    if spec.kind == "mariadb":
        scratch = sources.ServerDsn.parse(to, _dsn(plan, spec).password)
        if create:
            admin = sources.mariadb_connect(scratch, database="")
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{scratch.database}`")
            admin.close()
        _pipe_dump(
            repo,
            snapshot,
            f"{spec.name}.sql",
            ["mariadb", *sources.mariadb_client(scratch), scratch.database],
            scratch.tool_env(),
            plan.cache,
        )
        conn = sources.mariadb_connect(scratch)
        try:
            return sources.mariadb_record(conn, scratch.database)
        finally:
            conn.close()
    if spec.kind == "sqlite":
        path = Path(to)
        with path.open("wb") as fh:
            dump = restic.popen(repo, ["dump", snapshot, f"/{spec.name}.sqlite"], cache_dir=plan.cache)
            assert dump.stdout is not None
            for chunk in iter(lambda: dump.stdout.read(1 << 20), b""):  # type: ignore[union-attr]
                fh.write(chunk)
            err = dump.stderr.read().decode(errors="replace") if dump.stderr else ""
            dump.wait()
        if dump.returncode != 0:
            raise restic.classify(repo, err, dump.returncode)
        return sources.sqlite_record(path)
    target = Path(to)
    args = ["restore", snapshot, "--target", str(target)] + (["--verify"] if measure else [])
    restic.run(repo, args, cache_dir=plan.cache)
    if not measure:
        return {"verified": False}
    # restic exits non-zero when --verify finds a restored file that differs from its recorded chunks
    files = sorted(p for p in target.rglob("*") if p.is_file())
    return sources.tree_record(files, root_prefix=target, content=bool(spec.content_digest))


def _find_snapshot(plan: Plan, repo: restic.Repository, snapshot: str) -> tuple[restic.Snapshot, SourceSpec]:
    """A snapshot by id on ``repo``; a primary's id also finds its copy (same ``backup=`` tag) elsewhere."""
    snaps = restic.snapshots(repo, ["eduops"], plan.cache)
    found = snaps[-1:] if snapshot == "latest" else [s for s in snaps if s.id.startswith(snapshot)]
    if not found and snapshot != "latest" and repo.name != plan.primary:
        on_primary = [
            s for s in restic.snapshots(plan.repo(plan.primary), ["eduops"], plan.cache) if s.id.startswith(snapshot)
        ]
        tags = {s.tag_value("backup") for s in on_primary}
        found = [s for s in snaps if s.tag_value("backup") in tags]
    if not found:
        raise NotFound(f"no eduops snapshot {snapshot!r} on target {repo.name!r}; see `eduops backup list`")
    if len(found) > 1:
        raise UsageError(f"snapshot id {snapshot!r} is ambiguous on target {repo.name!r}; give more characters")
    return found[0], plan.source(found[0].tag_value("source") or "")


SCRATCH_PREFIXES = ("scratch", "eduops_drill", "drill_", "tmp_", "test_")


def is_scratch(to: str, home: Path, temp: Path) -> bool:
    """A restore target that holds nothing anyone relies on (a pure rule): a path under the system temp
    folder or the workspace's ``scratch/``, or a database whose name starts with scratch/eduops_drill/drill_/
    tmp_/test_. Anything else may be production and gets a confirmation first."""
    if "://" in to:
        name = to.rsplit("/", 1)[-1].split("?", 1)[0].lower()
        return name.startswith(SCRATCH_PREFIXES)
    path = Path(to).expanduser().resolve()
    return any(path.is_relative_to(base.resolve()) for base in (temp, home / "scratch"))


def restore(
    settings: Settings,
    snapshot: str,
    to: str,
    target: str | None = None,
    verify: bool = False,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Restore one snapshot into a new database (DSN) or an empty path; never over existing data.

    Databases are always measured (row counts and checksums); a file tree only with ``verify``
    (``restic restore --verify`` plus the manifest), which reads everything restored once more.
    With ``engine``, a snapshot eduops recorded is found in the state database instead of listing the target.
    """
    plan = Plan.of(settings)
    repo = plan.repo(target or plan.primary)
    known = _recorded(engine, repo.name, snapshot) if engine is not None else None
    if known is not None:
        snap, spec = restic.Snapshot(known[0], utcnow(), [], []), plan.source(known[1])
    else:
        snap, spec = _find_snapshot(plan, repo, snapshot)
    if spec.kind in ("postgresql", "mariadb"):
        if "://" not in to:
            raise UsageError(f"snapshot {snap.short_id} is a {spec.kind} dump: --to needs a DSN of a new database")
    elif Path(to).exists() and (Path(to).is_file() or any(Path(to).iterdir())):
        raise UsageError(f"--to {to} exists and is not empty; restore into a new path")
    t0 = time.perf_counter()
    record = _restore_into(
        plan,
        repo,
        spec,
        snap.id,
        to,
        create=spec.kind in ("postgresql", "mariadb"),
        measure=verify or spec.kind != "files",
    )
    return {
        "snapshot": snap.short_id,
        "source": spec.name,
        "kind": spec.kind,
        "to": to,
        "target": repo.name,
        "seconds": round(time.perf_counter() - t0, 3),
        "restored": record,
    }


def _recorded(engine: Engine, target: str, snapshot: str) -> tuple[str, str] | None:
    """(snapshot id, source) of a snapshot eduops recorded on ``target`` (or on the primary, for its copy)."""
    if len(snapshot) < 8 or snapshot == "latest":
        return None
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(BackupCopy.snapshot_id, BackupRun.source, BackupRun.id, BackupCopy.target)
            .join(BackupRun, BackupRun.id == BackupCopy.backup_id)
            .where(BackupCopy.snapshot_id.like(f"{snapshot[:8]}%"), BackupCopy.status == "ok")
        ).all()
        exact = [r for r in rows if str(r[0]).startswith(snapshot) or snapshot.startswith(str(r[0]))]
        if len(exact) != 1:
            return None
        if exact[0][3] == target:
            return str(exact[0][0]), str(exact[0][1])
        copy = session.execute(
            sa.select(BackupCopy.snapshot_id).where(
                BackupCopy.backup_id == exact[0][2], BackupCopy.target == target, BackupCopy.status == "ok"
            )
        ).scalar()
    return (str(copy), str(exact[0][1])) if copy else None


def _latest_backup(engine: Engine, source: str, target: str) -> tuple[BackupRun, str] | None:
    with session_scope(engine) as session:
        row = session.execute(
            sa.select(BackupRun, BackupCopy.snapshot_id)
            .join(BackupCopy, BackupCopy.backup_id == BackupRun.id)
            .where(
                BackupRun.source == source,
                BackupRun.status == "ok",
                BackupCopy.target == target,
                BackupCopy.status == "ok",
                BackupCopy.snapshot_id.is_not(None),
            )
            .order_by(BackupRun.started_at.desc())
            .limit(1)
        ).first()
    return (row[0], str(row[1])) if row else None


def _scratch(spec: SourceSpec, plan: Plan, tmp: Path) -> str:
    token = f"eduops_drill_{spec.name.replace('-', '_').replace('.', '_')}_{uuid.uuid4().hex[:8]}"
    if spec.kind in ("postgresql", "mariadb"):
        base = sources.ServerDsn.parse(spec.scratch_dsn or spec.dsn)
        return f"{base.scheme}://{base.user}@{base.host}:{base.port}/{token}"
    return str(tmp / (f"{token}.sqlite" if spec.kind == "sqlite" else token))


def _drop(spec: SourceSpec, plan: Plan, scratch: str) -> None:
    dsn = sources.ServerDsn.parse(scratch, _dsn(plan, spec).password)
    if spec.kind == "postgresql":
        conn = sources.pg_connect(dsn.with_database("postgres"))
        conn.autocommit = True
        conn.execute(f'DROP DATABASE IF EXISTS "{dsn.database}" WITH (FORCE)')
        conn.close()
    else:
        conn = sources.mariadb_connect(dsn, database="")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{dsn.database}`")
        conn.close()


def _begin(engine: Engine, run_id: int | None, source: str, target: str, started: Any, scratch: str) -> int:
    """The drill's row, ``running``, written before the restore: the scratch place it is about to fill."""
    with session_scope(engine) as session:
        row = Drill(run_id=run_id, source=source, target=target, status="running", started_at=started,
                    scratch=scratch, evidence={}, error="")
        session.add(row)
        session.flush()
        return int(row.id)


def reconcile(engine: Engine, settings: Settings) -> list[int]:
    """Drills left ``running`` by a run that ended (kill -9 mid-restore): their scratch database or folder is
    removed and they become ``interrupted``. A drill outside a run, or in a live one, is left alone."""
    recover_interrupted(engine, settings)
    plan = Plan.of(settings)
    fixed = []
    with session_scope(engine) as session:
        stale = session.execute(
            sa.select(Drill, Run).join(Run, Run.id == Drill.run_id)
            .where(Drill.status == "running", Run.status != "running")
        ).all()
        for row, run in stale:
            note = _remove_scratch(plan, row.source, row.scratch)
            how = "was interrupted" if run.status == "interrupted" else f"ended ({run.status})"
            row.status, row.finished_at = "interrupted", run.finished_at or utcnow()
            row.error = f"run #{run.id} {how} during the restore; {note}"
            row.evidence = {**(row.evidence or {}), "cleaned_up": note.startswith("removed")}
            fixed.append(row.id)
    return fixed


def _remove_scratch(plan: Plan, source: str, scratch: str) -> str:
    if not scratch:
        return "there was no scratch place"
    if "://" not in scratch:  # a file or folder in the drill's temporary folder
        folder = Path(scratch).parent
        if folder.name.startswith("eduops-drill-"):
            shutil.rmtree(folder, ignore_errors=True)
        return f"removed {folder}"
    try:
        spec = plan.source(source)
    except EduopsError:
        return f"the source {source!r} is no longer configured: drop {scratch} by hand"
    try:
        _drop(spec, plan, scratch)
    except EduopsError as exc:
        return f"could not drop {scratch}: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - a database error: say it, keep reconciling the others
        return f"could not drop {scratch}: {exc}"
    return f"removed the scratch database {scratch}"


def drill_source(
    engine: Engine, plan: Plan, spec: SourceSpec, target: str, run_id: int | None = None
) -> dict[str, Any]:
    started = utcnow()
    latest = _latest_backup(engine, spec.name, target)
    evidence: dict[str, Any] = {}
    status, error, rto, rpo, scratch, snapshot, backup_id = "failed", "", None, None, "", None, None
    if latest is None:
        error = f"no good backup of {spec.name!r} on target {target!r} to restore"
    else:
        backup, snapshot = latest
        backup_id = backup.id
        rpo = (started - backup.started_at).total_seconds()
        with tempfile.TemporaryDirectory(prefix="eduops-drill-") as tmp:
            scratch = _scratch(spec, plan, Path(tmp))
            drill_id = _begin(engine, run_id, spec.name, target, started, scratch)  # found again after a crash
            t0 = time.perf_counter()
            try:
                restored = _restore_into(plan, plan.repo(target), spec, snapshot, scratch, create=True)
                rto = round(time.perf_counter() - t0, 3)
                problems = compare(backup.record, restored)
                evidence = {
                    "recorded": {k: v for k, v in backup.record.items() if k != "retention"},
                    "restored": restored,
                    "mismatches": problems,
                }
                status = "ok" if not problems else "failed"
                error = "; ".join(problems[:5])
            except EduopsError as exc:
                error = exc.message
            finally:
                if spec.kind in ("postgresql", "mariadb") and scratch:
                    try:
                        _drop(spec, plan, scratch)
                        evidence["cleaned_up"] = True
                    except EduopsError as exc:
                        evidence["cleaned_up"] = False
                        evidence["cleanup_error"] = exc.message
                else:
                    evidence["cleaned_up"] = True
    with session_scope(engine) as session:
        row = session.get(Drill, drill_id) if latest is not None else None
        if row is None:
            row = Drill(run_id=run_id, source=spec.name, target=target, started_at=started)
            session.add(row)
        row.snapshot_id, row.backup_id, row.status, row.finished_at = snapshot, backup_id, status, utcnow()
        row.rto_seconds, row.rpo_seconds, row.scratch, row.evidence, row.error = rto, rpo, scratch, evidence, error
        session.flush()
        drill_id = row.id
    return {
        "id": drill_id,
        "source": spec.name,
        "target": target,
        "snapshot_id": snapshot,
        "status": status,
        "rto_seconds": rto,
        "rpo_seconds": rpo,
        "error": error,
        "evidence": evidence,
    }


def drill(
    engine: Engine,
    settings: Settings,
    source: str | None = None,
    target: str | None = None,
    run_id: int | None = None,
    progress: Progress = lambda m, f: None,
) -> list[dict[str, Any]]:
    """Restore drill of one source (or every source) from ``target`` (default: drill_target or the primary)."""
    reconcile(engine, settings)  # scratch places an earlier, killed drill left behind
    plan = Plan.of(settings)
    chosen = [plan.source(source)] if source else plan.sources
    where = target or plan.conf.drill_target or plan.primary
    plan.repo(where)
    results = []
    for i, spec in enumerate(chosen):
        progress(f"{spec.name} from {where}", i / max(len(chosen), 1))
        results.append(drill_source(engine, plan, spec, where, run_id))
    progress("done", 1.0)
    return results
