"""Releases over HTTP: records, a check started in the background, the pages; journey settings validate."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from eduops.core.principal import Principal, current_principal
from eduops.release.journeys import ReleaseSettings, Step
from eduops.web.app import create_app

OPS = Principal(name="olga", kind="user", role="ops")


@pytest.fixture
def client(ws):
    app = create_app(ws)
    app.dependency_overrides[current_principal] = lambda: OPS
    return TestClient(app)


def test_release_records_and_a_background_check(client: TestClient) -> None:
    made = client.post("/api/v1/releases", json={"version": "5.3.0", "changes": ["课堂页改版"]})
    assert made.status_code == 201 and made.json()["status"] == "planned"
    assert client.post("/api/v1/releases", json={"version": "5.3.0"}).status_code == 409
    assert client.post("/api/v1/releases", json={"version": ""}).status_code == 400
    assert client.post("/api/v1/releases", json={"version": "x", "deployed_at": "yesterday"}).status_code == 422
    deployed = client.post("/api/v1/releases/5.3.0/deployed").json()
    assert deployed["status"] == "deployed" and "check_run_id" not in deployed  # no platform configured
    started = client.post("/api/v1/releases/5.3.0/check?phase=pre")
    assert started.status_code == 202
    run_id = started.json()["id"]
    deadline = time.monotonic() + 20
    while client.get(f"/api/v1/runs/{run_id}").json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    release = client.get("/api/v1/releases/5.3.0").json()
    assert release["pre_run"]["status"] == "skipped"  # no [release] base_url configured
    assert client.post("/api/v1/releases/5.3.0/check?phase=later").status_code == 400
    assert client.get("/api/v1/releases/9.9.9").status_code == 404
    for path in ("/releases", "/releases/5.3.0"):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "step",
    [
        {"action": "goto"},
        {"action": "click"},
        {"action": "expect_attr", "selector": "#p", "value": "x"},
        {"action": "expect_url"},
        {"action": "dance", "selector": "#x"},
    ],
)
def test_bad_journey_steps_are_refused(step: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Step(**step)


def test_default_journeys_cover_the_five_user_paths() -> None:
    names = [j.name for j in ReleaseSettings().journeys]
    assert names == ["login", "open-course", "play-video", "class-page", "submit-quiz"]
