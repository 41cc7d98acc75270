"""The metric SQL in the ClickHouse dialect, run on chdb, gives the same answers as on DuckDB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eduops.analytics import lrs, metrics
from eduops.analytics.clickhouse import ChdbClient, ClickHouseStore
from eduops.analytics.sql import Filters
from eduops.analytics.store import DuckDBStore

from . import datasets
from .helpers import day

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "test"}}


@pytest.fixture(scope="module")
def chdb_client() -> Iterator[ChdbClient]:
    client = ChdbClient()
    yield client
    client.close()


@pytest.fixture
def ch(chdb_client: ChdbClient) -> ClickHouseStore:
    chdb_client.command("DROP TABLE IF EXISTS statements")
    chdb_client.command("DROP TABLE IF EXISTS voidings")
    return ClickHouseStore(chdb_client, "chdb")


def _normalise(value: Any) -> Any:
    """ClickHouse answers with aware UTC timestamps; DuckDB with naive ones. Compare the text. The end of
    the counted range is the clock when each engine ran (a moment apart)."""
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items() if k != "counted_until"}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    if isinstance(value, str) and value.endswith("+00:00"):
        return value[:-6]
    return value


D0 = day(0).date()
CASES: list[tuple[str, Callable[[], list[dict[str, Any]]], Callable[[Any], Any]]] = [
    ("active", datasets.activity, lambda s: metrics.active_users(s, D0, D0 + (day(9) - day(0)))),
    ("retention on", datasets.weekly_cohorts, lambda s: metrics.retention(s, "week", 3, "on", first=day(0),
                                                                          end=day(28).replace(hour=0))),
    ("retention on or after", datasets.weekly_cohorts,
     lambda s: metrics.retention(s, "week", 3, "on_or_after", first=day(0), end=day(28).replace(hour=0))),
    ("active in Beijing days", datasets.activity,
     lambda s: metrics.active_users(s, D0, D0 + (day(9) - day(0)), tz="Asia/Shanghai")),
    ("retention by week in Beijing", datasets.weekly_cohorts,
     lambda s: metrics.retention(s, "week", 3, "on", tz="Asia/Shanghai")),
    ("breakdown by hour in New York", datasets.outcomes,
     lambda s: metrics.breakdown(s, "hour", day(0), day(30), tz="America/New_York")),
    ("retention by day", datasets.weekly_cohorts, lambda s: metrics.retention(s, "day", 10, "on")),
    ("retention by month", datasets.weekly_cohorts, lambda s: metrics.retention(s, "month", 1, "on")),
    ("funnel", datasets.funnel_steps, lambda s: metrics.funnel(s, ["registered", "launched", "completed", "passed"],
                                                               first=day(0).replace(hour=0), end=day(30))),
    ("funnel with an object pattern", datasets.funnel_steps,
     lambda s: metrics.funnel(s, ["registered", "launched@*course/a", "completed@https://lms.example.edu/*"],
                              first=day(0).replace(hour=0), end=day(30))),
    ("completion", datasets.outcomes, lambda s: metrics.completion(s)),
    ("completion by region", datasets.outcomes, lambda s: metrics.completion(s, Filters(region="west"))),
    ("completion by part over registrations", datasets.oulad_like,
     lambda s: metrics.completion(s, by="part", unit="registrations")),
    ("completion by course over registrations", datasets.oulad_like,
     lambda s: metrics.completion(s, unit="registrations")),
    ("breakdown by part", datasets.oulad_like, lambda s: metrics.breakdown(s, "part", day(-800), day(0))),
    ("at risk", datasets.outcomes, lambda s: metrics.at_risk(s, asof=day(10).replace(hour=0))),
    ("breakdown region", datasets.outcomes, lambda s: metrics.breakdown(s, "region", day(0), day(30))),
    ("breakdown week", datasets.outcomes, lambda s: metrics.breakdown(s, "week", day(0), day(30))),
    ("breakdown hour", datasets.outcomes, lambda s: metrics.breakdown(s, "hour", day(0), day(30))),
    ("video", datasets.video, lambda s: metrics.video_engagement(s, day(0), day(5))),
    ("courses", datasets.outcomes, metrics.courses),
]


@pytest.mark.parametrize(("label", "data", "metric"), CASES, ids=[c[0] for c in CASES])
def test_same_answer_on_clickhouse(label: str, data: Callable[[], list[dict[str, Any]]],
                                   metric: Callable[[Any], Any], ch: ClickHouseStore, tmp_path: Path) -> None:
    duck = DuckDBStore(tmp_path / "events.duckdb")
    statements = data()
    lrs.store_statements(duck, statements, AUTHORITY)
    lrs.store_statements(ch, statements, AUTHORITY)
    expected = metric(duck)
    assert _normalise(metric(ch)) == _normalise(expected)
    duck.close()


def test_statement_queries_on_clickhouse(ch: ClickHouseStore) -> None:
    statements = datasets.outcomes()
    statements[0]["context"]["instructor"] = {"mbox": "mailto:t_100%@example.edu"}
    lrs.store_statements(ch, statements, AUTHORITY)
    teacher = {"mbox": "mailto:t_100%@example.edu"}
    found, more, _cursor, _newest = lrs.query_statements(ch, lrs.StatementQuery(agent=teacher, related_agents=True))
    assert [s["actor"]["account"]["name"] for s in found] == ["P0"] and not more
    p1 = {"account": {"homePage": "https://lms.example.edu", "name": "P1"}}
    assert len(lrs.query_statements(ch, lrs.StatementQuery(agent=p1))[0]) == 1
    page, more, cursor, _ = lrs.query_statements(ch, lrs.StatementQuery(limit=5, ascending=True))
    rest, _more, _c, _n = lrs.query_statements(ch, lrs.StatementQuery(limit=100, ascending=True, cursor=cursor))
    assert more and len(page) + len(rest) == len(statements)


def test_voiding_and_conflicts_on_clickhouse(ch: ClickHouseStore) -> None:
    [sid] = lrs.store_statements(ch, [datasets.outcomes()[0]], AUTHORITY)
    assert lrs.store_statements(ch, [{**datasets.outcomes()[0], "id": sid}], AUTHORITY) == [sid]
    lrs.store_statements(ch, [{"actor": {"mbox": "mailto:admin@x.example"},
                               "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                               "object": {"objectType": "StatementRef", "id": sid}}], AUTHORITY)
    assert lrs.get_statement(ch, sid, voided=True)[0]["id"] == sid
    assert metrics.completion(ch)["enrolled"] == 0


def test_statement_ref_targets_on_clickhouse(ch: ClickHouseStore, tmp_path: Path) -> None:
    """Filtered queries also return statements that point at a match through a StatementRef, on both stores."""
    duck = DuckDBStore(tmp_path / "events.duckdb")
    target = datasets.outcomes()[0]
    for store in (duck, ch):
        [sid] = lrs.store_statements(store, [{**target, "id": "7d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"}], AUTHORITY)
        [ref] = lrs.store_statements(store, [{"actor": {"mbox": "mailto:t@x.example"},
                                              "verb": {"id": "http://adlnet.gov/expapi/verbs/commented"},
                                              "object": {"objectType": "StatementRef", "id": sid.upper()}}],
                                     AUTHORITY)
        found = lrs.query_statements(store, lrs.StatementQuery(verb=target["verb"]["id"]))[0]
        assert {s["id"] for s in found} == {sid, ref}
    duck.close()
