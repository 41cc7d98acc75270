"""Core HTTP API: health, calendar, runs, reports, sign-off; clear errors, never a 500."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from eduops.config import TaskOverride
from eduops.core.calendar import sync_tasks
from eduops.core.principal import Principal, current_principal
from eduops.core.runs import run_task
from eduops.web.app import create_app


@pytest.fixture
def client(ws):
    sync_tasks(ws.engine, ws.settings)
    app = create_app(ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="olga", kind="user", role="ops")
    with TestClient(app) as c:
        yield c


def test_health_and_calendar(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    keys = [e["key"] for e in client.get("/api/v1/calendar").json()]
    assert len(keys) == 11 and "restore-drill" in keys


def test_run_now_runs_in_the_background_and_shows_up(client: TestClient, ws) -> None:
    ws.settings.tasks["content-audit"] = TaskOverride(checks=["nothere.check"])
    answer = client.post("/api/v1/calendar/content-audit/run")
    assert answer.status_code == 202
    run_id = answer.json()["id"]
    deadline = time.monotonic() + 20
    while (run := client.get(f"/api/v1/runs/{run_id}").json())["status"] == "running":
        assert time.monotonic() < deadline, "run did not finish"
        time.sleep(0.05)
    assert run["status"] == "skipped" and run["triggered_by"] == "olga"
    assert run_id in [r["id"] for r in client.get("/api/v1/runs", params={"task": "content-audit"}).json()]
    report = client.get(f"/api/v1/runs/{run_id}/report", params={"format": "md"})
    assert report.status_code == 200 and "nothere.check" in report.text


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("get", "/api/v1/runs/424242", 404, "no run 424242"),
        ("post", "/api/v1/calendar/not-a-task/run", 404, "no calendar task"),
        ("get", "/api/v1/runs?limit=0", 422, "limit"),
        ("get", "/api/v1/runs/abc", 422, "run_id"),
        ("get", "/api/v1/runs/1/report?format=pdf", 422, "format"),
    ],
)
def test_bad_requests_get_clear_errors(client: TestClient, method: str, path: str, status: int, words: str) -> None:
    answer = getattr(client, method)(path)
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_sign_off_only_for_tasks_that_take_one(client: TestClient, ws) -> None:
    ws.settings.tasks["quarterly-drill"] = TaskOverride(checks=[])
    ws.settings.tasks["backup"] = TaskOverride(checks=[])
    drill = run_task(ws.engine, ws.settings, "quarterly-drill")
    backup = run_task(ws.engine, ws.settings, "backup")
    signed = client.post(f"/api/v1/runs/{drill}/sign-off", json={"comment": "journal reviewed"})
    assert signed.status_code == 200 and signed.json()["signed_off_by"] == "olga"
    refused = client.post(f"/api/v1/runs/{backup}/sign-off", json={})
    assert refused.status_code == 409


def test_unauthenticated_callers_get_401(ws) -> None:
    with TestClient(create_app(ws)) as c:
        assert c.get("/api/v1/calendar").status_code == 401
