"""The document rules as pure functions: ETags, preconditions, JSON merge, activity definitions, Person,
and the Alternate Request Syntax rewrite."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl

import orjson
import pytest

from eduops.analytics.activities import definitions_of, merge_definition, person_of
from eduops.analytics.documents import Conditions, etag_of, merge_json, parse_etags, precondition_failure
from eduops.analytics.xapi_http import BadAlternateRequest, rewrite
from eduops.errors import UsageError

JSON = "application/json"
A, B = etag_of(b"a"), etag_of(b"b")


def test_etag_is_the_sha1_of_the_content_in_lower_case_hex() -> None:
    assert etag_of(b'{"x":1}') == hashlib.sha1(b'{"x":1}').hexdigest()
    assert etag_of(b"") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("*", ("*",)),
    (f'"{A}"', (A,)),
    (f'"{A.upper()}"', (A,)),
    (f'W/"{A}", "{B}"', (A, B)),
    (A, (A,)),
])
def test_parse_etags(header: str | None, expected: tuple[str, ...] | None) -> None:
    assert parse_etags(header, "If-Match") == expected


@pytest.mark.parametrize("header", ["", '""', " , "])
def test_an_empty_etag_header_is_a_usage_error(header: str) -> None:
    with pytest.raises(UsageError, match="If-Match"):
        parse_etags(header, "If-Match")


@pytest.mark.parametrize(("if_match", "if_none_match", "current", "fails"), [
    (None, None, None, False),
    (None, None, A, False),
    ((A,), None, A, False),
    ((B, A), None, A, False),
    (("*",), None, A, False),
    ((A,), None, B, True),  # changed since the client read it
    ((A,), None, None, True),  # gone
    (("*",), None, None, True),
    (None, ("*",), None, False),  # create only
    (None, ("*",), A, True),
    (None, (A,), A, True),
    (None, (B,), A, False),
    ((A,), ("*",), A, True),  # both headers: If-Match holds, If-None-Match * does not
])
def test_preconditions(if_match: tuple[str, ...] | None, if_none_match: tuple[str, ...] | None,
                       current: str | None, fails: bool) -> None:
    failure = precondition_failure(Conditions(if_match, if_none_match), current)
    assert (failure is not None) == fails
    if failure:
        assert "If-" in failure


@pytest.mark.parametrize(("old", "old_type", "new", "new_type", "merged"), [
    (b'{"a":1,"b":2}', JSON, b'{"b":3,"c":4}', JSON, {"a": 1, "b": 3, "c": 4}),
    (b'{"a":{"x":1}}', JSON, b'{"a":{"y":2}}', "application/json; charset=utf-8", {"a": {"y": 2}}),  # top level only
    (b"{}", JSON, b'{"k":"\xe4\xb8\xad"}', JSON, {"k": "中"}),
])
def test_merge_json_replaces_top_level_properties(old: bytes, old_type: str, new: bytes, new_type: str,
                                                 merged: dict[str, object]) -> None:
    assert orjson.loads(merge_json(old, old_type, new, new_type)) == merged


@pytest.mark.parametrize(("old", "old_type", "new", "new_type", "says"), [
    (b"plain", "text/plain", b'{"a":1}', JSON, "stored document has Content-Type 'text/plain'"),
    (b'{"a":1}', JSON, b"x=1", "application/x-www-form-urlencoded", "request body has Content-Type"),
    (b"[1]", JSON, b'{"a":1}', JSON, "stored document is JSON but not an object"),
    (b'{"a":1}', JSON, b'"text"', JSON, "request body is JSON but not an object"),
    (b'{"a":1}', JSON, b"{not json", JSON, "request body is not valid JSON"),
])
def test_merge_json_needs_two_json_objects(old: bytes, old_type: str, new: bytes, new_type: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        merge_json(old, old_type, new, new_type)


@pytest.mark.parametrize(("old", "new", "merged"), [
    ({}, {"type": "http://x/t"}, {"type": "http://x/t"}),
    ({"name": {"en-US": "Quiz"}}, {"name": {"zh-CN": "测验"}}, {"name": {"en-US": "Quiz", "zh-CN": "测验"}}),
    ({"name": {"en-US": "Quiz"}}, {"name": {"en-US": "Quiz 2"}}, {"name": {"en-US": "Quiz 2"}}),
    ({"extensions": {"http://x/a": 1}}, {"extensions": {"http://x/b": 2}},
     {"extensions": {"http://x/a": 1, "http://x/b": 2}}),
    ({"type": "http://x/old", "moreInfo": "http://x/m"}, {"type": "http://x/new"},
     {"type": "http://x/new", "moreInfo": "http://x/m"}),
    ({"choices": [{"id": "a"}]}, {"choices": [{"id": "b"}]}, {"choices": [{"id": "b"}]}),
])
def test_merge_definition(old: dict[str, object], new: dict[str, object], merged: dict[str, object]) -> None:
    assert merge_definition(old, new) == merged


def test_definitions_of_a_batch_come_from_object_context_and_substatement() -> None:
    def act(i: str, name: str) -> dict[str, object]:
        return {"id": f"http://x/{i}", "definition": {"name": {"en": name}}}

    statements = [
        {"object": act("a", "A1"), "context": {"contextActivities": {"parent": act("p", "P"),
                                                                     "grouping": [{"id": "http://x/g"}]}}},
        {"object": {"objectType": "SubStatement", "object": act("s", "S")}},
        {"object": act("a", "A2")},
        {"object": {"objectType": "StatementRef", "id": "x"}},
    ]
    found = definitions_of(statements)
    assert found == {"http://x/a": {"name": {"en": "A2"}}, "http://x/p": {"name": {"en": "P"}},
                     "http://x/s": {"name": {"en": "S"}}}


@pytest.mark.parametrize(("agent", "person"), [
    ({"mbox": "mailto:a@x.org"}, {"objectType": "Person", "mbox": ["mailto:a@x.org"]}),
    ({"objectType": "Agent", "name": "Li", "account": {"homePage": "http://x", "name": "li"}},
     {"objectType": "Person", "name": ["Li"], "account": [{"homePage": "http://x", "name": "li"}]}),
])
def test_person_holds_every_known_property_as_an_array(agent: dict[str, object], person: dict[str, object]) -> None:
    assert person_of(agent) == person


FORM = [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"99"),
        (b"host", b"lrs")]


def test_rewrite_moves_header_fields_to_headers_content_to_body_and_the_rest_to_the_query() -> None:
    form = ("X-Experience-API-Version=1.0.3&Authorization=Basic%20abc&Content-Type=application%2Fjson"
            "&If-Match=%22e1%22&stateId=s%201&activityId=http%3A%2F%2Fx%2Fa&content=%7B%22%E4%B8%AD%22%3A1%7D"
            "&Content-Length=5")
    method, query, headers, body = rewrite("POST", "method=put", FORM, form.encode())
    assert method == "PUT"
    assert dict(parse_qsl(query)) == {"stateId": "s 1", "activityId": "http://x/a"}
    named = dict(headers)
    assert named[b"authorization"] == b"Basic abc"
    assert named[b"x-experience-api-version"] == b"1.0.3"
    assert named[b"content-type"] == b"application/json"
    assert named[b"if-match"] == b'"e1"'
    assert named[b"content-length"] == str(len(body)).encode()
    assert named[b"host"] == b"lrs"
    assert body.decode() == '{"中":1}'


@pytest.mark.parametrize(("query", "headers", "says"), [
    ("method=PUT&stateId=x", FORM, "holds nothing else"),
    ("method=PATCH", FORM, "must be one of"),
    ("method=PUT", [(b"content-type", b"application/json")], "must be a form"),
    ("method=PUT", [], "no Content-Type"),
])
def test_rewrite_refuses_what_the_syntax_does_not_allow(query: str, headers: list[tuple[bytes, bytes]],
                                                        says: str) -> None:
    with pytest.raises(BadAlternateRequest, match=says) as caught:
        rewrite("POST", query, headers, b"content=x")
    assert caught.value.status == 400


def test_even_a_crash_under_xapi_answers_with_the_version_header() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from eduops.analytics import xapi_http

    app = FastAPI()

    @app.get("/xapi/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/api/v1/other")
    def other() -> dict[str, str]:
        return {}

    xapi_http.install(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        crashed = client.get("/xapi/boom")
        assert crashed.status_code == 500
        assert crashed.headers["x-experience-api-version"] == "1.0.3"
        assert "x-experience-api-version" not in client.get("/api/v1/other").headers
