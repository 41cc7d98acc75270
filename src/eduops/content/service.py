"""The content registry: import, syllabus changes, reviews and the audit over every asset."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eduops.config import Settings
from eduops.content.audit import (
    CoverageRules,
    ItemFacts,
    LicenceFacts,
    freshness_problems,
    licence_problems,
    question_bank_coverage,
)
from eduops.content.importer import AssetIn
from eduops.content.models import Asset, Course, Lesson, Syllabus
from eduops.core.i18n import Msg, encode, msg
from eduops.db import session_scope, utcnow
from eduops.errors import NotFound, UsageError


class ContentSettings(BaseModel):
    """[content] in eduops.toml."""

    model_config = ConfigDict(extra="forbid")
    licence_warn_days: int = Field(30, ge=0, description="licences ending within this many days are flagged")
    review_max_age_days: int = Field(365, ge=1, description="an asset not reviewed for this long is flagged")
    min_items_per_point: int = Field(5, ge=0, description="question-bank items each syllabus point needs")
    min_attempts: int = Field(20, ge=1, description="attempts before an item's correct rate is judged")
    too_hard_below: float = Field(0.2, ge=0, le=1)
    too_easy_above: float = Field(0.95, ge=0, le=1)


def content_settings(settings: Settings) -> ContentSettings:
    return settings.section("content", ContentSettings)


def _course(session: Session, code: str, title: str, subject: str, owner: str, syllabus: str) -> Course:
    course = session.scalar(sa.select(Course).where(Course.code == code))
    if course is None:
        course = Course(
            code=code,
            title=title or code,
            subject=subject,
            owner=owner,
            syllabus_code=syllabus,
            created_at=utcnow(),
        )
        session.add(course)
        session.flush()
    else:
        course.title = title or course.title
        course.subject = subject or course.subject
        course.owner = course.owner or owner
        course.syllabus_code = course.syllabus_code or syllabus
    return course


def _lesson(session: Session, course: Course, title: str) -> Lesson:
    lesson = session.scalar(sa.select(Lesson).where(Lesson.course_id == course.id, Lesson.title == title))
    if lesson is None:
        position = session.scalar(sa.select(sa.func.count()).where(Lesson.course_id == course.id)) or 0
        lesson = Lesson(course_id=course.id, title=title, position=position + 1)
        session.add(lesson)
        session.flush()
    return lesson


def import_assets(engine: Engine, records: list[AssetIn]) -> dict[str, int]:
    """Create or update assets by code (with their courses and lessons) in one transaction."""
    created = updated = 0
    with session_scope(engine) as session:
        current = _current_versions(session)
        for r in records:
            course = lesson = None
            if r.course_code:
                course = _course(session, r.course_code, r.course_title, r.subject, r.owner, r.syllabus_code)
                if r.lesson:
                    lesson = _lesson(session, course, r.lesson)
            asset = session.scalar(sa.select(Asset).where(Asset.code == r.code))
            if asset is None:
                asset = Asset(code=r.code, created_at=utcnow())
                session.add(asset)
                created += 1
            else:
                updated += 1
            values = r.model_dump(
                exclude={"code", "course_code", "course_title", "subject", "lesson", "xapi_object_id"}
            )
            if r.xapi_object_id:
                asset.extra = {**(asset.extra or {}), "xapi_object_id": r.xapi_object_id}
            for key, value in values.items():
                setattr(asset, key, value)
            asset.course_id = course.id if course else None
            asset.lesson_id = lesson.id if lesson else None
            asset.updated_at = utcnow()
            newest = current.get(r.syllabus_code)
            if newest and r.syllabus_version and r.syllabus_version != newest:
                _flag(asset, msg("follows syllabus {code} {version}; current is {newest}", code=r.syllabus_code,
                                 version=r.syllabus_version, newest=newest))
            elif asset.review_status != "needs_review":
                asset.review_status, asset.review_assignee, asset.review_reason = "ok", "", ""
    return {"created": created, "updated": updated}


def _flag(asset: Asset, reason: Msg) -> None:
    asset.review_status = "needs_review"
    asset.review_assignee = asset.owner
    asset.review_reason = encode(reason)  # shown with render_text in the reader's language


def _current_versions(session: Session) -> dict[str, str]:
    rows = session.execute(sa.select(Syllabus.code, Syllabus.version).where(Syllabus.current.is_(True)))
    return {code: version for code, version in rows.tuples()}


def publish_syllabus(
    engine: Engine, code: str, version: str, *, title: str = "", points: list[str] | None = None
) -> dict[str, Any]:
    """Make ``version`` the current syllabus; every asset on an older version needs review by its owner."""
    code, version = code.strip(), version.strip()
    if not code or not version:
        raise UsageError("a syllabus needs a code and a version, e.g. gaokao-math 2026")
    with session_scope(engine) as session:
        session.execute(sa.update(Syllabus).where(Syllabus.code == code).values(current=False))
        row = session.scalar(sa.select(Syllabus).where(Syllabus.code == code, Syllabus.version == version))
        if row is None:
            row = Syllabus(
                code=code,
                version=version,
                title=title or code,
                points=list(points or []),
                published_at=utcnow(),
            )
            session.add(row)
        else:
            row.title = title or row.title
            row.points = list(points) if points is not None else row.points
        row.current = True
        stale = session.scalars(
            sa.select(Asset).where(
                Asset.syllabus_code == code, Asset.syllabus_version != version, Asset.syllabus_version != ""
            )
        ).all()
        flagged: list[dict[str, str]] = []
        for asset in stale:
            _flag(asset, msg("syllabus {code} changed from {old} to {new}", code=code, old=asset.syllabus_version,
                             new=version))
            asset.updated_at = utcnow()
            flagged.append({"code": asset.code, "title": asset.title, "owner": asset.owner})
    return {"code": code, "version": version, "needs_review": flagged}


def mark_reviewed(engine: Engine, code: str, reviewer: str, today: date, syllabus_version: str = "") -> dict[str, Any]:
    """Record a review; the asset moves to the current syllabus version unless another is named."""
    with session_scope(engine) as session:
        asset = session.scalar(sa.select(Asset).where(Asset.code == code))
        if asset is None:
            raise NotFound(msg("no asset {code!r}; list them with `eduops content assets`", code=code))
        current = _current_versions(session).get(asset.syllabus_code)
        asset.syllabus_version = syllabus_version or current or asset.syllabus_version
        asset.last_reviewed_at = today
        asset.review_status, asset.review_assignee = "ok", ""
        asset.review_reason = encode(msg("reviewed by {reviewer} on {day}", reviewer=reviewer, day=today.isoformat()))
        asset.updated_at = utcnow()
        return asset_to_dict(asset)


def asset_to_dict(a: Asset, course: Course | None = None) -> dict[str, Any]:
    return {
        "code": a.code,
        "kind": a.kind,
        "title": a.title,
        "owner": a.owner,
        "course": course.code if course else None,
        "course_title": course.title if course else None,
        "syllabus_code": a.syllabus_code,
        "syllabus_version": a.syllabus_version,
        "syllabus_point": a.syllabus_point,
        "last_reviewed_at": a.last_reviewed_at.isoformat() if a.last_reviewed_at else None,
        "source": a.source,
        "review_status": a.review_status,
        "review_assignee": a.review_assignee,
        "review_reason": a.review_reason,
        "licence": {
            "holder": a.licence_holder,
            "type": a.licence_type,
            "scope": a.licence_scope,
            "start": a.licence_start.isoformat() if a.licence_start else None,
            "expiry": a.licence_expiry.isoformat() if a.licence_expiry else None,
            "proof": a.licence_proof,
        },
        "used_in": a.used_in,
        "times_used": a.times_used,
        "attempts": a.attempts,
        "correct_rate": a.correct_rate,
    }


def list_courses(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        counts = dict(
            session.execute(sa.select(Asset.course_id, sa.func.count()).group_by(Asset.course_id)).tuples().all()
        )
        stale = dict(
            session.execute(
                sa.select(Asset.course_id, sa.func.count())
                .where(Asset.review_status == "needs_review")
                .group_by(Asset.course_id)
            )
            .tuples()
            .all()
        )
        lessons = dict(
            session.execute(sa.select(Lesson.course_id, sa.func.count()).group_by(Lesson.course_id)).tuples().all()
        )
        return [
            {
                "code": c.code,
                "title": c.title,
                "subject": c.subject,
                "owner": c.owner,
                "syllabus_code": c.syllabus_code,
                "lessons": lessons.get(c.id, 0),
                "assets": counts.get(c.id, 0),
                "needs_review": stale.get(c.id, 0),
            }
            for c in session.scalars(sa.select(Course).order_by(Course.code))
        ]


def list_assets(
    engine: Engine,
    *,
    course: str | None = None,
    kind: str | None = None,
    needs_review: bool = False,
    owner: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        query = sa.select(Asset, Course).outerjoin(Course, Course.id == Asset.course_id).order_by(Asset.code)
        if course:
            query = query.where(Course.code == course)
        if kind:
            query = query.where(Asset.kind == kind)
        if needs_review:
            query = query.where(Asset.review_status == "needs_review")
        if owner:
            query = query.where(Asset.owner == owner)
        return [asset_to_dict(a, c) for a, c in session.execute(query.limit(limit)).tuples()]


def list_syllabi(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [
            {
                "code": s.code,
                "version": s.version,
                "title": s.title,
                "current": s.current,
                "points": s.points,
                "published_at": s.published_at.isoformat(),
            }
            for s in session.scalars(sa.select(Syllabus).order_by(Syllabus.code, Syllabus.published_at))
        ]


def audit(engine: Engine, settings: Settings, today: date) -> dict[str, Any]:
    """Every asset problem with its owner: stale syllabus, licence trouble, question-bank gaps."""
    cfg = content_settings(settings)
    rules = CoverageRules(cfg.min_items_per_point, cfg.min_attempts, cfg.too_hard_below, cfg.too_easy_above)
    with session_scope(engine) as session:
        current = _current_versions(session)
        syllabi = {s.code: s for s in session.scalars(sa.select(Syllabus).where(Syllabus.current.is_(True)))}
        rows = (
            session.execute(
                sa.select(Asset, Course).outerjoin(Course, Course.id == Asset.course_id).order_by(Asset.code)
            )
            .tuples()
            .all()
        )
    freshness: list[dict[str, Any]] = []
    licences: list[dict[str, Any]] = []
    items_by_syllabus: dict[str, list[ItemFacts]] = {}
    for asset, course in rows:
        base = {
            "code": asset.code,
            "title": asset.title,
            "kind": asset.kind,
            "owner": asset.owner or (course.owner if course else ""),
            "course": course.code if course else None,
        }
        for p in freshness_problems(
            asset.syllabus_version,
            current.get(asset.syllabus_code),
            asset.last_reviewed_at,
            asset.review_status,
            today,
            cfg.review_max_age_days,
        ):
            freshness.append({**base, "problem": p.kind, "severity": p.severity, "detail": p.detail})
        facts = LicenceFacts(
            asset.source,
            asset.licence_type,
            asset.licence_holder,
            tuple(asset.licence_scope),
            asset.licence_start,
            asset.licence_expiry,
            asset.licence_proof,
            tuple(asset.used_in),
        )
        for p in licence_problems(facts, today, cfg.licence_warn_days):
            licences.append(
                {
                    **base,
                    "problem": p.kind,
                    "severity": p.severity,
                    "detail": p.detail,
                    "expiry": asset.licence_expiry.isoformat() if asset.licence_expiry else None,
                }
            )
        if asset.kind == "question" and asset.syllabus_code:
            items_by_syllabus.setdefault(asset.syllabus_code, []).append(
                ItemFacts(asset.code, asset.syllabus_point, asset.times_used, asset.attempts, asset.correct_rate)
            )
    question_bank = []
    for code, syllabus in sorted(syllabi.items()):
        cov = question_bank_coverage(list(syllabus.points), items_by_syllabus.get(code, []), rules)
        question_bank.append(
            {
                "syllabus": code,
                "version": syllabus.version,
                "items_per_point": cov.items_per_point,
                "thin_points": cov.thin_points,
                "never_used": cov.never_used,
                "too_hard": cov.too_hard,
                "too_easy": cov.too_easy,
            }
        )
    return {
        "date": today.isoformat(),
        "assets": len(rows),
        "freshness": freshness,
        "licences": licences,
        "question_bank": question_bank,
        "min_items_per_point": cfg.min_items_per_point,
    }
