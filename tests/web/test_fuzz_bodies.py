"""Property tests: generated xAPI statements, rtc reports and feedback bodies (shapes the routes know,
values of any type and size) never get a 5xx; each answer is a 2xx or a 4xx with a message."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eduops.analytics.store import close_stores
from eduops.core.principal import Principal, current_principal
from eduops.core.workspace import Workspace
from eduops.web.app import create_app

EXAMPLES = int(os.environ.get("EDUOPS_FUZZ_EXAMPLES", "40"))
EVERYTHING = Principal(name="fuzz-key", kind="apikey",
                       scopes=frozenset({"admin", "ingest:rtc", "ingest:xapi", "ingest:feedback"}))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64), finite,
    st.text(max_size=40), st.sampled_from(["", "\u0000", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                                           "2026-03-02T09:00:00+24:00", "yes", "NaN", "1e400", "-1", "PT1H"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                      max_leaves=12)
times = st.one_of(st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()), scalars)


def _fields(known: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict of the known fields, each present or not, each of its type or of any type."""
    return st.fixed_dictionaries({}, optional={k: st.one_of(v, values) for k, v in known.items()})


rtc_item = _fields({
    "type": st.sampled_from(["call", "session", "sample", "ai_turn", "other"]),
    "call_id": st.text(max_size=200), "user_id": st.text(max_size=20), "scenario": st.sampled_from(["live_class"]),
    "start": times, "ts": times, "joined_at": times, "interval_s": finite, "rtt_ms": finite,
    "join_ok": st.booleans(), "join_ms": st.integers(), "format": st.sampled_from(["w3c", "agora", "trtc"]),
    "stats": values, "frame_times_ms": st.lists(finite, max_size=5), "turn": st.integers(),
})
feedback = _fields({
    "text": st.text(max_size=300), "user": st.text(max_size=20), "channel": st.sampled_from(["app", "web", "api"]),
    "external_id": st.text(max_size=10), "received_at": times, "category": st.sampled_from(["login", "payment"]),
    "attachments": st.lists(_fields({"name": st.text(max_size=10), "content_base64": st.text(max_size=20)}),
                            max_size=2),
})
agent = _fields({"objectType": st.just("Agent"), "mbox": st.just("mailto:a@example.com"), "name": st.text()})
statement = _fields({
    "id": st.uuids().map(str), "actor": agent,
    "verb": _fields({"id": st.just("http://adlnet.gov/expapi/verbs/completed"), "display": values}),
    "object": _fields({"id": st.just("https://example.com/course/1"), "objectType": st.just("Activity"),
                       "definition": _fields({"extensions": values, "name": values})}),
    "timestamp": times, "result": _fields({"duration": st.text(max_size=12), "score": values,
                                           "extensions": values}),
    "context": _fields({"extensions": values, "registration": st.uuids().map(str)}),
})


@pytest.fixture
def client(sqlite_ws: Workspace) -> Iterator[TestClient]:
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: EVERYTHING
    with TestClient(app, raise_server_exceptions=False, headers={"x-experience-api-version": "1.0.3"}) as c:
        yield c
    close_stores()


def _no_5xx(answer: Any, body: Any) -> None:
    assert answer.status_code < 500, f"{answer.text[:300]} for {body!r}"[:2000]
    if answer.status_code >= 400:
        assert answer.json()["error"]


@FUZZ
@given(body=st.one_of(st.lists(rtc_item, max_size=5).map(lambda items: {"items": items}), values))
def test_rtc_reports(client: TestClient, body: Any) -> None:
    _no_5xx(client.post("/api/v1/rtc/reports", json=body), body)


@FUZZ
@given(body=st.one_of(feedback, values))
def test_feedback(client: TestClient, body: Any) -> None:
    _no_5xx(client.post("/api/v1/feedback", json=body), body)


@FUZZ
@given(body=st.one_of(statement, st.lists(statement, max_size=3), values))
def test_xapi_statements(client: TestClient, body: Any) -> None:
    _no_5xx(client.post("/xapi/statements", json=body), body)
