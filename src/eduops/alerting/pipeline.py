"""The alerting pipeline of one eduops process: rules → alert state → dispatch → escalation → delivery.

``Monitor.cycle(now)`` does one step on any clock (tests pass their own); ``start_background`` runs
it every second on the real clock in the leading process, with one delivery worker per channel.
"""

from __future__ import annotations

import glob
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from eduops.alerting import format as alert_format
from eduops.alerting import selfhealth
from eduops.alerting.alertmanager import (
    AMAlert,
    Dispatcher,
    LogEntry,
    Muting,
    Notification,
    build_route,
    parse_matchers,
)
from eduops.alerting.alerts import RuleEvaluator
from eduops.alerting.am_forward import Forwarder
from eduops.alerting.am_webhook import webhook_body
from eduops.alerting.anomaly import record_anomalies
from eduops.alerting.intake import intake_alerts
from eduops.alerting.metric_store import apply_retention, rollup
from eduops.alerting.models import AlertEvent, AlertState, NotifyLogEntry, Silence
from eduops.alerting.notify import ChannelQueue, Delivery, Message, Sender, apprise_send, load_queues
from eduops.alerting.prom_source import PrometheusAPI
from eduops.alerting.rules import RuleGroup, default_rule_files, load_rule_files
from eduops.alerting.settings import AlertingSettings, alerting_settings
from eduops.core.leader import run_while_leading
from eduops.db import session_scope

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 300.0
ANOMALY_SECONDS = 300.0


def rule_files(settings: Any, ms: AlertingSettings) -> list[Path]:
    files = default_rule_files()
    for pattern in ms.rule_files:
        full = pattern if Path(pattern).is_absolute() else str(settings.home / pattern)
        files.extend(Path(p) for p in sorted(glob.glob(full)))
    return files


RULE_FILE_ERRORS: dict[str, str] = {}  # file → why it was skipped, shown on the rules page


def active_groups(settings: Any, ms: AlertingSettings) -> list[RuleGroup]:
    """Every rule file's groups; a broken file is skipped (and reported), never the end of alerting."""
    from eduops.errors import UsageError

    groups: list[RuleGroup] = []
    for path in rule_files(settings, ms):
        try:
            groups.extend(load_rule_files([path]))
            RULE_FILE_ERRORS.pop(str(path), None)
        except UsageError as exc:
            RULE_FILE_ERRORS[str(path)] = exc.message
            log.error("rule file skipped: %s", exc.message)
    groups = [g for g in groups if g.name not in ms.disabled_groups]
    for g in groups:
        g.rules = [r for r in g.rules if r.name not in ms.disabled_rules]
    return groups


def load_muting(engine: Any, ms: AlertingSettings, default_tz: str, now: float) -> Muting:
    muting = Muting(
        windows=[
            (w.cron, w.duration, w.timezone or default_tz, parse_matchers(w.matchers), w.name)
            for w in ms.maintenance_windows
        ],
        inhibit=[
            (parse_matchers(r.source_matchers), parse_matchers(r.target_matchers), r.equal) for r in ms.inhibit_rules
        ],
    )
    with session_scope(engine) as session:
        for s in session.scalars(sa.select(Silence).where(Silence.ends_at > datetime.fromtimestamp(now, UTC))):
            muting.silences.append(
                (
                    parse_matchers(s.matchers),
                    s.starts_at.timestamp(),
                    s.ends_at.timestamp(),
                    f"silence {s.id} ({s.created_by}: {s.comment})",
                )
            )
    return muting


def load_nflog(engine: Any) -> dict[tuple[str, str], LogEntry]:
    with session_scope(engine) as session:
        return {
            (r.group_key, r.receiver): LogEntry(frozenset(r.firing), frozenset(r.resolved), r.at.timestamp())
            for r in session.scalars(sa.select(NotifyLogEntry))
        }


def save_nflog(engine: Any, dispatcher: Dispatcher, keys: set[tuple[str, str]]) -> None:
    with session_scope(engine) as session:
        for group_key, receiver in keys:
            entry = dispatcher.nflog.get((group_key, receiver))
            if entry is None:
                continue
            row = session.get(NotifyLogEntry, (group_key[:512], receiver))
            if row is None:
                row = NotifyLogEntry(group_key=group_key[:512], receiver=receiver)
                session.add(row)
            row.firing, row.resolved = sorted(entry.firing), sorted(entry.resolved)
            row.at = datetime.fromtimestamp(entry.at, UTC)


class Monitor:
    def __init__(
        self,
        ws: Any,
        *,
        sender: Sender = apprise_send,
        channels: dict[str, ChannelQueue] | None = None,
        clock: Callable[[], float] = time.time,
        groups: list[RuleGroup] | None = None,
        ms: AlertingSettings | None = None,
    ) -> None:
        from eduops.core.workspace import keyring

        self.ws, self.clock = ws, clock
        self.ms = ms or alerting_settings(ws.settings)
        self.receivers = {r.name: r for r in self.ms.receivers}
        self.evaluator = RuleEvaluator(
            ws.engine,
            ws.settings,
            groups if groups is not None else active_groups(ws.settings, self.ms),
            self.ms.evaluation_interval,
            self.ms.raw_retention_days,
            PrometheusAPI(self.ms.prometheus_url) if self.ms.prometheus_url else None,
        )
        self.evaluator.restore()
        self.dispatcher = Dispatcher(build_route(self.ms.route), send_resolved=self._send_resolved)
        self.dispatcher.nflog = load_nflog(ws.engine)
        ring = keyring(ws.settings)
        self.ack_secret = ring.keys[ring.active]
        self.delivery = Delivery(
            ws.engine, channels if channels is not None else load_queues(ws.engine, ring), sender, clock
        )
        self.notifications: list[Notification] = []
        self.forwarder = (
            Forwarder(
                self.ms.alertmanager_url, ws.settings.base_url, self.ms.alertmanager_resend, self.ms.evaluation_interval
            )
            if self.ms.alertmanager_url
            else None
        )
        self._resolved_put: set[tuple[str, float]] = set()

    def _fresh(self, alerts: list[AMAlert]) -> list[AMAlert]:
        """Firing alerts every cycle (they refresh their group); a resolution only once."""
        out = []
        for a in alerts:
            if a.ends_at is not None:
                key = (a.fingerprint, a.ends_at)
                if key in self._resolved_put:
                    continue
                self._resolved_put.add(key)
            out.append(a)
        return out

    def _send_resolved(self, receiver: str) -> bool:
        r = self.receivers.get(receiver)
        return r.send_resolved if r else True

    def cycle(self, now: float | None = None, deliver: bool = True) -> list[Notification]:
        """Evaluate due rule groups, dispatch, escalate; with ``deliver`` also send what is due."""
        now = self.clock() if now is None else now
        self.evaluator.evaluate(now)
        self.dispatcher.muting = load_muting(self.ws.engine, self.ms, self.ws.settings.timezone, now)
        own = self.evaluator.am_alerts()
        if self.forwarder is not None:  # Alertmanager routes eduops's own alerts; taken-in ones stay here
            self.forwarder.forward(own, now)
            own = []
        self.dispatcher.put(self._fresh(own + intake_alerts(self.ws.engine, now)), now)
        if len(self._resolved_put) > 10_000:  # resolutions are kept 15 minutes; older keys can go
            self._resolved_put = {k for k in self._resolved_put if k[1] > now - 3600}
        notes = self.dispatcher.tick(now)
        for note in notes:
            self.route(note)
        if notes:
            save_nflog(self.ws.engine, self.dispatcher, {(n.group_key, n.receiver) for n in notes})
        self.escalate(now)
        self.notifications.extend(notes)
        if deliver:
            self.delivery.tick(now)
        return notes

    def route(self, note: Notification) -> None:
        settings = self.ws.settings
        title, body = alert_format.render(note, settings.base_url, settings.tz, settings.language)
        payload = webhook_body(note, settings.base_url)
        receiver = self.receivers.get(note.receiver)
        channels = list(receiver.channels) if receiver else []
        if receiver and receiver.oncall and any(a.labels.get("severity") == "critical" for a in note.firing):
            channels.append(receiver.oncall[0])
        for channel in dict.fromkeys(channels):
            self.delivery.enqueue(
                channel,
                Message(
                    title,
                    body,
                    note.receiver,
                    note.group_key,
                    len(note.firing) + len(note.resolved),
                    note.at,
                    [payload],
                ),
            )

    def escalate(self, now: float) -> None:
        """Page the next on-call person for critical alerts not acknowledged in time."""
        settings = self.ws.settings
        with session_scope(self.ws.engine) as session:
            rows = session.scalars(
                sa.select(AlertState).where(AlertState.state == "firing", AlertState.acked_at.is_(None))
            ).all()
            for row in rows:
                if row.labels.get("severity") != "critical" or row.fired_at is None:
                    continue
                receiver = self._receiver_for(row.labels)
                if receiver is None or not receiver.oncall:
                    continue
                level = row.escalation_level + 1
                if level >= len(receiver.oncall) or now - row.fired_at.timestamp() < receiver.escalate_after * level:
                    continue
                row.escalation_level = level
                alert = AMAlert(row.fingerprint, dict(row.labels), dict(row.annotations), row.fired_at.timestamp(),
                                value=row.value)
                token = alert_format.ack_token(self.ack_secret, row.fingerprint)
                ack_url = f"{settings.base_url.rstrip('/')}/alerts/{row.fingerprint}/ack?token={token}"
                title, body = alert_format.render_escalation(
                    alert, level, settings.base_url, ack_url, settings.tz, settings.language
                )
                escalation = Notification(
                    receiver.oncall[level],
                    "escalation",
                    row.fingerprint,
                    {"alertname": row.alertname},
                    [alert],
                    [],
                    now,
                )
                payload = webhook_body(escalation, settings.base_url)
                payload["commonAnnotations"] = {
                    **payload["commonAnnotations"],
                    "escalation_level": str(level),
                    "acknowledge_url": ack_url,
                }
                self.delivery.enqueue(
                    receiver.oncall[level], Message(title, body, receiver.name, row.fingerprint, 1, now, [payload])
                )
                session.add(
                    AlertEvent(
                        fingerprint=row.fingerprint,
                        alertname=row.alertname,
                        event="escalated",
                        at=datetime.fromtimestamp(now, UTC),
                        labels=row.labels,
                        annotations=row.annotations,
                        value=row.value,
                        detail=f"level {level}: {receiver.oncall[level]}",
                    )
                )

    def reconfigure(
        self, ms: AlertingSettings, groups: list[RuleGroup], route: Any, channels: dict[str, ChannelQueue]
    ) -> None:
        """New rules, routes, receivers and channels; alert states, groups, the notification log and
        messages waiting for a channel that stays are kept."""
        old = self.evaluator
        self.ms = ms
        self.receivers = {r.name: r for r in ms.receivers}
        self.evaluator = RuleEvaluator(
            self.ws.engine,
            self.ws.settings,
            groups,
            ms.evaluation_interval,
            ms.raw_retention_days,
            PrometheusAPI(ms.prometheus_url) if ms.prometheus_url else None,
        )
        self.evaluator.restore()
        self.evaluator.last_eval = {g.name: old.last_eval[g.name] for g in groups if g.name in old.last_eval}
        if old.raw_days == ms.raw_retention_days:
            self.evaluator.window = old.window  # the samples already held serve the new rules too
        self.dispatcher.root = route
        self.forwarder = (
            Forwarder(ms.alertmanager_url, self.ws.settings.base_url, ms.alertmanager_resend, ms.evaluation_interval)
            if ms.alertmanager_url
            else None
        )
        self.delivery.stop()
        for name, queue in channels.items():
            before = self.delivery.channels.get(name)
            if before is not None:
                queue.pending, queue.in_flight = before.in_flight + before.pending, []
        self.delivery = Delivery(
            self.ws.engine, channels, self.delivery.sender, self.clock, self.delivery.webhook_sender
        )

    def _receiver_for(self, labels: dict[str, str]) -> Any:
        from eduops.alerting.alertmanager import match_routes

        routes = match_routes(self.dispatcher.root, labels)
        return self.receivers.get(routes[0].receiver) if routes else None


class AlertingWork:
    """What the leading process does each second: evaluate, escalate, deliver; roll up and flag anomalies."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.settings = ws, alerting_settings(ws.settings)
        self.monitor: Monitor | None = None
        self.next_housekeeping = self.next_anomaly = self.next_selfhealth = 0.0
        self.lock = threading.Lock()

    def prepare_reload(self, new_settings: Any) -> Callable[[], None]:
        """Check and build the new rules, routes, receivers and channels; the returned commit swaps them in."""
        from eduops.core.workspace import keyring

        ms = alerting_settings(new_settings)
        groups = load_rule_files(rule_files(new_settings, ms))  # strict: a broken file refuses the reload
        groups = [g for g in groups if g.name not in ms.disabled_groups]
        for g in groups:
            g.rules = [r for r in g.rules if r.name not in ms.disabled_rules]
        route = build_route(ms.route)
        for r in ms.inhibit_rules:
            parse_matchers(r.source_matchers + r.target_matchers)
        channels = load_queues(self.ws.engine, keyring(new_settings))

        def commit() -> None:
            with self.lock:
                self.settings = ms
                if self.monitor is not None:
                    self.monitor.reconfigure(ms, groups, route, channels)
                    self.monitor.delivery.start()

        return commit

    def lead(self) -> None:
        self.monitor = Monitor(self.ws)
        self.monitor.delivery.start()

    def tick(self, now: float) -> None:
        assert self.monitor is not None
        with self.lock:
            self.monitor.cycle(deliver=False)
        engine, s = self.ws.engine, self.settings
        if now >= self.next_housekeeping:
            self.next_housekeeping = now + HOUSEKEEPING_SECONDS
            rollup(engine, datetime.now(UTC))
            apply_retention(engine, datetime.now(UTC), s.raw_retention_days, s.rollup_retention_days)
        if now >= self.next_selfhealth:  # eduops's own health, for /metrics and rules/eduops.yml
            self.next_selfhealth = now + selfhealth.PERIOD_S
            with self.lock:  # a reload swaps the delivery queues
                queued = sum(len(q.pending) + len(q.in_flight) for q in self.monitor.delivery.channels.values())
            selfhealth.record(engine, self.ws.settings, datetime.now(UTC), queued)
        if s.anomaly_metrics and now >= self.next_anomaly:
            self.next_anomaly = now + ANOMALY_SECONDS
            record_anomalies(engine, s.anomaly_metrics, datetime.now(UTC), s.anomaly_weeks, s.anomaly_k)

    def stop(self) -> None:
        if self.monitor is not None:
            self.monitor.delivery.stop()


def start_background(ws: Any, period: float = 1.0) -> Callable[[], None]:
    """Rule evaluation, escalation, delivery, roll-ups, retention and anomaly flags until stop().

    With several `eduops serve` processes on one state database only the one leading "alerting"
    evaluates and delivers; another takes over when it stops.
    """
    from eduops.alerting.reload import install_sighup, register

    work = AlertingWork(ws)
    stop = run_while_leading(ws.engine, ws.settings.home, "alerting", work, period)
    unregister = register(ws, "alerting", work.prepare_reload)
    install_sighup(ws)

    def stopper() -> None:
        unregister()
        stop()

    return stopper
