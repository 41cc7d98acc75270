"""The thin path for POST /xapi/statements answers exactly as the FastAPI route does, never reaches it, and
stays behind every middleware: real API keys, rate limits, request ids, the xAPI headers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from eduops.analytics import xapi_api
from eduops.analytics.statements_asgi import StatementsFastPath
from eduops.analytics.store import close_stores
from eduops.core.workspace import Workspace
from eduops.web.apikeys import create_key
from eduops.web.app import create_app

from . import thin_paths
from .helpers import XAPI, day, statement

URL = "/xapi/statements"
IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(6)]
GOOD = [statement("li", "launched", day(0), id=IDS[0]), statement("wang", "completed", day(1), id=IDS[1])]
# body, extra headers: one conversation touching every rule of POST /xapi/statements
SCRIPT: list[tuple[bytes, dict[str, str]]] = [
    (json.dumps(GOOD).encode(), {}),
    (json.dumps(GOOD).encode(), {}),  # the same statements again: accepted, the same ids
    (json.dumps(dict(GOOD[0], verb={"id": "http://adlnet.gov/expapi/verbs/failed"})).encode(), {}),  # 409
    (json.dumps(statement("zhao", "launched", day(2), id=IDS[2])).encode(), {}),  # a single statement
    (json.dumps([statement("a", "launched", day(0), id=IDS[3])] * 2).encode(), {}),  # an id twice: 400
    (json.dumps([statement("a", "launched", day(0), id=IDS[4]) for _ in range(3)]).encode(), {}),  # > max_batch
    (json.dumps({**statement("li", "launched", day(0)), "actor": {"mbox": "li"}}).encode(), {}),  # names the field
    (b"{not json", {}),
    (b"[]", {}),
    (json.dumps(GOOD).encode(), {"X-Experience-API-Version": "0.9"}),
    (json.dumps(GOOD).encode(), {"Content-Type": "text/plain"}),
    (json.dumps(statement("qian", "launched", day(3), id=IDS[5])).encode(), {"X-Request-Id": "lms-7"}),
]
COMPARED = ("content-type", "x-experience-api-version", "www-authenticate", "content-security-policy",
            "content-length", "cache-control")


def run_script(client: TestClient) -> list[tuple[int, dict[str, str], bytes]]:
    answers = []
    for body, headers in SCRIPT:
        got = client.post(URL, content=body, headers={**XAPI, "Content-Type": "application/json", **headers})
        compared = (*COMPARED, "x-request-id") if "X-Request-Id" in headers else COMPARED  # else a new one each time
        answers.append((got.status_code, {k: got.headers[k] for k in compared if k in got.headers}, got.content))
    return answers


def app_as(ws: Workspace, scopes: tuple[str, ...], fast: bool, routed: list[str]) -> FastAPI:
    """The app with a caller holding ``scopes``; without the thin path when not ``fast``. ``routed`` records
    every request FastAPI's statements route saw."""
    return thin_paths.app_as(ws, scopes, None if fast else StatementsFastPath, routed, xapi_api.version_required)


@pytest.mark.parametrize("scopes", [("ingest:xapi",), ("read",)])
def test_the_thin_path_answers_as_the_route_does_without_reaching_it(sqlite_ws: Workspace, scopes: tuple[str, ...],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUOPS_EVENTS__MAX_BATCH", "2")
    answers: dict[bool, list[Any]] = {}
    for fast in (True, False):
        routed: list[str] = []
        with TestClient(app_as(sqlite_ws, scopes, fast, routed)) as client:
            answers[fast] = run_script(client)
        close_stores()
        (sqlite_ws.settings.home / "events.duckdb").unlink(missing_ok=True)  # the routed run starts empty too
        if fast:
            assert routed == [], routed  # every statement POST was answered before FastAPI's routing
        else:
            assert len(routed) == len(SCRIPT)
    for step, (fast_answer, routed_answer) in enumerate(zip(answers[True], answers[False], strict=True)):
        assert fast_answer == routed_answer, (step, fast_answer, routed_answer)
    statuses = [status for status, _, _ in answers[True]]
    if scopes == ("ingest:xapi",):  # the script means what it says
        assert statuses == [200, 200, 409, 200, 400, 413, 400, 400, 400, 400, 400, 200]
        assert json.loads(answers[True][0][2]) == IDS[:2] and answers[True][-1][1]["x-request-id"] == "lms-7"
        assert "actor" in json.loads(answers[True][6][2])["error"]
    else:
        assert statuses[:4] == [403] * 4


def test_real_keys_and_rate_limits_apply(sqlite_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUOPS_SECURITY__INGEST_RATE_LIMIT_PER_KEY", "3/minute")
    _info, key = create_key(sqlite_ws.engine, "lms", ["ingest:xapi"], actor="test")
    basic = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(), **XAPI}
    with TestClient(create_app(sqlite_ws)) as client:
        statuses = [client.post(URL, json=statement("li", "launched", day(0)), headers=basic).status_code
                    for _ in range(4)]
        assert statuses == [200, 200, 200, 429]  # the fourth request of the key within a minute
        wrong = {**XAPI, "Authorization": "Basic " + base64.b64encode(b"eduk_nope_nope:").decode()}
        refused = client.post(URL, json=statement("li", "launched", day(0)), headers=wrong)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
        assert refused.headers["x-experience-api-version"] == "1.0.3"
    close_stores()
