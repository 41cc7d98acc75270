"""The ingest journal: acknowledged statements are durable before DuckDB has them, and never lost or doubled."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from eduops.analytics import journal, lrs, store
from eduops.analytics.journal import IdFilter, id_halves
from eduops.analytics.store import _ID_HALVES, DuckDBStore
from eduops.errors import Conflict

from .helpers import day, statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "t"}}


def _batch(prefix: str, n: int) -> list[dict[str, object]]:
    return [statement(f"{prefix}{i}", "launched", day(0), id=str(uuid.uuid4())) for i in range(n)]


def _held(store: DuckDBStore) -> DuckDBStore:
    """The store with its loader kept from running: statements stay in the journal until a read."""
    store._start_loader = lambda: None  # type: ignore[method-assign]
    return store


@pytest.mark.parametrize("ids", [
    [str(uuid.uuid4()) for _ in range(2000)],  # random, as most clients send
    [f"00000000-0000-4000-8000-{n:012x}" for n in range(2000)],  # sequential, as a careless client might
    [f"{n:08x}-0000-4000-8000-000000000000" for n in range(2000)],
])
def test_the_id_filter_knows_every_id_it_was_given_and_rarely_claims_others(ids: list[str]) -> None:
    seen = IdFilter(len(ids))
    seen.add(ids)
    assert seen.maybe(ids) == ids
    strangers = [str(uuid.uuid4()) for _ in range(20_000)]
    assert len(seen.maybe(strangers)) <= 5  # about 1 in 10,000 by design; 5 in 20,000 leaves room


def test_python_and_duckdb_split_ids_the_same_way() -> None:
    ids = [str(uuid.uuid4()) for _ in range(50)] + ["ffffffff-ffff-4fff-bfff-ffffffffffff",
                                                    "00000000-0000-4000-8000-000000000001"]
    con = duckdb.connect()
    con.execute("CREATE TABLE statements (id UUID)")
    con.execute("INSERT INTO statements SELECT unnest(?::UUID[])", [ids])
    got = con.execute(f"SELECT {_ID_HALVES} FROM statements").fetchnumpy()
    hi, lo = id_halves(ids)
    assert list(got["hi"]) == list(hi) and list(got["lo"]) == list(lo)


def test_journalled_statements_are_read_at_once_and_loaded_once(tmp_path: Path) -> None:
    store = _held(DuckDBStore(tmp_path / "events.duckdb"))
    batch = _batch("a", 30)
    lrs.store_statements(store, batch, AUTHORITY)
    segments = list((tmp_path / "events.duckdb.journal").glob("*.jsonl"))
    assert len(segments) == 1 and len(segments[0].read_text().splitlines()) == 30
    assert store.query("SELECT count(*) FROM statements")[0][0] == 30  # a read loads what is journalled
    assert list((tmp_path / "events.duckdb.journal").glob("*.jsonl")) == []
    store.close()


def test_a_journalled_id_sent_again_is_idempotent_or_a_conflict(tmp_path: Path) -> None:
    store = _held(DuckDBStore(tmp_path / "events.duckdb"))
    batch = _batch("b", 5)
    lrs.store_statements(store, batch, AUTHORITY)
    lrs.store_statements(store, batch, AUTHORITY)  # the same statements again, still only journalled
    changed = [dict(batch[2], verb={"id": "http://adlnet.gov/expapi/verbs/completed"})]
    with pytest.raises(Conflict):
        lrs.store_statements(store, changed, AUTHORITY)
    assert store.query("SELECT count(*) FROM statements")[0][0] == 5
    store.close()


def test_statements_journalled_by_a_process_that_died_are_loaded_at_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    ids = [str(uuid.uuid4()) for _ in range(40)]
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent.parent.parent)!r})
        from pathlib import Path
        from eduops.analytics import lrs
        from eduops.analytics.store import DuckDBStore
        from tests.analytics.helpers import day, statement
        store = DuckDBStore(Path({str(path)!r}))
        store._start_loader = lambda: None
        ids = {ids!r}
        lrs.store_statements(store, [statement(f"k{{i}}", "launched", day(0), id=sid) for i, sid in enumerate(ids)],
                             {AUTHORITY!r})
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert died.returncode == -9, died.stderr
    segment = next((tmp_path / "events.duckdb.journal").glob("*.jsonl"))
    with segment.open("a") as f:
        f.write('{"id": "torn')  # a write the crash cut short: never acknowledged
    store = DuckDBStore(path)
    stored = {r[0] for r in store.query("SELECT CAST(id AS VARCHAR) FROM statements")}
    assert stored == set(ids)
    assert list((tmp_path / "events.duckdb.journal").glob("*.jsonl")) == []
    lrs.store_statements(store, [statement("k0", "launched", day(0), id=ids[0])], AUTHORITY)  # known again
    assert store.query("SELECT count(*) FROM statements")[0][0] == 40
    store.close()


def test_a_segment_loaded_before_the_crash_is_not_loaded_twice(tmp_path: Path) -> None:
    store = _held(DuckDBStore(tmp_path / "events.duckdb"))
    lrs.store_statements(store, _batch("c", 10), AUTHORITY)
    segment = next((tmp_path / "events.duckdb.journal").glob("*.jsonl"))
    kept = segment.read_bytes()
    store.close()  # loads and deletes the segment
    segment.write_bytes(kept)  # as if the process died between the DuckDB commit and the delete
    again = DuckDBStore(tmp_path / "events.duckdb")
    assert again.query("SELECT count(*) FROM statements")[0][0] == 10
    again.close()


def test_the_filter_grows_with_the_store_and_still_knows_every_id(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "MIN_CAPACITY", 8)
    store = DuckDBStore(tmp_path / "events.duckdb")
    batches = [_batch(f"g{n}", 20) for n in range(4)]
    for batch in batches:
        lrs.store_statements(store, batch, AUTHORITY)
    every = [str(s["id"]) for batch in batches for s in batch]
    assert store._ids.maybe(every) == every
    store.flush()
    lrs.store_statements(store, _batch("h", 1), AUTHORITY)  # a full filter is rebuilt before the next one
    assert store._ids.capacity > 8 and not store._ids.full and store._ids.maybe(every) == every
    store.close()


def test_a_failed_load_keeps_the_statements_and_the_next_one_stores_them(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store = _held(DuckDBStore(tmp_path / "events.duckdb"))
    lrs.store_statements(store, _batch("f", 10), AUTHORITY)
    real_commit = store._commit

    def disk_full(*args: object, **kwargs: object) -> None:
        raise duckdb.IOException("No space left on device")

    monkeypatch.setattr(store, "_commit", disk_full)
    with pytest.raises(duckdb.IOException):
        store.flush()
    assert list((tmp_path / "events.duckdb.journal").glob("*.jsonl"))  # still journalled
    monkeypatch.setattr(store, "_commit", real_commit)
    lrs.store_statements(store, _batch("g", 5), AUTHORITY)
    assert store.query("SELECT count(*) FROM statements")[0][0] == 15
    assert list((tmp_path / "events.duckdb.journal").glob("*.jsonl")) == []
    store.close()


def test_a_damaged_journal_line_is_kept_aside_and_the_rest_is_loaded(tmp_path: Path) -> None:
    store = _held(DuckDBStore(tmp_path / "events.duckdb"))
    lrs.store_statements(store, _batch("d", 3), AUTHORITY)
    segment = next((tmp_path / "events.duckdb.journal").glob("*.jsonl"))
    lines = segment.read_text().splitlines()
    store._pending.clear()  # as if the process died here: nothing of it reaches DuckDB
    store._queue.clear()
    store.close()
    segment.write_text("\n".join([lines[0], "{not json", lines[2]]) + "\n")
    again = DuckDBStore(tmp_path / "events.duckdb")
    assert again.query("SELECT count(*) FROM statements")[0][0] == 2
    assert [p.suffix for p in (tmp_path / "events.duckdb.journal").iterdir()] == [".damaged"]
    again.close()


@pytest.mark.parametrize(("waiting", "waited_s", "due"), [
    (0, 99.0, False),  # nothing to load
    (1, 0.0, False),  # one request: wait for others to share the transaction
    (store.LOAD_AT - 1, store.LOAD_WITHIN_S / 2, False),
    (store.LOAD_AT, 0.0, True),  # a large batch is due at once
    (1, store.LOAD_WITHIN_S, True),  # and a small one once it has waited long enough
])
def test_the_loader_waits_for_a_large_batch_or_a_while(waiting: int, waited_s: float, due: bool) -> None:
    assert store.load_due(waiting, waited_s) is due


@pytest.mark.parametrize(("waiting", "waited_s", "whole"), [
    (store.LOAD_AT, 0.0, True),  # statements keep coming: whole row groups, the rest waits for the next load
    (3 * store.LOAD_AT + 5, store.LOAD_WITHIN_S / 2, True),
    (store.LOAD_AT, store.LOAD_WITHIN_S, False),  # waited long enough: everything
    (store.LOAD_AT - 1, store.LOAD_WITHIN_S, False),
])
def test_the_loader_loads_whole_row_groups_while_statements_keep_coming(waiting: int, waited_s: float,
                                                                        whole: bool) -> None:
    assert store.only_whole_row_groups(waiting, waited_s) is whole


def _row_groups(events: DuckDBStore) -> list[int]:
    return [n for (n,) in events.query(
        "SELECT max(count) FROM pragma_storage_info('statements') GROUP BY row_group_id ORDER BY row_group_id")]


def test_the_store_writes_row_groups_of_its_own_size(tmp_path: Path) -> None:
    events = DuckDBStore(tmp_path / "events.duckdb")
    events.execute(f"INSERT INTO statements (id, raw) SELECT uuid(), '{{}}' FROM range({2 * store.ROW_GROUP_SIZE + 7})")
    assert _row_groups(events) == [store.ROW_GROUP_SIZE, store.ROW_GROUP_SIZE, 7]
    events.close()


def test_a_partial_load_keeps_the_rest_queued_and_journalled_and_a_crash_loses_or_doubles_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "ROW_GROUP_SIZE", 2048)  # DuckDB's least
    path = tmp_path / "events.duckdb"
    events = _held(DuckDBStore(path))
    batches = [_batch(f"p{n}", 700) for n in range(4)]
    for n, batch in enumerate(batches):
        lrs.store_statements(events, batch, AUTHORITY)
        if n == 1:
            events._journal.rotate()  # the third and fourth requests land in a later segment
    events.flush(whole_row_groups=True)  # 2,800 waiting: the oldest 2,048 (the third request split after 648)
    assert events.backlog == 752 and [len(item.ids) for item in events._queue] == [52, 700]
    assert events._queue[0].ids == [str(s["id"]) for s in batches[2][648:]]
    assert events._run("SELECT count(*) FROM statements")[0][0] == 2048
    segments = sorted((tmp_path / "events.duckdb.journal").glob("*.jsonl"))
    assert len(segments) == 1  # the first segment is loaded whole and gone; the second holds the queued 752
    events.flush(whole_row_groups=True)  # 752 waiting: not a whole row group, nothing loads
    assert events.backlog == 752
    events._pending.clear()  # as if the process died here: the 752 never reach DuckDB from memory
    events._queue.clear()
    events.close()
    again = DuckDBStore(path)  # the kept segment is replayed; its 648 loaded statements are not doubled
    stored = [r[0] for r in again.query("SELECT CAST(id AS VARCHAR) FROM statements")]
    assert sorted(stored) == sorted(str(s["id"]) for batch in batches for s in batch)
    again.close()


def test_statements_waiting_for_the_loader_are_read_and_then_loaded_in_one_go(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "LOAD_WITHIN_S", 3600.0)
    events = DuckDBStore(tmp_path / "events.duckdb")
    for n in range(3):
        lrs.store_statements(events, _batch(f"w{n}", 10), AUTHORITY)
    assert events.backlog == 30  # acknowledged (journalled), waiting to share one DuckDB transaction
    generation = events.generation
    assert events.query("SELECT count(*) FROM statements")[0][0] == 30  # a read loads them first
    assert events.generation == generation + 1
    monkeypatch.setattr(store, "LOAD_WITHIN_S", 0.05)
    lrs.store_statements(events, _batch("x", 10), AUTHORITY)
    deadline = time.monotonic() + 30
    while events.backlog and time.monotonic() < deadline:
        time.sleep(0.01)
    assert events.backlog == 0  # the loader's clock ran out without any read
    events.close()
