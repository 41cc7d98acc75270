"""`eduops rules test`: rule unit tests in promtool's test-file format, with promtool's results.

Series are loaded with the expanding notation (``0+10x100``, ``1x5``, ``_``, ``_x3``, ``stale``);
every rule group is evaluated at 0, evaluation_interval, 2×… up to the last eval_time; an
``alert_rule_test`` compares the *firing* alerts of the last evaluation at or before its eval_time.
"""

from __future__ import annotations

import glob
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eduops.alerting.memory_source import MemorySource
from eduops.alerting.promql import PromQLError, VectorSelector, parse, parse_duration
from eduops.alerting.promql_eval import Sample, evaluate
from eduops.alerting.rules import AlertingRule, RecordingRule, RuleGroup, load_rule_files
from eduops.errors import UsageError

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN"
_EXPAND = re.compile(rf"^(?P<a>{_NUM})(?:(?P<sign>[-+])(?P<b>{_NUM}))?x(?P<n>\d+)$")


def expand_values(text: str) -> list[float | None | str]:
    """promtool's expanding notation → values; ``"_"`` is a missing sample, None a stale marker."""
    out: list[float | None | str] = []
    for tok in str(text).split():
        if tok == "_":
            out.append("_")
        elif tok.startswith("_x") and tok[2:].isdigit():
            out.extend(["_"] * int(tok[2:]))
        elif tok == "stale":
            out.append(None)
        elif m := _EXPAND.match(tok):
            a, n = float(m.group("a")), int(m.group("n"))
            b = float(m.group("b") or 0) * (-1 if m.group("sign") == "-" else 1)
            out.extend(a + i * b for i in range(n + 1))
        else:
            try:
                out.append(float(tok))
            except ValueError:
                raise UsageError(f"input_series: {tok!r} is not a value, '_', 'stale' or 'a+bxn'") from None
    return out


def yaml_string(value: Any) -> str:
    """A YAML scalar read into a string field as Go's YAML does it (true, not True)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def yaml_strings(mapping: Any) -> dict[str, str]:
    return {str(k): yaml_string(v) for k, v in (mapping or {}).items()}


def series_labels(text: str) -> dict[str, str]:
    """Labels in promtool's metric notation: ``name{k="v"}``, ``{k="v"}`` or ``{}`` (no labels, e.g. a scalar)."""
    if re.fullmatch(r"\s*\{\s*\}\s*", text):
        return {}
    try:
        node = parse(text)
    except PromQLError as exc:
        raise UsageError(f"series {text!r}: {exc.message}") from None
    if not isinstance(node, VectorSelector) or any(m.op != "=" for m in node.matchers):
        raise UsageError(f'series {text!r}: write name{{label="value",…}}')
    return {m.name: m.value for m in node.matchers}


@dataclass
class TestOutcome:
    file: str
    group: str
    failures: list[str] = field(default_factory=list)
    checked: int = 0


def _labels_text(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _alert_text(labels: dict[str, str], annotations: dict[str, str]) -> str:
    return f"labels {_labels_text(labels)} annotations {_labels_text(annotations)}"


def evaluate_group_rules(groups: list[RuleGroup], source: MemorySource, ts: float, external: dict[str, str]) -> None:
    for group in groups:
        for rule in group.rules:
            value = evaluate(rule.query, source, ts)
            vector = [Sample((), value)] if isinstance(value, float) else value
            if isinstance(rule, RecordingRule):
                for s in rule.output(vector):
                    source.add(s.labels, ts, s.value)
            else:
                rule.step(ts, vector, external)


def run_test_group(
    test: dict[str, Any], groups: list[RuleGroup], eval_interval: float, file: str, index: int
) -> TestOutcome:
    name = str(test.get("name") or f"test {index + 1}")
    outcome = TestOutcome(file, name)
    interval = parse_duration(str(test["interval"])) if test.get("interval") else eval_interval
    external = yaml_strings(test.get("external_labels"))
    source = MemorySource()
    for series in test.get("input_series") or []:
        labels = series_labels(str(series.get("series", "")))
        for i, v in enumerate(expand_values(str(series.get("values", "")))):
            if v != "_":
                source.add(labels, i * interval, v if v is None else float(v))
    for group in groups:
        for rule in group.rules:
            if isinstance(rule, AlertingRule):
                rule.active.clear()
    alert_tests = sorted(test.get("alert_rule_test") or [], key=lambda t: parse_duration(str(t["eval_time"])))
    expr_tests = test.get("promql_expr_test") or []
    last = max([parse_duration(str(t["eval_time"])) for t in alert_tests] or [0.0])
    pending = list(alert_tests)
    ts = 0.0
    while ts <= last + 1e-9:
        evaluate_group_rules(groups, source, ts, external)
        while pending and ts <= parse_duration(str(pending[0]["eval_time"])) < ts + eval_interval:
            check_alerts(pending.pop(0), groups, outcome)
        ts += eval_interval
    for case in expr_tests:
        check_expr(case, source, outcome)
    return outcome


def check_alerts(case: dict[str, Any], groups: list[RuleGroup], outcome: TestOutcome) -> None:
    outcome.checked += 1
    alertname = str(case.get("alertname", ""))
    got = sorted(
        _alert_text(dict(a.labels), a.annotations)
        for g in groups
        for r in g.rules
        if isinstance(r, AlertingRule) and r.name == alertname
        for a in r.firing()
    )
    exp = sorted(
        _alert_text(
            {**yaml_strings(e.get("exp_labels")), "alertname": alertname},
            yaml_strings(e.get("exp_annotations")),
        )
        for e in case.get("exp_alerts") or []
    )
    if got != exp:
        lines = [f"alertname: {alertname}, time: {case['eval_time']}"]
        lines += [f"  - expected, not firing: {x}" for x in exp if x not in got]
        lines += [f"  + firing, not expected: {x}" for x in got if x not in exp]
        outcome.failures.append("\n".join(lines))


def check_expr(case: dict[str, Any], source: MemorySource, outcome: TestOutcome) -> None:
    outcome.checked += 1
    expr = str(case.get("expr", ""))
    try:
        value = evaluate(parse(expr), source, parse_duration(str(case["eval_time"])))
    except PromQLError as exc:
        outcome.failures.append(f"expr: {expr!r}: {exc.message}")
        return
    vector = [Sample((), value)] if isinstance(value, float) else value
    got = {tuple(sorted(s.labels)): s.value for s in vector}
    exp = {
        tuple(sorted(series_labels(str(e["labels"])).items())) if e.get("labels") else (): float(e["value"])
        for e in case.get("exp_samples") or []
    }
    same = got.keys() == exp.keys() and all(
        math.isclose(got[k], exp[k], rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(got[k]) and math.isnan(exp[k]))
        for k in got
    )
    if not same:
        show = lambda d: ", ".join(f"{_labels_text(dict(k))} {v}" for k, v in sorted(d.items()))  # noqa: E731
        outcome.failures.append(
            f"expr: {expr!r}, time: {case['eval_time']}\n  expected: {show(exp)}\n  got:      {show(got)}"
        )


def run_test_file(path: Path) -> list[TestOutcome]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read the test file: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a test file is a mapping with rule_files and tests")
    files: list[Path] = []
    for pattern in data.get("rule_files") or []:
        full = str(path.parent / pattern) if not Path(pattern).is_absolute() else pattern
        matched = sorted(glob.glob(full))
        if not matched:
            raise UsageError(f"{path}: rule file {pattern!r} not found")
        files.extend(Path(m) for m in matched)
    groups = load_rule_files(files)
    order = data.get("group_eval_order") or []
    if order:
        ranked = {n: i for i, n in enumerate(order)}
        groups.sort(key=lambda g: ranked.get(g.name, len(ranked)))
    eval_interval = parse_duration(str(data.get("evaluation_interval") or "1m"))
    return [run_test_group(t, groups, eval_interval, str(path), i) for i, t in enumerate(data.get("tests") or [])]
