"""eduops and the real Alertmanager (Debian's prometheus-alertmanager 0.25), both ways: eduops's
alerts sent to its /api/v2/alerts arrive there, and its webhook posted to eduops shows up in eduops."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from tests.alerting.realstack import Service, alertmanager, poll, serve_app
from tests.conftest import make_settings

from eduops.alerting.alertmanager import AMAlert
from eduops.alerting.alerts import alert_history, current_alerts
from eduops.alerting.am_forward import Forwarder
from eduops.alerting.intake import RULE_PREFIX
from eduops.alerting.metric_store import ingest
from eduops.alerting.notify import ChannelQueue
from eduops.alerting.pipeline import Monitor
from eduops.alerting.rules import parse_rule_file
from eduops.alerting.settings import AlertingSettings
from eduops.core.workspace import Workspace
from eduops.db import make_engine

RULES = """
groups:
  - name: t
    interval: 15s
    rules:
      - alert: EndpointDown
        expr: endpoint_up == 0
        for: 30s
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.endpoint }} is down"}
"""

AM_CONFIG = """
route:
  receiver: eduops
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: eduops
    webhook_configs:
      - url: {url}/api/v1/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: {key}
"""


@dataclass
class Stack:
    ws: Workspace
    eduops: str
    am: Service


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("am") / "home"
    home.mkdir()
    shutil.copy(sqlite_template, home / "eduops.db")
    settings = make_settings(home)
    ws = Workspace(settings, make_engine(settings.state_url))
    from eduops.web.apikeys import create_key
    from eduops.web.app import create_app

    _, key = create_key(ws.engine, "alertmanager", ["ingest:alerts"], actor="test")
    with serve_app(create_app(ws, domains=("core", "web", "alerting"))) as url:
        with alertmanager(home.parent / "alertmanager", AM_CONFIG.format(url=url, key=key)) as am:
            yield Stack(ws, url, am)
    ws.engine.dispose()


def am_alerts(am: Service, alertname: str) -> list[dict]:  # type: ignore[type-arg]
    return [a for a in am.get("/api/v2/alerts") if a["labels"].get("alertname") == alertname]


def test_eduops_alerts_sent_to_alertmanager_arrive_there(stack: Stack) -> None:
    now = time.time()
    ingest(
        stack.ws.engine,
        [("endpoint_up", {"endpoint": "https://learn.example"}, 0.0, datetime.fromtimestamp(now - 60 + i, UTC))
         for i in range(0, 61, 5)],
    )  # fmt: skip
    ms = AlertingSettings.model_validate({"alertmanager_url": stack.am.url, "alertmanager_resend": "1m"})
    sent: list[str] = []
    m = Monitor(
        stack.ws,
        sender=lambda url, title, body: (sent.append(url), (True, ""))[1],
        channels={"ding": ChannelQueue("ding", "json://ding", 60)},
        groups=parse_rule_file(RULES, "t.yml"),
        ms=ms,
    )
    for t in (now - 45, now - 30, now - 15, now):  # pending at -45, firing at -15 (for: 30s)
        m.cycle(t)
    assert m.forwarder is not None and m.forwarder.last_error == "" and m.forwarder.sent == 1
    [got] = poll(lambda: am_alerts(stack.am, "EndpointDown"), "EndpointDown in Alertmanager")
    assert got["labels"] == {"alertname": "EndpointDown", "endpoint": "https://learn.example", "severity": "critical"}
    assert got["annotations"] == {"summary": "https://learn.example is down"}
    assert got["status"]["state"] == "active"
    ends = datetime.fromisoformat(got["endsAt"].replace("Z", "+00:00")).timestamp()
    assert ends == pytest.approx(now - 15 + 4 * 60, abs=1)  # Prometheus's ValidUntil: 4 × resend
    # the rule's own alert: Alertmanager's webhook may have brought it back already, as a row of its own
    [ours] = [a for a in current_alerts(stack.ws.engine) if not a["rule"].startswith(RULE_PREFIX)]
    assert got["generatorURL"].endswith("/alerts/" + ours["fingerprint"])
    assert sent == []  # Alertmanager routes eduops's alerts now; eduops does not dispatch them itself


def test_a_resolution_reaches_alertmanager_and_an_unreachable_one_is_retried(stack: Stack) -> None:
    now = time.time()
    alert = AMAlert("fp-r", {"alertname": "BackupLate", "task": "backup"}, {}, now - 120)
    dead = Forwarder("http://127.0.0.1:9", "http://eduops", resend=60)
    assert dead.forward([alert], now) == 0 and "cannot reach Alertmanager" in dead.last_error
    f = Forwarder(stack.am.url, "http://eduops", resend=60)
    assert f.forward([alert], now - 60) == 1
    poll(lambda: am_alerts(stack.am, "BackupLate"), "BackupLate active")
    assert f.forward([alert], now - 30) == 0  # within the resend delay
    resolved = AMAlert("fp-r", alert.labels, {}, now - 120, now - 1)
    assert f.forward([resolved], now) == 1  # resolved since it was last sent
    poll(lambda: not am_alerts(stack.am, "BackupLate"), "BackupLate resolved in Alertmanager")


def test_an_alertmanager_webhook_shows_up_in_eduops(stack: Stack) -> None:
    now = time.time()
    body = [
        {
            "labels": {"alertname": "NodeDown", "instance": "n1:9100", "severity": "critical"},
            "annotations": {"summary": "node n1 down"},
            "startsAt": datetime.fromtimestamp(now - 30, UTC).isoformat(),
        }
    ]
    assert requests.post(stack.am.url + "/api/v2/alerts", json=body, timeout=10).status_code == 200

    def taken_in() -> list[dict]:  # type: ignore[type-arg]
        return [a for a in current_alerts(stack.ws.engine) if a["alertname"] == "NodeDown"]

    [got] = poll(taken_in, "NodeDown in eduops", 30)
    assert got["state"] == "firing" and got["rule"] == "alertmanager/eduops"
    assert got["labels"]["instance"] == "n1:9100" and got["annotations"]["summary"] == "node n1 down"
    assert datetime.fromisoformat(got["fired_at"]).timestamp() == pytest.approx(now - 30, abs=1)
    body[0]["endsAt"] = datetime.fromtimestamp(now, UTC).isoformat()
    assert requests.post(stack.am.url + "/api/v2/alerts", json=body, timeout=10).status_code == 200
    poll(lambda: taken_in()[0]["state"] == "inactive", "NodeDown resolved in eduops", 30)
    events = [e["event"] for e in alert_history(stack.ws.engine) if e["alertname"] == "NodeDown"]
    assert events == ["resolved", "firing"]
