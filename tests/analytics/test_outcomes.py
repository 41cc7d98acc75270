"""Completion and pass per course (issue 15 item 5): each learner counts in every count that holds,
passed/failed follow the learner's last verdict, and the rates have stated denominators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from eduops.analytics import lrs, metrics
from eduops.analytics.store import DuckDBStore

from .helpers import day, statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "test"}}
COURSE = "https://lms.example.edu/course/a"


@pytest.mark.parametrize(("groups", "expected"), [
    # (completed, verdict, unregistered, learners) -> enrolled, completed, passed, failed, withdrawn, in progress
    ([(True, "failed", False, 1)], (1, 1, 0, 1, 0, 0)),  # completed and failed: both
    ([(True, "passed", False, 2)], (2, 2, 2, 0, 0, 0)),
    ([(False, "passed", False, 1)], (1, 0, 1, 0, 0, 0)),  # passed without a completion statement
    ([(False, "", True, 1)], (1, 0, 0, 0, 1, 0)),
    ([(False, "failed", True, 1)], (1, 0, 0, 1, 1, 0)),  # failed, then withdrew: both
    ([(True, "", True, 1)], (1, 1, 0, 0, 0, 0)),  # completed before unregistering: not withdrawn
    ([(False, "", False, 3)], (3, 0, 0, 0, 0, 3)),
    ([(True, "failed", False, 1), (False, "", False, 1), (True, "passed", False, 2)], (4, 3, 2, 1, 0, 1)),
    ([], (0, 0, 0, 0, 0, 0)),
])
def test_tally(groups: list[tuple[bool, str, bool, int]], expected: tuple[int, ...]) -> None:
    assert tuple(metrics.tally(groups).values()) == expected


@pytest.mark.parametrize(("counts", "completion", "passed", "of_graded"), [
    ({"enrolled": 10, "completed": 5, "passed": 3, "failed": 1}, 50.0, 30.0, 75.0),
    ({"enrolled": 3, "completed": 1, "passed": 0, "failed": 0}, 33.33, 0.0, None),
    ({"enrolled": 0, "completed": 0, "passed": 0, "failed": 0}, None, None, None),
])
def test_rates(counts: dict[str, int], completion: float | None, passed: float | None,
               of_graded: float | None) -> None:
    assert metrics.rates(counts) == {"completion_pct": completion, "pass_pct": passed, "pass_of_graded_pct": of_graded}


def on_course(actor: str, verb: str, when: datetime, **result: Any) -> dict[str, Any]:
    return statement(actor, verb, when, **({"result": result} if result else {}))


LEARNERS: list[tuple[str, list[dict[str, Any]], dict[str, bool]]] = [
    ("completed then failed", [on_course("L", "completed", day(1)), on_course("L", "failed", day(2))],
     {"completed": True, "failed": True}),
    ("failed, retook and passed", [on_course("L", "failed", day(1)), on_course("L", "passed", day(9))],
     {"completed": True, "passed": True}),
    ("passed, then failed a later attempt", [on_course("L", "passed", day(1)), on_course("L", "failed", day(9))],
     {"completed": True, "failed": True}),
    ("completed with result.success false", [on_course("L", "completed", day(1), success=False)],
     {"completed": True, "failed": True}),
    ("result.completion true on another verb", [on_course("L", "experienced", day(1), completion=True)],
     {"completed": True}),
    ("completed a lesson, not the course", [statement("L", "completed", day(1), obj="course/a/lesson-1")],
     {"in_progress": True}),
    ("registered, unregistered", [on_course("L", "registered", day(0)), on_course("L", "unregistered", day(3))],
     {"withdrawn": True}),
    ("unregistered, registered again", [on_course("L", "unregistered", day(1)), on_course("L", "registered", day(3))],
     {"in_progress": True}),
]


@pytest.mark.parametrize(("label", "events", "holds"), LEARNERS, ids=[x[0] for x in LEARNERS])
def test_one_learner_counts(store: DuckDBStore, label: str, events: list[dict[str, Any]],
                            holds: dict[str, bool]) -> None:
    lrs.store_statements(store, events, AUTHORITY)
    (course,) = metrics.completion(store)["courses"]
    assert course["course"] == COURSE and course["enrolled"] == 1
    assert {k: course[k] for k in metrics.COUNTS[1:]} == {k: int(holds.get(k, False)) for k in metrics.COUNTS[1:]}


def test_until_is_the_time_bucket(store: DuckDBStore) -> None:
    """Counts are cumulative up to ``until``: a pass after it is not yet a pass."""
    lrs.store_statements(store, [on_course("L", "failed", day(1)), on_course("L", "passed", day(9))], AUTHORITY)
    (early,) = metrics.completion(store, until=day(5))["courses"]
    assert (early["failed"], early["passed"], early["completed"]) == (1, 0, 0)


def test_api_cli_and_page_show_the_counts_with_their_definitions(sqlite_ws: Any, monkeypatch: Any) -> None:
    import json

    from typer.testing import CliRunner

    from eduops.analytics.store import close_stores, open_store
    from eduops.cli import app
    from eduops.core import console

    from .conftest import client_as

    events = [on_course("L", "completed", day(1)), on_course("L", "failed", day(2)), on_course("M", "passed", day(2))]
    lrs.store_statements(open_store(sqlite_ws.settings), events, AUTHORITY)
    with client_as(sqlite_ws, "read") as client:
        api = client.get("/api/v1/analytics/completion").json()
        (course,) = api["courses"]
        assert {k: course[k] for k in ("enrolled", "completed", "passed", "failed")} == {
            "enrolled": 2, "completed": 2, "passed": 1, "failed": 1}
        assert (course["completion_pct"], course["pass_pct"], course["pass_of_graded_pct"]) == (100.0, 50.0, 50.0)
        assert api["definitions"]["failed"] == metrics.DEFINITIONS["failed"]
        en = client.get("/analytics", headers={"Accept-Language": "en"}).text
        assert f'title="{metrics.DEFINITIONS["pass_of_graded_pct"]}"' in en
        zh = client.get("/analytics", headers={"Accept-Language": "zh-CN"}).text
        assert 'title="通过人数 ÷（通过 + 未通过）× 100：没有评定结果的学员不计入。"' in zh
        page = client.get("/analytics/course", params={"course": COURSE}, headers={"Accept-Language": "en"})
        assert page.status_code == 200 and "pass % of graded" in page.text
    monkeypatch.setenv("EDUOPS_HOME", str(sqlite_ws.settings.home))
    console.reset_workspace()
    try:
        r = CliRunner().invoke(app, ["analytics", "completion", "--json"])
        assert r.exit_code == 0 and json.loads(r.output)["failed"] == 1
        r = CliRunner().invoke(app, ["analytics", "completion"])
        assert r.exit_code == 0 and "pass_of_graded_pct: passed ÷ (passed + failed)" in r.output
    finally:
        console.reset_workspace()
        close_stores()
