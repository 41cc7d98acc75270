"""Rule files, the alert state machine (Prometheus's exactly) and promtool-format unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from eduops.alerting.promql import parse
from eduops.alerting.promql_eval import Sample
from eduops.alerting.rules import RESOLVED_RETENTION, AlertingRule, default_rule_files, parse_rule_file
from eduops.alerting.rules_unittest import expand_values, run_test_file
from eduops.errors import UsageError

DATA = Path(__file__).parent / "rules_data"


def rule(hold: float = 0, keep: float = 0) -> AlertingRule:
    return AlertingRule(
        "HighCPU",
        "x > 1",
        parse("x > 1"),
        hold,
        keep,
        {"severity": "warn"},
        {"summary": "{{ $labels.host }} at {{ $value }}"},
    )


HIT = [Sample((("__name__", "x"), ("host", "h1")), 5.0)]


def run(r: AlertingRule, pattern: str, step: float = 60) -> list[str]:
    """Feed a pattern of condition true (1) / false (0) once per step; returns the state after each."""
    states = []
    for i, c in enumerate(pattern):
        r.step(i * step, HIT if c == "1" else [])
        alert = next(iter(r.active.values()), None)
        states.append(alert.state[0] if alert else "-")  # p(ending) f(iring) i(nactive) -(none)
    return states


@pytest.mark.parametrize(
    ("hold", "keep", "pattern", "expected"),
    [
        (0, 0, "110", "ffi"),  # no `for`: fires at once, resolves when it clears
        (120, 0, "1111", "ppff"),  # fires once true for `for` (0, 60, 120 s)
        (120, 0, "1101", "pp-p"),  # a pending alert that clears is dropped, then starts over
        (120, 0, "11100", "ppfii"),  # resolved alerts stay inactive (for the resolved notification)
        (60, 180, "11000000", "pffffiii"),  # keep_firing_for 3m: firing until 3m after it cleared
        (60, 180, "1100100", "pffffff"),  # true again meanwhile: the keep-firing clock restarts
        (0, 0, "101", "fif"),  # a resolved alert that comes back is a new alert
    ],
)
def test_alert_state_follows_prometheus(hold: float, keep: float, pattern: str, expected: str) -> None:
    assert "".join(run(rule(hold, keep), pattern)) == expected


def test_alert_labels_annotations_and_retention() -> None:
    r = rule()
    r.step(0, HIT)
    alert = next(iter(r.active.values()))
    assert dict(alert.labels) == {"alertname": "HighCPU", "host": "h1", "severity": "warn"}
    assert alert.annotations == {"summary": "h1 at 5"}
    assert alert.fired_at == 0
    r.step(60, [])
    assert alert.resolved_at == 60
    r.step(60 + RESOLVED_RETENTION, [])
    assert r.active  # kept while within the retention
    r.step(61 + RESOLVED_RETENTION, [])
    assert not r.active


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2 3", [1, 2, 3]),
        ("-2+4x3", [-2, 2, 6, 10]),
        ("1-2x4", [1, -1, -3, -5, -7]),
        ("1x4", [1, 1, 1, 1, 1]),
        ("1 _x3 stale", [1, "_", "_", "_", None]),
        ("_ 5", ["_", 5]),
        ("0+10x2 100", [0, 10, 20, 100]),
    ],
)
def test_expanding_notation(text: str, expected: list[object]) -> None:
    assert expand_values(text) == expected


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("groups: [{name: g, rules: [{alert: A, expr: 'topk(1, x)'}]}]", "1:1: topk() is not supported"),
        ("groups: [{name: g, rules: [{alert: A, expr: 'x >'}]}]", "1:4: expected an expression"),
        ("groups: [{name: g, rules: [{alert: A, expr: x, for: 5 minutes}]}]", "not a duration"),
        ("groups: [{name: g, rules: [{alert: A, record: b, expr: x}]}]", "exactly one of"),
        (
            "groups: [{name: g, rules: [{alert: A, expr: x, annotations: {a: '{{ $foo }}'}}]}]",
            "undefined variable: $foo",
        ),
        ("groups: [{name: g}, {name: g}]", "appears twice"),
        ("rules: []", "holds 'groups:'"),
    ],
)
def test_bad_rule_files_are_rejected_with_the_reason(yaml_text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_rule_file(yaml_text, "bad.yml")
    assert info.value.message.startswith("bad.yml")
    assert message in info.value.message


def test_promtool_format_test_file_passes() -> None:
    outcomes = run_test_file(DATA / "alerts_test.yml")
    assert [o.failures for o in outcomes] == [[]]
    assert outcomes[0].checked == 9


def test_failing_expectation_reports_a_diff(tmp_path: Path) -> None:
    text = (
        (DATA / "alerts_test.yml")
        .read_text()
        .replace('summary: "Instance localhost:9090 down"', 'summary: "Instance localhost:9999 down"')
    )
    (tmp_path / "alerts.yml").write_text((DATA / "alerts.yml").read_text())
    (tmp_path / "t.yml").write_text(text)
    failures = run_test_file(tmp_path / "t.yml")[0].failures
    assert len(failures) == 1
    assert "alertname: InstanceDown, time: 10m" in failures[0]
    assert "- expected, not firing" in failures[0] and "localhost:9999" in failures[0]
    assert "+ firing, not expected" in failures[0]


def test_shipped_rules_load() -> None:
    from eduops.alerting.rules import load_rule_files

    files = default_rule_files()
    assert any("monitoring" in str(f) for f in files)
    names = {r.name for g in load_rule_files(files) for r in g.rules if isinstance(r, AlertingRule)}
    assert {
        "HostHighCPU",
        "HostHighMemory",
        "DiskAlmostFull",
        "DiskFullIn24h",
        "EndpointDown",
        "CertificateExpiringSoon",
        "DatabaseSlow",
        "ErrorLogSpike",
        "CalendarTaskOverdue",
        "CalendarTaskFailed",
    } <= names
