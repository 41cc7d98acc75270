"""Statement queries read through the postings (postings.py) answer exactly what a scan of the table answers."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.analytics.helpers import HOME, day, statement

from eduops.analytics import lrs, postings
from eduops.analytics import store as store_module
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


def _fill(store: DuckDBStore) -> None:
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


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    store = DuckDBStore(Path(tmp_path_factory.mktemp("postings")) / "events.duckdb")
    _fill(store)
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


def test_rows_written_without_keys_are_found_at_once_and_posted_in_the_background(stored: DuckDBStore) -> None:
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
    assert _posted_all(stored)


def _posted_all(store: DuckDBStore, within_s: float = 30.0) -> bool:
    """Whether the indexer posts every statement's keys before the deadline (polled)."""
    deadline = time.monotonic() + within_s
    while store.indexing() is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    top = store.query("SELECT max(seq) FROM statements")[0][0]
    return store.indexing() is None and store.posted_through() == (top, False)


def _consistent(store: DuckDBStore) -> None:
    """Every statement posted once (each has a verb key), and the counts are those of the postings."""
    assert store.query("SELECT count(*), count(DISTINCT seq) FROM statement_keys WHERE h = md5_number_lower("
                       "'v' || 'http://adlnet.gov/expapi/verbs/passed')")[0][0] > 0
    assert store.query("SELECT count(*) FROM (SELECT h, seq FROM statement_keys GROUP BY ALL HAVING count(*) > 1)"
                       ) == [(0,)]
    assert store.query("SELECT count(DISTINCT seq) FROM statement_keys") == store.query(
        "SELECT count(*) FROM statements")
    assert store.query("SELECT count(*) FROM statement_key_counts c FULL JOIN (SELECT h, count(*) AS n FROM "
                       "statement_keys GROUP BY h) k USING (h) WHERE c.n IS DISTINCT FROM k.n") == [(0,)]


@pytest.fixture(scope="module")
def unposted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the same statements written by an eduops from before postings: no keys at all."""
    path = Path(tmp_path_factory.mktemp("old")) / "events.duckdb"
    store = DuckDBStore(path)
    _fill(store)
    store.execute("DELETE FROM statement_keys")
    store.execute("DELETE FROM statement_key_counts")
    store.close()
    return path


def test_an_old_store_opens_before_its_keys_are_posted_and_queries_answer_alike_meanwhile(
        unposted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = unposted.with_name("copy.duckdb")
    copy.write_bytes(unposted.read_bytes())
    monkeypatch.setattr(DuckDBStore, "_start_indexer", lambda self: None)  # the chunks are posted by hand here
    store = DuckDBStore(copy)
    try:
        total = store.query("SELECT count(*) FROM statements")[0][0]
        assert store.indexing() == (0, total) and store.posted_through() == (0, True)
        asked = list(itertools.islice(_queries(), 0, None, 6))
        expected = [_scanned(store, q) for q in asked]
        monkeypatch.setattr(store_module, "INDEX_CHUNKS", (70, 70, 70))
        store._index_chunk = 70  # none, some and most statements posted
        for posted_chunks in range(3):
            if posted_chunks:
                assert store._post_chunk()
            through, waiting = store.posted_through()
            assert waiting and 70 * posted_chunks == through, store.posted_through()
            for q, pages in zip(asked, expected, strict=True):
                assert _pages(store, q) == pages, (posted_chunks, q)
        # ingest goes on meanwhile: new statements are found, and their keys posted by the indexer, not twice
        authority = {"objectType": "Agent", "account": {"homePage": HOME, "name": "lms-key"}}
        q = lrs.StatementQuery(agent=AGENTS[0], verb="http://adlnet.gov/expapi/verbs/passed", limit=500)
        before = len(_scanned(store, q)[0])
        lrs.store_statements(store, [statement("u0", "passed", day(30, 0))], authority)
        assert len(_pages(store, q)[0]) == before + 1 and _pages(store, q) == _scanned(store, q)
        seen: list[tuple[int, int]] = []
        store.post_keys(lambda done, of: seen.append((done, of)))
        assert seen[-1] == (total + 1, total + 1) and store.indexing() is None
        assert store.posted_through() == (store.query("SELECT max(seq) FROM statements")[0][0], False)
        _consistent(store)
        lrs.store_statements(store, [statement("u0", "passed", day(31, 0))], authority)
        assert len(_pages(store, q)[0]) == before + 2  # posted by the commit again
        _consistent(store)
    finally:
        store.close()


def test_the_indexer_posts_an_old_store_in_the_background(unposted: Path) -> None:
    copy = unposted.with_name("background.duckdb")
    copy.write_bytes(unposted.read_bytes())
    store = DuckDBStore(copy)
    try:
        assert _posted_all(store)
        _consistent(store)
    finally:
        store.close()


@pytest.mark.parametrize(("chunk", "took_s", "expected"), [
    (100_000, 0.2, 200_000),  # well under the target: twice as many
    (100_000, 1.0, 100_000),  # about the target: kept
    (100_000, 2.5, 50_000),  # over twice the target: half
    (800_000, 0.1, 1_000_000),  # never above the largest
    (12_000, 9.0, 10_000),  # never below the smallest
])
def test_the_indexing_chunk_keeps_each_transaction_near_the_target_time(chunk: int, took_s: float,
                                                                          expected: int) -> None:
    assert postings.next_chunk(chunk, took_s, 1.0, (10_000, 100_000, 1_000_000)) == expected


def _tricky() -> list[dict[str, Any]]:
    """Statements whose keys take every rule of ``postings._KEYS``: groups, an agent as object, instructor and
    team, a sub-statement, a StatementRef, the object repeated in the context, non-ASCII identifiers."""
    when = day(1)
    team = {"objectType": "Group", "member": [AGENTS[2], AGENTS[3]]}
    sub = {"objectType": "SubStatement", "actor": AGENTS[4], "verb": {"id": "http://adlnet.gov/expapi/verbs/passed"},
           "object": {"objectType": "Activity", "id": f"{HOME}/课程/第一课"},
           "context": {"instructor": AGENTS[5], "contextActivities": {"grouping": [{"id": f"{HOME}/course/b"}]}}}
    return [
        statement("u0", "completed", when, obj="course/a/v1"),
        {**statement("u1", "launched", when, obj="course/a"), "actor": GROUP},
        {**statement("u2", "passed", when), "object": {"objectType": "Agent", **AGENTS[0]}},
        {**statement("u3", "passed", when), "object": {"objectType": "Agent", **AGENTS[3]}},  # actor is the object
        {**statement("u4", "completed", when, obj="课程/第一课", course="课程"),
         "context": {"instructor": AGENTS[6], "team": team, "registration": REGISTRATIONS[1].upper(),
                     "contextActivities": {"parent": [{"id": f"{HOME}/课程/第一课"}],  # the object again
                                           "other": [{"id": f"{HOME}/course/b"}, {"id": f"{HOME}/course/b"}]}}},
        {**statement("u5", "experienced", when), "object": sub},
        {**statement("u0", "experienced", when),
         "object": {"objectType": "StatementRef", "id": "6fa459ea-ee8a-3ca4-894e-db77e160355e"}},
    ]


def test_the_keys_a_batch_brings_are_the_keys_duckdb_derives(tmp_path: Path) -> None:
    """Batches post the keys to_row worked out in Python (postings.statement_keys); the background indexer and
    `eduops upgrade` derive them in SQL (postings.index_sql): both must post the same (key, statement) pairs."""
    store = DuckDBStore(tmp_path / "events.duckdb")
    try:
        authority = {"objectType": "Agent", "account": {"homePage": HOME, "name": "lms-key"}}
        lrs.store_statements(store, _tricky(), authority)
        lrs.store_statements(store, _statements(random.Random(5))[:40], authority)
        store.flush()
        posted = store.query("SELECT h, seq FROM statement_keys ORDER BY ALL")
        derive = postings.index_sql(0)[0]
        derived = store.query(f"SELECT * FROM ({derive[derive.index('SELECT'):]}) ORDER BY ALL")
        assert len(posted) > 47 * 3
        assert posted == derived
        counts = store.query("SELECT h, n FROM statement_key_counts ORDER BY ALL")
        assert counts == store.query("SELECT h, count(*) FROM statement_keys GROUP BY h ORDER BY ALL")
    finally:
        store.close()


@pytest.mark.parametrize("kind, value", [("a", "account|https://x.example|u1"), ("O", f"{HOME}/课程/第一课"),
                                         ("v", "http://adlnet.gov/expapi/verbs/passed"), ("s", "")])
def test_key_numbers_are_duckdbs_md5_number_lower(kind: str, value: str) -> None:
    import duckdb

    expected = duckdb.connect().execute("SELECT md5_number_lower(?)", [kind + value]).fetchone()
    assert expected is not None and postings.key_number(kind, value) == expected[0]
