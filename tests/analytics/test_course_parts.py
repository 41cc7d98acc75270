"""Courses made of parts (issue 15 item 6): OULAD-shaped module AAA with presentations 2013J and
2014J rolls up through contextActivities grouping; every count by course and by part, over distinct
learners or registrations (a retake is a second registration in a later presentation)."""

from __future__ import annotations

from typing import Any

import pytest

from eduops.analytics import extract, lrs, metrics
from eduops.analytics.sql import Filters
from eduops.analytics.store import DuckDBStore

from . import datasets
from .datasets import OU

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "test"}}
COURSE_T = {"type": "http://adlnet.gov/expapi/activities/course"}
AAA, J13, J14 = OU + "AAA", OU + "AAA/2013J", OU + "AAA/2014J"
KEYS = ("enrolled", "completed", "passed", "failed", "withdrawn", "in_progress", "retakes")


def a(iri: str, course: bool = True) -> dict[str, Any]:
    return {"id": iri, **({"definition": COURSE_T} if course else {})}


@pytest.mark.parametrize(("object_", "parent", "grouping", "course", "part"), [
    (a(J13), [], [a(AAA)], AAA, J13),  # a result on the presentation, grouped under the module
    (a(J13 + "/quiz", False), [a(J13)], [a(AAA)], AAA, J13),  # an activity in the presentation
    (a(J13 + "/quiz", False), [a(AAA)], [a(AAA)], AAA, None),  # the same course twice: no part
    (a(J13 + "/quiz", False), [a(J13)], [], J13, None),  # no course-typed grouping: the parent is the course
    (a(AAA), [], [], AAA, None),
    (a(J13 + "/quiz", False), [a("https://x/lesson", False)], [a("https://x/program", False)], "https://x/program",
     None),  # nothing typed: the first grouping, as before
    (a(J13 + "/quiz", False), [], [], None, None),
])
def test_course_and_part(object_: dict[str, Any], parent: list[dict[str, Any]], grouping: list[dict[str, Any]],
                         course: str | None, part: str | None) -> None:
    statement = {"object": object_, "context": {"contextActivities": {"parent": parent, "grouping": grouping}}}
    assert extract.course_and_part(statement) == (course, part)


@pytest.fixture
def oulad(store: DuckDBStore) -> DuckDBStore:
    lrs.store_statements(store, datasets.oulad_like(), AUTHORITY)
    return store


def counts(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[k] for k in KEYS)


@pytest.mark.parametrize(("by", "unit", "expected"), [
    # learners by course: S1's last verdict is the 2014J pass
    ("course", "learners", {(AAA, None): (5, 2, 2, 1, 1, 1, 0)}),
    # registrations by course: S1 counts twice (failed 2013J, passed 2014J, a retake)
    ("course", "registrations", {(AAA, None): (6, 2, 2, 2, 1, 1, 1)}),
    ("part", "learners", {(AAA, J13): (3, 1, 1, 1, 1, 0, 0), (AAA, J14): (3, 1, 1, 1, 0, 1, 1)}),
    ("part", "registrations", {(AAA, J13): (3, 1, 1, 1, 1, 0, 0), (AAA, J14): (3, 1, 1, 1, 0, 1, 1)}),
])
def test_rolls_up_by_course_and_by_part(oulad: DuckDBStore, by: str, unit: str,
                                        expected: dict[tuple[str, str | None], tuple[int, ...]]) -> None:
    result = metrics.completion(oulad, by=by, unit=unit)
    assert {(r["course"], r.get("part")): counts(r) for r in result["courses"]} == expected


def test_module_pass_rate_over_registrations(oulad: DuckDBStore) -> None:
    (row,) = metrics.completion(oulad, unit="registrations")["courses"]
    assert (row["pass_pct"], row["pass_of_graded_pct"]) == (33.33, 50.0)  # 2 of 6; 2 of 4 graded


def test_every_metric_narrows_to_a_part(oulad: DuckDBStore) -> None:
    f = Filters(part=J14)
    (row,) = metrics.completion(oulad, f)["courses"]
    assert counts(row)[:6] == (3, 1, 1, 1, 0, 1)
    by_part = {r["key"]: r["learners"] for r in metrics.breakdown(oulad, "part", f=Filters())["rows"]}
    assert by_part == {J13: 3, J14: 3}
    assert metrics.breakdown(oulad, "course", f=f)["rows"][0]["learners"] == 3
    assert [r["learner"] for r in metrics.at_risk(oulad, datasets.day(0), f)["learners"]] == ["S5"]


@pytest.mark.parametrize(("by", "unit"), [("term", "learners"), ("course", "people")])
def test_bad_by_or_count_is_a_usage_error(oulad: DuckDBStore, by: str, unit: str) -> None:
    from eduops.errors import UsageError

    with pytest.raises(UsageError):
        metrics.completion(oulad, by=by, unit=unit)


def test_api_cli_and_course_page_by_part(sqlite_ws: Any, monkeypatch: Any) -> None:
    import json

    from typer.testing import CliRunner

    from eduops.analytics.store import close_stores, open_store
    from eduops.cli import app
    from eduops.core import console

    from .conftest import client_as

    lrs.store_statements(open_store(sqlite_ws.settings), datasets.oulad_like(), AUTHORITY)
    with client_as(sqlite_ws, "read") as client:
        r = client.get("/api/v1/analytics/completion", params={"by": "part", "count": "registrations"})
        assert r.status_code == 200
        assert [(c["part"], c["enrolled"], c["retakes"]) for c in r.json()["courses"]] == [(J13, 3, 0), (J14, 3, 1)]
        r = client.get("/api/v1/analytics/completion", params={"by": "term"})
        assert r.status_code == 400 and "by must be one of course, part" in r.text
        r = client.get("/api/v1/analytics/active", params={"part": J14, "until": "2026-03-02"})
        assert r.status_code == 200
        page = client.get("/analytics/course", params={"course": AAA}, headers={"Accept-Language": "zh-CN"})
        assert page.status_code == 200 and "按分部统计（以选课登记计）" in page.text and J14 in page.text
    monkeypatch.setenv("EDUOPS_HOME", str(sqlite_ws.settings.home))
    console.reset_workspace()
    try:
        r = CliRunner().invoke(app, ["analytics", "completion", "--count", "registrations", "--json"])
        assert r.exit_code == 0 and json.loads(r.output)["courses"][0]["pass_pct"] == 33.33
        r = CliRunner().invoke(app, ["analytics", "completion", "--by", "week"])
        assert r.exit_code == 2 or getattr(r.exception, "exit_code", None) == 2
    finally:
        console.reset_workspace()
        close_stores()


def test_a_store_made_before_parts_gets_the_column(tmp_path: Any) -> None:
    import duckdb

    from eduops.analytics import sql

    path = tmp_path / "events.duckdb"
    con = duckdb.connect(str(path))
    for statement in sql.ddl(sql.DUCKDB):
        if "ADD COLUMN" not in statement:
            con.execute(statement.replace('  "part" VARCHAR,\n', ""))
    assert "part" not in [r[0] for r in con.execute("DESCRIBE statements").fetchall()]
    con.close()
    store = DuckDBStore(path)
    lrs.store_statements(store, datasets.oulad_like(), AUTHORITY)
    assert len(metrics.completion(store, by="part")["courses"]) == 2
    store.close()


@pytest.mark.parametrize(("course", "part", "prefixes", "expected"), [
    (J13, None, (OU,), (AAA, J13)),
    (J13 + "/", None, (OU,), (AAA, J13)),
    (J14 + "/lesson-1", None, (OU,), (AAA, J14)),  # deeper: counts for the part
    (AAA, None, (OU,), (AAA, None)),  # the course itself: nothing after it
    (AAA + "/", None, (OU,), (AAA + "/", None)),
    (J13, None, ("https://elsewhere/",), (J13, None)),
    (J13, "https://ctx/part", (OU,), (J13, "https://ctx/part")),  # a part from the context wins
    (None, None, (OU,), (None, None)),
    ("urn:course:AAA:2013J", None, ("urn:course:",), ("urn:course:AAA:2013J", None)),  # parts follow a '/'
])
def test_roll_up_by_prefix(course: str | None, part: str | None, prefixes: tuple[str, ...],
                           expected: tuple[str | None, str | None]) -> None:
    assert extract.roll_up(course, part, prefixes) == expected


def flat(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same data as an LMS without contextActivities sends it: the presentation or lesson id alone."""
    out = []
    for s in statements:
        s = {**s, "context": {"registration": s["context"]["registration"]}}
        s["object"] = {**s["object"], "definition": COURSE_T}
        out.append(s)
    return out


def test_a_configured_prefix_rolls_parts_up_like_the_context_does(tmp_path: Any) -> None:
    store = DuckDBStore(tmp_path / "events.duckdb", course_prefixes=(OU,))
    lrs.store_statements(store, flat(datasets.oulad_like()), AUTHORITY)
    got = metrics.completion(store, by="part", unit="registrations")["courses"]
    assert {(r["course"], r["part"]): counts(r) for r in got} == {
        (AAA, J13): (3, 1, 1, 1, 1, 0, 0), (AAA, J14): (3, 1, 1, 1, 0, 1, 1)}
    store.close()


@pytest.mark.parametrize(("toml", "ok"), [('[analytics]\ncourse_prefixes = ["https://ou.example/modules/"]\n', True),
                                          ('[analytics]\ncourse_prefixes = ["https://ou.example/modules"]\n', False)])
def test_course_prefixes_setting(tmp_path: Any, toml: str, ok: bool) -> None:
    from eduops.analytics.settings import analytics_settings
    from eduops.config import load_settings
    from eduops.errors import ConfigError

    (tmp_path / "eduops.toml").write_text(toml)
    settings = load_settings(tmp_path / "eduops.toml", home=str(tmp_path))
    if ok:
        assert analytics_settings(settings).course_prefixes == [OU]
    else:
        with pytest.raises(ConfigError, match="must end with"):
            analytics_settings(settings)
