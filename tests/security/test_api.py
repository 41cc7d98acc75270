"""Security over HTTP: latest scan, history with trend, the console page, permissions, rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from eduops.core.checks import Finding
from eduops.core.principal import Principal, current_principal
from eduops.security.service import AreaResult, ScanReport, save
from eduops.web.app import create_app

VIEWER = Principal(name="vic", kind="user", role="viewer")


def seed(engine, weeks: int = 3) -> None:
    now = datetime.now(UTC)
    for i in range(weeks):
        score = 50.0 + 15 * i
        areas = {"headers": AreaResult("headers", [Finding("warn", "Content-Security-Policy: header not set",
                                                           "https://school.example/",
                                                           "Content-Security-Policy: default-src 'self'")],
                                       score),
                 "tls": AreaResult("tls", [], 100.0)}
        save(engine, ScanReport(now - timedelta(days=7 * (weeks - 1 - i)), areas, (score + 100) / 2))


@pytest.fixture
def client(sqlite_ws):
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: VIEWER
    return TestClient(app)


def test_latest_history_and_page(client, sqlite_ws) -> None:
    assert client.get("/api/v1/security/latest").status_code == 404
    seed(sqlite_ws.engine)
    latest = client.get("/api/v1/security/latest").json()
    assert latest["scores"] == {"headers": 80.0, "tls": 100.0}
    assert latest["findings"][0]["remedy"].startswith("Content-Security-Policy")
    history = client.get("/api/v1/security/history").json()
    assert [p["score"] for p in history["points"]] == [75.0, 82.5, 90.0]
    assert history["week_over_week"]["overall"] == 7.5 and history["week_over_week"]["headers"] == 15.0
    page = client.get("/security", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert 'id="security-trend"' in page.text and "Content-Security-Policy" in page.text
    assert "+15 on last week" in page.text
    zh = client.get("/security", headers={"accept-language": "zh-CN"})
    assert "安全" in zh.text


def test_scan_needs_ops(client) -> None:
    assert client.post("/api/v1/security/scan").status_code == 403


def test_rate_limit_is_installed_on_the_api(sqlite_ws) -> None:
    sqlite_ws.settings.model_extra["security"] = {"rate_limit_per_ip": "2/minute"}
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: VIEWER
    with TestClient(app) as c:
        codes = [c.get("/api/v1/security/history").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_ops_can_scan_now(sqlite_ws) -> None:
    sqlite_ws.settings.model_extra["security"] = {"scan_installed_python": False, "check_patches": False}
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="olga", kind="user", role="ops")
    answer = TestClient(app).post("/api/v1/security/scan", params={"areas": "access,ports"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["areas"]["ports"]["skipped"] and "access" in body["scores"]
    bad = TestClient(app).post("/api/v1/security/scan", params={"areas": "everything"})
    assert bad.status_code == 400 and "unknown area" in bad.text
