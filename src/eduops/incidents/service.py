"""Working an incident: open (from a signal or by hand), attach signals, acknowledge, owner, status,
notes, public notice, resolve. Every change is audited; open, escalate and resolve notify the owner."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eduops.config import Settings
from eduops.core.audit import record_audit
from eduops.core.i18n import Msg, decode, encode, msg
from eduops.db import session_scope, utcnow
from eduops.errors import Conflict, NotFound, UsageError
from eduops.incidents import joining, notices
from eduops.incidents.models import Incident, IncidentAction, IncidentNote, IncidentSignal
from eduops.incidents.settings import incident_settings
from eduops.incidents.signals import DIMENSIONS, KINDS, Signal

STATUSES = ("investigating", "identified", "monitoring", "resolved")
SEVERITIES = ("info", "warning", "critical")
MAX_TEXT = 10_000


def check_dims(dims: Mapping[str, Any]) -> dict[str, str]:
    unknown = sorted(set(dims) - set(DIMENSIONS))
    if unknown:
        raise UsageError(f"unknown dimension {unknown[0]!r}; dimensions are {', '.join(DIMENSIONS)}")
    clean = {k: str(v).strip() for k, v in dims.items() if str(v).strip()}  # as the sources store them
    if any(len(v) > 200 for v in clean.values()):
        raise UsageError("a dimension value has at most 200 characters")
    return clean


def check_text(text: str, name: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    text = (text or "").strip()
    if required and not text:
        raise UsageError(f"{name} must not be empty")
    if len(text) > limit:
        raise UsageError(f"{name} has at most {limit} characters")
    return text


def to_dict(row: Incident, signals: Iterable[IncidentSignal] = (), notes: Iterable[IncidentNote] = (),
            actions: Iterable[IncidentAction] = ()) -> dict[str, Any]:
    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t else None

    return {
        "id": row.id, "public_id": row.public_id, "kind": row.kind, "title": decode(row.title), "status": row.status,
        "severity": row.severity, "owner": row.owner, "dims": dict(row.dims), "opened_by": row.opened_by,
        "first_signal_at": iso(row.first_signal_at), "opened_at": iso(row.opened_at),
        "acknowledged_at": iso(row.acknowledged_at), "resolved_at": iso(row.resolved_at),
        "notice": {"public": row.notice_public, "zh": row.notice_zh, "en": row.notice_en},
        "drill_run_id": row.drill_run_id,
        "signals": [_signal_dict(s) for s in signals],
        "notes": [{"id": n.id, "author": n.author, "text": n.text, "at": n.at.isoformat()} for n in notes],
        "action_items": [{"id": a.id, "title": a.title, "owner": a.owner, "work_item_id": a.work_item_id}
                         for a in actions],
        "review": {"went_well": row.went_well, "went_badly": row.went_badly, "summary": row.review_summary,
                   "reviewed_by": row.reviewed_by, "reviewed_at": iso(row.reviewed_at)},
    }


def _get(session: Session, incident_id: int) -> Incident:
    row = session.get(Incident, incident_id)
    if row is None:
        raise NotFound(msg("no incident {incident_id}; list them with `eduops incidents list`",
                           incident_id=incident_id))
    return row


def _signal_row(incident_id: int, signal: Signal) -> IncidentSignal:
    payload = {**signal.to_dict(), "title_i18n": encode(signal.title)}  # the page shows it in the reader's language
    return IncidentSignal(incident_id=incident_id, kind=signal.kind, ref=signal.ref[:300], at=signal.at,
                          payload=payload)


def _signal_dict(s: IncidentSignal) -> dict[str, Any]:
    data = {k: v for k, v in s.payload.items() if k != "title_i18n"}
    title = decode(s.payload.get("title_i18n")) or data.get("title", "")
    return {**data, "title": title, "kind": s.kind, "ref": s.ref, "at": s.at.isoformat()}


def _snapshot(row: Incident) -> dict[str, Any]:
    return {"status": row.status, "severity": row.severity, "owner": row.owner, "notice_public": row.notice_public}


def get_incident(engine: Engine, incident_id: int) -> dict[str, Any]:
    with session_scope(engine) as session:
        row = _get(session, incident_id)
        signals = session.scalars(sa.select(IncidentSignal).where(IncidentSignal.incident_id == incident_id)
                                  .order_by(IncidentSignal.at, IncidentSignal.id)).all()
        notes = session.scalars(sa.select(IncidentNote).where(IncidentNote.incident_id == incident_id)
                                .order_by(IncidentNote.at, IncidentNote.id)).all()
        actions = session.scalars(sa.select(IncidentAction).where(IncidentAction.incident_id == incident_id)
                                  .order_by(IncidentAction.id)).all()
        return to_dict(row, signals, notes, actions)


def list_incidents(engine: Engine, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first, each with its signals; ``status`` "open" means every status but resolved."""
    if status and status not in (*STATUSES, "open"):
        raise UsageError(f"status must be open or one of {', '.join(STATUSES)}")
    with session_scope(engine) as session:
        query = sa.select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
        if status == "open":
            query = query.where(Incident.status != "resolved")
        elif status:
            query = query.where(Incident.status == status)
        rows = session.scalars(query).all()
        by_incident: dict[int, list[IncidentSignal]] = {r.id: [] for r in rows}
        if rows:
            for s in session.scalars(sa.select(IncidentSignal).where(IncidentSignal.incident_id.in_(by_incident))
                                     .order_by(IncidentSignal.at, IncidentSignal.id)):
                by_incident[s.incident_id].append(s)
        return [to_dict(r, by_incident[r.id]) for r in rows]


def open_incident(engine: Engine, settings: Settings, *, title: str | Msg, who: str, severity: str = "warning",
                  dims: Mapping[str, Any] | None = None, signal: Signal | None = None, owner: str = "",
                  at: datetime | None = None, kind: str = "incident", drill_run_id: int | None = None
                  ) -> dict[str, Any]:
    """A new incident, by hand (``who``) or from ``signal`` (which becomes its first signal)."""
    stored = encode(title) if isinstance(title, Msg) and len(encode(title)) <= 1000 else check_text(
        str(title), "title", limit=300)
    if severity not in SEVERITIES:
        raise UsageError(f"severity must be one of {', '.join(SEVERITIES)}")
    clean = check_dims(dims or {})
    if signal is not None:
        clean = joining.merge_dims(clean, signal.dims)
    now = at or utcnow()
    owner = (owner or incident_settings(settings).default_owner).strip()[:64]
    with session_scope(engine) as session:
        row = Incident(
            public_id=secrets.token_urlsafe(12), kind=kind, title=stored, status="investigating", severity=severity,
            owner=owner, dims=clean, opened_at=now, first_signal_at=signal.at if signal else now,
            opened_by=f"signal:{signal.ref}"[:300] if signal else f"user:{who}"[:300],
            notice_public=False, notice_zh="", notice_en="", drill_run_id=drill_run_id,
            went_well="", went_badly="", review_summary="", reviewed_by="",
        )
        session.add(row)
        session.flush()
        if signal is not None:
            session.add(_signal_row(row.id, signal))
        record_audit(session, actor=who, action="incident.open", target=f"incident:{row.id}",
                     after={"title": str(title), "severity": severity, "dims": clean, "opened_by": row.opened_by})
        if kind == "incident":
            notices.queue(session, settings, row, "opened")
        incident_id = row.id
    return get_incident(engine, incident_id)


def attach(engine: Engine, settings: Settings, incident_id: int, signal: Signal, who: str = "incidents"
           ) -> bool:
    """Join ``signal`` to the incident (dims merged, first signal moved earlier); False when it was there."""
    with session_scope(engine) as session:
        row = _get(session, incident_id)
        if session.scalar(sa.select(IncidentSignal.id).where(IncidentSignal.incident_id == incident_id,
                                                             IncidentSignal.ref == signal.ref[:300])):
            return False
        session.add(_signal_row(incident_id, signal))
        row.dims = joining.merge_dims(row.dims, signal.dims)
        if row.first_signal_at is None or signal.at < row.first_signal_at:
            row.first_signal_at = signal.at
        record_audit(session, actor=who, action="incident.attach", target=f"incident:{incident_id}",
                     after={"kind": signal.kind, "ref": signal.ref})
        if signal.severity == "critical" and row.severity != "critical" and row.status != "resolved":
            row.severity = "critical"
            notices.queue(session, settings, row, "escalated")
        return True


def open_incidents(engine: Engine) -> list[joining.OpenIncident]:
    """Every unresolved real incident as joining sees it."""
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(Incident).where(Incident.status != "resolved",
                                                         Incident.kind == "incident")).all()
        out = []
        for r in rows:
            times = session.execute(sa.select(sa.func.min(IncidentSignal.at), sa.func.max(IncidentSignal.at))
                                    .where(IncidentSignal.incident_id == r.id)).one()
            ends = [datetime.fromisoformat(str(p["ended_at"])) for p in session.scalars(
                sa.select(IncidentSignal.payload).where(IncidentSignal.incident_id == r.id)) if p.get("ended_at")]
            last = max([t for t in (times[1], *ends) if t is not None], default=None)  # a signal lasts to its end
            kinds = session.scalars(sa.select(IncidentSignal.kind).distinct()
                                    .where(IncidentSignal.incident_id == r.id)).all()
            first = times[0] or r.first_signal_at or r.opened_at
            out.append(joining.OpenIncident(r.id, dict(r.dims), frozenset(kinds), first, last or first))
        return out


def carriers(engine: Engine, ref: str) -> list[tuple[int, datetime | None]]:
    """``(incident id, resolved_at)`` of every incident holding a signal with this ref."""
    with session_scope(engine) as session:
        rows = session.execute(sa.select(Incident.id, Incident.resolved_at).join(
            IncidentSignal, IncidentSignal.incident_id == Incident.id).where(IncidentSignal.ref == ref))
        return [(int(i), at) for i, at in rows]


def take_signals(engine: Engine, settings: Settings, signals: Iterable[Signal], who: str = "incidents",
                 now: datetime | None = None) -> dict[str, list[int]]:
    """Join each signal to an open incident or open one for it (oldest signal first); returns the ids.
    ``now``: when they were found (the poll's time), which is when an incident they open opened."""
    window = timedelta(seconds=incident_settings(settings).join_window)
    done: dict[str, list[int]] = {"opened": [], "attached": []}
    for signal in sorted(signals, key=lambda s: (s.at, s.ref)):
        if now is not None and signal.at > now:
            continue  # still ahead of this poll (a source answering with what fires now)
        if joining.holder(signal, carriers(engine, signal.ref)) is not None:
            continue  # this occurrence is on an incident already (open, or resolved after it began)
        decision = joining.decide(signal, open_incidents(engine), window)
        if decision.action == "attach" and decision.incident_id is not None:
            if attach(engine, settings, decision.incident_id, signal, who):
                done["attached"].append(decision.incident_id)
        elif decision.action == "open":
            made = open_incident(engine, settings, title=signal.title, who=who, signal=signal, at=now,
                                 severity=signal.severity if signal.severity in SEVERITIES else "warning")
            done["opened"].append(made["id"])
    return done


def acknowledge(engine: Engine, incident_id: int, who: str, at: datetime | None = None) -> dict[str, Any]:
    """The first acknowledgement is kept (it is what time-to-acknowledge measures); taking it makes the
    acknowledger the owner when nobody owns it."""
    with session_scope(engine) as session:
        row = _get(session, incident_id)
        if row.acknowledged_at is None:
            row.acknowledged_at = at or utcnow()
            row.owner = row.owner or who[:64]
            record_audit(session, actor=who, action="incident.ack", target=f"incident:{incident_id}",
                         after={"owner": row.owner})
    return get_incident(engine, incident_id)


def set_status(engine: Engine, settings: Settings, incident_id: int, status: str, who: str) -> dict[str, Any]:
    if status not in STATUSES:
        raise UsageError(f"status must be one of {', '.join(STATUSES)}")
    if status == "resolved":
        return resolve(engine, settings, incident_id, who)
    with session_scope(engine) as session:
        row = _get(session, incident_id)
        if row.status == "resolved":
            raise Conflict(f"incident {incident_id} is resolved; open a new one if it came back")
        before = _snapshot(row)
        row.status = status
        row.acknowledged_at = row.acknowledged_at or utcnow()  # working on it is acknowledging it
        record_audit(session, actor=who, action="incident.status", target=f"incident:{incident_id}",
                     before=before, after=_snapshot(row))
    return get_incident(engine, incident_id)


def set_owner(engine: Engine, settings: Settings, incident_id: int, owner: str, who: str) -> dict[str, Any]:
    owner = check_text(owner, "owner", limit=64)
    with session_scope(engine) as session:
        row = _get(session, incident_id)
        before = _snapshot(row)
        row.owner = owner
        record_audit(session, actor=who, action="incident.owner", target=f"incident:{incident_id}",
                     before=before, after=_snapshot(row))
        if row.status != "resolved" and before["owner"] != owner:
            notices.queue(session, settings, row, "opened")  # the new owner hears of it as if it just opened
    return get_incident(engine, incident_id)


def escalate(engine: Engine, settings: Settings, incident_id: int, who: str, severity: str = "critical"
             ) -> dict[str, Any]:
    if severity not in SEVERITIES:
        raise UsageError(f"severity must be one of {', '.join(SEVERITIES)}")
    with session_scope(engine) as session:
        row = _get(session, incident_id)
        if row.status == "resolved":
            raise Conflict(f"incident {incident_id} is resolved")
        if SEVERITIES.index(severity) <= SEVERITIES.index(row.severity):
            raise Conflict(f"incident {incident_id} is {row.severity} already; escalating means a higher severity")
        before = _snapshot(row)
        row.severity = severity
        record_audit(session, actor=who, action="incident.escalate", target=f"incident:{incident_id}",
                     before=before, after=_snapshot(row))
        notices.queue(session, settings, row, "escalated")
    return get_incident(engine, incident_id)


def add_note(engine: Engine, incident_id: int, who: str, text: str, at: datetime | None = None
             ) -> dict[str, Any]:
    text = check_text(text, "note")
    with session_scope(engine) as session:
        _get(session, incident_id)
        note = IncidentNote(incident_id=incident_id, author=who[:64], text=text, at=at or utcnow())
        session.add(note)
        session.flush()
        record_audit(session, actor=who, action="incident.note", target=f"incident:{incident_id}",
                     after={"note": note.id})
        return {"id": note.id, "author": note.author, "text": note.text, "at": note.at.isoformat()}


def resolve(engine: Engine, settings: Settings, incident_id: int, who: str, at: datetime | None = None
            ) -> dict[str, Any]:
    with session_scope(engine) as session:
        row = _get(session, incident_id)
        if row.status == "resolved":
            raise Conflict(f"incident {incident_id} is resolved already")
        before = _snapshot(row)
        now = at or utcnow()
        row.status, row.resolved_at = "resolved", now
        row.acknowledged_at = row.acknowledged_at or now
        record_audit(session, actor=who, action="incident.resolve", target=f"incident:{incident_id}",
                     before=before, after=_snapshot(row))
        if row.kind == "incident":
            notices.queue(session, settings, row, "resolved")
    return get_incident(engine, incident_id)


def set_notice(engine: Engine, incident_id: int, who: str, *, public: bool, zh: str | None = None,
               en: str | None = None) -> dict[str, Any]:
    """The learner-facing notice: off by default; on needs its Chinese and English text."""
    with session_scope(engine) as session:
        row = _get(session, incident_id)
        before = _snapshot(row)
        if zh is not None:
            row.notice_zh = check_text(zh, "notice zh", required=False, limit=2000)
        if en is not None:
            row.notice_en = check_text(en, "notice en", required=False, limit=2000)
        if public and not (row.notice_zh and row.notice_en):
            raise UsageError("a public notice needs its text in Chinese (zh) and English (en)")
        row.notice_public = public
        record_audit(session, actor=who, action="incident.notice", target=f"incident:{incident_id}",
                     before=before, after=_snapshot(row))
    return get_incident(engine, incident_id)


def public_status(engine: Engine, public_id: str) -> dict[str, Any]:
    """What the public status page may show: the notice, the status and the times. Nothing else."""
    with session_scope(engine) as session:
        row = session.scalar(sa.select(Incident).where(Incident.public_id == public_id[:32]))
        if row is None or not row.notice_public:
            raise NotFound(msg("no such status notice"))
        return {"status": row.status, "zh": row.notice_zh, "en": row.notice_en,
                "opened_at": row.opened_at, "resolved_at": row.resolved_at}


def valid_kind(kind: str) -> str:
    if kind not in KINDS:
        raise UsageError(f"kind must be one of {', '.join(KINDS)}")
    return kind
