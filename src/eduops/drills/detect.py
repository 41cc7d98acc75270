"""Watching for the alert during a drill: the platform's own alert rule, evaluated over the probes.

The drill feeds each probe's metric (e.g. ``db_up{db="main"}``) into a series store at every evaluation
interval and steps the rule through Prometheus's states, exactly as eduops's rule engine does; the
alert "fires" at the first evaluation where it has been true for the rule's ``for``. When eduops's
stored alerts are available (``eduops.core.alerts``), the first stored firing after the injection
counts as well, whichever comes first.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eduops.core.memory_source import MemorySource
from eduops.core.promql_eval import evaluate
from eduops.core.rules import FIRING, AlertingRule, default_rule_files, load_rule_files
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


def stored_alert_fired(engine: Any, alert: str, labels: dict[str, str], after: datetime) -> datetime | None:
    """When eduops's own alerting recorded ``alert`` firing after ``after``; None if not (or not installed)."""
    try:
        module = importlib.import_module("eduops.core.alerts")
    except ImportError:
        return None
    finder = getattr(module, "first_alert_fired", None) or getattr(module, "first_firing", None)
    if finder is None or engine is None:
        return None
    try:
        found = finder(engine, alert, labels, after)
    except Exception:  # noqa: BLE001 - their store failing must not fail the drill
        return None
    if isinstance(found, datetime):
        return found.astimezone(UTC)
    when = getattr(found, "fired_at", None) or (found.get("fired_at") if isinstance(found, dict) else None)
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return when.astimezone(UTC) if isinstance(when, datetime) else None
