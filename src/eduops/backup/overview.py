"""What the console and the API show: per source its last backup, copies, verification and drill."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.backup.models import BackupCopy, BackupRun, Drill, Verification
from eduops.backup.service import mark_interrupted
from eduops.config import Settings
from eduops.core.areas import Headline, checks_headline, combine
from eduops.db import session_scope


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def drill_row(d: Drill) -> dict[str, Any]:
    return {
        "id": d.id,
        "source": d.source,
        "target": d.target,
        "snapshot_id": d.snapshot_id,
        "status": d.status,
        "started_at": _iso(d.started_at),
        "rto_seconds": d.rto_seconds,
        "rpo_seconds": d.rpo_seconds,
        "error": d.error,
    }


def verification_row(v: Verification) -> dict[str, Any]:
    return {
        "id": v.id,
        "target": v.target,
        "subset": v.subset or "structure",
        "status": v.status,
        "started_at": _iso(v.started_at),
        "summary": (v.output.strip().splitlines() or [""])[-1],
    }


def _latest(session: Any, model: Any, group: Any, *where: Any) -> dict[str, Any]:
    """The newest row (by started_at, then id) of ``model`` per value of ``group``, in one query."""
    rank = sa.func.row_number().over(partition_by=group, order_by=(model.started_at.desc(), model.id.desc()))
    ranked = sa.select(model.id, rank.label("rank")).where(*where).subquery()
    newest = sa.select(ranked.c.id).where(ranked.c.rank == 1)
    return {getattr(row, group.key): row for row in session.scalars(sa.select(model).where(model.id.in_(newest)))}


def overview(engine: Engine, settings: Settings | None = None) -> dict[str, Any]:
    """Per source: last backup and last good one with its copies per target, last drill; per target: last check.
    A handful of queries whatever the number of sources (the overview tile reads it on every view)."""
    mark_interrupted(engine, settings)
    with session_scope(engine) as session:
        lasts = _latest(session, BackupRun, BackupRun.source)
        goods = _latest(session, BackupRun, BackupRun.source, BackupRun.status == "ok")
        drills = _latest(session, Drill, Drill.source)
        copies: dict[int, list[BackupCopy]] = {}
        good_ids = [g.id for g in goods.values()]
        if good_ids:
            for c in session.scalars(
                sa.select(BackupCopy).where(BackupCopy.backup_id.in_(good_ids)).order_by(BackupCopy.id)
            ):
                copies.setdefault(c.backup_id, []).append(c)
        sources = []
        for name in sorted(set(lasts) | set(drills)):
            last, good, drill = lasts.get(name), goods.get(name), drills.get(name)
            sources.append(
                {
                    "source": name,
                    "kind": last.kind if last else (good.kind if good else ""),
                    "last_backup": {
                        "id": last.id,
                        "status": last.status,
                        "started_at": _iso(last.started_at),
                        "error": last.error,
                    }
                    if last
                    else None,
                    "last_good": {
                        "id": good.id,
                        "started_at": _iso(good.started_at),
                        "snapshot_id": good.snapshot_id,
                        "size_bytes": good.size_bytes,
                        "duration_s": good.duration_s,
                    }
                    if good
                    else None,
                    "copies": [
                        {"target": c.target, "status": c.status, "snapshot_id": c.snapshot_id, "error": c.error}
                        for c in (copies.get(good.id, []) if good else [])
                    ],
                    "last_drill": drill_row(drill) if drill else None,
                }
            )
        checks = [verification_row(v) for _t, v in sorted(_latest(session, Verification, Verification.target).items())]
    return {"sources": sources, "verifications": checks}


def drill_history(engine: Engine, source: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        q = sa.select(Drill).order_by(Drill.started_at.desc()).limit(limit)
        if source:
            q = q.where(Drill.source == source)
        return [drill_row(d) for d in session.scalars(q)][::-1]


def verification_history(engine: Engine, target: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        q = sa.select(Verification).order_by(Verification.started_at.desc()).limit(limit)
        if target:
            q = q.where(Verification.target == target)
        return [verification_row(v) for v in session.scalars(q)]


def rpo_rto_figure(drills: list[dict[str, Any]], lang: str = "en", tz: Any = "UTC") -> dict[str, Any]:
    """RPO (hours) and RTO (seconds) of every drill over time, one line per source; failed drills marked. Times on
    the reader's clock (the x axis names the zone), axis titles in ``lang``."""
    from eduops.core.clock import chart_time, zone_label
    from eduops.core.i18n import gettext

    data: list[dict[str, Any]] = []
    for source in sorted({d["source"] for d in drills}):
        mine = [d for d in drills if d["source"] == source]
        x = [chart_time(d["started_at"], tz) for d in mine]
        symbols = ["circle" if d["status"] == "ok" else "x" for d in mine]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{source} RTO (s)",
                "x": x,
                "y": [d["rto_seconds"] for d in mine],
                "marker": {"symbol": symbols, "size": 9},
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{source} RPO (h)",
                "x": x,
                "y": [round(d["rpo_seconds"] / 3600, 2) if d["rpo_seconds"] is not None else None for d in mine],
                "yaxis": "y2",
                "line": {"dash": "dot"},
                "marker": {"symbol": symbols, "size": 9},
            }
        )
    return {
        "data": data,
        "layout": {
            "legend": {"orientation": "h"},
            "xaxis": {"title": {"text": gettext("time ({zone})", lang).format(zone=zone_label(tz))}},
            "yaxis": {"title": {"text": gettext("RTO (s)", lang)}, "rangemode": "tozero"},
            "yaxis2": {"title": {"text": gettext("RPO (h)", lang)}, "overlaying": "y", "side": "right",
                       "rangemode": "tozero"},
            "margin": {"t": 20},
        },
    }


def view_headline(view: dict[str, Any], stale: list[str], lag: dict[str, int]) -> Headline:
    """The status /backup shows (pure): a failed or stale backup or verification is critical; a failed copy,
    a failed drill or a target behind the primary is a warning; otherwise ok; nothing backed up is no data."""
    sources = view["sources"]
    if not sources and not view["verifications"]:
        return Headline(None)
    failed = [s["source"] for s in sources if s["last_backup"] and s["last_backup"]["status"] not in ("ok", "running")]
    bad_checks = [v["target"] for v in view["verifications"] if v["status"] not in ("ok", "running")]
    if failed or stale or bad_checks:
        names = ", ".join(failed + stale + bad_checks)
        return Headline("crit", "Backups need attention: {names}", {"names": names}, href="/backup")
    copies = sorted({c["target"] for s in sources for c in s["copies"] if c["status"] not in ("ok", "forgotten")})
    behind = sorted(t for t, n in lag.items() if n)
    drills = [s["source"] for s in sources if s["last_drill"] and s["last_drill"]["status"] not in ("ok", "running")]
    if copies or behind or drills:
        return Headline("warn", "Copies or drills need attention: {names}",
                        {"names": ", ".join(copies + behind + drills)}, href="/backup")
    return Headline("ok", "{n} sources backed up, copied and verified", {"n": len(sources)}, href="/backup")


OWN_CHECKS = ("backup.freshness", "backup.run", "backup.verify", "backup.restore_drill")  # what the view reads live


def headline(ws: Any, now: datetime) -> Headline:
    """The backups area's headline: the overview tile and the /backup page both show it. The backup tables
    are read live (what /backup lists); other checks that report into the area (a plugin's) count too."""
    from eduops.backup.settings import load
    from eduops.backup.verification import copy_lag, freshness

    view = overview(ws.engine, ws.settings)
    configured = bool(load(ws.settings).targets)
    stale = [r["source"] for r in freshness(ws.engine, ws.settings, now) if r["stale"]] if configured else []
    lag = copy_lag(ws.engine, ws.settings, now) if configured else {}
    found = view_headline(view, stale, lag)
    times = [s["last_backup"]["started_at"] for s in view["sources"] if s["last_backup"]]
    found.checked_at = datetime.fromisoformat(max(times)) if times else None
    return combine([found, checks_headline(ws.engine, "backups", exclude=OWN_CHECKS)])
