"""Statement queries read through the postings (postings.py) answer exactly what a scan of the table answers."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.analytics.helpers import HOME, day, statement

from eduops.analytics import lrs, postings
from eduops.analytics.store import DuckDBStore

AGENTS = [{"account": {"homePage": HOME, "name": f"u{i}"}} for i in range(6)] + [
    {"mbox": "mailto:teacher@example.edu"}, {"mbox_sha1sum": "ab" * 20}, {"openid": "https://id.example/x"}]
GROUP = {"objectType": "Group", "member": [AGENTS[0], AGENTS[1]]}
VERBS = ["launched", "completed", "passed", "failed"]
ACTIVITIES = ["course/a", "course/a/v1", "course/b", "course/b/v2"]
REGISTRATIONS = ["6fa459ea-ee8a-3ca4-894e-db77e160355e", "16fd2706-8baf-433b-82eb-8c7fada847da"]


def _statements(rng: random.Random) -> list[dict[str, Any]]:
    made = []
    for n in range(160):
        course = rng.choice(["course/a", "course/b"])
        s = statement(rng.choice(["u0", "u1", "u2", "u3", "u4", "u5"]), rng.choice(VERBS), day(n // 10, n % 10),
                      obj=rng.choice([a for a in ACTIVITIES if a.startswith(course)]), course=course)
        if n % 7 == 0:
            s["actor"] = rng.choice(AGENTS[6:])
        if n % 11 == 0:
            s["actor"] = GROUP
        if n % 13 == 0:
            s["object"] = {"objectType": "Agent", **rng.choice(AGENTS)}
        if n % 3 == 0:
            s.setdefault("context", {})["registration"] = rng.choice(REGISTRATIONS)
        if n % 5 == 0:
            s.setdefault("context", {})["instructor"] = rng.choice(AGENTS)
        made.append(s)
    return made


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    store = DuckDBStore(Path(tmp_path_factory.mktemp("postings")) / "events.duckdb")
    rng = random.Random(18)
    made = _statements(rng)
    authority = {"objectType": "Agent", "account": {"homePage": HOME, "name": "lms-key"}}
    ids: list[str] = []
    for i in range(0, len(made), 16):  # several commits, each posting its own keys
        ids += lrs.store_statements(store, made[i:i + 16], authority, now=datetime(2026, 3, 20, tzinfo=UTC))
    # StatementRefs: voiding statements (their targets leave queries) and a plain reference
    refs = [{"actor": AGENTS[6], "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
             "object": {"objectType": "StatementRef", "id": ids[k]}} for k in (3, 40, 77)]
    refs.append({"actor": AGENTS[7], "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
                 "object": {"objectType": "StatementRef", "id": ids[50]}})
    lrs.store_statements(store, refs, authority)
    yield store
    store.close()


def _queries() -> Iterator[lrs.StatementQuery]:
    agents: list[dict[str, Any] | None] = [None, AGENTS[0], AGENTS[6], AGENTS[8], GROUP]
    activities = [None, *(f"{HOME}/{a}" for a in ("course/a", "course/b/v2"))]
    verbs = [None, "http://adlnet.gov/expapi/verbs/passed", "http://adlnet.gov/expapi/verbs/voided"]
    combinations = itertools.product(agents, activities, verbs, [None, REGISTRATIONS[0]])
    for n, (agent, activity, verb, registration) in enumerate(combinations):
        if agent is None and activity is None and verb is None and registration is None:
            continue
        yield lrs.StatementQuery(agent=agent, activity=activity, verb=verb, registration=registration,
                                 related_agents=n % 2 == 1, related_activities=n % 4 >= 2, ascending=n % 3 == 0,
                                 limit=4)


def _pages(store: DuckDBStore, q: lrs.StatementQuery) -> list[list[str]]:
    pages = []
    while True:
        statements, more, cursor, _newest = lrs.query_statements(store, q)
        pages.append([s["id"] for s in statements])
        if not more:
            return pages
        q = lrs.StatementQuery(**{**q.__dict__, "cursor": cursor})


def _scanned(store: DuckDBStore, q: lrs.StatementQuery) -> list[list[str]]:
    posted = lrs._query_posted
    try:
        lrs._query_posted = lambda *_args: None  # type: ignore[assignment]
        return _pages(store, q)
    finally:
        lrs._query_posted = posted  # type: ignore[assignment]


@pytest.mark.parametrize(("index_max", "first_window"), [(postings.INDEX_MAX, postings.FIRST_WINDOW), (0, 2)])
def test_every_filter_combination_pages_like_a_full_scan(stored: DuckDBStore, index_max: int, first_window: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # (0, 2): no key is rare enough for the index; the newest postings are read over windows widened from 2
    monkeypatch.setattr(postings, "INDEX_MAX", index_max)
    monkeypatch.setattr(postings, "FIRST_WINDOW", first_window)
    answered = 0
    for q in _queries():
        expected = _scanned(stored, q)
        assert _pages(stored, q) == expected, q
        answered += bool(expected[0])
    assert answered > 30  # most combinations find something: the comparison is not between empty pages


def test_the_index_answers_and_rows_written_without_keys_are_posted_before_a_query(stored: DuckDBStore) -> None:
    ann = AGENTS[0]
    q = lrs.StatementQuery(agent=ann, limit=500)
    before = len(lrs.query_statements(stored, q)[0])
    calls: list[str] = []
    posted = lrs._query_posted

    def spy(*args: Any) -> Any:
        calls.append("posted")
        return posted(*args)

    stored.execute("INSERT INTO statements SELECT * REPLACE (seq + 1000 AS seq, uuid() AS id) FROM statements "
                   "WHERE agents LIKE '%|u0' || chr(10) || '%' AND NOT voided AND voids IS NULL")
    try:
        lrs._query_posted = spy  # type: ignore[assignment]
        after = lrs.query_statements(stored, q)[0]
    finally:
        lrs._query_posted = posted  # type: ignore[assignment]
    assert calls == ["posted"] and len(after) == 2 * before > 0
    assert stored.posted_through() == stored.query("SELECT max(seq) FROM statements")[0][0]
