"""eduops and the real Prometheus (Debian's prometheus 2.42): `eduops rules push` writes rule files
promtool accepts and Prometheus loads on reload."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.alerting.realstack import PROMTOOL, Service, need, poll, prometheus
from typer.testing import CliRunner

from eduops.alerting.pipeline import active_groups
from eduops.alerting.service import push_rule_files
from eduops.alerting.settings import AlertingSettings

PROM_CONFIG = """
global:
  scrape_interval: 1m
  evaluation_interval: 1m
rule_files:
  - {rules}/*.yml
"""


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Path]]:
    work = tmp_path_factory.mktemp("prom")
    rules = work / "rules"
    rules.mkdir()
    with prometheus(work / "server", PROM_CONFIG.format(rules=rules)) as service:
        yield service, rules


def loaded_groups(service: Service) -> dict[str, int]:
    return {g["name"]: len(g["rules"]) for g in service.get("/api/v1/rules")["data"]["groups"]}


def test_pushed_rule_files_pass_promtool_and_prometheus_loads_them(
    prom: tuple[Service, Path],
    sqlite_ws,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eduops.cli import app
    from eduops.core import console as console_mod

    service, rules_dir = prom
    monkeypatch.setattr(console_mod, "_workspace", sqlite_ws)
    (rules_dir / "eduops_gone.yml").write_text("groups: []\n")  # pushed earlier, no longer a source
    (rules_dir / "team.yml").write_text("groups: []\n")  # the team's own: left alone
    pushed = CliRunner().invoke(app, ["rules", "push", "--dir", str(rules_dir), "--reload", service.url, "--json"])
    assert pushed.exit_code == 0, pushed.output
    report = json.loads(pushed.output)
    files = [Path(f) for f in report["files"]]
    assert report["reloaded"] == service.url + "/-/reload" and report["rules"] >= 34
    assert not (rules_dir / "eduops_gone.yml").exists() and (rules_dir / "team.yml").exists()
    need(PROMTOOL)
    check = subprocess.run([PROMTOOL, "check", "rules", *map(str, files)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    groups = active_groups(sqlite_ws.settings, AlertingSettings())
    expected = {g.name: len(g.rules) for g in groups}
    assert poll(lambda: loaded_groups(service) == expected and loaded_groups(service), "rules loaded", 30)


def test_disabled_groups_are_not_pushed_and_a_refused_reload_says_why(
    prom: tuple[Service, Path],
    sqlite_ws,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from eduops.alerting.service import reload_prometheus
    from eduops.errors import UsageError

    service, rules_dir = prom
    ms = AlertingSettings.model_validate({"disabled_groups": ["anomalies", "calendar"]})
    groups = active_groups(sqlite_ws.settings, ms)
    assert {"anomalies", "calendar"}.isdisjoint(g.name for g in groups) and any(g.name == "host" for g in groups)
    push_rule_files(groups, rules_dir)
    reload_prometheus(service.url)
    poll(lambda: "calendar" not in loaded_groups(service) and "host" in loaded_groups(service), "groups reloaded")
    (rules_dir / "broken.yml").write_text("groups: [{name: x, rules: [{alert: A, expr: 'up =='}]}]\n")
    try:
        with pytest.raises(UsageError, match="Prometheus refused the rule files"):
            reload_prometheus(service.url)
    finally:
        (rules_dir / "broken.yml").unlink()
    assert "host" in loaded_groups(service)  # Prometheus kept the running rules


def test_push_refuses_a_file_as_directory_and_a_bad_reload_url(sqlite_ws, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from eduops.cli import app
    from eduops.core import console as console_mod

    monkeypatch.setattr(console_mod, "_workspace", sqlite_ws)
    (tmp_path / "file").write_text("")
    from eduops.errors import UsageError

    runner = CliRunner()
    not_dir = runner.invoke(app, ["rules", "push", "--dir", str(tmp_path / "file")])
    assert isinstance(not_dir.exception, UsageError) and not_dir.exception.exit_code == 2  # main() exits 2
    bad = runner.invoke(app, ["rules", "push", "--dir", str(tmp_path / "d"), "--reload", "prometheus:9090"])
    assert isinstance(bad.exception, UsageError) and "base URL" in bad.exception.message


# -- prometheus_url: the same answers as the embedded engine on the same data

STEP = 15


def timeline_samples(end: int) -> list[tuple[str, dict[str, str], float, int]]:
    """An hour of scrapes every 15 s: two counters (one resets), two gauges, one gauge with a gap."""
    import random

    rnd = random.Random(14)
    out: list[tuple[str, dict[str, str], float, int]] = []
    start = end - 3600
    counts = {"a:1": 0.0, "b:1": 0.0}
    for t in range(start, end + 1, STEP):
        for instance in counts:
            counts[instance] += rnd.randint(0, 40)
            if instance == "b:1" and t == start + 1800:
                counts[instance] = 3.0  # a restart resets the counter
            out.append(
                ("http_requests_total", {"job": "api", "instance": instance, "code": "200"}, counts[instance], t)
            )
        for host, base in (("web-1", 30.0), ("web-2", 60.0)):
            out.append(("cpu_used_pct", {"host": host}, round(base + rnd.uniform(-20, 20), 3), t))
        if not start + 1200 <= t < start + 2400:  # 20 minutes without samples
            out.append(("room_temp", {"room": "r1"}, round(20 + rnd.uniform(0, 5), 2), t))
    return out


def openmetrics(samples: list[tuple[str, dict[str, str], float, int]]) -> str:
    lines: list[str] = []
    for name in sorted({s[0] for s in samples}):
        lines.append(f"# TYPE {name} gauge")
        for n, labels, value, t in sorted(
            (s for s in samples if s[0] == name), key=lambda s: (sorted(s[1].items()), s[3])
        ):
            inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            lines.append(f"{n}{{{inner}}} {value!r} {t}")
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, list, int]]:  # type: ignore[type-arg]
    import time

    need(PROMTOOL)
    end = (int(time.time()) // 3600) * 3600 - 3600  # a whole hour, an hour ago: outside the head block
    samples = timeline_samples(end)
    work = tmp_path_factory.mktemp("backfill")
    (work / "data.om").write_text(openmetrics(samples))
    data = work / "server" / "data"
    data.mkdir(parents=True)
    made = subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(work / "data.om"), str(data)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    with prometheus(work / "server", "global: {scrape_interval: 1m}\n") as service:
        yield service, samples, end


EXPRESSIONS = [
    "cpu_used_pct",
    "cpu_used_pct > 45",
    "rate(http_requests_total[5m])",
    "sum(rate(http_requests_total[5m]))",
    "increase(http_requests_total[10m])",
    "sum by (instance) (http_requests_total) / 2",
    "avg_over_time(cpu_used_pct[10m])",
    "max by (host) (cpu_used_pct)",
    "http_requests_total offset 5m",
    "room_temp",
    "count(cpu_used_pct)",
    "predict_linear(cpu_used_pct[30m], 3600)",
    "sum(cpu_used_pct)",
]


def test_prometheus_url_answers_like_the_embedded_engine(backfilled, sqlite_ws) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from eduops.alerting.metric_store import DbSource, ingest, query_range
    from eduops.alerting.prom_source import PrometheusAPI, query_range_for
    from eduops.alerting.promql import parse
    from eduops.alerting.promql_eval import evaluate

    service, samples, end = backfilled
    ingest(sqlite_ws.engine, [(n, lb, v, datetime.fromtimestamp(t, UTC)) for n, lb, v, t in samples])
    remote = PrometheusAPI(service.url)
    checked = 0
    # around the reset, in the gap, near the end; off the 15 s sample grid: on it, a sample exactly at a
    # window's start counts in Prometheus 2.x ([t-5m, t]) but not in the embedded engine (Prometheus 3's (t-5m, t])
    for at in (end - 2893, end - 1787, end - 1493, end - 593, end - 7):
        source = DbSource(sqlite_ws.engine, raw_days=3650, now=at)
        source.preload([parse(e) for e in EXPRESSIONS], at - 3600, at)
        for expr in EXPRESSIONS:
            ours = evaluate(parse(expr), source, at)
            theirs = remote.instant(expr, at)
            mine = {s.labels: s.value for s in ours} if isinstance(ours, list) else ours
            got = {s.labels: s.value for s in theirs} if isinstance(theirs, list) else theirs
            assert mine == pytest.approx(got, rel=1e-9), f"{expr} at end-{end - at}s"
            checked += 1
    assert checked == 5 * len(EXPRESSIONS)
    start, stop = datetime.fromtimestamp(end - 1807, UTC), datetime.fromtimestamp(end - 7, UTC)  # off the grid
    expr = "sum by (instance) (rate(http_requests_total[5m]))"
    local = query_range(sqlite_ws.engine, expr, start, stop, 60, raw_days=3650, now=stop)
    sqlite_ws.settings.model_extra["alerting"] = {"prometheus_url": service.url}  # type: ignore[index]
    through = query_range_for(sqlite_ws, expr, start, stop, 60)
    assert [s["metric"] for s in through] == [s["metric"] for s in local] and len(local) == 2
    for a, b in zip(local, through, strict=True):
        assert [p[0] for p in a["points"]] == [p[0] for p in b["points"]]
        assert [p[1] for p in a["points"]] == pytest.approx([p[1] for p in b["points"]], rel=1e-9)


def test_rules_run_on_prometheus_and_a_refused_query_is_the_rules_error(backfilled, sqlite_ws) -> None:  # type: ignore[no-untyped-def]
    from eduops.alerting.alerts import RuleEvaluator
    from eduops.alerting.prom_source import PrometheusAPI
    from eduops.alerting.rules import parse_rule_file
    from eduops.errors import ServiceUnavailable, UsageError

    service, _, end = backfilled
    groups = parse_rule_file(
        "groups: [{name: g, rules: [{alert: Busy, expr: 'cpu_used_pct > 45', for: 1m},"
        " {alert: Total, expr: 'sum(cpu_used_pct) > 1'}]}]",
        "t.yml",
    )
    evaluator = RuleEvaluator(sqlite_ws.engine, sqlite_ws.settings, groups, 30, remote=PrometheusAPI(service.url))
    evaluator.evaluate(end - 120)
    evaluator.evaluate(end - 60)
    busy, total = groups[0].rules
    assert {dict(a.labels)["host"]: a.state for a in busy.active.values()} == {"web-2": "firing"}  # type: ignore[union-attr]
    assert total.last_error == "" and [a.state for a in total.active.values()] == ["firing"]  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="Prometheus refused the query: bad_data"):
        PrometheusAPI(service.url).instant("sum(", end)
    with pytest.raises(ServiceUnavailable, match="cannot reach Prometheus"):
        PrometheusAPI("http://127.0.0.1:9").instant("up", end)


# VictoriaMetrics speaks the same HTTP API; MetricsQL differs from PromQL on purpose in places (rate
# and increase do not extrapolate, lookback follows the data's interval), so these are the queries
# both define the same way.
VM_EXPRESSIONS = [
    "cpu_used_pct",
    "sum(cpu_used_pct)",
    "max by (host) (cpu_used_pct)",
    "count(cpu_used_pct)",
    "sum by (instance) (http_requests_total) / 2",
    "avg_over_time(cpu_used_pct[10m])",
    "http_requests_total offset 5m",
]


def unnamed(labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """MetricsQL keeps __name__ after *_over_time where PromQL drops it: compare the other labels."""
    return tuple(p for p in labels if p[0] != "__name__")


def test_prometheus_url_on_victoriametrics(tmp_path: Path, sqlite_ws) -> None:  # type: ignore[no-untyped-def]
    import time
    from datetime import UTC, datetime

    import requests
    from tests.alerting.realstack import victoriametrics

    from eduops.alerting.metric_store import DbSource, ingest
    from eduops.alerting.prom_source import PrometheusAPI
    from eduops.alerting.promql import parse
    from eduops.alerting.promql_eval import evaluate

    end = (int(time.time()) // 3600) * 3600 - 3600
    samples = timeline_samples(end)
    ingest(sqlite_ws.engine, [(n, lb, v, datetime.fromtimestamp(t, UTC)) for n, lb, v, t in samples])
    lines = [
        n + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(lb.items())) + f"}} {v!r} {t * 1000}"
        for n, lb, v, t in samples
    ]
    with victoriametrics(tmp_path / "vm") as vm:
        imported = requests.post(vm.url + "/api/v1/import/prometheus", data="\n".join(lines) + "\n", timeout=60)
        assert imported.status_code == 204, imported.text
        requests.get(vm.url + "/internal/force_flush", timeout=60)
        remote = PrometheusAPI(vm.url)
        poll(lambda: len(remote.instant("cpu_used_pct", end - 7)) == 2, "VictoriaMetrics has the data", 30)
        for at in (end - 2893, end - 593, end - 7):
            source = DbSource(sqlite_ws.engine, raw_days=3650, now=at)
            source.preload([parse(e) for e in VM_EXPRESSIONS], at - 3600, at)
            for expr in VM_EXPRESSIONS:
                ours = evaluate(parse(expr), source, at)
                theirs = remote.instant(expr, at)
                mine = {unnamed(s.labels): s.value for s in ours} if isinstance(ours, list) else ours
                got = {unnamed(s.labels): s.value for s in theirs} if isinstance(theirs, list) else theirs
                assert mine == pytest.approx(got, rel=1e-9), f"{expr} at end-{end - at}s"


def test_console_charts_read_prometheus_when_prometheus_url_is_set(backfilled, sqlite_ws) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime
    from functools import partial

    from eduops.alerting.prom_source import query_range_for
    from eduops.monitoring.charts import panels

    service, _, end = backfilled
    now = datetime.fromtimestamp(end, UTC)
    reader = partial(query_range_for, sqlite_ws)
    assert panels(sqlite_ws.engine, 6 * 3600, now=now, query=reader) == []  # the embedded store is empty
    sqlite_ws.settings.model_extra["alerting"] = {"prometheus_url": service.url}  # type: ignore[index]
    [cpu] = panels(sqlite_ws.engine, 6 * 3600, now=now, query=reader)
    assert cpu["metric"] == "cpu_used_pct" and "web-1" in cpu["figure"] and "web-2" in cpu["figure"]
