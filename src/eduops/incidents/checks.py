"""incidents.follow_up (daily inspection): incidents nobody owns or acknowledged, and reviews (复盘) not written.

The rule is a pure function over plain rows so its table test needs no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, Severity, Status, check
from eduops.core.clock import format_time
from eduops.core.i18n import Msg, msg
from eduops.db import session_scope
from eduops.incidents.models import Incident
from eduops.incidents.settings import incident_settings


@dataclass(frozen=True)
class FollowUp:
    incident_id: int
    severity: Severity
    what: str  # unowned | unacknowledged | unreviewed
    since: datetime


def follow_ups(incidents: Iterable[Mapping[str, Any]], now: datetime, *, acknowledge_within: timedelta,
               review_within: timedelta) -> list[FollowUp]:
    """What each incident still owes: an owner and an acknowledgement while open (a drill owes nothing: it
    is reviewed as it is made), a review once resolved for longer than ``review_within``."""
    owed = []
    for i in incidents:
        if i["kind"] != "incident":
            continue
        if i["status"] != "resolved":
            if not i["owner"]:
                owed.append(FollowUp(i["id"], "warn", "unowned", i["opened_at"]))
            if i["acknowledged_at"] is None and now - i["opened_at"] > acknowledge_within:
                owed.append(FollowUp(i["id"], "crit", "unacknowledged", i["opened_at"]))
        elif i["reviewed_at"] is None and i["resolved_at"] is not None and now - i["resolved_at"] > review_within:
            owed.append(FollowUp(i["id"], "warn", "unreviewed", i["resolved_at"]))
    return owed


def _words(f: FollowUp, since: str) -> tuple[Msg, Msg]:
    if f.what == "unowned":
        return (msg("incident {id} has no owner", id=f.incident_id),
                msg("take it: `eduops incidents show {id}`, then set an owner on its page (open since {since})",
                    id=f.incident_id, since=since))
    if f.what == "unacknowledged":
        return (msg("incident {id} is not acknowledged", id=f.incident_id),
                msg("acknowledge it with `eduops incidents ack {id}` or on its page (open since {since})",
                    id=f.incident_id, since=since))
    return (msg("incident {id} has no review", id=f.incident_id),
            msg("write its review (复盘) with `eduops incidents review {id}` (resolved {since})",
                id=f.incident_id, since=since))


@check("incidents.follow_up", area="incidents", title="Incident follow-up")
def incident_follow_up(ctx: CheckContext) -> CheckResult:
    own = incident_settings(ctx.settings)
    with session_scope(ctx.engine) as session:
        rows = [{"id": r.id, "kind": r.kind, "status": r.status, "owner": r.owner, "opened_at": r.opened_at,
                 "acknowledged_at": r.acknowledged_at, "resolved_at": r.resolved_at, "reviewed_at": r.reviewed_at}
                for r in session.scalars(sa.select(Incident).where(
                    sa.or_(Incident.status != "resolved", Incident.reviewed_at.is_(None))))]
    owed = follow_ups(rows, ctx.now, acknowledge_within=timedelta(seconds=own.acknowledge_within),
                      review_within=timedelta(seconds=own.review_within))
    findings = []
    for f in owed:
        title, detail = _words(f, format_time(f.since, ctx.settings.tz))
        findings.append(Finding(f.severity, title, detail))
    open_count = sum(1 for r in rows if r["kind"] == "incident" and r["status"] != "resolved")
    measurements = [Measurement("incidents_open", float(open_count)),
                    Measurement("incidents_unreviewed", float(sum(1 for f in owed if f.what == "unreviewed")))]
    status: Status = "crit" if any(f.severity == "crit" for f in owed) else "warn" if owed else "ok"
    summary = (msg("{open} open incidents; {count} follow-ups owed", open=open_count, count=len(owed)) if owed
               else msg("{open} open incidents, all owned and acknowledged; every resolved one reviewed",
                        open=open_count))
    return CheckResult(status, summary, measurements, findings,
                       {"follow_ups": [{"incident": f.incident_id, "what": f.what} for f in owed]})
