"""A statement may carry any timestamp the spec allows (year 0001, 9999, a device clock a day off):
it is stored as sent, and every metric leaves it out of its numbers and says how many it left out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eduops.analytics import sql
from eduops.analytics.store import close_stores
from eduops.analytics.xapi import parse_timestamp
from eduops.core.workspace import Workspace
from eduops.errors import EduopsError

from .conftest import client_as
from .helpers import XAPI, day, statement

METRICS = ["/api/v1/analytics/active", "/api/v1/analytics/retention?unit=day",
           "/api/v1/analytics/funnel?step=launched&step=completed", "/api/v1/analytics/breakdown/course",
           "/api/v1/analytics/breakdown/day", "/api/v1/analytics/breakdown/hour", "/api/v1/analytics/video",
           "/api/v1/analytics/at-risk", "/api/v1/analytics/completion", "/api/v1/analytics/courses"]
PAGES = ["/analytics", "/analytics/retention", "/analytics/funnel",
         "/analytics/course?course=https%3A%2F%2Flms.example.edu%2Fcourse%2Fa"]
NOW = datetime.now(UTC).replace(tzinfo=None)
FAR = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
       "1969-12-31T23:59:59Z", (NOW + timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")]


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-02T09:00:00+08:00", datetime(2026, 3, 2, 1, tzinfo=UTC)),
    ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
    ("0001-01-01T00:00:00+01:00", datetime.min.replace(tzinfo=UTC)),  # year 0 in UTC: the earliest instant held
    ("9999-12-31T23:59:59-01:00", datetime.max.replace(tzinfo=UTC)),  # year 10000 in UTC: the latest held
    ("2026-03-02T09:00:00+23:59", datetime(2026, 3, 1, 9, 1, tzinfo=UTC)),
    ("2026-03-02T09:00:00-23:59", datetime(2026, 3, 3, 8, 59, tzinfo=UTC)),
])
def test_timestamps_as_utc(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["2026-03-02T09:00:00+24:00", "2026-03-02T09:00:00-24:00",
                                  "2026-03-02T09:00:00+05:60"])
def test_offsets_beyond_a_day_are_refused(text: str) -> None:
    with pytest.raises(EduopsError, match="offset"):
        parse_timestamp(text)


@pytest.mark.parametrize(("moment", "counted"), [
    (datetime(1970, 1, 1), True), (datetime(1969, 12, 31, 23, 59, 59), False),
    (NOW + timedelta(hours=23), True), (NOW + timedelta(hours=24), False), (datetime(1, 1, 1), False),
    (datetime(9999, 12, 31), False),
])
def test_counted_range_is_1970_to_a_day_ahead(moment: datetime, counted: bool) -> None:
    first, end = sql.counted_range(NOW)
    assert (first <= moment < end) is counted


@pytest.fixture
def client(sqlite_ws: Workspace) -> Iterator[TestClient]:
    app = client_as(sqlite_ws, "ingest:xapi", "read").app
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    close_stores()


def good() -> list[dict[str, Any]]:
    video = statement("A", "paused", day(1), obj="course/a/video-1", result={"extensions": {
        "https://w3id.org/xapi/video/extensions/played-segments": "0[.]50"}})
    video["context"]["extensions"] = {"https://w3id.org/xapi/video/extensions/length": 100}
    return [statement("A", "launched", day(0)), statement("A", "completed", day(1)),
            statement("B", "launched", day(0)), video]


def answers(client: TestClient) -> dict[str, Any]:
    out = {}
    for path in METRICS:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text)
        out[path] = r.json()
    return out


def without_excluded(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "excluded"}


@pytest.mark.parametrize("stamp", FAR)
def test_a_far_timestamp_is_stored_and_left_out_of_every_metric(client: TestClient, stamp: str) -> None:
    assert client.post("/xapi/statements", json=good(), headers=XAPI).status_code == 200
    before = answers(client)
    assert all(a["excluded"]["out_of_range"] == 0 for a in before.values())
    odd = statement("Z", "completed", day(0))
    odd["timestamp"] = stamp
    r = client.post("/xapi/statements", json=[odd], headers=XAPI)
    assert r.status_code == 200, r.text
    back = client.get("/xapi/statements", params={"statementId": r.json()[0]}, headers=XAPI)
    assert back.status_code == 200 and back.json()["timestamp"] == stamp  # stored as sent
    after = answers(client)
    for path in METRICS:
        assert after[path]["excluded"]["out_of_range"] == 1, path
        assert without_excluded(after[path]) == without_excluded(before[path]), path
    for page in PAGES:
        r = client.get(page, headers={"Accept-Language": "en"})
        assert r.status_code == 200, (page, r.text[-500:])
        assert "Left out of these numbers: 1 statement(s) with a timestamp outside 1970-01-01" in r.text, page
    zh = client.get("/analytics", headers={"Accept-Language": "zh-CN"})
    assert "条语句的时间戳不在" in zh.text


def test_course_filter_counts_only_that_courses_exclusions(client: TestClient) -> None:
    odd = statement("Z", "completed", day(0), course="course/b")
    odd["timestamp"] = "9999-01-01T00:00:00Z"
    assert client.post("/xapi/statements", json=good() + [odd], headers=XAPI).status_code == 200
    a = client.get("/api/v1/analytics/completion", params={"course": "https://lms.example.edu/course/a"}).json()
    b = client.get("/api/v1/analytics/completion", params={"course": "https://lms.example.edu/course/b"}).json()
    assert (a["excluded"]["out_of_range"], b["excluded"]["out_of_range"]) == (0, 1)
    assert b["courses"] == []


@pytest.mark.parametrize("stamp", FAR)
def test_the_other_analytics_reads_still_answer_with_a_far_timestamp_stored(client: TestClient, stamp: str) -> None:
    odd = statement("Z", "completed", day(0))
    odd["timestamp"] = stamp
    assert client.post("/xapi/statements", json=[*good(), odd], headers=XAPI).status_code == 200
    for path in ("/api/v1/analytics/courses", "/api/v1/analytics/quality", "/xapi/statements?limit=10"):
        r = client.get(path, headers=XAPI)
        assert r.status_code == 200, (path, r.text[-500:])
