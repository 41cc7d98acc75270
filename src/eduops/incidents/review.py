"""The review (复盘): pre-filled from the timeline, the impact and the durations; what went well and
badly; action items that become feedback work items. A quarterly drill's run gets the same review as
an incident of kind ``drill`` (its injection is the first signal, its detection opens and
acknowledges it, its recovery resolves it), so rehearsals and real incidents compare on one page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core.audit import record_audit
from eduops.core.i18n import msg
from eduops.core.models import CheckRun, Run
from eduops.core.workspace import Workspace
from eduops.db import session_scope, utcnow
from eduops.errors import Conflict, NotFound, UsageError
from eduops.feedback.workitems import WorkItemIn, create
from eduops.incidents import cause, impact, joining, service, sources
from eduops.incidents.jumps import cause_window
from eduops.incidents.models import Incident, IncidentAction
from eduops.incidents.signals import Signal

DRILL_TASK = "quarterly-drill"
DRILL_CHECK = "drills.quarterly"


def signal_from(payload: dict[str, Any]) -> Signal:
    """A stored signal (``Signal.to_dict()``) as the cause rules read it."""
    def when(text: Any) -> datetime | None:
        return datetime.fromisoformat(str(text)) if text else None

    return Signal(kind=payload["kind"], ref=payload["ref"], at=when(payload["at"]) or utcnow(),
                  title=payload.get("title", ""), severity=payload.get("severity", "warning"),
                  ended_at=when(payload.get("ended_at")), dims=dict(payload.get("dims") or {}),
                  link=str(payload.get("link", "")), value=payload.get("value"), unit=str(payload.get("unit", "")),
                  series=tuple((datetime.fromisoformat(t), float(v)) for t, v in payload.get("series") or ()),
                  detail=dict(payload.get("detail") or {}), opens=bool(payload.get("opens")))


def related(signal: Signal, dims: dict[str, str]) -> bool:
    """A signal of the window belongs on the incident's timeline when it shares a dimension and
    contradicts none (the joining rule without its time window)."""
    return bool(joining.shared_dims(signal.dims, dims)) and not joining.conflicting_dims(signal.dims, dims)


def window_of(incident: dict[str, Any]) -> tuple[datetime, datetime]:
    """From an hour before the first signal to an hour after the resolution (or now)."""
    start = datetime.fromisoformat(incident["first_signal_at"] or incident["opened_at"])
    end = datetime.fromisoformat(incident["resolved_at"]) if incident["resolved_at"] else utcnow()
    return start - timedelta(hours=1), end + timedelta(hours=1)


def _plain(value: Any) -> Any:
    """A dataclass result of the evidence modules as JSON-able data."""
    if hasattr(value, "to_dict"):
        data = value.to_dict()
        for key in ("title", "confidence_text"):  # kept as Msg: the page words them in the reader's language
            if isinstance(getattr(value, key, None), str):
                data[key] = getattr(value, key)
        return data
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def get_review(engine: Engine, settings: Settings, incident_id: int, *, with_timeline: bool = True
               ) -> dict[str, Any]:
    """The review page's content: the incident, its durations, impact, ranked causes and timeline."""
    incident = service.get_incident(engine, incident_id)
    at = {k: datetime.fromisoformat(incident[k]) if incident[k] else None
          for k in ("first_signal_at", "opened_at", "acknowledged_at", "resolved_at")}
    start, end = window_of(incident)
    signals = [signal_from(s) for s in incident["signals"]]
    timeline = list(signals)
    if with_timeline and incident["kind"] == "incident":
        known = {s.ref for s in signals}
        timeline += [s for s in sources.timeline(settings_ws(engine, settings), start, end, incident["dims"])
                     if s.ref not in known and related(s, incident["dims"])]
    timeline.sort(key=lambda s: (s.at, s.kind, s.ref))
    out: dict[str, Any] = {"incident": incident, "timeline": [{**s.to_dict(), "title": s.title} for s in timeline],
                           "durations": None, "impact": None, "causes": None}
    out["durations"] = _plain(impact.durations(at["first_signal_at"], at["opened_at"], at["acknowledged_at"],
                                               at["resolved_at"]))
    if incident["kind"] == "incident":
        out["impact"] = _plain(impact.measure_impact(settings_ws(engine, settings), start, end, incident["dims"]))
    if timeline:
        out["causes"] = _plain(cause.rank_causes(timeline, cause_window(settings)))
    return out


def settings_ws(engine: Engine, settings: Settings) -> Workspace:
    return Workspace(settings, engine)


def save_review(engine: Engine, incident_id: int, who: str, *, went_well: str | None = None,
                went_badly: str | None = None, summary: str | None = None) -> dict[str, Any]:
    """What went well and badly, written after the incident is resolved."""
    with session_scope(engine) as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise NotFound(msg("no incident {incident_id}", incident_id=incident_id))
        if row.status != "resolved":
            raise Conflict(f"incident {incident_id} is {row.status}; the review comes after it is resolved")
        for field, value in (("went_well", went_well), ("went_badly", went_badly), ("review_summary", summary)):
            if value is not None:
                setattr(row, field, service.check_text(value, field.replace("_", " "), required=False))
        row.reviewed_by, row.reviewed_at = who[:64], utcnow()
        record_audit(session, actor=who, action="incident.review", target=f"incident:{incident_id}",
                     after={"went_well": bool(row.went_well), "went_badly": bool(row.went_badly)})
    return service.get_incident(engine, incident_id)


def add_action(engine: Engine, settings: Settings, incident_id: int, who: str, title: str, owner: str
               ) -> dict[str, Any]:
    """An action item of the review, as a feedback work item (its notes name the owner and the incident)."""
    title = service.check_text(title, "action item title", limit=300)
    owner = service.check_text(owner, "action item owner", limit=64)
    with session_scope(engine) as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise NotFound(msg("no incident {incident_id}", incident_id=incident_id))
        kind = row.kind
    item = create(engine, settings, WorkItemIn(
        title=title, kind="bug", function="other", source="manual", source_ref=f"{kind}:{incident_id}",
        notes=f"owner: {owner}; from the review of {kind} #{incident_id}"), who)
    with session_scope(engine) as session:
        action = IncidentAction(incident_id=incident_id, title=title, owner=owner, work_item_id=item["id"],
                                created_at=utcnow())
        session.add(action)
        session.flush()
        record_audit(session, actor=who, action="incident.action", target=f"incident:{incident_id}",
                     after={"title": title, "owner": owner, "work_item": item["id"]})
        return {"id": action.id, "title": title, "owner": owner, "work_item_id": item["id"]}


def review_drill(engine: Engine, settings: Settings, run_id: int, who: str) -> dict[str, Any]:
    """The review of a quarterly-drill run (made once; asking again gives the same incident)."""
    with session_scope(engine) as session:
        existing = session.scalar(sa.select(Incident.id).where(Incident.drill_run_id == run_id))
        run = session.get(Run, run_id)
        if run is None or run.task_key != DRILL_TASK:
            raise NotFound(msg("no {task} run {run_id}", task=DRILL_TASK, run_id=run_id))
        check = session.scalar(sa.select(CheckRun).where(CheckRun.run_id == run_id, CheckRun.name == DRILL_CHECK))
        evidence = dict(check.evidence) if check is not None and check.evidence else {}
        started, finished = run.started_at, run.finished_at
    if existing:
        return service.get_incident(engine, existing)
    injected = evidence.get("injected_at")
    if not injected:
        raise UsageError(f"drill run {run_id} injected no fault, so there is nothing to review")
    first = datetime.fromisoformat(str(injected))
    ttd, ttr = evidence.get("ttd_s"), evidence.get("ttr_s")
    title = msg("drill: {title}", title=msg(str(evidence.get("title") or DRILL_TASK)))
    made = service.open_incident(engine, settings, kind="drill", drill_run_id=run_id, who=who, at=first,
                                 title=title, owner=who,
                                 dims={"service": str(evidence.get("experiment") or "")[:200]}
                                 if evidence.get("experiment") else None)
    with session_scope(engine) as session:
        row = session.get(Incident, made["id"])
        assert row is not None
        row.first_signal_at = first
        detected = first + timedelta(seconds=float(ttd)) if ttd is not None else None
        row.opened_at = detected or first
        row.acknowledged_at = detected
        row.resolved_at = first + timedelta(seconds=float(ttr)) if ttr is not None else (finished or started)
        row.status = "resolved"
    return service.get_incident(engine, made["id"])


def review_finished_drills(engine: Engine, settings: Settings, who: str = "incidents") -> list[int]:
    """Every finished quarterly-drill run that injected a fault and has no review yet gets one (the loop
    and the demo call this, so rehearsals sit beside real incidents without anyone asking)."""
    with session_scope(engine) as session:
        reviewed = sa.select(Incident.drill_run_id).where(Incident.drill_run_id.is_not(None))
        pending = list(session.scalars(
            sa.select(Run.id).join(CheckRun, sa.and_(CheckRun.run_id == Run.id, CheckRun.name == DRILL_CHECK))
            .where(Run.task_key == DRILL_TASK, Run.finished_at.is_not(None), Run.id.not_in(reviewed))
            .order_by(Run.id)))
    made = []
    for run_id in pending:
        try:
            made.append(review_drill(engine, settings, run_id, who)["id"])
        except UsageError:  # the drill injected nothing: nothing to review
            continue
    return made
