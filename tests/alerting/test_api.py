"""Monitoring API, /metrics, console pages and the CLI against a real workspace."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.web.conftest import csrf_of, make_console
from typer.testing import CliRunner

from eduops.alerting.metric_store import ingest
from eduops.alerting.models import AlertState
from eduops.db import session_scope


@pytest.fixture
def console(sqlite_ws):  # type: ignore[no-untyped-def]
    c = make_console(sqlite_ws)
    from eduops.web.app import create_app

    c.app = create_app(sqlite_ws, domains=("core", "web", "alerting", "monitoring"))
    c.app.state.clock = c.clock
    now = datetime.now(UTC)
    ingest(
        sqlite_ws.engine,
        [("cpu_used_pct", {"host": "web-1"}, 40.0 + i, now - timedelta(minutes=10 - i)) for i in range(11)],
    )
    with session_scope(sqlite_ws.engine) as session:
        session.add(
            AlertState(
                fingerprint="abc123",
                rule="host/HostHighCPU",
                alertname="HostHighCPU",
                labels={"alertname": "HostHighCPU", "host": "web-1", "severity": "warning"},
                annotations={"summary": "CPU on web-1 at 97%"},
                state="firing",
                value=97.0,
                active_at=now - timedelta(minutes=6),
                fired_at=now - timedelta(minutes=1),
                escalation_level=0,
            )
        )
    return c


def test_metrics_query_api(console) -> None:  # type: ignore[no-untyped-def]
    client = console.login("viewer")
    r = client.get(
        "/api/v1/metrics/query", params={"query": "cpu_used_pct", "labels": ["host=web-1"], "since": "5m", "step": "1m"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == 'cpu_used_pct{host="web-1"}'
    assert [p[1] for p in body["series"][0]["points"]][-1] == 50.0
    bad = client.get("/api/v1/metrics/query", params={"query": "topk(3, cpu_used_pct)"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("1:1: topk() is not supported")
    assert client.get("/api/v1/metrics/query", params={"query": "x", "since": "soon"}).status_code == 400


def test_prometheus_exposition(console) -> None:  # type: ignore[no-untyped-def]
    r = console.login("viewer").get("/metrics")
    assert r.status_code == 200
    assert 'cpu_used_pct{host="web-1"} 50.0' in r.text
    assert 'eduops_alerts{alertname="HostHighCPU",state="firing"} 1.0' in r.text
    from prometheus_client.parser import text_string_to_metric_families

    assert {f.name for f in text_string_to_metric_families(r.text)} >= {"cpu_used_pct", "eduops_alerts"}


def test_alerts_api_ack_and_silences(console) -> None:  # type: ignore[no-untyped-def]
    ops = console.login("ops")
    assert [a["alertname"] for a in ops.get("/api/v1/alerts").json()] == ["HostHighCPU"]
    token = csrf_of(ops.get("/alerts").text)
    r = ops.post("/api/v1/alerts/abc123/ack", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["acked_by"] == "ops"
    r = ops.post(
        "/api/v1/silences",
        headers={"X-CSRF-Token": token},
        json={"matchers": ['alertname="HostHighCPU"'], "duration": "1h", "comment": "deploy"},
    )
    assert r.status_code == 201, r.text
    assert (
        ops.post(
            "/api/v1/silences", headers={"X-CSRF-Token": token}, json={"matchers": ["nonsense"], "comment": "x"}
        ).status_code
        == 400
    )
    assert [s["comment"] for s in ops.get("/api/v1/silences").json()] == ["deploy"]
    silence_id = r.json()["id"]
    assert ops.delete(f"/api/v1/silences/{silence_id}", headers={"X-CSRF-Token": token}).status_code == 200
    from eduops.core.audit import list_audit

    logged = [(a["actor"], a["action"], a["target"]) for a in list_audit(console.ws.engine)
              if a["action"].startswith(("alert.", "silence."))]
    assert sorted(logged) == sorted([("ops", "alert.ack", "alert:abc123"),
                                     ("ops", "silence.create", f"silence:{silence_id}"),
                                     ("ops", "silence.expire", f"silence:{silence_id}")])
    viewer = console.login("viewer")
    assert viewer.post("/api/v1/silences", json={"matchers": ['a="b"'], "comment": "x"}).status_code in (403, 401)


def test_pages_render(console) -> None:  # type: ignore[no-untyped-def]
    client = console.login("ops")
    page = client.get("/alerts")
    assert page.status_code == 200 and "HostHighCPU" in page.text and 'name="matchers"' in page.text
    assert client.get("/alerts/abc123").status_code == 200
    assert "HostHighCPU" in client.get("/rules").text
    charts = client.get("/monitoring?since=1h")
    assert charts.status_code == 200 and "plotly.min.js" in charts.text and "chart-data" in charts.text
    assert "host=web-1" in charts.text  # a link to web-1's own charts
    one = client.get("/monitoring", params={"since": "1h", "host": "web-1"})
    assert one.status_code == 200 and "chart-data" in one.text
    assert "chart-data" not in client.get("/monitoring", params={"endpoint": "nothing"}).text
    token = csrf_of(page.text)
    r = client.post(
        "/silences",
        data={
            "matchers": 'alertname="HostHighCPU" host="web-1"',
            "duration": "2h",
            "comment": "known",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    assert "known" in client.get("/alerts").text


def test_ack_link_needs_the_right_token(console) -> None:  # type: ignore[no-untyped-def]
    from eduops.alerting.format import ack_token
    from eduops.core.workspace import keyring

    client = console.login("ops")
    assert client.get("/alerts/abc123/ack", params={"token": "forged"}).status_code == 400
    ring = keyring(console.ws.settings)
    good = client.get("/alerts/abc123/ack", params={"token": ack_token(ring.keys[ring.active], "abc123")})
    assert good.status_code == 303
    assert client.get("/api/v1/alerts").json()[0]["acked_by"] == "ops"


def test_cli_rules_test_export_and_metrics(sqlite_ws, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from eduops.cli import app
    from eduops.core import console as console_mod

    monkeypatch.setattr(console_mod, "_workspace", sqlite_ws)
    runner = CliRunner()
    data = Path(__file__).parent.parent / "alerting" / "rules_data"
    ok = runner.invoke(app, ["rules", "test", str(data / "alerts_test.yml")])
    assert ok.exit_code == 0 and "SUCCESS" in ok.output
    broken = tmp_path / "t.yml"
    (tmp_path / "alerts.yml").write_text((data / "alerts.yml").read_text())
    broken.write_text((data / "alerts_test.yml").read_text().replace("severity: page", "severity: ticket"))
    failed = runner.invoke(app, ["rules", "test", str(broken)])
    assert failed.exit_code == 1 and "FAILED" in failed.output and 'severity="ticket"' in failed.output
    exported = runner.invoke(app, ["rules", "export", "--format", "prometheus"])
    assert exported.exit_code == 0 and "alert: DiskFullIn24h" in exported.output
    import yaml

    rules = {r.get("alert"): r for g in yaml.safe_load(exported.output)["groups"] for r in g["rules"]}
    assert rules["HostHighCPU"]["for"] == "5m" and rules["EndpointDown"]["labels"]["severity"] == "critical"
    now = datetime.now(UTC)
    ingest(sqlite_ws.engine, [("db_query_ms", {"db": "main"}, 12.5, now - timedelta(seconds=30))])
    q = runner.invoke(app, ["metrics", "query", "db_query_ms", "--labels", "db=main", "--since", "5m", "--json"])
    assert q.exit_code == 0, q.output
    assert json.loads(q.output)["series"][0]["points"][-1][1] == 12.5
    bad = runner.invoke(app, ["metrics", "query", "rate(x)"])
    assert bad.exit_code != 0


def test_expected_surges_api(console) -> None:  # type: ignore[no-untyped-def]
    ops = console.login("ops")
    token = csrf_of(ops.get("/alerts").text)
    r = ops.post(
        "/api/v1/surges",
        headers={"X-CSRF-Token": token},
        json={"title": "Start of term", "starts_at": "2026-09-01T08:00+08:00", "duration": "3d"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["ends_at"] == "2026-09-04T08:00:00+08:00"
    assert (
        ops.post(
            "/api/v1/surges", headers={"X-CSRF-Token": token}, json={"title": "x", "starts_at": "someday"}
        ).status_code
        == 400
    )
    assert [s["title"] for s in ops.get("/api/v1/surges").json()] == ["Start of term"]


def test_alertmanager_webhook_intake_needs_its_key_and_shows_on_the_alert_pages(console) -> None:  # type: ignore[no-untyped-def]
    from tests.alerting.test_am_webhook import am_alert, v4

    from eduops.web.apikeys import create_key

    engine = console.ws.engine
    _, key = create_key(engine, "alertmanager", ["ingest:alerts"], actor="test")
    _, read_key = create_key(engine, "dashboards", ["read"], actor="test")
    client = console.client()
    url = "/api/v1/alerts/alertmanager"
    assert client.post(url, json=v4(am_alert())).status_code == 401
    assert client.post(url, json=v4(am_alert()), headers={"Authorization": f"Bearer {read_key}"}).status_code == 403
    auth = {"Authorization": f"Bearer {key}"}
    r = client.post(url, json=v4(am_alert()), headers=auth)
    assert r.status_code == 200 and r.json() == {"firing": 1, "resolved": 0, "unchanged": 0}
    bad = client.post(url, content=b"{not json", headers=auth)
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
    wrong = client.post(url, json=v4(am_alert(status="pending")), headers=auth)
    assert wrong.status_code == 400 and "alerts[0].status" in wrong.json()["error"]
    viewer = console.login("viewer")
    listed = {a["alertname"]: a for a in viewer.get("/api/v1/alerts").json()}
    assert listed["NodeDown"]["rule"] == "alertmanager/eduops" and listed["NodeDown"]["state"] == "firing"
    page = viewer.get("/alerts")
    assert page.status_code == 200 and "NodeDown" in page.text
    ops = console.login("ops")
    fp = listed["NodeDown"]["fingerprint"]
    token = csrf_of(ops.get("/alerts").text)
    assert ops.post(f"/api/v1/alerts/{fp}/ack", headers={"X-CSRF-Token": token}).json()["acked_by"] == "ops"


def test_pages_show_a_changed_rule_file_and_a_new_sample_at_once(ws, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the parsed rules and the /monitoring charts are kept between views (service._rule_rows, panels_cache.py)
    from eduops.alerting import pipeline
    from eduops.alerting.service import rules_overview
    from eduops.web.app import create_app

    console = make_console(ws)
    console.app = create_app(ws, domains=("core", "web", "alerting", "monitoring"))
    ingest(ws.engine, [("cpu_used_pct", {"host": "web-1"}, 40.0, datetime.now(UTC) - timedelta(minutes=2))])

    rules = tmp_path / "team.yml"
    rule = "groups:\n- name: team\n  rules:\n  - alert: {name}\n    expr: cpu_used_pct > 90\n"
    rules.write_text(rule.format(name="TeamCpuHigh"))
    monkeypatch.setattr(pipeline, "default_rule_files", lambda: [rules])
    client = console.login("viewer")
    assert "TeamCpuHigh" in client.get("/rules").text
    rules_overview(console.ws)[0]["labels"]["severity"] = "changed by a caller"
    assert rules_overview(console.ws)[0]["labels"] == {}  # a caller's change leaves the kept rules alone
    rules.write_text(rule.format(name="TeamCpuHigherStill"))
    page = client.get("/rules").text
    assert "TeamCpuHigherStill" in page and "TeamCpuHigh<" not in page
    assert '"name": "web-2"' not in client.get("/monitoring?since=1h").text
    ingest(console.ws.engine, [("cpu_used_pct", {"host": "web-2"}, 10.0, datetime.now(UTC) - timedelta(minutes=1))])
    assert '"name": "web-2"' in client.get("/monitoring?since=1h").text
