"""Release records and their regression checks before and after the deploy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings, TaskOverride
from eduops.core.i18n import msg
from eduops.core.service import get_run
from eduops.db import session_scope, utcnow
from eduops.errors import Conflict, NotFound, UsageError
from eduops.release.journeys import ReleaseSettings
from eduops.release.models import Release

PHASES = ("pre", "post")
TASK = "release-check"
CHECK = "release.regression"


def release_settings(settings: Settings) -> ReleaseSettings:
    return settings.section("release", ReleaseSettings)


def target_of(settings: Settings, release_base_url: str = "") -> str:
    """The platform a release is checked against: its own address, else [release] base_url."""
    return release_base_url or release_settings(settings).base_url


def to_dict(r: Release, runs: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    runs = runs or {}
    return {
        "id": r.id,
        "version": r.version,
        "status": r.status,
        "changes": r.changes,
        "deployed_at": r.deployed_at.isoformat() if r.deployed_at else None,
        "base_url": r.base_url,
        "pre_run_id": r.pre_run_id,
        "post_run_id": r.post_run_id,
        "created_by": r.created_by,
        "created_at": r.created_at.isoformat(),
        "pre_status": runs.get(r.pre_run_id or -1, {}).get("status"),
        "post_status": runs.get(r.post_run_id or -1, {}).get("status"),
    }


def create_release(
    engine: Engine,
    version: str,
    changes: list[str],
    who: str,
    *,
    deployed_at: datetime | None = None,
    base_url: str = "",
) -> dict[str, Any]:
    version = version.strip()
    if not version or len(version) > 64:
        raise UsageError("a release needs a version of 1–64 characters, e.g. 5.3.1")
    with session_scope(engine) as session:
        if session.scalar(sa.select(Release.id).where(Release.version == version)):
            raise Conflict(f"release {version} is recorded already")
        row = Release(
            version=version,
            changes=[c.strip() for c in changes if c.strip()],
            created_by=who,
            status="deployed" if deployed_at else "planned",
            deployed_at=deployed_at,
            base_url=base_url,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return to_dict(row)


def mark_deployed(engine: Engine, version: str, at: datetime | None = None) -> dict[str, Any]:
    with session_scope(engine) as session:
        row = _get(session, version)
        row.status, row.deployed_at = "deployed", at or utcnow()
        return to_dict(row)


def _get(session: Any, version: str) -> Release:
    row = session.scalar(sa.select(Release).where(Release.version == version))
    if row is None:
        raise NotFound(msg("no release {version}; record it with `eduops release add {version}`", version=version))
    return row  # type: ignore[no-any-return]


def list_releases(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    from eduops.core.models import Run

    with session_scope(engine) as session:
        rows = session.scalars(
            sa.select(Release).order_by(Release.created_at.desc(), Release.id.desc()).limit(limit)
        ).all()
        ids = {i for r in rows for i in (r.pre_run_id, r.post_run_id) if i}
        runs = {run.id: {"status": run.status} for run in session.scalars(sa.select(Run).where(Run.id.in_(ids)))}
        return [to_dict(r, runs) for r in rows]


def get_release(engine: Engine, version: str, lang: str = "en") -> dict[str, Any]:
    """A release with its pre- and post-deploy runs (their texts in ``lang``) and work items."""
    with session_scope(engine) as session:
        data = to_dict(_get(session, version))
    for phase in PHASES:
        run_id = data[f"{phase}_run_id"]
        data[f"{phase}_run"] = get_run(engine, run_id, lang) if run_id else None
    from eduops.feedback.workitems import list_items

    data["work_items"] = list_items(engine, release=data["version"])
    return data


def settings_for_check(settings: Settings, version: str, phase: str, base_url: str = "") -> Settings:
    """A copy of the settings whose release-check task carries this release's parameters."""
    copy = settings.model_copy(deep=True)
    override = copy.tasks.get(TASK) or TaskOverride()
    params = dict(override.params)
    params[CHECK] = {
        **params.get(CHECK, {}),
        "release": version,
        "phase": phase,
        **({"base_url": base_url} if base_url else {}),
    }
    copy.tasks = {**copy.tasks, TASK: override.model_copy(update={"params": params})}
    return copy


def start_check(engine: Engine, settings: Settings, version: str, phase: str, who: str) -> tuple[int, Settings]:
    """Claim a release-check run for this release and phase; the caller executes it (now or in the background)."""
    from eduops.core.runs import claim

    if phase not in PHASES:
        raise UsageError("phase must be pre (before the deploy) or post (after it)")
    with session_scope(engine) as session:
        base_url = _get(session, version).base_url
    run_settings = settings_for_check(settings, version, phase, base_url)
    run_id = claim(engine, run_settings, TASK, "manual", who, None)
    with session_scope(engine) as session:
        row = _get(session, version)
        setattr(row, f"{phase}_run_id", run_id)
    return run_id, run_settings


def check_release(
    engine: Engine, settings: Settings, version: str, phase: str = "post", who: str = "cli", progress: Any = None
) -> dict[str, Any]:
    """Run the regression journeys for a release now; returns the run."""
    from eduops.core.runs import execute

    run_id, run_settings = start_check(engine, settings, version, phase, who)
    if progress is not None:
        execute(engine, run_settings, run_id, progress)
    else:
        execute(engine, run_settings, run_id)
    return get_run(engine, run_id)
