"""Clusters kept over time, the weekly ranking with its trend, and the daily digest's content."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core.i18n import msg
from eduops.db import session_scope, utcnow
from eduops.feedback.clustering import Cluster, ClusterRules, cluster_texts
from eduops.feedback.models import FeedbackCluster, FeedbackItem
from eduops.feedback.service import feedback_settings, open_breaches

SAME_CLUSTER_JACCARD = 0.34


def jaccard(a: list[str], b: list[str]) -> float:
    sa_, sb = set(a), set(b)
    return len(sa_ & sb) / len(sa_ | sb) if sa_ | sb else 1.0


def match_clusters(new: list[Cluster], old: list[tuple[int, str, list[str]]]) -> dict[int, int]:
    """Which stored cluster (id) each new cluster (index) continues: same category, alike top terms."""
    pairs = sorted(
        (
            (jaccard(c.top_terms, terms), i, cid)
            for i, c in enumerate(new)
            for cid, cat, terms in old
            if cat == c.category
        ),
        reverse=True,
    )
    matched: dict[int, int] = {}
    used: set[int] = set()
    for score, i, cid in pairs:
        if score < SAME_CLUSTER_JACCARD or i in matched or cid in used:
            continue
        matched[i] = cid
        used.add(cid)
    return matched


def recluster(
    engine: Engine, settings: Settings, now: datetime | None = None, rules: ClusterRules = ClusterRules()
) -> dict[str, Any]:
    """Cluster the recent feedback; clusters that continue keep their id and first-seen time."""
    now = now or utcnow()
    window = timedelta(days=feedback_settings(settings).cluster_window_days)
    with session_scope(engine) as session:
        rows = (
            session.execute(
                sa.select(FeedbackItem.id, FeedbackItem.text, FeedbackItem.category)
                .where(FeedbackItem.received_at >= now - window)
                .order_by(FeedbackItem.id)
            )
            .tuples()
            .all()
        )
    clusters = cluster_texts([r[1] for r in rows], [r[2] for r in rows], rules)
    created: list[int] = []
    with session_scope(engine) as session:
        old = [
            (c.id, c.category, list(c.top_terms))
            for c in session.scalars(sa.select(FeedbackCluster).where(FeedbackCluster.active.is_(True)))
        ]
        matched = match_clusters(clusters, old)
        session.execute(sa.update(FeedbackCluster).values(active=False))
        session.execute(
            sa.update(FeedbackItem).where(FeedbackItem.id.in_([r[0] for r in rows])).values(cluster_id=None)
        )
        for i, c in enumerate(clusters):
            row = session.get(FeedbackCluster, matched[i]) if i in matched else None
            if row is None:
                row = FeedbackCluster(first_seen_at=now)
                session.add(row)
            row.label, row.category, row.top_terms, row.examples = c.label, c.category, c.top_terms, c.examples
            row.size, row.active, row.last_seen_at = c.size, True, now
            session.flush()
            if i not in matched:
                created.append(row.id)
            ids = [rows[m][0] for m in c.members]
            for start in range(0, len(ids), 500):
                session.execute(
                    sa.update(FeedbackItem)
                    .where(FeedbackItem.id.in_(ids[start : start + 500]))
                    .values(cluster_id=row.id)
                )
    return {"texts": len(rows), "clusters": len(clusters), "new": created}


def weekly_counts(timestamps: list[datetime], now: datetime, weeks: int = 8) -> list[int]:
    """Counts per 7-day window ending at ``now``, oldest first (the last entry is the past 7 days)."""
    counts = [0] * weeks
    for ts in timestamps:
        age = (now - ts).total_seconds() / (7 * 86400)
        if 0 <= age < weeks:
            counts[weeks - 1 - int(age)] += 1
    return counts


def trend(counts: list[int]) -> str:
    """up, down or flat: this week against the week before (a change under 20 % or 3 items is flat)."""
    if len(counts) < 2:
        return "flat"
    this, last = counts[-1], counts[-2]
    if abs(this - last) < max(3, 0.2 * max(last, 1)):
        return "flat"
    return "up" if this > last else "down"


def ranking(engine: Engine, now: datetime | None = None, weeks: int = 8, order: str = "size") -> list[dict[str, Any]]:
    """Active clusters, biggest first (``order="week"``: most this week first), with weekly series and trend."""
    now = now or utcnow()
    with session_scope(engine) as session:
        clusters = session.scalars(sa.select(FeedbackCluster).where(FeedbackCluster.active.is_(True))).all()
        stamps: dict[int | None, list[datetime]] = defaultdict(list)
        users: dict[int | None, set[str]] = defaultdict(set)
        for cid, ts, user in session.execute(
            sa.select(FeedbackItem.cluster_id, FeedbackItem.received_at, FeedbackItem.user).where(
                FeedbackItem.cluster_id.is_not(None), FeedbackItem.received_at >= now - timedelta(weeks=weeks)
            )
        ).tuples():
            stamps[cid].append(ts)
            if user:
                users[cid].add(user)
        out = []
        for c in clusters:
            series = weekly_counts(stamps.get(c.id, []), now, weeks)
            out.append(
                {
                    "id": c.id,
                    "label": c.label,
                    "category": c.category,
                    "top_terms": c.top_terms,
                    "examples": c.examples,
                    "size": c.size,
                    "users": len(users.get(c.id, ())),
                    "this_week": series[-1],
                    "last_week": series[-2] if weeks > 1 else 0,
                    "weekly": series,
                    "trend": trend(series),
                    "first_seen_at": c.first_seen_at.isoformat(),
                    "new": c.first_seen_at >= now - timedelta(days=1),
                }
            )
    if order == "week":
        return sorted(out, key=lambda r: (-r["this_week"], -r["size"], r["id"]))
    return sorted(out, key=lambda r: (-r["size"], -r["this_week"], r["id"]))


def cluster_detail(engine: Engine, cluster_id: int, limit: int = 50) -> dict[str, Any]:
    from eduops.errors import NotFound

    with session_scope(engine) as session:
        c = session.get(FeedbackCluster, cluster_id)
        if c is None:
            raise NotFound(msg("no feedback cluster {cluster_id}", cluster_id=cluster_id))
        items = session.scalars(
            sa.select(FeedbackItem)
            .where(FeedbackItem.cluster_id == cluster_id)
            .order_by(FeedbackItem.received_at.desc())
            .limit(limit)
        ).all()
        return {
            "id": c.id,
            "label": c.label,
            "category": c.category,
            "top_terms": c.top_terms,
            "examples": c.examples,
            "size": c.size,
            "active": c.active,
            "first_seen_at": c.first_seen_at.isoformat(),
            "items": [
                {
                    "id": i.id,
                    "user": i.user,
                    "text": i.text,
                    "status": i.status,
                    "received_at": i.received_at.isoformat(),
                }
                for i in items
            ],
        }


def digest(
    engine: Engine, settings: Settings, now: datetime | None = None, since: datetime | None = None
) -> dict[str, Any]:
    """What the daily digest says: volume, top clusters, new clusters since ``since``, SLA breaches."""
    now = now or utcnow()
    since = since or now - timedelta(days=1)
    result = recluster(engine, settings, now)
    ranked = ranking(engine, now, order="week")
    with session_scope(engine) as session:
        recent = (
            session.execute(
                sa.select(FeedbackItem.category, FeedbackItem.complaint).where(FeedbackItem.received_at >= since)
            )
            .tuples()
            .all()
        )
        first_seen = dict(
            session.execute(
                sa.select(FeedbackCluster.id, FeedbackCluster.first_seen_at).where(FeedbackCluster.active.is_(True))
            )
            .tuples()
            .all()
        )
    new = [r for r in ranked if first_seen.get(r["id"], now) >= since]
    return {
        "since": since.isoformat(),
        "received": len(recent),
        "complaints": sum(1 for _, complaint in recent if complaint),
        "by_category": dict(Counter(cat for cat, _ in recent).most_common()),
        "top": ranked[:10],
        "new_clusters": new,
        "clusters": result["clusters"],
        "sla_breaches": open_breaches(engine, now),
    }


def record_sla_metric(engine: Engine, now: datetime | None = None) -> int:
    """Store how many complaints are past their first-response deadline, for the alert rule."""
    from eduops.alerting import metrics
    from eduops.core.checks import Measurement

    now = now or utcnow()
    breaches = len(open_breaches(engine, now))
    with session_scope(engine) as session:
        metrics.record(session, [Measurement("feedback_sla_breaches_open", breaches)], now)
    return breaches
