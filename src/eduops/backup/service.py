"""Backups as eduops runs them: dump each source to the primary target, copy to every other, prune safely.

Usable from Python without the CLI or the web app: every function takes the settings and the engine.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.backup import copies, restic, sources, streams
from eduops.backup.models import BackupCopy, BackupRun
from eduops.backup.restic import Repository
from eduops.backup.settings import (
    BackupSettings,
    SourceSpec,
    TargetSpec,
    all_sources,
    cache_dir,
    load,
    repository,
    reveal,
    secret_context,
)
from eduops.config import Settings
from eduops.core.i18n import render_text
from eduops.core.models import Run
from eduops.core.runs import HOST, recover_interrupted
from eduops.db import session_scope, utcnow
from eduops.errors import EduopsError, NotFound, UsageError

Progress = Callable[[str, float], None]


def _quiet(message: str, fraction: float) -> None:
    pass


@dataclass
class Plan:
    """Everything one backup operation needs, resolved once from the settings."""

    settings: Settings
    conf: BackupSettings
    sources: list[SourceSpec]
    targets: list[TargetSpec]
    cache: Path
    _repos: dict[str, Repository] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> Plan:
        conf = load(settings)
        return cls(settings, conf, all_sources(settings, conf), list(conf.targets), cache_dir(settings, conf))

    def repo(self, name: str) -> Repository:
        if name not in self._repos:
            spec = next((t for t in self.targets if t.name == name), None)
            if spec is None:
                raise NotFound(f"no backup target {name!r}; known: {', '.join(t.name for t in self.targets) or 'none'}")
            self._repos[name] = repository(self.settings, spec)
        return self._repos[name]

    def source(self, name: str) -> SourceSpec:
        for spec in self.sources:
            if spec.name == name:
                return spec
        raise NotFound(f"no backup source {name!r}; known: {', '.join(s.name for s in self.sources) or 'none'}")

    @property
    def primary(self) -> str:
        if not self.targets:
            raise UsageError("no backup targets configured: add [[backup.targets]] to eduops.toml (see docs/backup.md)")
        return self.targets[0].name

    def ensure_repositories(self) -> None:
        """Initialise missing repositories; secondaries take the primary's chunker parameters."""
        primary = self.repo(self.primary)
        if not self._initialised(self.targets[0]):
            restic.init(primary, cache_dir=self.cache)
        for spec in self.targets[1:]:
            if not self._initialised(spec):
                restic.init(self.repo(spec.name), copy_chunker_from=primary, cache_dir=self.cache)

    def _initialised(self, spec: TargetSpec) -> bool:
        # a local repository shows itself by its config file; asking restic costs a key derivation
        if spec.kind == "local" and (Path(spec.path).expanduser() / "config").is_file():
            return True
        return restic.is_initialised(self.repo(spec.name), self.cache)


def mark_interrupted(engine: Engine, settings: Settings | None = None) -> list[int]:
    """Backups still ``running`` in a run that ended (kill -9, power loss, its time limit) become ``interrupted``,
    and so do their copies.

    The run is the one record of whether the work is alive: with ``settings``, core's recovery first marks runs
    whose process died or fell silent. A backup started outside a run is never guessed at.
    """
    if settings is not None:
        recover_interrupted(engine, settings)
    fixed = []
    with session_scope(engine) as session:
        stopped = (
            sa.select(BackupRun, Run)
            .join(Run, Run.id == BackupRun.run_id)
            .where(BackupRun.status == "running", Run.status != "running")
        )
        for row, run in session.execute(stopped).all():
            how = "was interrupted" if run.status == "interrupted" else f"ended ({run.status})"
            row.status, row.finished_at = "interrupted", run.finished_at or utcnow()
            row.error = f"run #{run.id} {how} during the backup: {render_text(run.summary, 'en')}"
            fixed.append(row.id)
        if fixed:
            session.execute(
                sa.update(BackupCopy)
                .where(BackupCopy.backup_id.in_(fixed), BackupCopy.status == "running")
                .values(status="interrupted", finished_at=utcnow(), error="the run was interrupted during the copy")
            )
        # a backup that finished while its run was killed during `restic copy`: the copies stay behind
        copying = (
            sa.select(BackupCopy, Run)
            .join(BackupRun, BackupRun.id == BackupCopy.backup_id)
            .join(Run, Run.id == BackupRun.run_id)
            .where(BackupCopy.status == "running", Run.status != "running")
        )
        for copy_row, run in session.execute(copying).all():
            how = "was interrupted" if run.status == "interrupted" else f"ended ({run.status})"
            copy_row.status, copy_row.finished_at = "interrupted", run.finished_at or utcnow()
            copy_row.error = f"run #{run.id} {how} during the copy; the next backup run copies it again"
    return fixed


def check_request(settings: Settings, source: str | None = None, mode: str = "incremental") -> None:
    """Refuse a backup that cannot start (bad mode, unknown source, nothing to back up, no target) before its run."""
    _chosen(Plan.of(settings), source, mode)


def _chosen(plan: Plan, source: str | None, mode: str) -> list[SourceSpec]:
    if mode not in ("incremental", "full"):
        raise UsageError(f"mode {mode!r}: use incremental or full")
    chosen = [plan.source(source)] if source else plan.sources
    if not chosen:
        raise UsageError("no backup sources: add [[backup.sources]] to eduops.toml or set include_state = true")
    _ = plan.primary  # raises the usage error when no target is configured
    return chosen


def _tags(spec: SourceSpec, backup_id: int, mode: str) -> list[str]:
    return ["eduops", f"source={spec.name}", f"kind={spec.kind}", f"backup={backup_id}", f"mode={mode}"]


def _dsn(plan: Plan, spec: SourceSpec) -> sources.ServerDsn:
    password = reveal(plan.settings, spec.password, secret_context("source", spec.name, "password"))
    return sources.ServerDsn.parse(spec.dsn, password)


def dump_source(
    plan: Plan, spec: SourceSpec, backup_id: int, mode: str, progress: Progress
) -> tuple[streams.BackupResult, dict[str, Any]]:
    """Back one source up to the primary; returns restic's result and what was recorded to prove it."""
    repo, tags = plan.repo(plan.primary), _tags(spec, backup_id, mode)
    if spec.kind == "postgresql":
        import psycopg

        dsn = _dsn(plan, spec)
        conn = sources.pg_connect(dsn)
        try:  # pg_dump reads the very snapshot the checksums are computed in
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            cur = conn.cursor()
            cur.execute("SELECT pg_export_snapshot()")
            snap = cur.fetchone()[0]
            result, record = streams.from_command(
                repo,
                sources.pg_dump_command(dsn, snap),
                dsn.tool_env(),
                f"{spec.name}.dump",
                tags,
                plan.cache,
                progress,
                while_streaming=lambda: sources.pg_record(cur),
            )
        finally:
            conn.close()
        return result, record
    if spec.kind == "mariadb":
        dsn = _dsn(plan, spec)
        conn = sources.mariadb_connect(dsn)
        try:
            with conn.cursor() as cur:
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            return streams.from_command(
                repo,
                sources.mariadb_dump_command(dsn),
                dsn.tool_env(),
                f"{spec.name}.sql",
                tags,
                plan.cache,
                progress,
                while_streaming=lambda: sources.mariadb_record(conn, dsn.database),
            )
        finally:
            conn.close()
    if spec.kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="eduops-sqlite-") as tmp:
            copy = Path(tmp) / f"{spec.name}.sqlite"
            record = sources.sqlite_snapshot(Path(spec.path).expanduser(), copy)
            return streams.from_file(repo, copy, f"{spec.name}.sqlite", tags, plan.cache, progress), record
    roots = [str(Path(p).expanduser().resolve()) for p in spec.paths]
    missing = [p for p in spec.paths if not Path(p).expanduser().exists()]
    if missing:
        raise UsageError(f"file source {spec.name!r}: {', '.join(missing)} does not exist")
    filtered = bool(spec.include or spec.exclude)
    files, left = sources.select_files(spec.paths, spec.include, spec.exclude) if filtered else ([], [])
    if filtered and not files:
        raise UsageError(f"file source {spec.name!r} selects no files; check its paths and include/exclude")

    def manifest() -> dict[str, Any]:
        # unfiltered trees are walked beside restic instead of before it
        if filtered:
            return sources.tree_record(files, content=spec.content_digest)
        return sources.walk_manifest(spec.paths, content=spec.content_digest)

    result, record = streams.from_files(
        repo,
        files,
        tags,
        plan.cache,
        progress,
        roots=roots,
        excluded=sources.restic_exclude_lines(left),
        force=mode == "full",
        while_streaming=manifest,
    )
    return result, record


def backup_source(
    engine: Engine,
    plan: Plan,
    spec: SourceSpec,
    *,
    mode: str = "incremental",
    run_id: int | None = None,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Back up one source to the primary target; the row records what was taken and how it went."""
    with session_scope(engine) as session:
        row = BackupRun(
            run_id=run_id,
            source=spec.name,
            kind=spec.kind,
            mode=mode,
            target=plan.primary,
            status="running",
            host=HOST,
            pid=os.getpid(),
            record={},
            started_at=utcnow(),
        )
        session.add(row)
        session.flush()
        backup_id = row.id
    t0 = time.perf_counter()
    try:
        result, record = dump_source(plan, spec, backup_id, mode, progress)
    except EduopsError as exc:
        _finish(engine, backup_id, "failed", error=exc.message, duration=time.perf_counter() - t0)
        if isinstance(exc, restic.TargetError):  # the primary itself is unusable: stop, say which and why
            raise
        return backup_summary(engine, backup_id)
    _finish(engine, backup_id, "ok", result=result, record=record, duration=time.perf_counter() - t0)
    with session_scope(engine) as session:
        session.add(
            BackupCopy(
                backup_id=backup_id,
                target=plan.primary,
                snapshot_id=result.snapshot_id,
                status="ok",
                finished_at=utcnow(),
                error="",
            )
        )
    return backup_summary(engine, backup_id)


def _finish(
    engine: Engine,
    backup_id: int,
    status: str,
    *,
    error: str = "",
    result: streams.BackupResult | None = None,
    record: dict[str, Any] | None = None,
    duration: float = 0.0,
) -> None:
    with session_scope(engine) as session:
        row = session.get(BackupRun, backup_id)
        assert row is not None
        row.status, row.error, row.finished_at, row.duration_s = status, error, utcnow(), round(duration, 3)
        if result is not None:
            row.snapshot_id, row.size_bytes = result.snapshot_id, result.size_bytes
            row.added_bytes, row.files = result.added_bytes, result.files
            row.record = {**(record or {}), **result.extra}


def run_backups(
    engine: Engine,
    settings: Settings,
    source: str | None = None,
    *,
    mode: str = "incremental",
    run_id: int | None = None,
    progress: Progress = _quiet,
) -> list[dict[str, Any]]:
    """Back up one source (or all) to the primary and copy to every other target.

    This is the work of the ``backup.run`` check; start it as the ``backup`` task (``eduops backup run``,
    the API, the scheduler) so it gets a run, and ``run_id`` links its rows to that run.
    """
    plan = Plan.of(settings)
    chosen = _chosen(plan, source, mode)
    plan.ensure_repositories()
    ids: list[int] = []
    for i, spec in enumerate(chosen):

        def step(message: str, fraction: float, _i: int = i, _name: str = spec.name) -> None:
            progress(f"{_name}: {message}", (_i + min(fraction, 0.9)) / len(chosen))

        ids.append(backup_source(engine, plan, spec, mode=mode, run_id=run_id, progress=step)["id"])
    done = [backup_summary(engine, i) for i in ids]
    fresh = {int(r["id"]): str(r["snapshot_id"]) for r in done if r["status"] == "ok"}
    mark_interrupted(engine, settings)  # copies a killed run left `running` become interrupted, so owed again
    for target in plan.targets[1:]:
        owed = copies.owed(engine, plan.primary, target.name, [s.name for s in chosen])
        if owed:  # this run's backups, and those an earlier crash or a failed target left uncopied
            progress(f"copy to {target.name}", 0.92)
            copies.copy_to(engine, plan, target.name, owed)
    if fresh:
        progress("retention", 0.97)
        done_specs = [s for s in chosen if s.name in {r["source"] for r in done if r["id"] in fresh}]
        notes = {t.name: copies.apply_retention(engine, plan, done_specs, t.name) for t in plan.targets}
        with session_scope(engine) as session:
            for row in session.scalars(sa.select(BackupRun).where(BackupRun.id.in_(list(fresh)))):
                row.record = {
                    **row.record,
                    "retention": [notes[t][row.source] for t in notes if row.source in notes[t]],
                }
    return [backup_summary(engine, i) for i in ids]


def backup_summary(engine: Engine, backup_id: int) -> dict[str, Any]:
    with session_scope(engine) as session:
        row = session.get(BackupRun, backup_id)
        if row is None:
            raise NotFound(f"no backup {backup_id}")
        copies = session.scalars(
            sa.select(BackupCopy).where(BackupCopy.backup_id == backup_id).order_by(BackupCopy.id)
        ).all()
        return {
            "id": row.id,
            "source": row.source,
            "kind": row.kind,
            "mode": row.mode,
            "status": row.status,
            "target": row.target,
            "snapshot_id": row.snapshot_id,
            "started_at": row.started_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None,
            "duration_s": row.duration_s,
            "size_bytes": row.size_bytes,
            "added_bytes": row.added_bytes,
            "files": row.files,
            "error": row.error,
            "record": row.record,
            "run_id": row.run_id,
            "copies": [
                {"target": c.target, "status": c.status, "snapshot_id": c.snapshot_id, "error": c.error} for c in copies
            ],
        }


def list_backups(
    engine: Engine,
    source: str | None = None,
    limit: int = 50,
    *,
    settings: Settings | None = None,
    run_id: int | None = None,
) -> list[dict[str, Any]]:
    """Backups newest first (``run_id``: those of one run, in the order they ran)."""
    mark_interrupted(engine, settings)
    with session_scope(engine) as session:
        q = sa.select(BackupRun.id).order_by(BackupRun.id.desc()).limit(limit)
        if source:
            q = q.where(BackupRun.source == source)
        if run_id is not None:
            q = q.where(BackupRun.run_id == run_id).order_by(None).order_by(BackupRun.id)
        ids = list(session.scalars(q))
    return [backup_summary(engine, i) for i in ids]
