"""Feedback over HTTP: intake with the ingest scope, limits, support answers, clusters and work items."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from eduops.core.principal import Principal, current_principal
from eduops.db import utcnow
from eduops.feedback.analysis import recluster, record_sla_metric
from eduops.feedback.service import FeedbackIn, open_breaches, store
from eduops.web.app import create_app

INGEST = Principal(name="widget-key", kind="apikey", scopes=frozenset({"ingest:feedback"}))
SUPPORT = Principal(name="sam", kind="user", role="support")
OPS = Principal(name="olga", kind="user", role="ops")
ADMIN = Principal(name="ada", kind="user", role="admin")


@pytest.fixture
def app(ws):
    app = create_app(ws)
    app.state.principal = INGEST
    app.dependency_overrides[current_principal] = lambda: app.state.principal
    return app


def as_(app, who: Principal) -> TestClient:
    app.state.principal = who
    return TestClient(app)


def test_intake_stores_feedback_with_category_and_clock(app, ws) -> None:
    client = as_(app, INGEST)
    answer = client.post(
        "/api/v1/feedback",
        json={"text": "收不到登录验证码，登录不了", "user": "u1", "channel": "app", "app_version": "5.3.0"},
    )
    assert answer.status_code == 201, answer.text
    item = answer.json()
    assert (item["category"], item["complaint"], item["sla"]) == ("login", True, "pending")
    assert item["minutes_left"] == pytest.approx(120, abs=1)
    praise = client.post("/api/v1/feedback", json={"text": "老师讲得很好，谢谢"}).json()
    assert (praise["category"], praise["first_response_due_at"]) == ("praise", None)
    # a support person sees it, and reading is not allowed with the ingest key alone
    assert client.get("/api/v1/feedback").status_code == 403
    queue = as_(app, SUPPORT).get("/api/v1/feedback").json()
    assert [i["id"] for i in queue][0] == item["id"]


def test_attachments_multipart_and_limits(app, ws) -> None:
    client = as_(app, INGEST)
    ok = client.post(
        "/api/v1/feedback",
        data={"text": "画面卡顿", "user": "u2"},
        files={"attachments": ("screen.png", b"\x89PNG" + b"0" * 100, "image/png")},
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["attachments"] == [{"name": "screen.png", "size_bytes": 104, "media_type": "image/png"}]
    big = client.post(
        "/api/v1/feedback",
        data={"text": "画面卡顿"},
        files={"attachments": ("big.bin", b"0" * (5 * 1024 * 1024 + 1), "application/octet-stream")},
    )
    assert big.status_code == 413 and "limit" in big.json()["error"]
    b64 = client.post(
        "/api/v1/feedback",
        json={
            "text": "x",
            "attachments": [
                {"name": "a.txt", "content_base64": base64.b64encode(b"0" * (5 * 1024 * 1024 + 1)).decode()}
            ],
        },
    )
    assert b64.status_code == 413


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"user": "u"}, 422, "text"),
        ({"text": ""}, 422, "text"),
        ({"text": "ok", "channel": "pigeon"}, 422, "channel"),
        ({"text": "ok", "category": "weather"}, 422, "category"),
        ({"text": "ok", "surprise": 1}, 422, "surprise"),
        ({"text": "x" * 5001}, 413, "limit"),
        ([1, 2], 422, "object"),
    ],
)
def test_bad_intake_is_refused_clearly(app, body: object, status: int, words: str) -> None:
    answer = as_(app, INGEST).post("/api/v1/feedback", json=body)
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_answer_stops_the_clock_and_breaches_are_counted(app, ws) -> None:
    now = utcnow()
    late, answered = store(
        ws.engine,
        ws.settings,
        [
            (FeedbackIn(text="支付失败，钱扣了", user="u3", received_at=now - timedelta(hours=3)), []),
            (FeedbackIn(text="视频卡顿", user="u4", received_at=now - timedelta(hours=1)), []),
        ],
    )
    client = as_(app, SUPPORT)
    reply = client.post(f"/api/v1/feedback/{answered['id']}/reply", json={"text": "正在处理，请稍候"})
    assert reply.status_code == 200
    assert (reply.json()["status"], reply.json()["sla"]) == ("answered", "met")
    assert [b["id"] for b in open_breaches(ws.engine)] == [late["id"]]
    assert record_sla_metric(ws.engine) == 1
    detail = client.get(f"/api/v1/feedback/{answered['id']}").json()
    assert detail["replies"][0]["author"] == "sam"
    # a technical complaint carries the call-quality evidence, or the reason there is none
    assert detail["call_quality"]["available"] in (True, False)
    assert client.post(f"/api/v1/feedback/{late['id']}/reply", json={"text": "  "}).status_code == 422
    closed = client.post(f"/api/v1/feedback/{late['id']}/reply", json={"text": "已退款", "close": True}).json()
    assert closed["status"] == "closed" and closed["sla"] == "breached"
    assert client.post(f"/api/v1/feedback/{late['id']}/reply", json={"text": "again"}).status_code == 409
    assert client.get("/api/v1/feedback/99999").status_code == 404


def test_work_items_from_clusters_and_alerts_follow_the_policy(app, ws) -> None:
    texts = ["登录不上，验证码收不到"] * 4 + ["希望增加倍速播放功能"] * 4
    store(ws.engine, ws.settings, [(FeedbackIn(text=t, user=f"u{i}"), []) for i, t in enumerate(texts)])
    recluster(ws.engine, ws.settings)
    clusters = {c["category"]: c for c in as_(app, OPS).get("/api/v1/feedback/clusters").json()}
    client = as_(app, SUPPORT)
    login = client.post("/api/v1/work-items", json={"cluster_id": clusters["login"]["id"]}).json()
    assert (login["priority"], login["track"], login["function"], login["requesters"]) == ("P0", "fix-now", "login", 4)
    feature = client.post("/api/v1/work-items", json={"cluster_id": clusters["feature_request"]["id"]}).json()
    assert (feature["kind"], feature["priority"], feature["track"]) == ("feature", "P3", "backlog")
    manual = client.post("/api/v1/work-items", json={"title": "导出错题本", "kind": "feature", "requesters": 45}).json()
    assert (manual["priority"], manual["track"]) == ("P2", "evaluate")
    assert client.post("/api/v1/work-items", json={"title": "x", "kind": "chore"}).status_code == 422
    alert = as_(app, OPS).post(
        "/api/v1/work-items/from-alert",
        json={"alertname": "PaymentErrorRateHigh", "labels": {"severity": "crit"}, "summary": "5% of orders fail"},
    )
    assert alert.status_code == 201 and alert.json()["priority"] == "P0"
    assert as_(app, SUPPORT).post("/api/v1/work-items/from-alert", json={"alertname": "x"}).status_code == 403
    shipped = as_(app, OPS).patch(f"/api/v1/work-items/{login['id']}", json={"status": "done", "release": "5.3.1"})
    assert shipped.json()["release"] == "5.3.1"
    assert [w["id"] for w in as_(app, OPS).get("/api/v1/work-items?release=5.3.1").json()] == [login["id"]]


def test_csv_import_and_pages_render(app, ws) -> None:
    csv_body = "id,user,text\nx1,u1,视频卡顿\nx2,u2,登录失败\n".encode()
    client = as_(app, ADMIN)
    assert (
        client.post("/api/v1/feedback/import", content=csv_body, headers={"content-type": "text/csv"}).json()[
            "imported"
        ]
        == 2
    )
    assert (
        client.post("/api/v1/feedback/import", content=b"user\nu1\n", headers={"content-type": "text/csv"}).status_code
        == 400
    )
    for path in ("/feedback/clusters", "/feedback/support", "/work-items", "/feedback/items/1"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    widget = client.get("/feedback/static/widget.js")
    assert widget.status_code == 200 and "/api/v1/feedback" in widget.text


def test_serve_keeps_the_sla_breach_metric_fresh(ws, monkeypatch) -> None:
    import time

    import sqlalchemy as sa

    from eduops.alerting.models import MetricSample, MetricSeries
    from eduops.db import session_scope

    monkeypatch.setenv("EDUOPS_FEEDBACK__SLA_CHECK_SECONDS", "0.05")
    store(ws.engine, ws.settings, [(FeedbackIn(text="登录不上", received_at=utcnow() - timedelta(hours=5)), [])])
    query = (
        sa.select(MetricSample.value)
        .join(MetricSeries, MetricSeries.id == MetricSample.series_id)
        .where(MetricSeries.name == "feedback_sla_breaches_open")
    )
    with TestClient(create_app(ws)):
        deadline = time.monotonic() + 10
        while True:
            with session_scope(ws.engine) as session:
                values = session.scalars(query).all()
            if values:
                break
            assert time.monotonic() < deadline, "the SLA metric was never recorded"
            time.sleep(0.05)
    assert values[0] == 1.0
