"""Feedback intake (API, widget, CSV) and the support queue: answer, close, first-response clock."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core import values
from eduops.core.bodies import CsvRows
from eduops.core.i18n import msg
from eduops.db import session_scope, utcnow
from eduops.errors import Conflict, NotFound, PayloadTooLarge, UsageError, ValidationFailed
from eduops.feedback.models import FeedbackItem, FeedbackReply
from eduops.feedback.sla import first_response_due, minutes_left, sla_state
from eduops.feedback.text import CATEGORIES, categorize, is_complaint

CHANNELS = ("api", "widget", "csv", "app", "web", "email", "phone", "wechat")
SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")


class FeedbackSettings(BaseModel):
    """[feedback] in eduops.toml."""

    model_config = ConfigDict(extra="forbid")
    first_response_minutes: float = Field(120, gt=0, description="complaints must get a first answer within this")
    at_risk_minutes: float = Field(30, ge=0, description="an open complaint due within this is at risk")
    sla_check_seconds: float = Field(60, gt=0, description="how often `serve` records the SLA-breach metric")
    max_attachment_bytes: int = Field(5 * 1024 * 1024, gt=0)
    max_attachments: int = Field(5, ge=0)
    max_text_chars: int = Field(5000, gt=0)
    cluster_window_days: int = Field(28, ge=1, description="feedback this recent is clustered")
    many_requesters: int = Field(20, ge=1, description="a feature this many users ask for is evaluated")
    widget_origins: list[str] = Field(default_factory=lambda: ["*"], description="pages that may embed the widget")


def feedback_settings(settings: Settings) -> FeedbackSettings:
    return settings.section("feedback", FeedbackSettings)


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    content_base64: str
    media_type: str = Field("application/octet-stream", max_length=100)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: str = Field(min_length=1)
    user: str = Field("", max_length=128)
    channel: str = "api"
    page: str = Field("", max_length=500)
    app_version: str = Field("", max_length=64)
    category: str | None = None
    external_id: str | None = Field(None, max_length=128)
    received_at: datetime | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)

    @field_validator("text", "user", "page", "app_version", "external_id")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("contains a NUL character (\\u0000); remove it")
        return value

    @field_validator("received_at")
    @classmethod
    def _received_at(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            return values.check_time(value, "received_at")
        except UsageError as exc:
            raise ValueError(exc.message.removeprefix("received_at: ")) from None

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        return value

    @field_validator("category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value not in (None, "") and value not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
        return value or None


@dataclass
class Upload:
    name: str
    data: bytes
    media_type: str = "application/octet-stream"


def parse_feedback(raw: Any) -> FeedbackIn:
    if not isinstance(raw, dict):
        raise ValidationFailed("expected a JSON object with at least a text")
    try:
        return FeedbackIn.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()]
        raise ValidationFailed("invalid feedback: " + "; ".join(problems)) from None


def decode_attachments(items: list[AttachmentIn]) -> list[Upload]:
    uploads = []
    for a in items:
        try:
            uploads.append(Upload(a.name, base64.b64decode(a.content_base64, validate=True), a.media_type))
        except (binascii.Error, ValueError):
            raise ValidationFailed(f"attachment {a.name!r}: content_base64 is not base64") from None
    return uploads


def check_limits(fb: FeedbackIn, uploads: list[Upload], cfg: FeedbackSettings) -> None:
    if len(fb.text) > cfg.max_text_chars:
        raise PayloadTooLarge(f"the text has {len(fb.text)} characters; the limit is {cfg.max_text_chars}")
    if len(uploads) > cfg.max_attachments:
        raise PayloadTooLarge(f"{len(uploads)} attachments; at most {cfg.max_attachments} are accepted")
    for u in uploads:
        if len(u.data) > cfg.max_attachment_bytes:
            raise PayloadTooLarge(
                f"attachment {u.name!r} is {len(u.data)} bytes; the limit is {cfg.max_attachment_bytes} bytes"
            )


def submit(
    engine: Engine,
    settings: Settings,
    fb: FeedbackIn,
    uploads: list[Upload] = (),  # type: ignore[assignment]
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store one piece of feedback (attachments on disk first); its category and SLA clock start now."""
    return submit_once(engine, settings, fb, uploads, now)[0]


def submit_once(
    engine: Engine,
    settings: Settings,
    fb: FeedbackIn,
    uploads: list[Upload] = (),  # type: ignore[assignment]
    now: datetime | None = None,
) -> tuple[dict[str, Any], bool]:
    """``submit`` that is safe to retry: feedback whose ``external_id`` is already stored is not stored
    again. The same content returns the stored item (and False: nothing new); different content under
    that id is a ``Conflict`` naming the fields that differ. Like xAPI statement ids."""
    cfg = feedback_settings(settings)
    uploads = list(uploads) + decode_attachments(fb.attachments)
    check_limits(fb, uploads, cfg)
    if fb.external_id:
        replay = _replay(engine, fb, uploads, now)
        if replay is not None:
            return replay, False
    try:
        stored = store(engine, settings, [(fb, uploads)], now)
    except sa.exc.IntegrityError:  # a retry raced this one and stored the same external_id first
        stored = []
    if stored:
        return stored[0], True
    replay = _replay(engine, fb, uploads, now)
    if replay is None:
        raise Conflict(f"external_id {fb.external_id!r} could not be stored; retry")
    return replay, False


def differences(fb: FeedbackIn, item: FeedbackItem, attachment_names: list[str]) -> list[str]:
    """The fields in which a retried submission differs from the stored item (empty: the same)."""
    wanted: dict[str, Any] = {"text": fb.text, "user": fb.user, "channel": fb.channel, "page": fb.page,
                              "app_version": fb.app_version}
    stored: dict[str, Any] = {"text": item.text, "user": item.user, "channel": item.channel, "page": item.page,
                              "app_version": item.app_version}
    if fb.category:
        wanted["category"], stored["category"] = fb.category, item.category
    if fb.received_at is not None:
        wanted["received_at"], stored["received_at"] = fb.received_at, item.received_at
    wanted["attachments"] = attachment_names
    stored["attachments"] = [a["name"] for a in item.attachments or []]
    return [k for k in wanted if wanted[k] != stored[k]]


def _replay(engine: Engine, fb: FeedbackIn, uploads: list[Upload], now: datetime | None) -> dict[str, Any] | None:
    with session_scope(engine) as session:
        item = session.scalar(sa.select(FeedbackItem).where(FeedbackItem.external_id == fb.external_id))
        if item is None:
            return None
        changed = differences(fb, item, [u.name for u in uploads])
        if changed:
            raise Conflict(
                f"external_id {fb.external_id!r} is already feedback #{item.id} with a different "
                f"{', '.join(changed)}; resend the same content, or use a new external_id for new feedback"
            )
        return item_to_dict(item, now or utcnow())


def store(
    engine: Engine, settings: Settings, batch: list[tuple[FeedbackIn, list[Upload]]], now: datetime | None = None
) -> list[dict[str, Any]]:
    cfg = feedback_settings(settings)
    now = now or utcnow()
    stored = []
    with session_scope(engine) as session:
        for fb, uploads in batch:
            if fb.external_id and session.scalar(
                sa.select(FeedbackItem.id).where(FeedbackItem.external_id == fb.external_id)
            ):
                continue  # the same report again (a re-imported CSV): keep the first
            category = fb.category or categorize(fb.text)
            complaint = is_complaint(category)
            received = fb.received_at or now
            item = FeedbackItem(
                external_id=fb.external_id,
                user=fb.user,
                channel=fb.channel,
                text=fb.text,
                page=fb.page,
                app_version=fb.app_version,
                category=category,
                complaint=complaint,
                status="open",
                received_at=received,
                first_response_due_at=first_response_due(received, complaint, cfg.first_response_minutes),
                attachments=[],
                meta={},
            )
            session.add(item)
            session.flush()
            item.attachments = _save_attachments(settings, item.id, uploads)
            stored.append(item_to_dict(item, now))
    return stored


def _save_attachments(settings: Settings, item_id: int, uploads: list[Upload]) -> list[dict[str, Any]]:
    if not uploads:
        return []
    folder = settings.home / "feedback-attachments" / str(item_id)
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for n, u in enumerate(uploads, start=1):
        name = SAFE_NAME.sub("_", Path(u.name).name)[:120] or f"attachment-{n}"
        path = folder / f"{n}-{name}"
        path.write_bytes(u.data)
        saved.append({"name": u.name, "path": str(path), "size_bytes": len(u.data), "media_type": u.media_type})
    return saved


def import_csv(engine: Engine, settings: Settings, data: bytes, now: datetime | None = None) -> dict[str, int]:
    """Rows with a text column (and optionally user, channel, page, app_version, received_at, id)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise UsageError("the CSV is neither UTF-8 nor GB18030 text") from None
    reader = CsvRows(text)
    if not reader.fieldnames or "text" not in reader.fieldnames:
        raise UsageError("the CSV needs a header row with a text column")
    batch: list[tuple[FeedbackIn, list[Upload]]] = []
    problems: list[str] = []
    for n, row in enumerate(reader, start=2):
        raw = {k: v for k, v in row.items() if k and v not in (None, "")}
        raw.setdefault("channel", "csv")
        if "id" in raw:
            raw["external_id"] = raw.pop("id")
        raw.pop("theme", None)  # a label kept by hand-made test sets; the categories decide for themselves
        try:
            batch.append((parse_feedback(raw), []))
        except ValidationFailed as exc:
            problems.append(f"line {n}: {exc.message}")
    if problems:
        raise ValidationFailed("nothing imported; fix these and retry:\n  " + "\n  ".join(problems[:20]))
    stored = store(engine, settings, batch, now)
    return {"rows": len(batch), "imported": len(stored), "duplicates": len(batch) - len(stored)}


def item_to_dict(item: FeedbackItem, now: datetime, replies: list[FeedbackReply] | None = None) -> dict[str, Any]:
    data = {
        "id": item.id,
        "user": item.user,
        "channel": item.channel,
        "text": item.text,
        "page": item.page,
        "app_version": item.app_version,
        "category": item.category,
        "complaint": item.complaint,
        "status": item.status,
        "received_at": item.received_at.isoformat(),
        "first_response_due_at": item.first_response_due_at.isoformat() if item.first_response_due_at else None,
        "first_response_at": item.first_response_at.isoformat() if item.first_response_at else None,
        "closed_at": item.closed_at.isoformat() if item.closed_at else None,
        "sla": sla_state(item.first_response_due_at, item.first_response_at, now),
        "minutes_left": None if item.first_response_at else minutes_left(item.first_response_due_at, now),
        "cluster_id": item.cluster_id,
        "attachments": [{k: a[k] for k in ("name", "size_bytes", "media_type")} for a in item.attachments or []],
    }
    if replies is not None:
        data["replies"] = [
            {"author": r.author, "text": r.text, "created_at": r.created_at.isoformat()} for r in replies
        ]
    return data


def support_queue(
    engine: Engine, *, status: str = "open", category: str | None = None, limit: int = 200, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Feedback waiting for support, the complaint closest to (or furthest past) its deadline first."""
    now = now or utcnow()
    with session_scope(engine) as session:
        query = sa.select(FeedbackItem)
        if status != "all":
            query = query.where(FeedbackItem.status == status)
        if category:
            query = query.where(FeedbackItem.category == category)
        query = query.order_by(
            FeedbackItem.first_response_due_at.is_(None),
            FeedbackItem.first_response_due_at,
            FeedbackItem.received_at.desc(),
        ).limit(limit)
        return [item_to_dict(i, now) for i in session.scalars(query)]


def get_item(engine: Engine, item_id: int, now: datetime | None = None) -> dict[str, Any]:
    with session_scope(engine) as session:
        item = session.get(FeedbackItem, item_id)
        if item is None:
            raise NotFound(msg("no feedback {item_id}", item_id=item_id))
        replies = list(
            session.scalars(
                sa.select(FeedbackReply).where(FeedbackReply.feedback_id == item_id).order_by(FeedbackReply.id)
            )
        )
        return item_to_dict(item, now or utcnow(), replies)


def reply(
    engine: Engine, item_id: int, author: str, text: str, close: bool = False, now: datetime | None = None
) -> dict[str, Any]:
    """Answer the user; the first answer stops the SLA clock. ``close`` also closes the item."""
    if not text.strip():
        raise ValidationFailed("the answer is empty")
    now = now or utcnow()
    with session_scope(engine) as session:
        item = session.get(FeedbackItem, item_id)
        if item is None:
            raise NotFound(msg("no feedback {item_id}", item_id=item_id))
        if item.status == "closed":
            raise Conflict(f"feedback {item_id} is closed; reopen it before answering")
        session.add(FeedbackReply(feedback_id=item_id, author=author, text=text.strip(), created_at=now))
        item.first_response_at = item.first_response_at or now
        item.status = "closed" if close else "answered"
        if close:
            item.closed_at, item.closed_by = now, author
    return get_item(engine, item_id, now)


def close(engine: Engine, item_id: int, who: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    with session_scope(engine) as session:
        item = session.get(FeedbackItem, item_id)
        if item is None:
            raise NotFound(msg("no feedback {item_id}", item_id=item_id))
        item.status, item.closed_at, item.closed_by = "closed", now, who
    return get_item(engine, item_id, now)


def open_breaches(engine: Engine, now: datetime | None = None) -> list[dict[str, Any]]:
    """Complaints still waiting for their first answer after the deadline."""
    now = now or utcnow()
    with session_scope(engine) as session:
        rows = session.scalars(
            sa.select(FeedbackItem)
            .where(
                FeedbackItem.first_response_at.is_(None),
                FeedbackItem.first_response_due_at < now,
                FeedbackItem.status != "closed",
            )
            .order_by(FeedbackItem.first_response_due_at)
        ).all()
        return [item_to_dict(i, now) for i in rows]
