"""Alerting and recording rules in Prometheus's rule-file format, and the alert state machine.

``AlertingRule.step(ts, vector)`` is Prometheus's ``AlertingRule.Eval`` after the query: a new
element is pending; it fires once it has been true for ``for``; when the condition clears a firing
alert stays firing for ``keep_firing_for``, then resolves (and is kept 15 minutes so the resolution
is delivered); a pending alert that clears is dropped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eduops.alerting import template as alert_template
from eduops.alerting.promql import Node, PromQLError, parse, parse_duration, value_type
from eduops.alerting.promql_eval import Labels, Sample, Vector
from eduops.core import plugins
from eduops.errors import UsageError

RESOLVED_RETENTION = 15 * 60.0
INACTIVE, PENDING, FIRING = "inactive", "pending", "firing"


@dataclass
class Alert:
    labels: Labels
    annotations: dict[str, str]
    value: float
    active_at: float
    state: str = PENDING
    fired_at: float | None = None
    resolved_at: float | None = None
    keep_firing_since: float | None = None
    last_sent_at: float | None = None

    @property
    def name(self) -> str:
        return dict(self.labels).get("alertname", "")


@dataclass
class AlertingRule:
    name: str
    expr: str
    query: Node
    hold: float = 0.0
    keep_firing_for: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    group: str = ""
    source: str = ""
    active: dict[Labels, Alert] = field(default_factory=dict)
    last_error: str = ""
    last_eval: float | None = None
    _keys: dict[Labels, Labels] = field(default_factory=dict, init=False, repr=False, compare=False)  # → alert's

    def step(self, ts: float, vector: Vector, external: dict[str, str] | None = None) -> None:
        """Advance every alert of this rule to time ``ts`` given the query result ``vector``."""
        self.last_eval = ts
        seen: set[Labels] = set()
        # without templates in the rule's labels, a series' alert labels stay the same from cycle to cycle
        if len(self._keys) > 4 * len(vector) + 10_000:  # series come and go: forget the gone ones now and then
            self._keys.clear()
        keys = self._keys if not any("{{" in v for v in self.labels.values()) else {}
        for sample in vector:
            tmpl_labels = dict(sample.labels)  # templates see __name__ when the query kept it, as in Prometheus
            key: Labels | None = keys.get(sample.labels)
            if key is None:
                base = {k: v for k, v in sample.labels if k != "__name__"}
                extra = {
                    k: alert_template.expand(v, tmpl_labels, sample.value, external) for k, v in self.labels.items()
                }
                full = {**base, **extra, "alertname": self.name}
                key = keys[sample.labels] = tuple(sorted(full.items()))
            if key in seen:
                full = dict(key)
                raise UsageError(f"rule {self.name}: the query gives two results with the same labels {full}")
            seen.add(key)
            annotations = {
                k: alert_template.expand(v, tmpl_labels, sample.value, external) for k, v in self.annotations.items()
            }
            alert = self.active.get(key)
            if alert is not None and alert.state != INACTIVE:
                alert.value, alert.annotations = sample.value, annotations
                continue
            self.active[key] = Alert(key, annotations, sample.value, active_at=ts)
        for key, alert in list(self.active.items()):
            if key not in seen:
                keep_firing = False
                if alert.state == FIRING and self.keep_firing_for > 0:
                    if alert.keep_firing_since is None:
                        alert.keep_firing_since = ts
                    keep_firing = ts - alert.keep_firing_since < self.keep_firing_for
                if alert.state == PENDING or (
                    alert.resolved_at is not None and ts - alert.resolved_at > RESOLVED_RETENTION
                ):
                    del self.active[key]
                if alert.state != INACTIVE and not keep_firing:
                    alert.state, alert.resolved_at = INACTIVE, ts
                if not keep_firing:
                    continue
            else:
                alert.keep_firing_since = None
            if alert.state == PENDING and ts - alert.active_at >= self.hold:
                alert.state, alert.fired_at = FIRING, ts

    def firing(self) -> list[Alert]:
        return [a for a in self.active.values() if a.state == FIRING]

    @property
    def state(self) -> str:
        states = {a.state for a in self.active.values()}
        return FIRING if FIRING in states else PENDING if PENDING in states else INACTIVE


@dataclass
class RecordingRule:
    record: str
    expr: str
    query: Node
    labels: dict[str, str] = field(default_factory=dict)
    group: str = ""
    source: str = ""
    last_error: str = ""

    @property
    def name(self) -> str:
        return self.record

    def output(self, vector: Vector) -> Vector:
        out = []
        for s in vector:
            labels = {k: v for k, v in s.labels if k != "__name__"} | self.labels | {"__name__": self.record}
            out.append(Sample(tuple(sorted(labels.items())), s.value))
        return out


Rule = AlertingRule | RecordingRule


@dataclass
class RuleGroup:
    name: str
    interval: float | None
    rules: list[Rule]
    source: str = ""


def _duration(value: Any, where: str) -> float:
    if value in (None, "", 0):
        return 0.0
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected a mapping of names to strings")
    return {str(k): ("true" if v is True else "false" if v is False else str(v)) for k, v in value.items()}


def parse_rule(raw: Any, where: str, group: str, source: str) -> Rule:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: a rule is a mapping with 'alert' or 'record' and 'expr'")
    unknown = set(raw) - {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
    if unknown:
        raise UsageError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if ("alert" in raw) == ("record" in raw):
        raise UsageError(f"{where}: a rule has exactly one of 'alert' and 'record'")
    expr = str(raw.get("expr", "")).strip()
    label = raw.get("alert") or raw.get("record")
    where = f"{where} ({label})"
    try:
        query = parse(expr)
    except PromQLError as exc:
        raise UsageError(f"{where}: expr {expr!r}: {exc.message}") from None
    if value_type(query) not in ("vector", "scalar"):
        raise UsageError(f"{where}: expr must give an instant vector or a scalar")
    labels, annotations = _strings(raw.get("labels"), where), _strings(raw.get("annotations"), where)
    for text in [*labels.values(), *annotations.values()]:
        try:
            alert_template.check(text)
        except UsageError as exc:
            raise UsageError(f"{where}: {exc.message}") from None
    if "record" in raw:
        if "for" in raw or "annotations" in raw or "keep_firing_for" in raw:
            raise UsageError(f"{where}: a recording rule takes no 'for', 'keep_firing_for' or 'annotations'")
        return RecordingRule(str(raw["record"]), expr, query, labels, group, source)
    return AlertingRule(
        str(raw["alert"]),
        expr,
        query,
        _duration(raw.get("for"), where),
        _duration(raw.get("keep_firing_for"), where),
        labels,
        annotations,
        group,
        source,
    )


def parse_rule_file(text: str, source: str = "<rules>") -> list[RuleGroup]:
    """Groups of a Prometheus rule file; UsageError naming the file, group and rule when wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise UsageError(f"{source}: a rule file holds 'groups:', a list of groups with 'name' and 'rules'")
    groups, names = [], set()
    for gi, raw in enumerate(data["groups"]):
        if not isinstance(raw, dict) or not raw.get("name"):
            raise UsageError(f"{source}: group {gi + 1} has no name")
        name = str(raw["name"])
        if name in names:
            raise UsageError(f"{source}: group {name!r} appears twice")
        names.add(name)
        interval = _duration(raw.get("interval"), f"{source}: group {name}") or None
        rules = [
            parse_rule(r, f"{source}: group {name}, rule {ri + 1}", name, source)
            for ri, r in enumerate(raw.get("rules") or [])
        ]
        groups.append(RuleGroup(name, interval, rules, source))
    return groups


def load_rule_files(paths: list[Path]) -> list[RuleGroup]:
    groups: list[RuleGroup] = []
    for path in paths:
        try:
            text = path.read_text()
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the rule file: {exc.strerror}") from None
        groups.extend(parse_rule_file(text, str(path)))
    return groups


def default_rule_files() -> list[Path]:
    """Every domain's shipped rules: ``<domain folder>/rules/*.yml``."""
    files: list[Path] = []
    for folder in plugins.folders("rules"):
        files.extend(sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")))
    return files
