"""Telling the owner: an outbox of notifications (open, escalate, resolve) that the incidents loop
hands to alerting's delivery, so they get its rate limits, retries and delivery log.

The owner's channel is ``[incidents] channels[owner]``, else a channel named like the owner (the way
``[alerting]`` receivers name on-call people by their channel), else the channels of
``[incidents] fallback_receiver``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eduops.alerting.models import Channel
from eduops.alerting.notify import Delivery, Message
from eduops.alerting.settings import alerting_settings
from eduops.config import Settings
from eduops.core.clock import format_time
from eduops.core.i18n import gettext
from eduops.db import session_scope, utcnow
from eduops.incidents.models import Incident, IncidentNotice
from eduops.incidents.settings import incident_settings
from eduops.incidents.wording import localized

TITLES = {
    "opened": "Incident #{id} opened: {title}",
    "escalated": "Incident #{id} escalated to {severity}: {title}",
    "resolved": "Incident #{id} resolved: {title}",
}


def owner_channels(session: Session, settings: Settings, owner: str) -> list[str]:
    own = incident_settings(settings)
    if owner and owner in own.channels:
        return [own.channels[owner]]
    if owner and session.scalar(sa.select(Channel.id).where(Channel.name == owner)):
        return [owner]
    receivers = {r.name: r for r in alerting_settings(settings).receivers}
    fallback = receivers.get(own.fallback_receiver)
    return list(fallback.channels) if fallback else []


def render(settings: Settings, row: Incident, event: str) -> tuple[str, str]:
    lang = settings.language
    title = gettext(TITLES[event], lang, "incidents").format(
        id=row.id, title=localized(row.title, lang), severity=gettext(row.severity, lang, "incidents"))
    lines = [
        gettext("Status: {status}", lang, "incidents").format(status=gettext(row.status, lang, "incidents")),
        gettext("Owner: {owner}", lang, "incidents").format(owner=row.owner or "—"),
        gettext("Opened: {at}", lang, "incidents").format(at=format_time(row.opened_at, settings.tz)),
    ]
    if row.resolved_at:
        lines.append(gettext("Resolved: {at}", lang, "incidents").format(
            at=format_time(row.resolved_at, settings.tz)))
    lines.append(f"{settings.base_url.rstrip('/')}/incidents/{row.id}")
    return title, "\n".join(lines)


def queue(session: Session, settings: Settings, row: Incident, event: str) -> int:
    """Queue ``event`` for each of the owner's channels in the caller's transaction; returns how many."""
    title, body = render(settings, row, event)
    channels = owner_channels(session, settings, row.owner)
    for channel in channels:
        session.add(IncidentNotice(incident_id=row.id, event=event, channel=channel[:128], title=title[:300],
                                   body=body, created_at=utcnow()))
    return len(channels)


def hand_over(engine: Engine, delivery: Delivery, now: datetime | None = None) -> int:
    """Give every waiting notification to ``delivery`` (which sends, retries and logs); returns how many."""
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(IncidentNotice).where(IncidentNotice.handed_at.is_(None))
                               .order_by(IncidentNotice.id).limit(200)).all()
        for row in rows:
            delivery.enqueue(row.channel, Message(row.title, row.body, "incidents", f"incident:{row.incident_id}",
                                                  1, 0.0, [_payload(row)]))
            row.handed_at = now or utcnow()
        return len(rows)


def _payload(row: IncidentNotice) -> dict[str, Any]:
    """What a webhook:// channel receives: the same shape as an Alertmanager v4 body, one pseudo-alert."""
    return {"version": "4", "status": "resolved" if row.event == "resolved" else "firing",
            "receiver": "incidents", "groupKey": f"incident:{row.incident_id}", "truncatedAlerts": 0,
            "groupLabels": {"incident": str(row.incident_id)}, "externalURL": "",
            "commonLabels": {"alertname": "Incident", "incident": str(row.incident_id), "event": row.event},
            "commonAnnotations": {"summary": row.title, "description": row.body}, "alerts": []}


def pending(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [{"incident_id": r.incident_id, "event": r.event, "channel": r.channel, "title": r.title,
                 "handed_at": r.handed_at.isoformat() if r.handed_at else None}
                for r in session.scalars(sa.select(IncidentNotice).order_by(IncidentNotice.id))]
