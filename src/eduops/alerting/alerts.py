"""Evaluating alert rules against the metric store, keeping alert state and history, and the
``Monitor`` that joins evaluation, Alertmanager-style dispatch, escalation and delivery.

For other domains: ``first_alert_after(engine, after, alertname=..., matchers=[...])`` finds the
first alert that started firing at or after a time (drills use it to measure time to detect).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.alerting.alertmanager import AMAlert, matches_all, parse_matchers
from eduops.alerting.memory_source import MemorySource
from eduops.alerting.metric_store import ingest, to_dt
from eduops.alerting.models import AlertEvent, AlertState
from eduops.alerting.promql import Matcher, selectors
from eduops.alerting.promql_eval import Labels, Points, Sample, evaluate
from eduops.alerting.rules import FIRING, INACTIVE, PENDING, Alert, AlertingRule, RecordingRule, RuleGroup
from eduops.alerting.series_window import SeriesWindow
from eduops.core.i18n import msg
from eduops.db import JSONText, session_scope
from eduops.errors import NotFound

log = logging.getLogger(__name__)
CALENDAR_SERIES = {"eduops_task_overdue", "eduops_task_failed"}  # made from the calendar, never stored


def _serialised(table: sa.Table) -> sa.TableClause:
    """``table`` for Core statements whose JSON columns take text already serialised (one dump serves the
    state row and the history row of a transition)."""
    return sa.table(table.name, *(sa.column(c.name, sa.Text() if isinstance(c.type, JSONText) else c.type)
                                  for c in table.c))


STATES, EVENTS = _serialised(AlertState.__table__), _serialised(AlertEvent.__table__)  # type: ignore[arg-type]


def as_json(value: Any) -> str:
    return JSONText().process_bind_param(value, None) or "null"


def fingerprint(labels: Labels) -> str:
    return hashlib.sha256(repr(tuple(sorted(labels))).encode()).hexdigest()[:16]


class ExtraSource:
    """A source plus synthetic current series (e.g. calendar state) that are not stored."""

    def __init__(self, base: Any, extra: list[tuple[Labels, Points]]) -> None:
        self.base, self.extra = base, extra

    def select(self, matchers: tuple[Matcher, ...], start: float, end: float) -> Iterator[tuple[Labels, Points]]:
        yield from self.base.select(matchers, start, end)
        for labels, points in self.extra:
            values = dict(labels)
            if all(m.matches(values.get(m.name, "")) for m in matchers):
                yield labels, [p for p in points if start <= p[0] <= end]


def calendar_series(engine: Engine, settings: Any, now: float) -> list[tuple[Labels, Points]]:
    """``eduops_task_overdue{task}`` and ``eduops_task_failed{task}`` from the calendar, at ``now``."""
    from eduops.core.calendar import calendar

    out: list[tuple[Labels, Points]] = []
    for entry in calendar(engine, settings, to_dt(now)):
        if not entry.enabled:
            continue
        base = (("owner", entry.owner), ("task", entry.key))
        out.append(((("__name__", "eduops_task_overdue"), *base), [(now, 1.0 if entry.overdue else 0.0)]))
        failed = entry.last_status in ("error", "crit", "interrupted")
        out.append(((("__name__", "eduops_task_failed"), *base), [(now, 1.0 if failed else 0.0)]))
    return out


@dataclass
class Transition:
    rule: AlertingRule
    alert: Alert
    event: str  # pending firing resolved dropped


class RuleEvaluator:
    """Evaluates rule groups on their intervals and records every alert transition."""

    def __init__(
        self,
        engine: Engine,
        settings: Any,
        groups: list[RuleGroup],
        default_interval: float,
        raw_days: float = 7.0,
        remote: Any = None,
    ) -> None:
        """``remote``: a PrometheusAPI that runs the rules' expressions (those over eduops's calendar
        series, which only eduops has, still run on the embedded engine)."""
        self.engine, self.settings, self.groups, self.remote = engine, settings, groups, remote
        self.default_interval, self.raw_days = default_interval, raw_days
        self.last_eval: dict[str, float] = {}
        self.rules_by_key = {f"{g.name}/{r.name}": r for g in groups for r in g.rules if isinstance(r, AlertingRule)}
        self.window = SeriesWindow(engine, raw_days)  # the rules' samples, kept between cycles

    def restore(self) -> None:
        """Bring pending/firing/resolved alerts back after a restart (Prometheus restores `for` state too)."""
        with session_scope(self.engine) as session:
            for row in session.scalars(sa.select(AlertState)):
                rule = self.rules_by_key.get(row.rule)
                if rule is None:
                    continue
                labels: Labels = tuple(sorted(row.labels.items()))
                rule.active[labels] = Alert(
                    labels,
                    dict(row.annotations),
                    row.value,
                    row.active_at.timestamp(),
                    row.state,
                    row.fired_at.timestamp() if row.fired_at else None,
                    row.resolved_at.timestamp() if row.resolved_at else None,
                )

    def due(self, now: float) -> list[RuleGroup]:
        return [
            g
            for g in self.groups
            if now - self.last_eval.get(g.name, -1e18) >= (g.interval or self.default_interval) - 1e-6
        ]

    def evaluate(self, now: float, groups: list[RuleGroup] | None = None) -> list[Transition]:
        groups = self.due(now) if groups is None else groups
        if not groups:
            return []
        nodes = [r.query for g in groups for r in g.rules if not self._runs_remotely(r)]
        source = self.window.load(nodes, now) if nodes else MemorySource()
        names = {s.name for n in nodes for s in selectors(n)}
        extra = (
            calendar_series(self.engine, self.settings, now)
            if names & CALENDAR_SERIES
            else []
        )
        src = ExtraSource(source, extra)
        transitions: list[Transition] = []
        recorded: list[tuple[str, dict[str, str], float, datetime]] = []
        memo: dict[object, object] = {}  # selections shared by the rules of this cycle
        for group in groups:
            self.last_eval[group.name] = now
            for rule in group.rules:
                try:
                    remote = self._runs_remotely(rule)
                    value = self.remote.instant(rule.expr, now) if remote else evaluate(rule.query, src, now, memo)
                    vector = [Sample((), value)] if isinstance(value, float) else value
                    if isinstance(rule, RecordingRule):
                        for s in rule.output(vector):
                            labels = dict(s.labels)
                            name = labels.pop("__name__")
                            recorded.append((name, labels, s.value, to_dt(now)))
                        continue
                    before = {k: a.state for k, a in rule.active.items()}
                    rule.step(now, vector)
                    rule.last_error = ""
                except Exception as exc:  # one broken rule never stops the others
                    rule.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("rule %s failed: %s", getattr(rule, "name", rule), rule.last_error)
                    continue
                transitions.extend(diff(rule, before))
        if recorded:
            ingest(self.engine, recorded)
        if transitions:
            self.persist(transitions, now)
        return transitions

    def _runs_remotely(self, rule: Any) -> bool:
        if self.remote is None:
            return False
        return not ({s.name for s in selectors(rule.query)} & CALENDAR_SERIES)

    def persist(self, transitions: list[Transition], now: float) -> None:
        """Record the transitions: one history row each, and the alerts' live state (a few statements in all)."""
        at = to_dt(now)
        events: list[dict[str, Any]] = []
        final: dict[str, dict[str, Any] | None] = {}  # fingerprint → its state row after these, None: gone
        created: set[str] = set()  # rows made (again) by these transitions
        for t in transitions:
            fp = fingerprint(t.alert.labels)
            if t.event in ("dropped", "forgotten"):
                final[fp] = None
                created.discard(fp)
                continue
            labels, annotations = as_json(dict(t.alert.labels)), as_json(t.alert.annotations)  # once for both rows
            events.append({"fingerprint": fp, "alertname": t.rule.name, "event": t.event, "at": at,
                           "labels": labels, "annotations": annotations, "value": t.alert.value, "detail": ""})
            row = final.get(fp)
            if row is None:
                row = {"fingerprint": fp}
                if fp in final:  # deleted above and made again
                    created.add(fp)
                final[fp] = row
                row["_new"] = {"rule": f"{t.rule.group}/{t.rule.name}", "alertname": t.rule.name, "labels": labels,
                               "active_at": to_dt(t.alert.active_at), "escalation_level": 0}
            row.update(annotations=annotations, value=t.alert.value, state=t.alert.state,
                       fired_at=to_dt(t.alert.fired_at) if t.alert.fired_at is not None else None,
                       resolved_at=to_dt(t.alert.resolved_at) if t.alert.resolved_at is not None else None)
        with session_scope(self.engine) as session:
            keys = sorted(final)
            stored: set[str] = set()
            for i in range(0, len(keys), 500):
                stored.update(session.scalars(
                    sa.select(AlertState.fingerprint).where(AlertState.fingerprint.in_(keys[i : i + 500]))))
            gone = [fp for fp, row in final.items() if fp in stored and (row is None or fp in created)]
            inserts, updates = [], []
            for fp, row in final.items():
                if row is None:
                    continue
                first = row.pop("_new")
                if fp in stored and fp not in created:  # its labels are its fingerprint's: they stay
                    updates.append(row)
                else:
                    inserts.append({**row, **first, "acked_by": None, "acked_at": None})
            for i in range(0, len(gone), 500):
                session.execute(STATES.delete().where(STATES.c.fingerprint.in_(gone[i : i + 500])))
            if updates:
                columns: dict[str, Any] = {k: sa.bindparam(k) for k in updates[0] if k != "fingerprint"}
                session.execute(
                    STATES.update().where(STATES.c.fingerprint == sa.bindparam("fp")).values(columns),
                    [{**row, "fp": row["fingerprint"]} for row in updates],
                )
            if inserts:
                session.execute(STATES.insert(), inserts)
            if events:
                session.execute(EVENTS.insert(), events)

    def am_alerts(self) -> list[AMAlert]:
        """Firing and resolved alerts in the shape the dispatcher takes (never pending ones)."""
        out = []
        for rule in self.rules_by_key.values():
            for alert in rule.active.values():
                if alert.state == FIRING or (alert.state == INACTIVE and alert.fired_at is not None):
                    out.append(
                        AMAlert(
                            fingerprint(alert.labels),
                            dict(alert.labels),
                            dict(alert.annotations),
                            alert.fired_at or alert.active_at,
                            alert.resolved_at if alert.state == INACTIVE else None,
                            alert.value,
                        )
                    )
        return out


def diff(rule: AlertingRule, before: dict[Labels, str]) -> list[Transition]:
    out = []
    for key, alert in rule.active.items():
        old = before.get(key)
        if old == alert.state:
            continue
        if alert.state == PENDING:
            out.append(Transition(rule, alert, "pending"))
        elif alert.state == FIRING:
            out.append(Transition(rule, alert, "firing"))
        elif alert.state == INACTIVE and old == FIRING:
            out.append(Transition(rule, alert, "resolved"))
    for key, old in before.items():
        if key not in rule.active:
            ghost = Alert(key, {}, 0.0, 0.0, old)
            out.append(Transition(rule, ghost, "dropped" if old == PENDING else "forgotten"))
    return out


# -- reading alerts


def _event_dict(e: AlertEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "fingerprint": e.fingerprint,
        "alertname": e.alertname,
        "event": e.event,
        "at": e.at.isoformat(),
        "labels": e.labels,
        "annotations": e.annotations,
        "value": e.value,
    }


def first_alert_after(
    engine: Engine,
    after: datetime,
    *,
    alertname: str | None = None,
    matchers: list[str] | None = None,
    event: str = "firing",
) -> dict[str, Any] | None:
    """The first alert event (``firing`` by default) at or after ``after`` whose name and labels match.

    ``matchers`` are Alertmanager-style strings such as ``'endpoint="https://x"'`` or ``'host=~"web.*"'``.
    Returns the event as a dict (``at``, ``alertname``, ``labels``, ``annotations``, ``value``) or None.
    """
    wanted = parse_matchers(matchers or [])
    with session_scope(engine) as session:
        query = sa.select(AlertEvent).where(AlertEvent.at >= after, AlertEvent.event == event)
        if alertname:
            query = query.where(AlertEvent.alertname == alertname)
        for e in session.scalars(query.order_by(AlertEvent.at, AlertEvent.id)):
            if matches_all(wanted, {**e.labels, "alertname": e.alertname}):
                return _event_dict(e)
    return None


def alert_history(engine: Engine, limit: int = 200, fingerprint_: str | None = None) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        query = sa.select(AlertEvent).order_by(AlertEvent.at.desc(), AlertEvent.id.desc()).limit(limit)
        if fingerprint_:
            query = query.where(AlertEvent.fingerprint == fingerprint_)
        return [_event_dict(e) for e in session.scalars(query)]


def current_alerts(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(AlertState).order_by(AlertState.active_at.desc())).all()
        return [
            {
                "fingerprint": r.fingerprint,
                "alertname": r.alertname,
                "rule": r.rule,
                "state": r.state,
                "labels": r.labels,
                "annotations": r.annotations,
                "value": r.value,
                "active_at": r.active_at.isoformat(),
                "fired_at": r.fired_at.isoformat() if r.fired_at else None,
                "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
                "acked_by": r.acked_by,
                "acked_at": r.acked_at.isoformat() if r.acked_at else None,
                "escalation_level": r.escalation_level,
            }
            for r in rows
        ]


def acknowledge(engine: Engine, fp: str, user: str, now: datetime | None = None) -> dict[str, Any]:
    """Acknowledge an alert: its escalation stops; the history records who and when."""
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        row = session.get(AlertState, fp)
        if row is None:
            raise NotFound(msg("no current alert {fp}; see `eduops alerts list`", fp=fp))
        row.acked_by, row.acked_at = user, now
        session.add(
            AlertEvent(
                fingerprint=fp,
                alertname=row.alertname,
                event="acknowledged",
                at=now,
                labels=row.labels,
                annotations=row.annotations,
                value=row.value,
                detail=user,
            )
        )
    return {"fingerprint": fp, "acked_by": user, "acked_at": now.isoformat()}
