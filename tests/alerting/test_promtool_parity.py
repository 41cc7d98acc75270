"""Rule files as Prometheus reads them: eduops's template expansion and rule-test verdicts against
the real promtool (Debian's prometheus 2.42) on the Go-template set rule files use."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from tests.alerting.realstack import PROMTOOL, need

from eduops.alerting.rules import parse_rule_file
from eduops.alerting.rules_unittest import run_test_file
from eduops.alerting.template import check, expand
from eduops.errors import UsageError

SERIES = 'node_load{instance="h1:9100",job="node",severity="critical"}'
LABELS = {"__name__": "node_load", "instance": "h1:9100", "job": "node", "severity": "critical"}
VALUE = 1234.5

# (annotation template, what eduops gives); promtool must agree on each
TEMPLATES = [
    ("{{ $labels.__name__ }} on {{ $labels.instance }}", "node_load on h1:9100"),
    (
        '{{ if eq $labels.severity "critical" }}page{{ else if eq $labels.severity "warning" }}ticket'
        "{{ else }}log{{ end }}",
        "page",
    ),
    ('{{ if ne $labels.job "node" }}other{{ else }}node{{ end }}', "node"),
    (
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
        "__name__=node_load;instance=h1:9100;job=node;severity=critical;",
    ),
    ("{{ range $labels }}[{{ . }}]{{ end }}", "[node_load][h1:9100][node][critical]"),
    ("{{ with $labels.job }}job {{ . }}{{ else }}no job{{ end }}", "job node"),
    ("{{ with $labels.missing }}{{ . }}{{ else }}none{{ end }}", "none"),
    ("{{ if gt $value 1000.0 }}high: {{ $value | humanize }}{{ end }}", "high: 1.234k"),
    ("{{ if and (ge $value 1000.0) (lt $value 2000.0) }}band{{ end }}", "band"),
    (
        '{{ or $labels.missing "fallback" }} {{ and $labels.job $labels.instance }} {{ not false }}',
        "fallback h1:9100 true",
    ),
    ('{{ if le (len $labels) 4 }}few{{ end }} {{ index $labels "job" }}', "few node"),
    (
        '{{ printf "%.2f" $value }} / {{ printf "%d%%" 90 }} / {{ printf "%s=%v" "v" $value }}',
        "1234.50 / 90% / v=1234.5",
    ),
    ("{{ $value }} {{ humanize1024 $value }} {{ 0.1234 | humanizePercentage }}", "1234.5 1.206ki 12.34%"),
    ("{{ 3725.0 | humanizeDuration }} {{ 1800000000 | humanizeTimestamp }}", "1h 2m 5s 2027-01-15 08:00:00 +0000 UTC"),
    ('{{ $labels.instance | stripPort }} {{ toUpper .Labels.job }} {{ title "on call" }}', "h1 NODE On Call"),
    (
        '{{ reReplaceAll "(.*):(.*)" "$2 at $1" $labels.instance }} {{ match "^h[0-9]" $labels.instance }}',
        "9100 at h1 true",
    ),
    ('{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}', "b"),
    ('{{- /* a comment */ -}} {{ .Value }} {{- " trimmed" }}', "1234.5 trimmed"),
    ('{{ print 1 2 "a" 3 }} {{ $externalLabels.region }} {{ eq 1 1 2 }}', "1 2a3 cn-east true"),
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    need(PROMTOOL)
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def test_eduops_expands_each_template_as_listed() -> None:
    for text, expected in TEMPLATES:
        assert expand(text, LABELS, VALUE, {"region": "cn-east"}) == expected, text


def test_promtool_agrees_with_every_expansion_and_with_eduops_rule_tests(tmp_path: Path) -> None:
    rules = [
        {"alert": f"T{i}", "expr": "node_load > 0", "annotations": {"a": text}} for i, (text, _) in enumerate(TEMPLATES)
    ]
    rules.append(
        {
            "alert": "Labelled",
            "expr": "node_load > 0",
            "labels": {
                "tier": '{{ if eq $labels.severity "critical" }}page{{ else }}ticket{{ end }}',
                "metric": "{{ $labels.__name__ }}",
            },
        }
    )
    rules.append({"record": "job:node_load:sum", "expr": "sum by (job) (node_load)"})
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}, sort_keys=False))
    base = {k: v for k, v in LABELS.items() if k != "__name__"}
    alert_tests = [
        {"eval_time": "2m", "alertname": f"T{i}", "exp_alerts": [{"exp_labels": base, "exp_annotations": {"a": want}}]}
        for i, (_, want) in enumerate(TEMPLATES)
    ]
    alert_tests.append(
        {
            "eval_time": "2m",
            "alertname": "Labelled",
            "exp_alerts": [{"exp_labels": {**base, "tier": "page", "metric": "node_load"}}],
        }
    )
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "external_labels": {"region": "cn-east"},
                "input_series": [{"series": SERIES, "values": "1234.5x5"}],
                "alert_rule_test": alert_tests,
                "promql_expr_test": [
                    {"expr": "sum(node_load)", "eval_time": "2m", "exp_samples": [{"labels": "{}", "value": 1234.5}]},
                    {
                        "expr": "job:node_load:sum",
                        "eval_time": "2m",
                        "exp_samples": [{"labels": 'job:node_load:sum{job="node"}', "value": 1234.5}],
                    },
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False, allow_unicode=True))
    promtool = _run("test", "rules", str(tmp_path / "test.yml"))
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    outcomes = run_test_file(tmp_path / "test.yml")
    assert [o.failures for o in outcomes] == [[]] and outcomes[0].checked == len(TEMPLATES) + 3


def test_a_wrong_expectation_fails_in_both(tmp_path: Path) -> None:
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "node_load > 0",
                                                              "annotations": {"a": "{{ $labels.__name__ }}"}}]}]})
    )  # fmt: skip
    test = {
        "rule_files": ["rules.yml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": SERIES, "values": "1x3"}],
                "alert_rule_test": [
                    {
                        "eval_time": "1m",
                        "alertname": "A",
                        "exp_alerts": [
                            {
                                "exp_labels": {k: v for k, v in LABELS.items() if k != "__name__"},
                                "exp_annotations": {"a": ""},
                            }
                        ],
                    }
                ],  # fmt: skip
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    assert _run("test", "rules", str(tmp_path / "test.yml")).returncode != 0  # eduops before: "" for __name__
    assert run_test_file(tmp_path / "test.yml")[0].failures


REFUSED = [
    ("{{ if true }}open", "has no {{end}}"),
    ("{{ nosuchfunc }}", 'function "nosuchfunc" not defined'),
    ("{{ $undeclared }}", "undefined variable: $undeclared"),
    ("{{ end }}", "unexpected {{end}}"),
    ("{{ else }}", "unexpected {{else}}"),
    ("{{ (1 }}", "unclosed parenthesis"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_templates_promtool_refuses_eduops_refuses_with_the_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0",
                                                                        "annotations": {"a": text}}]}]}))  # fmt: skip
    assert _run("check", "rules", str(path)).returncode != 0
    with pytest.raises(UsageError, match=re.escape(reason)):
        parse_rule_file(path.read_text(), str(path))


def test_what_eduops_cannot_run_is_named_though_promtool_accepts_it(tmp_path: Path) -> None:
    path = tmp_path / "q.yml"
    text = '{{ with query "up" }}{{ . | first | value }}{{ end }}'
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0",
                                                                        "annotations": {"a": text}}]}]}))  # fmt: skip
    assert _run("check", "rules", str(path)).returncode == 0
    with pytest.raises(UsageError, match="query is not supported by eduops"):
        check(text)
