"""Analytics pages a person can read: course names instead of cut URLs, no chart past today, at-risk
times in the viewer's timezone to the second and yes/no instead of True/False."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from eduops.analytics import lrs
from eduops.analytics.pages import course_label
from eduops.analytics.service import Analytics, not_after_now
from eduops.analytics.store import close_stores, open_store
from eduops.core.workspace import Workspace

from .conftest import client_as
from .helpers import statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "test"}}


@pytest.mark.parametrize(
    ("iri", "label"),
    [("https://lms.demo.eduops.dev/course/physics-101", "physics-101"),
     ("https://lms.example.edu/course/%E7%89%A9%E7%90%86/", "物理"),
     ("course-7", "course-7"), ("https://lms.example.edu", "https://lms.example.edu")],
)
def test_course_label(iri: str, label: str) -> None:
    assert course_label(iri) == label


def test_not_after_now() -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    assert not_after_now(now + timedelta(days=3)) <= datetime.now(UTC).replace(tzinfo=None)
    past = now - timedelta(days=3)
    assert not_after_now(past) == past
    assert not_after_now(past.replace(tzinfo=UTC)) == past


def test_pages_show_names_today_at_most_and_yes_no(sqlite_ws: Workspace) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    course = "course/physics-101"
    statements = [statement(f"u{i}", "experienced", now - timedelta(days=20 - i), obj=f"{course}/p", course=course)
                  for i in range(10)]
    statements.append(statement("late", "experienced", now + timedelta(days=3), obj=f"{course}/p", course=course))
    try:
        lrs.store_statements(open_store(sqlite_ws.settings), statements, AUTHORITY)
        days = [d["day"] for d in Analytics.open(sqlite_ws.settings).active()["days"]]
        today = now.astimezone(sqlite_ws.settings.tz).date().isoformat()
        newest = (now - timedelta(days=11)).astimezone(sqlite_ws.settings.tz).date().isoformat()
        # the event stamped three days ahead is left out of the numbers and does not stretch the chart
        assert max(days) == newest and newest < today
        client = client_as(sqlite_ws, "read")
        page = client.get("/analytics", headers={"accept-language": "en"}).text
        figures = [json.loads(f) for f in re.findall(r'class="chart-data" data-target="chart-\d+">(.*?)</script>',
                                                     page, re.S)]
        bars = next(f for f in figures if f["data"] and f["data"][0].get("customdata"))
        assert bars["data"][0]["x"] == ["physics-101"]
        iri = "https://lms.example.edu/course/physics-101"
        detail = client.get("/analytics/course", params={"course": iri}, headers={"accept-language": "zh-CN"}).text
        at_risk = detail[detail.index("At-risk") if "At-risk" in detail else detail.index("风险"):]
        assert ">是<" in at_risk and "True" not in at_risk and "False" not in at_risk
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", at_risk)  # no raw ISO times
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", at_risk)
    finally:
        close_stores()
