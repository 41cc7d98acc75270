"""Hostile bodies through the whole app: every one is a 4xx with a message, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from eduops.analytics.store import close_stores
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


BIG = str(2**63)


@pytest.mark.parametrize(("url", "words"), [
    ("/api/v1/metrics/query?query=up[1y]", "a range query needs an instant vector"),
    ("/api/v1/metrics/query?query=" + "(" * 500 + "up" + ")" * 500, "nested more than 100"),
    ("/api/v1/metrics/query?query=" + "-" * 3000 + "up", "nested more than 100"),
    ("/api/v1/metrics/query?query=up%20@%201e20", "@ modifier"),
    ("/api/v1/metrics/query?query=up&since=1000000d&step=1s", "since: '1000000d' is longer than"),
    ("/api/v1/metrics/query?query=up&since=10d&step=1s", "too many"),
    ("/api/v1/metrics/query?query=up&since=1h&step=0s", "step: '0s' must be longer than 0"),
    (f"/api/v1/runs/{BIG}", "path.run_id"),
    (f"/api/v1/runs?offset={BIG}", "query.offset"),
    (f"/api/v1/audit?offset={BIG}", "query.offset"),
    (f"/api/v1/feedback/{BIG}", "path.item_id"),
    (f"/api/v1/feedback/clusters/{BIG}", "path.cluster_id"),
    (f"/api/v1/runs/{BIG}/report", "path.run_id"),
    ("/api/v1/analytics/active?since=0001-01-01", "since: 0001-01-01 is outside the supported range"),
    ("/api/v1/analytics/active?until=9999-12-31", "until: 9999-12-31 is outside"),
    ("/api/v1/analytics/retention?since=9999-12-31", "since: 9999-12-31 is outside"),
    ("/api/v1/analytics/funnel?step=a&step=b&window_days=" + BIG, "query.window_days"),
    ("/api/v1/analytics/at-risk?asof=9999-12-31", "asof: 9999-12-31 is outside"),
    ("/api/v1/analytics/at-risk?asof=0001-01-01", "asof: 0001-01-01 is outside"),
    ("/api/v1/rtc/calls?start=0001-01-01T00:00:00Z", "start: 0001-01-01T00:00:00Z is outside"),
    ("/api/v1/rtc/worst?min_sessions=" + BIG, "query.min_sessions"),
])
def test_extreme_parameters_are_4xx_naming_the_parameter(client: TestClient, url: str, words: str) -> None:
    answer = client.get(url)
    assert answer.status_code in (400, 422), answer.text[:300]
    assert words in answer.json()["error"]


@pytest.mark.parametrize("url", ["/admin/audit?since=0001-01-01", "/admin/audit?until=9999-12-31",
                                 "/rtc/calls?start=9999-12-31T23:59"])
def test_extreme_parameters_on_pages_are_400_pages(sqlite_ws: Workspace, url: str) -> None:
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="a", kind="user", role="admin")
    answer = TestClient(app, raise_server_exceptions=False).get(url, headers={"accept-language": "en"})
    assert answer.status_code == 400
    assert "is outside the supported range 1970-01-01 to 2199-12-31" in answer.text


@pytest.mark.parametrize(("url", "status", "words"), [
    ("/runs?status=bogus", 400, "status: &#39;bogus&#39; is not a run status"),  # was 200 "No runs yet."
    ("/api/v1/runs?status=bogus", 400, "status: 'bogus' is not a run status"),  # was []
    ("/feedback/clusters?order=bogus", 422, "query.order"),  # was ranked by size
    ("/feedback/support?status=bogus", 422, "query.status"),  # was the open queue
    ("/analytics/funnel?window_days=-1", 400, "window_days: -1 is outside 1..3660"),  # was 14 days
    ("/analytics/retention?periods=0", 400, "periods: 0 is outside 1..520"),  # was 12
    ("/analytics/retention?unit=year", 400, "unit must be one of day, week, month"),  # was a 200 with the message
])
def test_a_filter_outside_its_choices_is_a_4xx_naming_it_not_a_quiet_default(
        sqlite_ws: Workspace, url: str, status: int, words: str) -> None:
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="a", kind="user", role="admin")
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get(url, headers={"accept-language": "en"})
    close_stores()
    assert answer.status_code == status, answer.text[-500:]
    assert words in answer.text


def test_a_plain_form_over_1_mib_is_413_before_it_is_parsed(sqlite_ws: Workspace) -> None:
    client = TestClient(create_app(sqlite_ws), raise_server_exceptions=False)
    client.get("/login")  # the pre-login CSRF cookie: now the form body is read for its token
    answer = client.post("/login", content=b"username=" + b"a" * (1024 * 1024 + 10),
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize("timestamp", ["2026-03-02T09:00:00+24:00", "2026-03-02T09:00:00-99:00"])
def test_xapi_timestamp_offsets_out_of_range_are_400(client: TestClient, timestamp: str) -> None:
    statement = {"actor": {"mbox": "mailto:a@example.com"}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                 "object": {"id": "https://example.com/course/1"}, "timestamp": timestamp}
    answer = client.post("/xapi/statements", json=statement)
    assert answer.status_code == 400, answer.text[:300]
    assert "timestamp" in answer.json()["error"]


@pytest.mark.parametrize(("method", "url", "allow"), [
    ("OPTIONS", "/api/v1/content/assets", "GET, HEAD, POST"),  # two routes on one path: the router named one
    ("DELETE", "/api/v1/feedback", "GET, HEAD, POST"),
    ("PATCH", "/xapi/statements", "GET, HEAD, POST, PUT"),
    ("GET", "/api/v1/feedback/clusters/refresh", "POST"),  # not "cluster_id is not an integer"
    ("OPTIONS", "/api/v1/feedback/clusters/refresh", "POST"),  # not GET: that is /clusters/{cluster_id}
    ("GET", "/api/v1/feedback/import", "POST"),
    ("PATCH", "/api/v1/work-items/from-alert", "POST"),
])
def test_a_method_the_path_does_not_take_is_405_naming_every_method_it_does(
        client: TestClient, method: str, url: str, allow: str) -> None:
    answer = client.request(method, url)
    assert answer.status_code == 405, answer.text[:300]
    assert answer.headers["allow"] == allow
    assert answer.json()["error"] == f"{method} is not allowed on {url}; it takes {allow}."


@pytest.mark.parametrize(("url", "location"), [
    ("/runs?task=" + "x" * 5000, "/login?next=/"),  # a 5 kB Location: nginx answers 502 to that
    ("/runs?task=backup", "/login?next=/runs%3Ftask%3Dbackup"),
    ("/rtc/calls/" + "c" * 3000, "/login?next=/"),
])
def test_a_stranger_is_sent_to_login_with_a_short_local_next(sqlite_ws: Workspace, url: str, location: str) -> None:
    answer = TestClient(create_app(sqlite_ws), raise_server_exceptions=False).get(url, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == location


def test_reload_answers_an_api_caller_with_json(sqlite_ws: Workspace) -> None:
    """/-/reload is an API route (Prometheus's shape): a caller without the permission gets a JSON 403, not a page."""
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="r", kind="apikey", scopes=frozenset({"read"}))
    answer = TestClient(app, raise_server_exceptions=False).post("/-/reload")
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/json" and answer.json()["error"]


@pytest.mark.parametrize("url", ["/healthz", "/login", "/api/v1/runs", "/metrics", "/static/eduops.css"])
def test_head_is_answered_as_get_without_a_body(sqlite_ws: Workspace, url: str) -> None:
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: EVERYTHING
    client = TestClient(app, raise_server_exceptions=False)
    get, head = client.get(url), client.head(url)
    assert get.status_code == head.status_code == 200, head.text[:300]
    assert head.content == b"" and get.content
    assert head.headers["content-type"] == get.headers["content-type"]


def test_a_wrong_method_on_a_page_is_a_405_page_in_the_viewers_language(sqlite_ws: Workspace) -> None:
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="a", kind="user", role="admin")
    answer = TestClient(app, raise_server_exceptions=False).get("/account/password")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert "/account/password 不接受 GET 请求；可用的方法：POST。" in answer.text
