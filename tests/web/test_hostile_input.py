"""Hostile bodies through the whole app: every one is a 4xx with a message, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from eduops.core.principal import Principal, current_principal
from eduops.core.workspace import Workspace
from eduops.web.app import create_app

EVERYTHING = Principal(name="root-key", kind="apikey",
                       scopes=frozenset({"admin", "ingest:rtc", "ingest:xapi", "ingest:feedback"}))
DEEP_LIST = b"[" * 100_000
DEEP_OBJECT = b'{"a":' * 5000
HUGE_FIELD_CSV = ("text,code,kind,title\n" + "x" * 131_073 + ",c1,video,t\n").encode()
JSON_ROUTES = ["/api/v1/rtc/reports", "/api/v1/feedback", "/api/v1/silences", "/api/v1/surges",
               "/api/v1/releases", "/api/v1/content/assets", "/api/v1/content/syllabi", "/xapi/statements"]


@pytest.fixture
def client(sqlite_ws: Workspace) -> Iterator[TestClient]:
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: EVERYTHING
    with TestClient(app, raise_server_exceptions=False,
                    headers={"x-experience-api-version": "1.0.3"}) as client:
        yield client


@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(("body", "words"), [
    (DEEP_LIST, "nested more than 64"),
    (DEEP_OBJECT, "nested more than 64"),
    (b"matchers=a&duration=2h", "not JSON"),
    (b"", "empty"),
])
def test_json_routes_refuse_hostile_json_with_400(client: TestClient, path: str, body: bytes, words: str) -> None:
    answer = client.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text[:300]
    assert words in answer.json()["error"] or path == "/xapi/statements"


@pytest.mark.parametrize("path", ["/api/v1/feedback/import", "/api/v1/content/assets"])
def test_csv_field_over_the_limit_is_400(client: TestClient, path: str) -> None:
    answer = client.post(path, content=HUGE_FIELD_CSV, headers={"content-type": "text/csv"})
    assert answer.status_code == 400, answer.text[:300]
    assert "longer than 131072 characters" in answer.json()["error"]


@pytest.mark.parametrize("path", ["/api/v1/silences", "/api/v1/surges", "/api/v1/releases"])
def test_a_json_list_where_an_object_belongs_is_400(client: TestClient, path: str) -> None:
    answer = client.post(path, json=[1, 2])
    assert answer.status_code == 400
    assert "must be a JSON object" in answer.json()["error"]
