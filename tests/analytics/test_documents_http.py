"""The xAPI document resources over HTTP, on SQLite and PostgreSQL: State, Activity Profile, Agent Profile,
Agents and Activities; ETags and preconditions; merge; ids and since; DELETE; size limit; a race on If-Match."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from eduops.analytics import documents
from eduops.analytics.documents import Conditions, DocumentRef, PreconditionFailed
from eduops.analytics.store import close_stores
from eduops.core.workspace import Workspace

from .conftest import client_as
from .helpers import XAPI, day, statement

ACTIVITY = "https://lms.example.edu/course/a/unit-1"
AGENT = json.dumps({"objectType": "Agent", "mbox": "mailto:li@example.edu"})
REG = "6e8a1a0e-6f0a-4d8e-9f3c-1f2a3b4c5d6e"
STATE = "/xapi/activities/state"
ACTIVITY_PROFILE = "/xapi/activities/profile"
AGENT_PROFILE = "/xapi/agents/profile"
# resource -> (path, parameters of one document without its id, the id parameter)
RESOURCES = {
    "state": (STATE, {"activityId": ACTIVITY, "agent": AGENT}, "stateId"),
    "activity_profile": (ACTIVITY_PROFILE, {"activityId": ACTIVITY}, "profileId"),
    "agent_profile": (AGENT_PROFILE, {"agent": AGENT}, "profileId"),
}


@pytest.fixture
def client(ws: Workspace) -> Iterator[TestClient]:
    with client_as(ws, "ingest:xapi", "read") as c:
        yield c
    close_stores()


def quoted(content: bytes) -> str:
    return f'"{hashlib.sha1(content).hexdigest()}"'


def send(client: TestClient, method: str, resource: str, doc_id: str | None, content: bytes = b"",
         content_type: str = "application/json", **headers: str) -> Any:
    path, params, id_name = RESOURCES[resource]
    query = {**params, **({id_name: doc_id} if doc_id is not None else {})}
    return client.request(method, path, params=query, content=content or None,
                          headers={**XAPI, "Content-Type": content_type, **headers})


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_a_document_is_stored_and_returned_with_its_content_type_etag_and_date(client: TestClient,
                                                                               resource: str) -> None:
    content = "进度 42 %".encode()
    put = send(client, "PUT", resource, "doc-1", content, "text/plain; charset=utf-8")
    assert put.status_code == 204, put.text
    got = send(client, "GET", resource, "doc-1")
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    assert got.headers["etag"] == quoted(content)
    assert got.headers["x-experience-api-version"] == "1.0.3"
    assert abs(datetime.strptime(got.headers["last-modified"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
               - datetime.now(UTC)) < timedelta(minutes=1)
    head = send(client, "HEAD", resource, "doc-1")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    missing = send(client, "GET", resource, "nope")
    assert missing.status_code == 404 and missing.headers["x-experience-api-version"] == "1.0.3"


def test_state_is_overwritten_without_headers_profiles_are_409(client: TestClient) -> None:
    for resource, status in (("state", 204), ("activity_profile", 409), ("agent_profile", 409)):
        assert send(client, "PUT", resource, "d", b'{"v":1}').status_code == 204
        again = send(client, "PUT", resource, "d", b'{"v":2}')
        assert again.status_code == status, resource
        expected = b'{"v":2}' if status == 204 else b'{"v":1}'
        assert send(client, "GET", resource, "d").content == expected
        if status == 409:
            assert "If-Match" in again.json()["error"]


PRECONDITIONS = [  # headers of a PUT over the stored document {"v":1} (None: no document stored) -> status
    ({"If-Match": quoted(b'{"v":1}')}, True, 204),
    ({"If-Match": '"' + "0" * 40 + '"'}, True, 412),
    ({"If-Match": "*"}, True, 204),
    ({"If-Match": "*"}, False, 412),
    ({"If-Match": quoted(b'{"v":1}')}, False, 412),
    ({"If-None-Match": "*"}, True, 412),
    ({"If-None-Match": "*"}, False, 204),
    ({"If-Match": quoted(b'{"v":1}'), "If-None-Match": "*"}, True, 412),
]


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_preconditions_on_put(client: TestClient, resource: str) -> None:
    for row, (headers, stored, status) in enumerate(PRECONDITIONS):
        doc_id = f"d{row}"
        if stored:
            assert send(client, "PUT", resource, doc_id, b'{"v":1}', **{"If-None-Match": "*"}).status_code == 204
        answer = send(client, "PUT", resource, doc_id, b'{"v":2}', **headers)
        assert answer.status_code == status, (row, answer.text)
        now = send(client, "GET", resource, doc_id)
        if status == 204:
            assert now.content == b'{"v":2}'
        else:
            assert now.status_code == (200 if stored else 404)
            assert not stored or now.content == b'{"v":1}'


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_preconditions_on_post_and_delete(client: TestClient, resource: str) -> None:
    send(client, "PUT", resource, "d", b'{"v":1}', **{"If-None-Match": "*"})
    stale = '"' + "1" * 40 + '"'
    assert send(client, "POST", resource, "d", b'{"w":1}', **{"If-Match": stale}).status_code == 412
    assert send(client, "POST", resource, "d", b'{"w":1}', **{"If-None-Match": "*"}).status_code == 412
    assert send(client, "DELETE", resource, "d", **{"If-Match": stale}).status_code == 412
    assert send(client, "GET", resource, "d").content == b'{"v":1}'
    assert send(client, "DELETE", resource, "d", **{"If-Match": quoted(b'{"v":1}')}).status_code == 204
    assert send(client, "GET", resource, "d").status_code == 404


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_post_merges_json_objects_and_refuses_anything_else(client: TestClient, resource: str) -> None:
    assert send(client, "POST", resource, "d", b'{"a":1,"b":{"x":1}}').status_code == 204
    assert send(client, "POST", resource, "d", b'{"b":{"y":2},"c":3}').status_code == 204
    merged = send(client, "GET", resource, "d")
    assert merged.json() == {"a": 1, "b": {"y": 2}, "c": 3}
    assert merged.headers["etag"] == quoted(merged.content)
    for content, ctype in ((b"[1,2]", "application/json"), (b"a=1", "text/plain"), (b"{bad", "application/json")):
        refused = send(client, "POST", resource, "d", content, ctype)
        assert refused.status_code == 400, (content, refused.text)
    assert send(client, "GET", resource, "d").json() == {"a": 1, "b": {"y": 2}, "c": 3}
    send(client, "PUT", resource, "t", b"plain text", "text/plain", **{"If-None-Match": "*"})
    assert send(client, "POST", resource, "t", b'{"a":1}').status_code == 400
    assert send(client, "GET", resource, "t").content == b"plain text"


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_ids_of_many_documents_and_since_is_exclusive(client: TestClient, resource: str) -> None:
    for doc_id in ("b", "a"):
        send(client, "PUT", resource, doc_id, b"{}", **{"If-None-Match": "*"})
    listed = send(client, "GET", resource, None)
    assert listed.status_code == 200 and listed.json() == ["a", "b"]
    assert listed.headers["etag"] == quoted(listed.content)
    path, params, _ = RESOURCES[resource]
    cut = datetime.now(UTC)
    deadline = time.monotonic() + 5
    while datetime.now(UTC) <= cut and time.monotonic() < deadline:  # the next write is stored after ``cut``
        time.sleep(0.001)
    send(client, "POST", resource, "c", b"{}")
    since = cut.isoformat().replace("+00:00", "Z")
    later = client.get(path, params={**params, "since": since}, headers=XAPI)
    assert later.json() == ["c"]
    future = (cut + timedelta(hours=1)).isoformat()
    assert client.get(path, params={**params, "since": future}, headers=XAPI).json() == []


def test_state_registration_separates_documents_and_delete_all_respects_it(client: TestClient) -> None:
    base = {"activityId": ACTIVITY, "agent": AGENT}
    other = {"activityId": ACTIVITY, "agent": json.dumps({"mbox": "mailto:wang@example.edu"})}
    for params, doc_id, body in ((base, "s", b"1"), ({**base, "registration": REG}, "s", b"2"),
                                 ({**base, "registration": REG}, "r", b"3"), (other, "s", b"4")):
        put = client.put(STATE, params={**params, "stateId": doc_id}, content=body, headers=XAPI)
        assert put.status_code == 204
    assert client.get(STATE, params={**base, "stateId": "s"}, headers=XAPI).content == b"1"
    assert client.get(STATE, params={**base, "registration": REG, "stateId": "s"}, headers=XAPI).content == b"2"
    assert client.get(STATE, params={**base, "registration": REG}, headers=XAPI).json() == ["r", "s"]
    assert client.delete(STATE, params={**base, "registration": REG}, headers=XAPI).status_code == 204
    assert client.get(STATE, params={**base, "registration": REG}, headers=XAPI).json() == []
    assert client.get(STATE, params={**base, "stateId": "s"}, headers=XAPI).content == b"1"
    assert client.delete(STATE, params=base, headers=XAPI).status_code == 204
    assert client.get(STATE, params=base, headers=XAPI).json() == []
    assert client.get(STATE, params={**other, "stateId": "s"}, headers=XAPI).content == b"4"


BAD_PARAMS = [  # resource, method, parameters -> the parameter the 400 names
    ("state", "GET", {"agent": AGENT}, "activityId"),
    ("state", "GET", {"activityId": ACTIVITY}, "agent"),
    ("state", "PUT", {"activityId": ACTIVITY, "agent": AGENT}, "stateId"),
    ("state", "GET", {"activityId": "not an iri", "agent": AGENT}, "activityId"),
    ("state", "GET", {"activityId": ACTIVITY, "agent": "{"}, "agent"),
    ("state", "GET", {"activityId": ACTIVITY, "agent": '{"name": "no identifier"}'}, "agent"),
    ("state", "GET", {"activityId": ACTIVITY, "agent": AGENT, "registration": "x"}, "registration"),
    ("state", "GET", {"activityId": ACTIVITY, "agent": AGENT, "since": "yesterday"}, "since"),
    ("state", "GET", {"activityId": ACTIVITY, "agent": AGENT, "stateId": "s", "since": "2026-01-01T00:00:00Z"},
     "since"),
    ("state", "GET", {"activityId": ACTIVITY, "agent": AGENT, "StateId": "s"}, "StateId"),
    ("activity_profile", "GET", {"activityId": ACTIVITY, "registration": REG}, "registration"),
    ("activity_profile", "DELETE", {"activityId": ACTIVITY}, "profileId"),
    ("agent_profile", "GET", {"agent": json.dumps({"objectType": "Group", "member": [{"mbox": "mailto:a@x.org"}]})},
     "agent"),
]


def test_bad_parameters_are_400_naming_the_parameter(lrs_client: TestClient) -> None:
    for resource, method, params, names in BAD_PARAMS:
        path = RESOURCES[resource][0]
        answer = lrs_client.request(method, path, params=params, content=b"{}" if method == "PUT" else None,
                                    headers=XAPI)
        assert answer.status_code == 400, (resource, method, params, answer.text)
        assert answer.json()["error"].startswith(names), (names, answer.text)
        assert answer.headers["x-experience-api-version"] == "1.0.3"


def test_a_document_over_the_size_limit_is_413_and_not_stored(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUOPS_EVENTS__MAX_DOCUMENT_BYTES", "1000")
    with client_as(ws, "ingest:xapi") as client:
        assert send(client, "PUT", "state", "big", b"x" * 1001, "text/plain").status_code == 413
        assert send(client, "GET", "state", "big").status_code == 404
        assert send(client, "PUT", "state", "big", b"x" * 1000, "text/plain").status_code == 204


def test_scopes_learning_content_writes_state_only(ws: Workspace) -> None:
    with client_as(ws, "xapi:state") as content, client_as(ws, "read") as reader:
        assert send(content, "PUT", "state", "s", b"{}").status_code == 204
        assert send(content, "GET", "state", "s").status_code == 200
        assert send(content, "PUT", "activity_profile", "p", b"{}").status_code == 403
        assert content.post("/xapi/statements", json=statement("a", "launched", day(0)), headers=XAPI).status_code \
            == 403
        assert send(reader, "GET", "state", "s").status_code == 403
        assert reader.get("/xapi/activities", params={"activityId": ACTIVITY}, headers=XAPI).status_code == 200


def test_activities_resource_returns_the_definition_merged_from_statements(client: TestClient) -> None:
    first = statement("a", "attempted", day(0), obj="course/a/quiz-1")
    first["object"]["definition"] = {"name": {"en-US": "Quiz 1"}, "type": "http://adlnet.gov/expapi/activities/assessment"}
    second = statement("b", "attempted", day(1), obj="course/a/quiz-1")
    second["object"]["definition"] = {"name": {"zh-CN": "测验一"}}
    assert client.post("/xapi/statements", json=[first], headers=XAPI).status_code == 200
    assert client.put("/xapi/statements", params={"statementId": "3f0c6f1e-8a1b-4c2d-9e3f-4a5b6c7d8e9f"},
                      json=second, headers=XAPI).status_code == 204
    got = client.get("/xapi/activities", params={"activityId": first["object"]["id"]}, headers=XAPI)
    assert got.status_code == 200
    assert got.json() == {"objectType": "Activity", "id": first["object"]["id"], "definition": {
        "name": {"en-US": "Quiz 1", "zh-CN": "测验一"}, "type": "http://adlnet.gov/expapi/activities/assessment"}}
    course = client.get("/xapi/activities", params={"activityId": "https://lms.example.edu/course/a"},
                        headers=XAPI).json()
    assert course["definition"]["type"].endswith("/course")  # from context.contextActivities.parent
    unknown = client.get("/xapi/activities", params={"activityId": "http://x.org/unknown"}, headers=XAPI)
    assert unknown.json() == {"objectType": "Activity", "id": "http://x.org/unknown"}
    assert client.get("/xapi/activities", headers=XAPI).status_code == 400
    assert client.head("/xapi/activities", params={"activityId": "http://x.org/unknown"},
                       headers=XAPI).headers["etag"] == quoted(unknown.content)


def test_agents_resource_returns_a_person(client: TestClient) -> None:
    agent = {"objectType": "Agent", "name": "李雷", "account": {"homePage": "https://lms.example.edu", "name": "li"}}
    got = client.get("/xapi/agents", params={"agent": json.dumps(agent)}, headers=XAPI)
    assert got.status_code == 200
    assert got.json() == {"objectType": "Person", "name": ["李雷"], "account": [agent["account"]]}
    assert client.get("/xapi/agents", params={"agent": '{"name": "x"}'}, headers=XAPI).status_code == 400
    assert client.get("/xapi/agents", params={"agent": AGENT, "extra": "1"}, headers=XAPI).status_code == 400


def form(client: TestClient, path: str, method: str, fields: dict[str, str]) -> Any:
    return client.post(f"{path}?method={method}", content=urlencode(fields),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_alternate_request_syntax_on_documents_and_statements(client: TestClient) -> None:
    base = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "alt", "X-Experience-API-Version": "1.0.3"}
    put = form(client, STATE, "PUT", {**base, "Content-Type": "application/json", "content": '{"页":1}'})
    assert put.status_code == 204, put.text
    got = form(client, STATE, "GET", base)
    assert got.status_code == 200 and got.json() == {"页": 1}
    stale = form(client, STATE, "PUT", {**base, "If-Match": '"' + "0" * 40 + '"', "content": "{}"})
    assert stale.status_code == 412 and stale.headers["x-experience-api-version"] == "1.0.3"
    head = form(client, STATE, "HEAD", base)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == got.headers["etag"]
    sid = "0b7f4f3e-2c1d-4e5f-8a9b-0c1d2e3f4a5b"
    posted = form(client, "/xapi/statements", "PUT", {
        "statementId": sid, "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
        "content": json.dumps(statement("a", "launched", day(0)))})
    assert posted.status_code == 204, posted.text
    fetched = form(client, "/xapi/statements", "GET", {"statementId": sid, "X-Experience-API-Version": "1.0.3"})
    assert fetched.json()["id"] == sid
    assert "x-experience-api-consistent-through" in fetched.headers
    extra = client.post(f"{STATE}?method=PUT&stateId=x", content="content=1",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert extra.status_code == 400 and extra.headers["x-experience-api-version"] == "1.0.3"
    assert form(client, STATE, "DELETE", base).status_code == 204
    assert form(client, STATE, "GET", base).status_code == 404


def test_alternate_request_syntax_carries_authorization(ws: Workspace) -> None:
    from eduops.web.apikeys import create_key
    from eduops.web.app import create_app

    _info, key = create_key(ws.engine, "content", ["xapi:state"], actor="test")
    with TestClient(create_app(ws)) as anonymous:
        fields = {"activityId": ACTIVITY, "agent": AGENT, "stateId": "s", "X-Experience-API-Version": "1.0.3",
                  "content": "{}"}
        assert form(anonymous, STATE, "PUT", fields).status_code == 401
        assert form(anonymous, STATE, "PUT", {**fields, "Authorization": f"Bearer {key}"}).status_code == 204


def race(ws: Workspace, ref: DocumentRef, etag: str, now: datetime) -> list[str]:
    """Two writers PUT different content with the same If-Match at the same moment."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def writer(name: str) -> None:
        barrier.wait()
        try:
            documents.put(ws.engine, ref, name.encode(), "text/plain", Conditions(if_match=(etag,)), now)
            outcomes.append("won:" + name)
        except PreconditionFailed:
            outcomes.append("412")

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_clients_racing_with_the_same_if_match_exactly_one_wins(ws: Workspace) -> None:
    ref = DocumentRef("activity_profile", ACTIVITY, "", "", "race")
    now = datetime.now(UTC)
    for round_ in range(10):
        start = f'{{"round":{round_}}}'.encode()
        if round_ == 0:
            documents.put(ws.engine, ref, start, "application/json", Conditions(if_none_match=("*",)), now)
        else:
            documents.put(ws.engine, ref, start, "application/json", Conditions(if_match=("*",)), now)
        outcomes = race(ws, ref, documents.etag_of(start), now)
        assert sorted(o[:3] for o in outcomes) == ["412", "won"], outcomes
        winner = next(o for o in outcomes if o.startswith("won"))[4:]
        doc = documents.get(ws.engine, ref)
        assert doc is not None and doc.content == winner.encode()


def test_version_and_consistent_through_headers_on_every_answer(client: TestClient, ws: Workspace) -> None:
    bad = client.get("/xapi/statements", params={"verb": "not an iri"}, headers=XAPI)
    assert bad.status_code == 400
    assert bad.headers["x-experience-api-version"] == "1.0.3"
    assert bad.headers["x-experience-api-consistent-through"].endswith("Z")
    missing = client.get("/xapi/statements", params={"statementId": "5c5e4d3c-2b1a-4f0e-9d8c-7b6a5f4e3d2c"},
                         headers=XAPI)
    assert missing.status_code == 404 and "x-experience-api-consistent-through" in missing.headers
    head = client.head("/xapi/statements", headers=XAPI)
    assert head.status_code == 200 and head.content == b"" and "x-experience-api-consistent-through" in head.headers
    with client_as(ws) as anonymous:
        denied = anonymous.get(STATE, params={"activityId": ACTIVITY, "agent": AGENT}, headers=XAPI)
        assert denied.status_code == 401 and denied.headers["x-experience-api-version"] == "1.0.3"


def test_statements_are_accepted_when_the_definitions_cannot_be_merged(lrs_client: TestClient) -> None:
    import sqlalchemy as sa

    engine = lrs_client.app.state.workspace.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE xapi_activities"))
    s = statement("a", "attempted", day(0), obj="course/a/quiz-9")
    s["object"]["definition"] = {"name": {"en": "Quiz 9"}}
    answer = lrs_client.post("/xapi/statements", json=s, headers=XAPI)
    assert answer.status_code == 200, answer.text
    [sid] = answer.json()
    assert lrs_client.get("/xapi/statements", params={"statementId": sid}, headers=XAPI).status_code == 200
