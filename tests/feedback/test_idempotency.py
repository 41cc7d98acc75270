"""Feedback is safe to retry: the same external_id with the same content is the stored item (200), with
different content a 409 naming what differs; NUL characters and out-of-range times are refused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from eduops.core.principal import Principal, current_principal
from eduops.feedback.models import FeedbackItem
from eduops.feedback.service import FeedbackIn, differences, submit_once
from eduops.web.app import create_app

INGEST = Principal(name="widget-key", kind="apikey", scopes=frozenset({"ingest:feedback"}))
BODY = {"text": "视频一直卡顿", "user": "u1", "channel": "app", "external_id": "ticket-77",
        "received_at": "2026-03-01T08:00:00+08:00"}


@pytest.fixture
def client(ws) -> TestClient:
    app = create_app(ws)
    app.dependency_overrides[current_principal] = lambda: INGEST
    return TestClient(app, raise_server_exceptions=False)


def _count(ws) -> int:
    with ws.engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(FeedbackItem)) or 0)


def test_same_external_id_same_content_is_the_stored_item(client: TestClient, ws) -> None:
    first = client.post("/api/v1/feedback", json=BODY)
    again = client.post("/api/v1/feedback", json=BODY)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert _count(ws) == 1


@pytest.mark.parametrize(("change", "named"), [
    ({"text": "音频没有声音"}, "text"),
    ({"user": "u2"}, "user"),
    ({"received_at": "2026-03-01T09:00:00+08:00"}, "received_at"),
    ({"category": "payment"}, "category"),
])
def test_same_external_id_other_content_is_409(client: TestClient, ws, change: dict[str, str], named: str) -> None:
    assert client.post("/api/v1/feedback", json=BODY).status_code == 201
    answer = client.post("/api/v1/feedback", json={**BODY, **change})
    assert answer.status_code == 409
    assert f"different {named}" in answer.json()["error"]
    assert "ticket-77" in answer.json()["error"]
    assert _count(ws) == 1


def test_concurrent_retries_store_one_item(ws) -> None:
    fb = FeedbackIn.model_validate(BODY)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            item, created = submit_once(ws.engine, ws.settings, fb)
            results.append((item["id"], created))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len({i for i, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert _count(ws) == 1


@pytest.mark.parametrize(("change", "words"), [
    ({"text": "bad\u0000text"}, "text: Value error, contains a NUL character"),
    ({"user": "u\u00001"}, "user: Value error, contains a NUL character"),
    ({"received_at": "9999-12-31T23:59:59Z"}, "received_at: Value error, 9999-12-31T23:59:59+00:00 is outside"),
    ({"received_at": "0001-01-01T00:00:00Z"}, "received_at: Value error, 0001-01-01T00:00:00+00:00 is outside"),
])
def test_hostile_fields_are_refused(client: TestClient, change: dict[str, str], words: str) -> None:
    answer = client.post("/api/v1/feedback", json={**BODY, **change})
    assert answer.status_code == 422
    assert words in answer.json()["error"]


@pytest.mark.parametrize(("change", "expected"), [
    ({}, []),
    ({"text": "x"}, ["text"]),
    ({"page": "/p", "app_version": "5"}, ["page", "app_version"]),
    ({"category": None}, []),  # not sent: the category the server chose stands
    ({"received_at": None}, []),
])
def test_differences(change: dict[str, object], expected: list[str]) -> None:
    stored = FeedbackItem(text="视频一直卡顿", user="u1", channel="app", page="", app_version="",
                          category="audio_video", received_at=datetime(2026, 3, 1, 0, 0, tzinfo=UTC), attachments=[])
    fb = FeedbackIn.model_validate({**BODY, "category": "audio_video", **change})
    assert differences(fb, stored, []) == expected
