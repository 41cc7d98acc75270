"""The thin path for the xAPI document resources answers exactly as the FastAPI routes do, never reaches them,
and stays behind every middleware: real API keys (and their revocation), rate limits, request ids, headers."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from eduops.analytics import documents_api
from eduops.analytics.documents_asgi import DocumentsFastPath
from eduops.analytics.store import close_stores
from eduops.core.workspace import Workspace
from eduops.web.apikeys import create_key, revoke_key
from eduops.web.app import create_app

from . import thin_paths
from .helpers import XAPI

ACTIVITY = "https://lms.example.edu/course/a/unit-1"
AGENT = json.dumps({"mbox": "mailto:li@example.edu"})
STATE = "/xapi/activities/state"
PROFILE = "/xapi/activities/profile"
STALE = '"' + "0" * 40 + '"'
ONE = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "s"}
# method, path, parameters, body, extra headers: one conversation touching every rule of the resources
SCRIPT: list[tuple[str, str, dict[str, str], bytes, dict[str, str]]] = [
    ("GET", STATE, ONE, b"", {}),
    ("PUT", STATE, ONE, b'{"a":1}', {"If-Match": STALE}),
    ("PUT", STATE, ONE, b'{"a":1}', {}),
    ("PUT", STATE, ONE, b'{"a":2}', {}),
    ("POST", STATE, ONE, b'{"b":3}', {}),
    ("POST", STATE, ONE, b"[1]", {}),
    ("GET", STATE, ONE, b"", {}),
    ("HEAD", STATE, ONE, b"", {}),
    ("PUT", STATE, {**ONE, "stateId": "t"}, "文本".encode(), {"Content-Type": "text/plain; charset=utf-8"}),
    ("GET", STATE, {**ONE, "stateId": "t"}, b"", {}),
    ("GET", STATE, {"activityId": ACTIVITY, "agent": AGENT}, b"", {}),
    ("GET", STATE, {"activityId": ACTIVITY}, b"", {}),
    ("GET", STATE, {**ONE, "since": "2026-01-01T00:00:00Z"}, b"", {}),
    ("GET", STATE, {**ONE, "registration": "nope"}, b"", {}),
    ("PUT", STATE, ONE, b"x" * 2001, {}),
    ("GET", STATE, ONE, b"", {"X-Experience-API-Version": "0.9"}),
    ("PUT", PROFILE, {"activityId": ACTIVITY, "profileId": "p"}, b"{}", {}),
    ("PUT", PROFILE, {"activityId": ACTIVITY, "profileId": "p"}, b"{}", {}),
    ("DELETE", STATE, ONE, b"", {"If-Match": STALE}),
    ("DELETE", STATE, ONE, b"", {}),
    ("DELETE", STATE, {"activityId": ACTIVITY, "agent": AGENT}, b"", {}),
    ("GET", STATE, {"activityId": ACTIVITY, "agent": AGENT}, b"", {}),
    ("OPTIONS", STATE, ONE, b"", {}),
]
COMPARED = ("content-type", "etag", "x-experience-api-version", "www-authenticate", "content-security-policy",
            "content-length", "connection", "allow")


def run_script(client: TestClient) -> list[tuple[int, dict[str, str], bytes]]:
    answers = []
    for method, path, params, body, headers in SCRIPT:
        got = client.request(method, path, params=params, content=body or None,
                             headers={**XAPI, "Content-Type": "application/json", **headers})
        answers.append((got.status_code, {k: got.headers[k] for k in COMPARED if k in got.headers}, got.content))
    return answers


def app_as(ws: Workspace, scopes: tuple[str, ...], fast: bool, routed: list[str]) -> FastAPI:
    """The app with a caller holding ``scopes``; without the thin path when not ``fast``. ``routed`` records
    every request FastAPI's document routes saw."""
    return thin_paths.app_as(ws, scopes, None if fast else DocumentsFastPath, routed, documents_api.check_version)


@pytest.fixture
def small_documents(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EDUOPS_EVENTS__MAX_DOCUMENT_BYTES", "2000")
    yield
    close_stores()


@pytest.mark.parametrize("scopes", [("ingest:xapi",), ("xapi:state",), ()])
def test_the_thin_path_answers_as_the_routes_do_without_reaching_them(sqlite_ws: Workspace, small_documents: None,
                                                                      scopes: tuple[str, ...]) -> None:
    import sqlalchemy as sa

    from eduops.analytics.models import XapiDocument

    answers = {}
    for fast in (True, False):
        routed: list[str] = []
        with sqlite_ws.engine.begin() as conn:
            conn.execute(sa.delete(XapiDocument.__table__))  # type: ignore[arg-type]
        with TestClient(app_as(sqlite_ws, scopes, fast, routed)) as client:
            answers[fast] = run_script(client)
        if fast:
            assert routed == [], routed  # every document request was answered before FastAPI's routing
        elif "ingest:xapi" in scopes:
            assert len(routed) > 10
    for step, (fast_answer, routed_answer) in enumerate(zip(answers[True], answers[False], strict=True)):
        assert fast_answer == routed_answer, (SCRIPT[step][:3], fast_answer, routed_answer)
    statuses = [status for status, _, _ in answers[True]]
    if scopes == ("ingest:xapi",):  # the script means what it says
        assert statuses == [404, 412, 204, 204, 204, 400, 200, 200, 204, 200, 200, 400, 400, 400, 413, 400, 204,
                            409, 412, 204, 204, 200, 405]
    if scopes == ("xapi:state",):
        assert statuses[16:18] == [403, 403]
    if not scopes:
        assert set(statuses[:-1]) <= {400, 401} and answers[True][0][1]["www-authenticate"].startswith("Basic")


def test_real_keys_revocation_rate_limits_and_request_ids_apply(sqlite_ws: Workspace,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUOPS_SECURITY__STATE_RATE_LIMIT_PER_KEY", "6/minute")  # State saves: their own budget
    _info, key = create_key(sqlite_ws.engine, "content", ["xapi:state"], actor="test")
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(), **XAPI}
    with TestClient(create_app(sqlite_ws)) as client:
        put = client.put(STATE, params=ONE, content=b"{}", headers={**basic, "X-Request-Id": "lms-42"})
        assert put.status_code == 204 and put.headers["x-request-id"] == "lms-42"
        got = client.get(STATE, params=ONE, headers=basic)
        assert got.status_code == 200 and got.headers["cache-control"] == "no-store"
        assert got.headers["x-content-type-options"] == "nosniff"
        revoke_key(sqlite_ws.engine, key.split("_")[1], actor="test")
        assert client.get(STATE, params=ONE, headers=basic).status_code == 401
        statuses = [client.get(STATE, params=ONE, headers=basic).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]  # the seventh request of the key within a minute
