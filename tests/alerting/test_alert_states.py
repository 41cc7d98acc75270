"""A rule cycle stores every transition in the history and keeps one live row per alert: updated in place
(what a person did to it stays), gone when the alert is dropped, made anew when it comes back."""

from __future__ import annotations

from typing import Any

from eduops.alerting.alerts import RuleEvaluator, Transition, acknowledge, alert_history, current_alerts
from eduops.alerting.metric_store import ingest, to_dt
from eduops.alerting.promql import parse
from eduops.alerting.rules import PENDING, Alert, AlertingRule, RuleGroup

T0 = 1_800_000_000.0


def test_transitions_update_the_live_row_and_add_history(ws: Any) -> None:
    rule = AlertingRule("HighX", "x > 1", parse("x > 1"), hold=60, annotations={"summary": "at {{ $value }}"})
    evaluator = RuleEvaluator(ws.engine, ws.settings, [RuleGroup("g", None, [rule])], 30)
    ingest(ws.engine, [("x", {"host": h}, 5.0, to_dt(T0 - 10)) for h in ("a", "b")])
    assert [t.event for t in evaluator.evaluate(T0)] == ["pending", "pending"]
    fp = next(a["fingerprint"] for a in current_alerts(ws.engine) if a["labels"]["host"] == "a")
    acknowledge(ws.engine, fp, "li.lei", to_dt(T0 + 1))

    ingest(ws.engine, [("x", {"host": "a"}, 7.0, to_dt(T0 + 50))])
    assert [t.event for t in evaluator.evaluate(T0 + 60)] == ["firing", "firing"]
    row = next(a for a in current_alerts(ws.engine) if a["fingerprint"] == fp)
    assert (row["state"], row["value"], row["annotations"], row["acked_by"]) == ("firing", 7.0, {"summary": "at 7"},
                                                                                   "li.lei")
    assert row["active_at"] == to_dt(T0).isoformat() and row["fired_at"] == to_dt(T0 + 60).isoformat()
    assert [e["event"] for e in alert_history(ws.engine, fingerprint_=fp)] == ["firing", "acknowledged", "pending"]

    # dropped and back in one batch: a new row (a new start, nobody has acknowledged it yet)
    labels_a = next(k for k in rule.active if ("host", "a") in k)  # the acknowledged one
    again = Alert(labels_a, {}, 9.0, active_at=T0 + 90, state=PENDING)
    gone = Alert(again.labels, {}, 0.0, 0.0, PENDING)
    evaluator.persist([Transition(rule, gone, "dropped"), Transition(rule, again, "pending")], T0 + 90)
    rows = {a["labels"]["host"]: a for a in current_alerts(ws.engine)}
    host = "a"
    assert (rows[host]["state"], rows[host]["active_at"], rows[host]["acked_by"]) == (
        "pending", to_dt(T0 + 90).isoformat(), None)
    assert len(rows) == 2

    evaluator.persist([Transition(rule, gone, "forgotten")], T0 + 120)
    assert {a["labels"]["host"] for a in current_alerts(ws.engine)} == {"a", "b"} - {host}
