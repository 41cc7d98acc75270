"""The PromQL subset: what parses, what is rejected (with where and why), and what it evaluates to."""

from __future__ import annotations

import math

import pytest

from eduops.alerting.memory_source import MemorySource
from eduops.alerting.promql import PromQLError, parse
from eduops.alerting.promql_eval import evaluate
from eduops.alerting.promql_funcs import extrapolated_rate, linear_regression, quantile


@pytest.mark.parametrize(
    ("expr", "line_col", "reason"),
    [
        ("topk(3, up)", "1:1", "topk() is not supported"),
        ("histogram_quantile(0.9, x)", "1:1", "not supported"),
        ("rate(up[5m:1m])", "1:11", "subqueries are not supported"),
        ("up @ 100", "1:4", "@ modifier is not supported"),
        ('up{job="a"', "1:11", "expected ',' or '}'"),
        ("rate(up)", "1:6", "expects a range vector argument"),
        ("sum(up[5m])", "1:5", "expects an instant vector"),
        ('{job=~".*"}', "1:1", "at least one non-empty matcher"),
        ('up{job=~"("}', "1:9", "bad regular expression"),
        ("1 > 2", "1:3", "must use the bool modifier"),
        ("up / on(a) group_left b", "1:12", "group_left"),
        ("foo(up)", "1:1", "unknown function"),
        ("up[5x]", "1:4", "not a duration"),
        ("up and 1", "1:4", "set operator"),
        ("", "1:1", "empty"),
        ("up\n  + rate(x)", "2:10", "expects a range vector"),
    ],
)
def test_unsupported_or_wrong_expressions_say_where_and_why(expr: str, line_col: str, reason: str) -> None:
    with pytest.raises(PromQLError) as info:
        parse(expr)
    assert info.value.message.startswith(line_col + ":"), info.value.message
    assert reason in info.value.message


@pytest.fixture
def source() -> MemorySource:
    src = MemorySource()
    for i in range(11):  # 0..600 s every 60 s
        t = i * 60.0
        src.add({"__name__": "http_requests_total", "job": "api", "instance": "a"}, t, 10.0 * i)
        src.add({"__name__": "http_requests_total", "job": "api", "instance": "b"}, t, 20.0 * i)
        src.add({"__name__": "http_requests_total", "job": "web", "instance": "c"}, t, 5.0 * i)
        src.add({"__name__": "cpu_used_pct", "host": "h1"}, t, 50.0 + i)
        src.add({"__name__": "cpu_used_pct", "host": "h2"}, t, 90.0)
        src.add({"__name__": "disk_free_bytes", "mount": "/"}, t, 1000.0 - 50 * i)
        src.add({"__name__": "disk_total_bytes", "mount": "/"}, t, 2000.0)
    return src


def values(result: object) -> dict[str, float]:
    assert isinstance(result, list)
    return {",".join(f"{k}={v}" for k, v in s.labels): round(s.value, 6) for s in result}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('cpu_used_pct{host="h1"}', {"__name__=cpu_used_pct,host=h1": 60.0}),
        ("cpu_used_pct > 85", {"__name__=cpu_used_pct,host=h2": 90.0}),
        ("cpu_used_pct > bool 85", {"host=h1": 0.0, "host=h2": 1.0}),
        ("cpu_used_pct / 100", {"host=h1": 0.6, "host=h2": 0.9}),
        ("100 - cpu_used_pct", {"host=h1": 40.0, "host=h2": 10.0}),
        ("-cpu_used_pct{host='h2'}", {"host=h2": -90.0}),
        ('cpu_used_pct{host!="h1"}', {"__name__=cpu_used_pct,host=h2": 90.0}),
        ('cpu_used_pct{host=~"h[12]"} < 70', {"__name__=cpu_used_pct,host=h1": 60.0}),
        ('cpu_used_pct{host!~"h1"}', {"__name__=cpu_used_pct,host=h2": 90.0}),
        ("sum(http_requests_total)", {"": 350.0}),
        ("sum by (job) (http_requests_total)", {"job=api": 300.0, "job=web": 50.0}),
        ("sum(http_requests_total) without (instance)", {"job=api": 300.0, "job=web": 50.0}),
        ("count by (job) (http_requests_total)", {"job=api": 2.0, "job=web": 1.0}),
        ("avg(cpu_used_pct)", {"": 75.0}),
        ("max(cpu_used_pct)", {"": 90.0}),
        ("min without (host) (cpu_used_pct)", {"": 60.0}),
        ("rate(http_requests_total{instance='a'}[5m])", {"instance=a,job=api": 0.166667}),
        ("increase(http_requests_total{instance='a'}[5m])", {"instance=a,job=api": 50.0}),
        ("avg_over_time(cpu_used_pct{host='h1'}[5m])", {"host=h1": 58.0}),
        ("max_over_time(cpu_used_pct{host='h1'}[5m])", {"host=h1": 60.0}),
        ("min_over_time(cpu_used_pct{host='h1'}[5m])", {"host=h1": 56.0}),
        ("quantile_over_time(0.5, cpu_used_pct{host='h1'}[5m])", {"host=h1": 58.0}),
        ("absent(nothing_here{job='x'})", {"job=x": 1.0}),
        ("absent(cpu_used_pct)", {}),
        ("disk_free_bytes / disk_total_bytes * 100", {"mount=/": 25.0}),
        ("predict_linear(disk_free_bytes[10m], 3600) < 0", {"mount=/": -2500.0}),
        (
            "cpu_used_pct offset 5m",
            {"__name__=cpu_used_pct,host=h1": 55.0, "__name__=cpu_used_pct,host=h2": 90.0},
        ),
        ("cpu_used_pct and cpu_used_pct > 80", {"__name__=cpu_used_pct,host=h2": 90.0}),
        ("cpu_used_pct unless cpu_used_pct > 80", {"__name__=cpu_used_pct,host=h1": 60.0}),
        ("abs(-cpu_used_pct{host='h2'})", {"host=h2": 90.0}),
    ],
)
def test_evaluation_at_600s(source: MemorySource, expr: str, expected: dict[str, float]) -> None:
    assert values(evaluate(parse(expr), source, 600.0)) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("(1 + 2) * 3", 9.0),
        ("1 > bool 0", 1.0),
        ("-2 ^ 2", -4.0),
        ("time()", 600.0),
        ("scalar(cpu_used_pct{host='h2'})", 90.0),
    ],
)
def test_scalar_expressions(source: MemorySource, expr: str, expected: float) -> None:
    assert evaluate(parse(expr), source, 600.0) == expected


def test_lookback_and_stale_markers() -> None:
    src = MemorySource()
    src.add({"__name__": "up", "job": "a"}, 0, 1.0)
    src.add({"__name__": "up", "job": "b"}, 0, 1.0)
    src.add({"__name__": "up", "job": "b"}, 60, None)
    assert values(evaluate(parse("up"), src, 299)) == {"__name__=up,job=a": 1.0}
    assert values(evaluate(parse("up"), src, 300)) == {}  # the 5-minute window is open on the left


@pytest.mark.parametrize(
    ("points", "start", "end", "counter", "rate", "expected"),
    [
        ([(0, 0), (60, 60)], 0, 60, True, False, 60.0),
        ([(15, 10), (45, 40)], 0, 60, True, False, 55.0),  # extrapolated, but not below the counter's zero
        ([(30, 100), (60, 10)], 0, 60, True, False, 20.0),  # counter reset: 10 + 100 - 100, extrapolated
        ([(10, 5), (70, 5)], 0, 60, False, False, 0.0),
        ([(0, 0)], 0, 60, True, False, None),
        ([(0, 0), (60, 120)], 0, 60, True, True, 2.0),
    ],
)
def test_extrapolated_rate(points, start, end, counter, rate, expected) -> None:  # type: ignore[no-untyped-def]
    got = extrapolated_rate([(float(t), float(v)) for t, v in points], start, end, counter, rate)
    assert got == (None if expected is None else pytest.approx(expected))


def test_regression_and_quantile() -> None:
    assert linear_regression([(0.0, 1.0), (10.0, 21.0)], 10.0) == (2.0, 21.0)
    assert linear_regression([(0.0, 3.0), (10.0, 3.0)], 10.0) == (0.0, 3.0)
    assert quantile(0.9, [1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(4.6)
    assert quantile(2, [1.0]) == math.inf
