"""Alerts from the team's own Alertmanager, taken in through its webhook (version 4).

Each alert becomes an eduops alert (``alert_states`` + ``alert_events``, rule
``alertmanager/<receiver>``) so it shows on the alert pages and in the history, can be acknowledged,
escalates like eduops's own, and goes out through eduops's dispatcher to the Chinese IM channels.
Alertmanager repeats a group's notification every repeat_interval: a repeat records no new event.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.alerting.alertmanager import AMAlert
from eduops.alerting.am_webhook import parse_webhook
from eduops.alerting.models import AlertEvent, AlertState
from eduops.alerting.rules import RESOLVED_RETENTION
from eduops.db import session_scope

RULE_PREFIX = "alertmanager/"


def intake_fingerprint(labels: dict[str, str]) -> str:
    """Ours, from the labels and where they came from: an alert eduops itself sent to Alertmanager
    and got back through its webhook stays a separate row, never overwriting the rule's own."""
    key = repr(("alertmanager", tuple(sorted(labels.items()))))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def ingest_webhook(engine: Engine, body: Any, now: float) -> dict[str, int]:
    """Store one webhook body; returns how many alerts fired, resolved or were repeats."""
    group, alerts = parse_webhook(body)
    source = f"{RULE_PREFIX}{group['receiver'] or 'webhook'}"[:300]
    counts = {"firing": 0, "resolved": 0, "unchanged": 0}
    with session_scope(engine) as session:
        for a in alerts:
            fp = intake_fingerprint(a.labels)
            name = a.labels["alertname"][:200]
            row = session.get(AlertState, fp)
            state = "inactive" if a.ends_at is not None else "firing"
            was = row.state if row is not None else None
            if row is None:
                if state == "inactive":
                    counts["unchanged"] += 1  # a resolution of something eduops never saw firing
                    continue
                row = AlertState(
                    fingerprint=fp, rule=source, alertname=name, active_at=_dt(a.starts_at), escalation_level=0
                )
                session.add(row)
            row.labels, row.annotations, row.state = dict(a.labels), dict(a.annotations), state
            row.fired_at = _dt(a.starts_at)
            row.resolved_at = _dt(a.ends_at) if a.ends_at is not None else None
            if state == "firing" and was == "inactive":  # fired again: a new episode, unacknowledged
                row.active_at, row.acked_by, row.acked_at, row.escalation_level = _dt(a.starts_at), None, None, 0
            if was == state:
                counts["unchanged"] += 1
                continue
            event = "firing" if state == "firing" else "resolved"
            counts[event] += 1
            at = a.starts_at if state == "firing" else (a.ends_at or now)
            session.add(
                AlertEvent(
                    fingerprint=fp,
                    alertname=name,
                    event=event,
                    at=_dt(at),
                    labels=dict(a.labels),
                    annotations=dict(a.annotations),
                    value=0.0,
                    detail=f"from Alertmanager {group['externalURL']}".strip(),
                )
            )
    return counts


def intake_alerts(engine: Engine, now: float) -> list[AMAlert]:
    """The taken-in alerts for eduops's dispatcher; resolved ones are forgotten after RESOLVED_RETENTION."""
    out: list[AMAlert] = []
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(AlertState).where(AlertState.rule.startswith(RULE_PREFIX))).all()
        for row in rows:
            ends = row.resolved_at.timestamp() if row.state == "inactive" and row.resolved_at else None
            if ends is not None and ends < now - RESOLVED_RETENTION:
                session.delete(row)
                continue
            starts = (row.fired_at or row.active_at).timestamp()
            out.append(AMAlert(row.fingerprint, dict(row.labels), dict(row.annotations), starts, ends, row.value))
    return out
