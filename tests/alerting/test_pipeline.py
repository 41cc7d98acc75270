"""The alert pipeline on the state database: stored samples → rule states → notifications → delivery,
history, acknowledgement, escalation, silences and the calendar-derived series, on an injected clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from eduops.alerting.alerts import acknowledge, alert_history, current_alerts, first_alert_after
from eduops.alerting.metric_store import apply_retention, ingest, query_range, rollup
from eduops.alerting.models import MetricRollup, Silence
from eduops.alerting.notify import ChannelQueue
from eduops.alerting.pipeline import Monitor
from eduops.alerting.rules import parse_rule_file
from eduops.alerting.settings import AlertingSettings
from eduops.db import session_scope

T0 = 1_800_000_000.0  # a fixed clock

RULES = """
groups:
  - name: t
    interval: 30s
    rules:
      - alert: EndpointDown
        expr: endpoint_up == 0
        for: 1m
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.endpoint }} is down"}
"""
CALENDAR_RULES = """
groups:
  - name: c
    rules:
      - alert: TaskOverdue
        expr: eduops_task_overdue == 1
"""


def settings(**kw: object) -> AlertingSettings:
    return AlertingSettings.model_validate(
        {
            "route": {
                "receiver": "ops",
                "group_by": ["alertname"],
                "group_wait": "10s",
                "group_interval": "1m",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "ops", "channels": ["ding"], "oncall": ["alice", "bob"], "escalate_after": "5m"}],
            **kw,
        }
    )


def monitor(ws, ms: AlertingSettings | None = None, rules: str = RULES) -> tuple[Monitor, list[tuple[str, str, str]]]:  # type: ignore[no-untyped-def]
    sent: list[tuple[str, str, str]] = []
    channels = {n: ChannelQueue(n, f"json://{n}", 60) for n in ("ding", "alice", "bob")}
    m = Monitor(
        ws,
        sender=lambda url, title, body: (sent.append((url, title, body)), (True, ""))[1],
        channels=channels,
        clock=lambda: T0,
        groups=parse_rule_file(rules, "t.yml"),
        ms=ms or settings(),
    )
    return m, sent


def feed(ws, start: float, end: float, value: float, step: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    t, rows = start, []
    while t <= end:
        rows.append(("endpoint_up", {"endpoint": "https://learn.example"}, value, datetime.fromtimestamp(t, UTC)))
        t += step
    ingest(ws.engine, rows)


def run(m: Monitor, start: float, end: float, step: float = 5.0) -> list[tuple[float, str]]:
    out, t = [], start
    while t <= end:
        for n in m.cycle(t):
            out.append((t - T0, ("FIRING " if n.firing else "RESOLVED ") + n.group_labels.get("alertname", "")))
        t += step
    return out


def test_down_endpoint_pends_fires_notifies_and_resolves(ws) -> None:
    feed(ws, T0, T0 + 300, 0.0)
    feed(ws, T0 + 315, T0 + 600, 1.0)
    m, sent = monitor(ws)
    notes = run(m, T0, T0 + 600)
    # pending at 0, firing at 60 (for: 1m, evaluated every 30 s), sent after group_wait 10 s;
    # up again at 315 → resolved at the 330 evaluation, sent on the next group_interval tick (370)
    assert notes == [(70.0, "FIRING EndpointDown"), (370.0, "RESOLVED EndpointDown")]
    events = [(e["event"], (datetime.fromisoformat(e["at"]).timestamp() - T0)) for e in alert_history(ws.engine)]
    assert sorted(events, key=lambda e: e[1]) == [("pending", 0.0), ("firing", 60.0), ("resolved", 330.0)]
    first = first_alert_after(ws.engine, datetime.fromtimestamp(T0, UTC), matchers=['endpoint=~".*learn.*"'])
    assert first and first["alertname"] == "EndpointDown" and first["event"] == "firing"
    assert datetime.fromisoformat(first["at"]).timestamp() == T0 + 60
    assert first_alert_after(ws.engine, datetime.fromtimestamp(T0 + 61, UTC), alertname="EndpointDown") is None
    titles = [t for _, t, _ in sent]
    assert titles[0].startswith("[") and "EndpointDown" in titles[0]
    assert [u for u, _, _ in sent][:2] == ["json://ding", "json://alice"]  # critical: first on-call paged too


def test_unacknowledged_critical_alert_escalates_and_ack_stops_it(ws) -> None:
    feed(ws, T0, T0 + 1200, 0.0)
    m, sent = monitor(ws)
    run(m, T0, T0 + 400)
    assert [u for u, _, _ in sent if u == "json://bob"] == ["json://bob"]  # 5 min after firing at 60 → 360
    escalation = [b for u, _, b in sent if u == "json://bob"][0]
    assert "/ack?token=" in escalation
    fp = current_alerts(ws.engine)[0]["fingerprint"]
    acknowledge(ws.engine, fp, "alice")
    assert current_alerts(ws.engine)[0]["acked_by"] == "alice"
    assert any(e["event"] == "acknowledged" for e in alert_history(ws.engine))


def test_a_pending_alert_that_clears_is_never_sent(ws) -> None:
    feed(ws, T0, T0 + 30, 0.0)
    feed(ws, T0 + 45, T0 + 300, 1.0)
    m, sent = monitor(ws)
    assert run(m, T0, T0 + 300) == []
    assert sent == []
    assert [e["event"] for e in alert_history(ws.engine)] == ["pending"]
    assert current_alerts(ws.engine) == []


def test_silence_from_the_database_mutes(ws) -> None:
    feed(ws, T0, T0 + 300, 0.0)
    with session_scope(ws.engine) as session:
        session.add(
            Silence(
                matchers=['alertname="EndpointDown"'],
                starts_at=datetime.fromtimestamp(T0, UTC),
                ends_at=datetime.fromtimestamp(T0 + 3600, UTC),
                created_by="alice",
                comment="deploy",
            )
        )
    m, sent = monitor(ws)
    assert run(m, T0, T0 + 300) == []
    assert any("silence" in why for why in m.dispatcher.muted.values())


def test_overdue_calendar_task_becomes_an_alert(ws) -> None:
    from eduops.core.calendar import sync_tasks

    long_ago = datetime.fromtimestamp(T0, UTC) - timedelta(days=10)
    sync_tasks(ws.engine, ws.settings, long_ago)
    m, _ = monitor(ws, rules=CALENDAR_RULES)
    m.evaluator.evaluate(T0)
    firing = {a["labels"]["task"] for a in current_alerts(ws.engine) if a["alertname"] == "TaskOverdue"}
    assert "daily-inspection" in firing and "release-check" not in firing


def test_query_range_rollups_and_retention(ws) -> None:
    now = datetime.fromtimestamp(T0, UTC)
    rows = [("cpu_used_pct", {"host": "web-1"}, float(i % 10), now - timedelta(minutes=i)) for i in range(60 * 24)]
    ingest(ws.engine, rows)
    series = query_range(ws.engine, 'cpu_used_pct{host="web-1"}', now - timedelta(minutes=10), now, 60)
    assert [p[1] for p in series[0]["points"]] == [0.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]
    assert rollup(ws.engine, now) > 0
    with ws.engine.connect() as conn:
        stats = conn.execute(
            sa.select(
                sa.func.min(MetricRollup.min_value),
                sa.func.max(MetricRollup.max_value),
                sa.func.sum(MetricRollup.count),
                sa.func.count(),
            )
        ).one()
    assert tuple(stats) == (0.0, 9.0, 60 * 24 - 1, 288)  # every sample before now, in 5-minute buckets
    assert rollup(ws.engine, now) == 0  # nothing rolled twice
    raw, rolled = apply_retention(ws.engine, now, raw_days=0.5, rollup_days=90)
    assert raw == 12 * 60 - 1  # samples older than 12 h
    # older than the raw retention, a query reads the roll-ups' averages
    old = query_range(
        ws.engine, "cpu_used_pct", now - timedelta(hours=20), now - timedelta(hours=19), 300, raw_days=0.5, now=now
    )
    assert old and all(0 <= p[1] <= 9 for p in old[0]["points"])


def test_a_broken_rule_file_is_skipped_not_fatal(sqlite_ws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from eduops.alerting.pipeline import RULE_FILE_ERRORS, active_groups

    bad = tmp_path / "bad.yml"
    bad.write_text("groups: [{name: x, rules: [{alert: A, expr: 'topk(1, up)'}]}]")
    ms = AlertingSettings.model_validate({"rule_files": [str(bad)]})
    groups = active_groups(sqlite_ws.settings, ms)
    assert any(r.name == "HostHighCPU" for g in groups for r in g.rules)
    assert "topk() is not supported" in RULE_FILE_ERRORS[str(bad)]


def test_a_restart_does_not_repeat_notifications(ws) -> None:
    feed(ws, T0, T0 + 600, 0.0)
    m, sent = monitor(ws)
    assert run(m, T0, T0 + 100) == [(70.0, "FIRING EndpointDown")]
    again, sent_again = monitor(ws)  # a new process: alert states and the notification log come back
    assert run(again, T0 + 105, T0 + 300) == []
    assert [u for u, _, _ in sent_again if u == "json://ding"] == []


def test_end_to_end_to_a_signed_dingtalk_robot_in_chinese(ws, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from apprise.plugins.dingtalk import NotifyDingTalk
    from tests.alerting.receivers import Receiver, http_receiver

    from eduops.alerting.notify import add_channel, apprise_send
    from eduops.core.workspace import keyring

    with http_receiver(Receiver(dingtalk_secret="SECxyz")) as receiver:
        monkeypatch.setattr(
            NotifyDingTalk, "notify_url", f"http://127.0.0.1:{receiver.port}/robot/send?access_token={{token}}"
        )
        add_channel(ws.engine, keyring(ws.settings), "ding", "dingtalk://SECxyz@tok/")
        feed(ws, T0, T0 + 200, 0.0)
        m = Monitor(
            ws,
            sender=apprise_send,
            clock=lambda: T0,
            groups=parse_rule_file(RULES, "t.yml"),
            ms=settings(receivers=[{"name": "ops", "channels": ["ding"]}]),
        )
        run(m, T0, T0 + 100)
    [got] = receiver.ok("dingtalk")
    text = got.body["markdown"]["text"]
    assert "告警" in text and "/alerts/" in text
    assert "https://learn.example 不可用" in text  # the shipped rule's summary in the workspace's language
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+8", text)  # on the workspace's clock
    assert [r["status"] for r in m.delivery.log] == ["sent"]


def test_acknowledging_stops_the_escalation(ws) -> None:
    feed(ws, T0, T0 + 1200, 0.0)
    ms = settings(
        receivers=[{"name": "ops", "channels": ["ding"], "oncall": ["alice", "bob", "carol"], "escalate_after": "5m"}]
    )
    sent: list[str] = []
    channels = {n: ChannelQueue(n, f"json://{n}", 60) for n in ("ding", "alice", "bob", "carol")}
    m = Monitor(
        ws,
        sender=lambda url, title, body: (sent.append(url), (True, ""))[1],
        channels=channels,
        clock=lambda: T0,
        groups=parse_rule_file(RULES, "t.yml"),
        ms=ms,
    )
    run(m, T0, T0 + 400)
    assert sent == ["json://ding", "json://alice", "json://bob"]  # bob 5 minutes after firing at 60
    acknowledge(ws.engine, current_alerts(ws.engine)[0]["fingerprint"], "bob")
    run(m, T0 + 405, T0 + 1000)
    assert "json://carol" not in sent  # carol would have been paged at 660
