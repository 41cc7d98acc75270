"""Reading a drill experiment (YAML shaped like Chaos Toolkit's) with errors that give the line and the fix.

```yaml
title: Database down
steady-state-hypothesis: {title: ..., probes: [{type: probe, name, provider: {type: postgres, ...},
                          tolerance: true, metric: {name: db_up, labels: {db: main}}}]}
method: [{type: action, name, provider: {type: fault, name: proxy.cut, proxy: db}, pauses: {after: 5}},
         {type: pause, seconds: 10}]
rollbacks: [{type: action, name: restore, provider: {type: revert, action: <method action name>}}]
environment: {proxies: [{name: db, listen: "127.0.0.1:15432", upstream: "127.0.0.1:5432"}]}
detection: {alert: DatabaseDown, labels: {db: main}, evaluation_interval: 15s, timeout: 5m, rules: [file.yml]}
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eduops.errors import UsageError

Path_ = tuple[str | int, ...]


def load_with_lines(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML and remember the line (1-based) where every key and list item starts."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}; check the indentation and "
                         "quoting on that line") from None
    lines: dict[Path_, int] = {}

    def build(node: yaml.Node | None, path: Path_) -> Any:
        if node is None:
            return None
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = build(value_node, path + (key,))
                lines[path + (key,)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, path + (i,)) for i, item in enumerate(node.value)]
        return yaml.safe_load(yaml.serialize(node))

    return build(root, ()), lines


@dataclass
class Activity:
    kind: str  # action | probe | pause
    name: str
    provider: dict[str, Any] = field(default_factory=dict)
    tolerance: Any = True
    metric: dict[str, Any] | None = None
    pause_before_s: float = 0.0
    pause_after_s: float = 0.0
    line: int = 0


@dataclass
class Detection:
    alert: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    evaluation_interval_s: float = 15.0
    timeout_s: float = 300.0
    recover_timeout_s: float = 120.0
    rules: list[str] = field(default_factory=list)


@dataclass
class Experiment:
    title: str
    description: str
    source: str
    hypothesis_title: str
    probes: list[Activity]
    method: list[Activity]
    rollbacks: list[Activity]
    detection: Detection
    environment: dict[str, Any]
    tags: list[str] = field(default_factory=list)


class Reader:
    """Validation with the file's line numbers: ``fail(path, message, fix)`` raises UsageError."""

    def __init__(self, source: str, lines: dict[Path_, int]) -> None:
        self.source, self.lines = source, lines

    def fail(self, path: Path_, message: str, fix: str) -> UsageError:
        line = self.lines.get(path)
        while line is None and path:
            path = path[:-1]
            line = self.lines.get(path)
        return UsageError(f"{self.source}:{line or 1}: {message}; {fix}")

    def mapping(self, value: Any, path: Path_, what: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"{what} must be a mapping (key: value)", f"write it as `{path[-1]}:` followed by "
                            "indented keys" if path else "start the file with `title:`")
        return value

    def seconds(self, value: Any, path: Path_) -> float:
        from eduops.alerting.promql import PromQLError, parse_duration

        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
        text = str(value).strip()
        if text.endswith("s") and text[:-1].replace(".", "", 1).isdigit():
            return float(text[:-1])
        try:
            return float(parse_duration(str(value)))
        except (PromQLError, ValueError, UsageError):
            raise self.fail(path, f"{value!r} is not a duration", "write seconds as a number or e.g. 30s, 5m") from None


def _activity(r: Reader, raw: Any, path: Path_, allowed: tuple[str, ...]) -> Activity:
    raw = r.mapping(raw, path, "an activity")
    kind = raw.get("type")
    if kind not in allowed:
        raise r.fail(path + ("type",), f"activity type {kind!r} is not allowed here",
                     f"use one of: {', '.join(allowed)}")
    if kind == "pause":
        return Activity("pause", str(raw.get("name") or "pause"),
                        pause_after_s=r.seconds(raw.get("seconds", 0), path + ("seconds",)), line=r.lines.get(path, 0))
    name = raw.get("name")
    if not name:
        raise r.fail(path, f"this {kind} has no name", "add `name: what-it-does` (names appear in the journal)")
    provider = r.mapping(raw.get("provider"), path + ("provider",), f"the provider of {name!r}")
    if "type" not in provider:
        raise r.fail(path + ("provider",), f"the provider of {name!r} has no type",
                     "add e.g. `type: fault` with `name: proxy.cut`, or a probe type such as `type: postgres`")
    pauses = r.mapping(raw.get("pauses") or {}, path + ("pauses",), "pauses")
    metric = raw.get("metric")
    if metric is not None:
        metric = r.mapping(metric, path + ("metric",), "metric")
        if not metric.get("name"):
            raise r.fail(path + ("metric",), "a metric needs a name",
                         "e.g. `metric: {name: db_up, labels: {db: main}}`")
    return Activity(str(kind), str(name), dict(provider), raw.get("tolerance", True), metric,
                    r.seconds(pauses.get("before", 0), path + ("pauses", "before")),
                    r.seconds(pauses.get("after", 0), path + ("pauses", "after")), r.lines.get(path, 0))


def parse_experiment(text: str, source: str = "<experiment>") -> Experiment:
    data, lines = load_with_lines(text, source)
    r = Reader(source, lines)
    data = r.mapping(data, (), "an experiment")
    known = {"title", "description", "tags", "steady-state-hypothesis", "method", "rollbacks", "environment",
             "detection", "version", "contributions", "configuration"}
    for key in data:
        if key not in known:
            raise r.fail((key,), f"unknown key {key!r}", f"use one of: {', '.join(sorted(known))}")
    if not data.get("title"):
        raise r.fail((), "the experiment has no title", "add `title: what this drill rehearses` at the top")
    hyp = r.mapping(data.get("steady-state-hypothesis"), ("steady-state-hypothesis",), "steady-state-hypothesis")
    probes = [_activity(r, p, ("steady-state-hypothesis", "probes", i), ("probe",))
              for i, p in enumerate(hyp.get("probes") or [])]
    if not probes:
        raise r.fail(("steady-state-hypothesis",), "the steady-state hypothesis has no probes",
                     "add `probes:` that say what 'working' means, e.g. a postgres probe with `tolerance: true`")
    method_raw = data.get("method")
    if not isinstance(method_raw, list) or not method_raw:
        raise r.fail(("method",), "the method is missing or empty", "add `method:` with at least one fault action")
    method = [_activity(r, a, ("method", i), ("action", "probe", "pause")) for i, a in enumerate(method_raw)]
    rollbacks = [_activity(r, a, ("rollbacks", i), ("action", "pause"))
                 for i, a in enumerate(data.get("rollbacks") or [])]
    det_raw = r.mapping(data.get("detection") or {}, ("detection",), "detection")
    detection = Detection(
        alert=str(det_raw.get("alert") or ""),
        labels={str(k): str(v) for k, v in r.mapping(det_raw.get("labels") or {}, ("detection", "labels"),
                                                    "labels").items()},
        evaluation_interval_s=r.seconds(det_raw.get("evaluation_interval", 15),
                                        ("detection", "evaluation_interval")),
        timeout_s=r.seconds(det_raw.get("timeout", 300), ("detection", "timeout")),
        recover_timeout_s=r.seconds(det_raw.get("recover_timeout", 120), ("detection", "recover_timeout")),
        rules=[str(x) for x in det_raw.get("rules") or []],
    )
    if detection.evaluation_interval_s <= 0:
        raise r.fail(("detection", "evaluation_interval"), "the evaluation interval must be positive", "e.g. 15s")
    env = r.mapping(data.get("environment") or {}, ("environment",), "environment")
    return Experiment(str(data["title"]), str(data.get("description") or ""), source,
                      str(hyp.get("title") or "steady state"), probes, method, rollbacks, detection, env,
                      [str(t) for t in data.get("tags") or []])


def load_experiment(path: Path) -> tuple[Experiment, dict[Path_, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the experiment ({exc.strerror}); `eduops drill list` shows the "
                         "ready-made ones") from None
    _, lines = load_with_lines(text, str(path))
    return parse_experiment(text, str(path)), lines
