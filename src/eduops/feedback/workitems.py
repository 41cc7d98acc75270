"""Work items from feedback clusters, alerts or people, prioritised by the team's policy."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core.i18n import decode, encode, msg
from eduops.db import session_scope, utcnow
from eduops.errors import NotFound, UsageError
from eduops.feedback.models import FeedbackCluster, FeedbackItem, WorkItem
from eduops.feedback.priority import FUNCTIONS, KINDS, decide_priority
from eduops.feedback.service import feedback_settings

STATUSES = ("open", "planned", "in_progress", "done", "wontfix")
# which product function a feedback category is about
CATEGORY_FUNCTION = {
    "audio_video": "classes",
    "login": "login",
    "payment": "payment",
    "content_error": "content",
    "performance": "app",
    "feature_request": "other",
    "other": "other",
}
ALERT_WORDS = {
    "login": ("login", "auth", "登录"),
    "payment": ("payment", "pay", "order", "支付"),
    "classes": ("rtc", "call", "class", "video", "audio", "课堂", "上课"),
}


class WorkItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=300)
    kind: str = "bug"
    function: str = "other"
    requesters: int = Field(0, ge=0)
    source: str = "manual"
    source_ref: str = Field("", max_length=200)
    notes: str = ""

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        return value

    @field_validator("function")
    @classmethod
    def _function(cls, value: str) -> str:
        if value not in FUNCTIONS:
            raise ValueError(f"function must be one of {', '.join(FUNCTIONS)}")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value not in ("manual", "cluster", "alert"):
            raise ValueError("source must be manual, cluster or alert")
        return value


def to_dict(w: WorkItem) -> dict[str, Any]:
    return {
        "id": w.id,
        "title": w.title,
        "kind": w.kind,
        "function": w.function,
        "requesters": w.requesters,
        "priority": w.priority,
        "track": w.track,
        "reason": decode(w.reason),  # a Msg: English as a string (API, CLI), text() translates it on a page
        "status": w.status,
        "release": w.release_version or None,
        "source": w.source,
        "source_ref": w.source_ref,
        "notes": w.notes,
        "created_by": w.created_by,
        "created_at": w.created_at.isoformat(),
        "updated_at": w.updated_at.isoformat(),
    }


def create(engine: Engine, settings: Settings, item: WorkItemIn, who: str) -> dict[str, Any]:
    decision = decide_priority(item.kind, item.function, item.requesters, feedback_settings(settings).many_requesters)
    now = utcnow()
    with session_scope(engine) as session:
        row = WorkItem(
            **item.model_dump(),
            priority=decision.priority,
            track=decision.track,
            reason=encode(decision.reason),
            status="open",
            release_version="",
            created_by=who,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return to_dict(row)


def from_cluster(
    engine: Engine, settings: Settings, cluster_id: int, who: str, kind: str | None = None, title: str | None = None
) -> dict[str, Any]:
    """A work item for a feedback cluster: bug or feature from its category, requesters = distinct users."""
    with session_scope(engine) as session:
        cluster = session.get(FeedbackCluster, cluster_id)
        if cluster is None:
            raise NotFound(msg("no feedback cluster {cluster_id}", cluster_id=cluster_id))
        if cluster.category == "praise":
            raise UsageError("a cluster of praise needs no work item")
        users = (
            session.scalar(
                sa.select(sa.func.count(sa.distinct(FeedbackItem.user))).where(
                    FeedbackItem.cluster_id == cluster_id, FeedbackItem.user != ""
                )
            )
            or 0
        )
        requesters = max(users, 0) or cluster.size
        label, category = cluster.label, cluster.category
    item = WorkItemIn(
        title=title or f"{label} ({requesters} users)",
        kind=kind or ("feature" if category == "feature_request" else "bug"),
        function=CATEGORY_FUNCTION.get(category, "other"),
        requesters=requesters,
        source="cluster",
        source_ref=str(cluster_id),
    )
    return create(engine, settings, item, who)


def function_of_alert(name: str, labels: dict[str, str]) -> str:
    """The product function an alert is about: its ``function`` label, else words in its name."""
    if labels.get("function") in FUNCTIONS:
        return labels["function"]
    text = (name + " " + " ".join(labels.values())).lower()
    for function, words in ALERT_WORDS.items():
        if any(w in text for w in words):
            return function
    return "other"


def from_alert(
    engine: Engine, settings: Settings, name: str, labels: dict[str, str], summary: str, who: str, fingerprint: str = ""
) -> dict[str, Any]:
    """A firing alert is a bug in the function it watches."""
    item = WorkItemIn(
        title=f"{name}: {summary}"[:300] if summary else name,
        kind="bug",
        function=function_of_alert(name, labels),
        source="alert",
        source_ref=(fingerprint or name)[:200],
    )
    return create(engine, settings, item, who)


def update(
    engine: Engine, item_id: int, *, status: str | None = None, release: str | None = None, notes: str | None = None
) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise UsageError(f"status must be one of {', '.join(STATUSES)}")
    with session_scope(engine) as session:
        row = session.get(WorkItem, item_id)
        if row is None:
            raise NotFound(msg("no work item {item_id}", item_id=item_id))
        if status is not None:
            row.status = status
        if release is not None:
            row.release_version = release.strip()
        if notes is not None:
            row.notes = notes
        row.updated_at = utcnow()
        return to_dict(row)


def list_items(
    engine: Engine, *, status: str | None = None, release: str | None = None, priority: str | None = None
) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        query = sa.select(WorkItem).order_by(WorkItem.priority, WorkItem.created_at.desc())
        if status:
            query = query.where(WorkItem.status == status)
        if release:
            query = query.where(WorkItem.release_version == release)
        if priority:
            query = query.where(WorkItem.priority == priority)
        return [to_dict(w) for w in session.scalars(query)]
