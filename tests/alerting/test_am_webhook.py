"""Alertmanager's version 4 webhook: the body eduops's webhook channel sends, and the intake that
takes the team's own Alertmanager's webhooks into eduops's alerts."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.alerting.receivers import Receiver, http_receiver

from eduops.alerting.alertmanager import AMAlert, Notification, build_route
from eduops.alerting.am_webhook import common, http_url, parse_time, parse_webhook, rfc3339, webhook_body
from eduops.alerting.format import render, status_tag
from eduops.alerting.intake import ingest_webhook, intake_alerts
from eduops.alerting.notify import ChannelQueue, Delivery, Message, add_channel
from eduops.alerting.settings import Route
from eduops.errors import UsageError

T0 = 1_800_000_000.0
V4_KEYS = {
    "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
    "commonAnnotations", "externalURL", "alerts",
}  # fmt: skip
ALERT_KEYS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}


def am(name: str, start: float = T0, end: float | None = None, **labels: str) -> AMAlert:
    full = {"alertname": name, **labels}
    return AMAlert(f"fp-{name}-{sorted(labels.items())}", full, {"summary": f"{name} on {labels}"}, start, end)


def note(firing: list[AMAlert], resolved: list[AMAlert]) -> Notification:
    return Notification(
        "ops", "root", "k", {"alertname": "DiskFull"}, firing, resolved, T0 + 60, '{}:{alertname="DiskFull"}'
    )


def test_the_body_is_alertmanagers_version_4() -> None:
    body = webhook_body(
        note(
            [am("DiskFull", host="db-1", severity="critical")],
            [am("DiskFull", T0, T0 + 30, host="db-2", severity="critical")],
        ),
        "https://ops.example.edu/",
    )
    assert set(body) == V4_KEYS and body["version"] == "4"
    assert body["status"] == "firing" and body["receiver"] == "ops" and body["truncatedAlerts"] == 0
    assert body["groupKey"] == '{}:{alertname="DiskFull"}' and body["groupLabels"] == {"alertname": "DiskFull"}
    assert body["commonLabels"] == {"alertname": "DiskFull", "severity": "critical"}  # host differs
    assert body["commonAnnotations"] == {}
    assert body["externalURL"] == "https://ops.example.edu"
    firing, resolved = body["alerts"]
    assert set(firing) == ALERT_KEYS and set(resolved) == ALERT_KEYS
    assert (firing["status"], firing["startsAt"], firing["endsAt"]) == (
        "firing", "2027-01-15T08:00:00.000Z", "0001-01-01T00:00:00Z"
    )  # fmt: skip
    assert (resolved["status"], resolved["endsAt"]) == ("resolved", "2027-01-15T08:00:30.000Z")
    assert firing["generatorURL"] == f"https://ops.example.edu/alerts/{firing['fingerprint']}"
    assert webhook_body(note([], [am("DiskFull", T0, T0 + 5)]), "http://x")["status"] == "resolved"


def test_the_groupkey_names_the_route_like_alertmanager() -> None:
    root = build_route(
        Route.model_validate({"receiver": "a", "routes": [{"receiver": "b", "matchers": ['severity="critical"']}]})
    )
    assert root.key == "{}" and root.children[0].key == '{}/{severity="critical"}'


@pytest.mark.parametrize(
    ("firing", "resolved", "lang", "expected"),
    [
        (2, 0, "en", "[FIRING:2]"),
        (1, 1, "en", "[FIRING:1 RESOLVED:1]"),  # the message lists a resolved alert too: say so
        (0, 3, "en", "[RESOLVED]"),
        (1, 2, "zh-CN", "[告警:1 已恢复:2]"),
    ],
)
def test_status_tag_counts_what_the_message_lists(firing: int, resolved: int, lang: str, expected: str) -> None:
    assert status_tag(firing, resolved, lang) == expected


def test_a_message_with_firing_and_resolved_alerts_counts_both_in_its_title() -> None:
    title, _ = render(
        note([am("DiskFull", host="db-1")], [am("DiskFull", T0, T0 + 9, host="db-2")]),
        "http://x",
        ZoneInfo("UTC"),
        "en",
    )
    assert title == "[FIRING:1 RESOLVED:1] DiskFull"


@pytest.mark.parametrize(
    ("dicts", "expected"),
    [
        ([], {}),
        ([{"a": "1"}], {"a": "1"}),
        ([{"a": "1", "b": "2"}, {"a": "1", "b": "3"}], {"a": "1"}),
        ([{"a": "1"}, {}], {}),
    ],
)
def test_common(dicts: list[dict[str, str]], expected: dict[str, str]) -> None:
    assert common(dicts) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-15T08:00:00Z", T0),
        ("2027-01-15T08:00:00.123456789Z", T0 + 0.123456),  # Go's nanoseconds
        ("2027-01-15T16:00:00+08:00", T0),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
    ],
)
def test_parse_time(text: str, expected: float | None) -> None:
    got = parse_time(text, "t")
    assert got == expected if expected is None else got == pytest.approx(expected)
    if expected is not None:
        assert parse_time(rfc3339(expected), "t") == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize(
    ("url", "expected"),
    [("webhook://hooks.internal:8080/am?x=1", "http://hooks.internal:8080/am?x=1"), ("webhooks://h", "https://h/")],
)
def test_webhook_urls(url: str, expected: str) -> None:
    assert http_url(url) == expected


def v4(*alerts: dict[str, Any], **over: Any) -> dict[str, Any]:
    return {
        "version": "4", "status": "firing", "receiver": "eduops", "groupKey": "{}:{}", "groupLabels": {},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093", "truncatedAlerts": 0,
        "alerts": list(alerts), **over,
    }  # fmt: skip


def am_alert(status: str = "firing", ends: str = "0001-01-01T00:00:00Z", **labels: str) -> dict[str, Any]:
    return {
        "status": status, "labels": {"alertname": "NodeDown", "instance": "n1:9100", "severity": "critical", **labels},
        "annotations": {"summary": "node n1 down"}, "startsAt": "2027-01-15T08:00:00.5Z", "endsAt": ends,
        "generatorURL": "http://prom:9090/graph", "fingerprint": "a1b2c3d4e5f60718",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ([], "a JSON object"),
        (v4(version="3"), "version 3"),
        ({"alerts": []}, "version missing"),
        (v4(alerts="x"), "alerts: a list"),
        (v4(am_alert(status="pending")), "alerts[0].status: firing or resolved"),
        (v4({**am_alert(), "labels": {"alertname": "X", "n": 3}}), "alerts[0].labels"),
        (v4({**am_alert(), "labels": {"instance": "a"}}), "alertname label is required"),
        (v4({**am_alert(), "startsAt": "yesterday"}), "alerts[0].startsAt: 'yesterday' is not an RFC 3339"),
        (v4({**am_alert(), "startsAt": "2027-01-15T08:00:00"}), "no time zone"),
        (v4(am_alert(status="resolved")), "alerts[0].endsAt: a resolved alert needs its end time"),
    ],
)
def test_bad_webhook_bodies_say_what_is_wrong(body: Any, complaint: str) -> None:
    with pytest.raises(UsageError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        parse_webhook(body)


def test_intake_records_firing_repeat_and_resolution_once_each(ws) -> None:  # type: ignore[no-untyped-def]
    from eduops.alerting.alerts import alert_history, current_alerts

    assert ingest_webhook(ws.engine, v4(am_alert()), T0) == {"firing": 1, "resolved": 0, "unchanged": 0}
    assert ingest_webhook(ws.engine, v4(am_alert()), T0 + 60) == {"firing": 0, "resolved": 0, "unchanged": 1}
    [state] = current_alerts(ws.engine)
    assert (state["alertname"], state["state"], state["rule"]) == ("NodeDown", "firing", "alertmanager/eduops")
    assert state["labels"]["instance"] == "n1:9100" and state["annotations"]["summary"] == "node n1 down"
    [alert] = intake_alerts(ws.engine, T0 + 60)
    assert alert.ends_at is None and alert.starts_at == pytest.approx(T0 + 0.5)
    resolved = v4(am_alert(status="resolved", ends="2027-01-15T08:05:00Z"), status="resolved")
    assert ingest_webhook(ws.engine, resolved, T0 + 300)["resolved"] == 1
    assert [e["event"] for e in alert_history(ws.engine)] == ["resolved", "firing"]
    [alert] = intake_alerts(ws.engine, T0 + 300)
    assert alert.ends_at == T0 + 300
    assert intake_alerts(ws.engine, T0 + 300 + 3600) == []  # forgotten after the resolved retention
    assert current_alerts(ws.engine) == []


def test_webhook_channel_posts_the_v4_body_and_a_refusal_is_retried() -> None:
    with http_receiver(Receiver()) as receiver:
        receiver.fail_paths.add("/down")
        url = f"webhook://127.0.0.1:{receiver.port}/am"
        down = f"webhook://127.0.0.1:{receiver.port}/down"
        d = Delivery(None, {"hook": ChannelQueue("hook", url, 60), "down": ChannelQueue("down", down, 60)})
        payload = webhook_body(note([am("DiskFull", host="db-1")], []), "http://eduops")
        for channel in ("hook", "down"):
            d.enqueue(channel, Message("t", "b", "ops", "k", 1, T0, [payload]))
        d.tick(T0)
        [got] = receiver.ok("webhook")
        assert got.path == "/am" and got.body == payload
        assert [r["status"] for r in d.log] == ["sent"]
        assert d.channels["down"].in_flight and d.channels["down"].retry_at == T0 + 2  # retried with backoff


def test_webhook_channels_are_checked_when_added(sqlite_ws) -> None:  # type: ignore[no-untyped-def]
    from eduops.core.workspace import keyring

    ring = keyring(sqlite_ws.settings)
    assert add_channel(sqlite_ws.engine, ring, "hook", "webhooks://oncall.example.edu/am")["scheme"] == "webhooks"
    with pytest.raises(UsageError, match="write webhook://host/path"):
        add_channel(sqlite_ws.engine, ring, "bad", "webhook:///nohost")
