"""Watching for the alert during a drill: the platform's own alert rule, evaluated over the probes.

The drill feeds each probe's metric (e.g. ``db_up{db="main"}``) at every evaluation interval into
eduops's metric store, eduops's rule evaluator steps the rule through Prometheus's states and records
the alert events, and the drill reads the first firing back (``StoredAlertWatch``). Without a state
database (a drill run from Python alone) the same rule is stepped over an in-memory series store
(``AlertWatch``). A firing recorded by eduops's running monitor (``first_alert_after``) counts too.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eduops.alerting.memory_source import MemorySource
from eduops.alerting.promql_eval import evaluate
from eduops.alerting.rules import FIRING, AlertingRule, default_rule_files, load_rule_files
from eduops.errors import UsageError


def find_rule(alert: str, extra_files: list[Path]) -> AlertingRule:
    """The alerting rule named ``alert``; the drill's own rule files win over eduops's shipped ones."""
    found: AlertingRule | None = None
    for group in load_rule_files(default_rule_files() + extra_files):
        for rule in group.rules:
            if isinstance(rule, AlertingRule) and rule.name == alert:
                found = rule
    if found is None:
        raise UsageError(f"no alert rule named {alert!r} in eduops's rules or the drill's `detection.rules`; "
                         "name one of the rules `eduops rules list` shows, or add a rule file")
    return AlertingRule(found.name, found.expr, found.query, found.hold, found.keep_firing_for,
                        dict(found.labels), dict(found.annotations), found.group, found.source)


@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


class AlertWatch:
    """Evaluates one alerting rule over the samples the drill records."""

    def __init__(self, rule: AlertingRule, match: dict[str, str]) -> None:
        self.rule, self.match = rule, match
        self.source = MemorySource()
        self.first_pending: float | None = None
        self.fired_at: float | None = None
        self.resolved_at: float | None = None

    @property
    def hold_s(self) -> float:
        return self.rule.hold

    def observe(self, ts: float, samples: list[Sample]) -> str:
        """Add the samples taken at ``ts``, evaluate the rule, and return the matching alert's state."""
        for s in samples:
            self.source.add({"__name__": s.name, **s.labels}, ts, s.value)
        result = evaluate(self.rule.query, self.source, ts)
        self.rule.step(ts, result if isinstance(result, list) else [])
        state = "inactive"
        for alert in self.rule.active.values():
            labels = dict(alert.labels)
            if all(labels.get(k) == v for k, v in self.match.items()):
                state = alert.state if state != FIRING else state
        if state == "pending" and self.first_pending is None:
            self.first_pending = ts
        if state == FIRING and self.fired_at is None:
            self.fired_at = ts
        if self.fired_at is not None and state != FIRING and self.resolved_at is None:
            self.resolved_at = ts
        return state


class StoredAlertWatch(AlertWatch):
    """eduops's own alerting decides: the probe samples go into the metric store, eduops's rule evaluator
    evaluates the rule (in a group of its own, ``drill:<group>``) and records the alert events, and the
    firing is read back with ``first_alert_after`` — the same path a production alert takes."""

    def __init__(self, rule: AlertingRule, match: dict[str, str], engine: Any, settings: Any,
                 interval_s: float) -> None:
        from eduops.alerting.alerts import RuleEvaluator
        from eduops.alerting.rules import RuleGroup

        super().__init__(rule, match)
        self.engine = engine
        self.group = RuleGroup(f"drill:{rule.group}", interval_s, [rule], rule.source)
        self.evaluator = RuleEvaluator(engine, settings, [self.group], interval_s)
        self.since = datetime.now(UTC)
        self.matchers = [f'{k}="{v}"' for k, v in match.items()]

    def observe(self, ts: float, samples: list[Sample]) -> str:
        from eduops.alerting.alerts import first_alert_after
        from eduops.alerting.metric_store import ingest, to_dt

        ingest(self.engine, [(s.name, s.labels, s.value, to_dt(ts)) for s in samples])
        # the store keeps microseconds, rounded: evaluate no earlier than the stored stamp so it is seen now
        self.evaluator.evaluate(max(ts, to_dt(ts).timestamp()), [self.group])
        state = "inactive"
        for alert in self.rule.active.values():
            labels = dict(alert.labels)
            if all(labels.get(k) == v for k, v in self.match.items()):
                state = alert.state if state != FIRING else state
        if state == "pending" and self.first_pending is None:
            self.first_pending = ts
        for event in ("firing", "resolved"):
            if (self.fired_at if event == "firing" else self.resolved_at) is not None:
                continue
            if event == "resolved" and self.fired_at is None:
                continue
            found = first_alert_after(self.engine, self.since, alertname=self.rule.name, matchers=self.matchers,
                                      event=event)
            if found is not None:
                at = datetime.fromisoformat(found["at"]).timestamp()
                if event == "firing":
                    self.fired_at = at
                else:
                    self.resolved_at = at
        return state


def stored_alert_fired(engine: Any, alert: str, labels: dict[str, str], after: datetime) -> datetime | None:
    """When eduops's own alerting recorded ``alert`` firing after ``after``; None if not (or not installed)."""
    try:
        module = importlib.import_module("eduops.alerting.alerts")
    except ImportError:
        return None
    finder = getattr(module, "first_alert_after", None)
    if finder is None or engine is None:
        return None
    try:
        found = finder(engine, after, alertname=alert, matchers=[f'{k}="{v}"' for k, v in labels.items()])
    except Exception:  # noqa: BLE001 - their store failing must not fail the drill
        return None
    if isinstance(found, datetime):
        return found.astimezone(UTC)
    when = getattr(found, "fired_at", None) or (found.get("fired_at") if isinstance(found, dict) else None)
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return when.astimezone(UTC) if isinstance(when, datetime) else None
