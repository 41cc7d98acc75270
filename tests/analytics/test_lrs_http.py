"""The statements resource over HTTP, as xAPI 1.0.3 describes it: status codes, headers, voiding, paging."""

from __future__ import annotations

import json
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eduops.core.workspace import Workspace

from .conftest import client_as
from .helpers import XAPI, day, statement

URL = "/xapi/statements"


def post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post(URL, content=json.dumps(body), headers={**XAPI, "Content-Type": "application/json", **headers})


def test_post_one_and_an_array_returns_ids_and_sets_stored_and_authority(lrs_client: TestClient) -> None:
    one = post(lrs_client, statement("a", "launched", day(0)))
    assert one.status_code == 200
    assert one.headers["X-Experience-API-Version"] == "1.0.3"
    [first_id] = one.json()
    uuid.UUID(first_id)
    given = str(uuid.uuid4())
    many = post(lrs_client, [statement("a", "completed", day(1), id=given), statement("b", "launched", day(1))])
    assert many.status_code == 200
    assert many.json()[0] == given and len(many.json()) == 2
    got = lrs_client.get(URL, params={"statementId": given}, headers=XAPI)
    assert got.status_code == 200
    body = got.json()
    assert body["id"] == given
    assert body["authority"]["account"]["name"] == "lms-key"
    assert body["stored"].endswith("Z")
    assert parsedate_to_datetime(got.headers["Last-Modified"]).year >= 2026
    assert "X-Experience-API-Consistent-Through" in got.headers


def test_authority_sent_by_the_client_is_replaced(lrs_client: TestClient) -> None:
    sid = str(uuid.uuid4())
    forged = {"objectType": "Agent", "mbox": "mailto:boss@example.edu"}
    assert post(lrs_client, statement("a", "launched", day(0), id=sid, authority=forged)).status_code == 200
    got = lrs_client.get(URL, params={"statementId": sid}, headers=XAPI).json()
    assert got["authority"]["account"]["name"] == "lms-key"


def test_version_header_is_required_and_returned_on_errors(lrs_client: TestClient) -> None:
    missing = lrs_client.post(URL, json=statement("a", "launched", day(0)))
    assert missing.status_code == 400
    assert "X-Experience-API-Version" in missing.json()["error"]
    assert missing.headers["X-Experience-API-Version"] == "1.0.3"
    assert lrs_client.get(URL, headers={"X-Experience-API-Version": "0.95"}).status_code == 400
    about = lrs_client.get("/xapi/about")
    assert about.status_code == 200 and "1.0.3" in about.json()["version"]


def test_invalid_statement_is_400_naming_field_and_rule(lrs_client: TestClient) -> None:
    bad = statement("a", "launched", day(0), result={"score": {"scaled": 2}})
    r = post(lrs_client, bad)
    assert r.status_code == 400
    assert r.json()["error"] == "result.score.scaled: must be between -1 and 1, got 2"
    assert post(lrs_client, "{not json").status_code == 400


def test_a_batch_with_one_invalid_statement_stores_nothing(lrs_client: TestClient) -> None:
    good = [statement(f"learner-{i}", "launched", day(0), id=str(uuid.uuid4())) for i in range(3)]
    bad = {**statement("x", "launched", day(0)), "actor": {"name": "nobody"}}
    r = post(lrs_client, [*good, bad])
    assert r.status_code == 400
    assert r.json()["error"].startswith("statements[3].actor:")
    for s in good:
        assert lrs_client.get(URL, params={"statementId": s["id"]}, headers=XAPI).status_code == 404
    assert lrs_client.get(URL, headers=XAPI).json()["statements"] == []


def test_same_statement_again_is_accepted_different_content_is_409(lrs_client: TestClient) -> None:
    s = statement("a", "launched", day(0), id=str(uuid.uuid4()))
    assert post(lrs_client, s).status_code == 200
    assert post(lrs_client, s).status_code == 200
    assert post(lrs_client, [statement("b", "launched", day(0)), s]).status_code == 200
    conflict = post(lrs_client, {**s, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}})
    assert conflict.status_code == 409
    assert s["id"] in conflict.json()["error"]
    assert len(lrs_client.get(URL, headers=XAPI).json()["statements"]) == 2


def test_duplicate_ids_in_one_batch_are_400(lrs_client: TestClient) -> None:
    sid = str(uuid.uuid4())
    r = post(lrs_client, [statement("a", "launched", day(0), id=sid), statement("b", "launched", day(0), id=sid)])
    assert r.status_code == 400


def test_put_stores_under_the_given_id(lrs_client: TestClient) -> None:
    sid = str(uuid.uuid4())
    r = lrs_client.put(URL, params={"statementId": sid}, content=json.dumps(statement("a", "launched", day(0))),
                       headers={**XAPI, "Content-Type": "application/json"})
    assert r.status_code == 204
    assert lrs_client.get(URL, params={"statementId": sid}, headers=XAPI).json()["id"] == sid
    other = lrs_client.put(URL, params={"statementId": sid},
                           content=json.dumps(statement("a", "completed", day(0), id=str(uuid.uuid4()))),
                           headers={**XAPI, "Content-Type": "application/json"})
    assert other.status_code == 400 and other.json()["error"].startswith("id:")
    assert lrs_client.put(URL, content=b"{}", headers=XAPI).status_code == 400


def test_voided_statements_leave_queries_but_stay_retrievable(lrs_client: TestClient) -> None:
    target = str(uuid.uuid4())
    post(lrs_client, statement("a", "completed", day(0), id=target))
    voiding = statement("admin", "voided", day(1), course=None,
                        object={"objectType": "StatementRef", "id": target})
    [voiding_id] = post(lrs_client, voiding).json()
    assert lrs_client.get(URL, params={"statementId": target}, headers=XAPI).status_code == 404
    assert lrs_client.get(URL, params={"voidedStatementId": target}, headers=XAPI).json()["id"] == target
    assert lrs_client.get(URL, params={"voidedStatementId": voiding_id}, headers=XAPI).status_code == 404
    ids = [s["id"] for s in lrs_client.get(URL, headers=XAPI).json()["statements"]]
    assert target not in ids and voiding_id in ids
    # a voiding statement cannot itself be voided
    again = statement("admin", "voided", day(2), course=None, object={"objectType": "StatementRef", "id": voiding_id})
    assert post(lrs_client, again).status_code == 400


def test_a_statement_arriving_after_its_voiding_statement_is_voided(lrs_client: TestClient) -> None:
    target = str(uuid.uuid4())
    post(lrs_client, statement("admin", "voided", day(1), course=None,
                               object={"objectType": "StatementRef", "id": target}))
    post(lrs_client, statement("a", "completed", day(0), id=target))
    assert lrs_client.get(URL, params={"statementId": target}, headers=XAPI).status_code == 404
    assert lrs_client.get(URL, params={"voidedStatementId": target}, headers=XAPI).status_code == 200


@pytest.fixture
def filled(lrs_client: TestClient) -> TestClient:
    batch = [
        statement("ann", "launched", day(0), obj="course/a/video-1"),
        statement("ann", "completed", day(1), obj="course/a/video-1",
                  context={"registration": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
                           "instructor": {"mbox": "mailto:teacher@example.edu"},
                           "contextActivities": {"parent": [{"id": "https://lms.example.edu/course/a"}]}}),
        statement("bob", "launched", day(2), obj="course/b/video-9", course="course/b"),
        statement("bob", "passed", day(3), course="course/b"),
    ]
    for s in batch:  # one by one so each has its own stored time and order
        assert post(lrs_client, s).status_code == 200
    return lrs_client


def _ids_of(client: TestClient, **params: str) -> list[str]:
    r = client.get(URL, params=params, headers=XAPI)
    assert r.status_code == 200, r.text
    return [s["verb"]["display"]["en-US"] + ":" + s["actor"]["account"]["name"] for s in r.json()["statements"]]


def test_filters(filled: TestClient) -> None:
    ann = json.dumps({"account": {"homePage": "https://lms.example.edu", "name": "ann"}})
    teacher = json.dumps({"mbox": "mailto:teacher@example.edu"})
    assert _ids_of(filled, agent=ann) == ["completed:ann", "launched:ann"]
    assert _ids_of(filled, agent=ann, ascending="true") == ["launched:ann", "completed:ann"]
    assert _ids_of(filled, agent=teacher) == []
    assert _ids_of(filled, agent=teacher, related_agents="true") == ["completed:ann"]
    assert _ids_of(filled, verb="http://adlnet.gov/expapi/verbs/launched") == ["launched:bob", "launched:ann"]
    assert _ids_of(filled, activity="https://lms.example.edu/course/a/video-1") == ["completed:ann", "launched:ann"]
    assert _ids_of(filled, activity="https://lms.example.edu/course/b", related_activities="true") == [
        "passed:bob", "launched:bob"]
    assert _ids_of(filled, activity="https://lms.example.edu/course/b") == ["passed:bob"]
    assert _ids_of(filled, registration="6fa459ea-ee8a-3ca4-894e-db77e160355e") == ["completed:ann"]
    everything = filled.get(URL, headers=XAPI).json()["statements"]
    third_stored = everything[1]["stored"]
    assert _ids_of(filled, since=third_stored) == ["passed:bob"]
    assert _ids_of(filled, until=third_stored, limit="1") == ["launched:bob"]


def test_more_link_pages_through_everything(filled: TestClient) -> None:
    seen: list[str] = []
    r = filled.get(URL, params={"limit": "3"}, headers=XAPI).json()
    seen += [s["id"] for s in r["statements"]]
    assert r["more"].startswith("/xapi/statements?")
    r2 = filled.get(r["more"], headers=XAPI).json()
    seen += [s["id"] for s in r2["statements"]]
    assert r2["more"] == "" and len(seen) == len(set(seen)) == 4


def test_formats(filled: TestClient) -> None:
    ids = filled.get(URL, params={"format": "ids", "limit": "1"}, headers=XAPI).json()["statements"][0]
    assert ids["verb"] == {"id": "http://adlnet.gov/expapi/verbs/passed"}
    assert set(ids["object"]) == {"objectType", "id"}
    s = {**statement("cy", "launched", day(4)), "verb": {"id": "http://adlnet.gov/expapi/verbs/launched",
                                                         "display": {"en-US": "launched", "zh-CN": "启动"}}}
    post(filled, s)
    canon = filled.get(URL, params={"format": "canonical", "limit": "1"},
                       headers={**XAPI, "Accept-Language": "zh-CN"}).json()["statements"][0]
    assert canon["verb"]["display"] == {"zh-CN": "启动"}


@pytest.mark.parametrize("params", [
    {"statementId": "not-a-uuid"}, {"statementId": str(uuid.uuid4()), "verb": "http://x.example/v"},
    {"statementId": str(uuid.uuid4()), "voidedStatementId": str(uuid.uuid4())}, {"limit": "-1"},
    {"agent": "{not json"}, {"agent": json.dumps({"name": "no ifi"})}, {"verb": "launched"},
    {"since": "yesterday"}, {"format": "full"}, {"ascending": "yes"}, {"colour": "blue"},
    {"cursor": "9" * 30}, {"limit": "1e3"}, {"agent": "[]"}, {"registration": "x"},
])
def test_bad_query_parameters_are_400(lrs_client: TestClient, params: dict[str, str]) -> None:
    r = lrs_client.get(URL, params=params, headers=XAPI)
    assert r.status_code == 400, r.text
    assert r.json()["error"]


def test_unknown_statement_is_404(lrs_client: TestClient) -> None:
    assert lrs_client.get(URL, params={"statementId": str(uuid.uuid4())}, headers=XAPI).status_code == 404


@pytest.mark.parametrize(("scopes", "method", "status"), [
    ((), "post", 401), ((), "get", 401), (("read",), "post", 403), (("ingest:xapi",), "get", 403),
    (("ingest:xapi",), "post", 200), (("read",), "get", 200),
])
def test_writes_need_ingest_and_reads_need_read(sqlite_ws: Workspace, scopes: tuple[str, ...], method: str,
                                                status: int) -> None:
    from eduops.analytics.store import close_stores

    with client_as(sqlite_ws, *scopes) as client:
        if method == "post":
            r = post(client, statement("a", "launched", day(0)))
        else:
            r = client.get(URL, headers=XAPI)
        assert r.status_code == status
    close_stores()


def test_too_many_statements_in_one_request_is_413(lrs_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUOPS_EVENTS__MAX_BATCH", "2")
    r = post(lrs_client, [statement("a", "launched", day(0)) for _ in range(3)])
    assert r.status_code == 413


def test_concurrent_batches_commit_together_and_each_gets_its_own_answer(tmp_path: Any) -> None:
    """Group commit: one bad batch among concurrent ones fails alone; the others are all stored."""
    import threading

    from eduops.analytics import lrs
    from eduops.analytics.store import DuckDBStore
    from eduops.errors import Conflict

    store = DuckDBStore(tmp_path / "events.duckdb")
    authority = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "t"}}
    taken = str(uuid.uuid4())
    lrs.store_statements(store, [statement("first", "launched", day(0), id=taken)], authority)
    outcomes: dict[int, str] = {}

    def send(n: int) -> None:
        batch = [statement(f"c{n}-{i}", "launched", day(0), id=str(uuid.uuid4())) for i in range(50)]
        if n == 3:
            batch.append(statement("other", "completed", day(1), id=taken))
        try:
            lrs.store_statements(store, batch, authority)
            outcomes[n] = "ok"
        except Conflict:
            outcomes[n] = "409"

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == {n: "409" if n == 3 else "ok" for n in range(8)}
    assert store.query("SELECT count(*) FROM statements")[0][0] == 1 + 7 * 50
    store.close()


def test_unauthenticated_xapi_clients_are_asked_for_basic_auth(ws) -> None:
    from fastapi.testclient import TestClient

    from eduops.web.app import create_app

    with TestClient(create_app(ws)) as client:
        answer = client.get("/xapi/statements", headers={"X-Experience-API-Version": "1.0.3"})
        api = client.get("/api/v1/runs")
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic")
    assert api.status_code == 401 and api.headers["www-authenticate"].startswith("Bearer")
