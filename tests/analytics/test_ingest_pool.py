"""Ingest helper processes (``ingest_pool``): a batch a helper prepares is stored exactly as the exact path
stores it, every batch it cannot take whole goes down the exact path (same answers, same messages), and a
helper that dies costs no statement."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eduops.analytics import activities, extract, ingest_pool, lrs
from eduops.analytics.ingest_pool import IngestPool, prepare_batch, processes_for
from eduops.analytics.journal import lines_bytes
from eduops.analytics.store import DuckDBStore, close_stores, to_arrow
from eduops.analytics.vocab import VERBS
from eduops.analytics.xapi import parse_timestamp
from eduops.core.workspace import Workspace

from .helpers import XAPI, day, statement
from .test_statements_fast_path import IDS, app_as, run_script

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://lrs.example", "name": "lms-key"}}
STORED_AT = "2026-03-02T09:00:00.000Z"


@pytest.mark.parametrize(("configured", "cores", "expected"), [
    (None, 2, 2),  # one per core
    (None, 16, 4),  # at most four
    (None, 1, 0),  # one core: a helper would only add a hop
    (None, None, 0),  # unknown: none
    (0, 8, 0),  # switched off
    (3, 1, 3),  # as configured
])
def test_processes_for(configured: int | None, cores: int | None, expected: int) -> None:
    assert processes_for(configured, cores) == expected


def _batch(n: int = 3) -> list[dict[str, Any]]:
    return [statement(f"learner{i}", "completed", day(i), obj=f"course/a/lesson{i}", region="河南", device="ios",
                      id=f"00000000-0000-4000-8000-{i:012d}") for i in range(n)]


def test_a_prepared_batch_is_the_exact_paths_rows() -> None:
    batch = _batch() + [statement("no-id", "launched", day(0))]  # the LRS gives it an id
    prefixes = ("https://lms.example.edu/course/",)
    prepared = prepare_batch(json.dumps(batch).encode(), AUTHORITY, STORED_AT, 100, prefixes)
    assert prepared is not None
    exact = [lrs.prepare(s, AUTHORITY, STORED_AT) for s in batch]
    exact[-1]["id"] = prepared.ids[-1]  # a new id is random: take the helper's
    rows = [extract.to_row(p, parse_timestamp(STORED_AT)) for p in exact]
    assert prepared.ids == [r["id"] for r in rows]
    assert prepared.table().to_pylist() == to_arrow(extract.with_prefixes(rows, prefixes)).to_pylist()
    assert prepared.definitions == activities.definitions_of(batch) != {}
    assert prepared.journal == lines_bytes([r["raw"] for r in rows])  # what the serving process journals


VOIDING = {"actor": {"mbox": "mailto:t@example.edu"}, "verb": {"id": VERBS["voided"]},
           "object": {"objectType": "StatementRef", "id": IDS[0]}}


@pytest.mark.parametrize(("body", "why"), [
    (b"{not json", "not JSON"),
    (b"[]", "no statements"),
    (b"5", "not a statement"),
    (json.dumps([{**_batch(1)[0], "actor": {"mbox": "li"}}]).encode(), "invalid: the exact path names the field"),
    (json.dumps(_batch(1) * 2).encode(), "an id twice"),
    (json.dumps(_batch(5)).encode(), "more than the limit"),
    (json.dumps([VOIDING]).encode(), "a voiding: checked against the store"),
    (json.dumps([{**_batch(1)[0], "attachments": []}]).encode(), "attachments: checked against the parts"),
])
def test_what_a_helper_leaves_to_the_exact_path(body: bytes, why: str) -> None:
    assert prepare_batch(body, AUTHORITY, STORED_AT, 4, ()) is None, why


@pytest.fixture
def pool() -> Iterator[IngestPool]:
    """One real helper process, active as `eduops serve` makes it."""
    helper = IngestPool(1, min_body_bytes=0)  # the tests' batches are small
    ingest_pool._active = helper
    _wait_ready(helper)
    try:
        yield helper
    finally:
        ingest_pool.stop()
        close_stores()


def _counting(pool: IngestPool) -> list[bool]:
    """Whether each batch the pool was asked for came back prepared."""
    taken: list[bool] = []
    original = pool.prepare

    def prepare(*args: Any) -> Any:
        prepared = original(*args)
        taken.append(prepared is not None)
        return prepared

    pool.prepare = prepare  # type: ignore[method-assign]
    return taken


def test_with_helpers_every_answer_is_the_same(sqlite_ws: Workspace, pool: IngestPool,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDUOPS_EVENTS__MAX_BATCH", "2")
    prepared = _counting(pool)
    journalled: list[bool] = []
    insert_table = DuckDBStore.insert_table

    def recorded(store: DuckDBStore, ids: list[str], table: Any, journal: bytes | None = None) -> bool:
        journalled.append(insert_table(store, ids, table, journal))
        return journalled[-1]

    monkeypatch.setattr(DuckDBStore, "insert_table", recorded)
    with TestClient(app_as(sqlite_ws, ("ingest:xapi", "read"), True, [])) as client:
        helped = run_script(client)
        stored = client.get("/xapi/statements", params={"limit": "0"}, headers=XAPI).json()["statements"]
    # a helper prepared every well-formed batch (the requests refused for their headers never got that far);
    # the same batch again and its conflicting variant (ids the filter knows) went on down the exact path
    assert prepared == [True, True, True, True, False, False, False, False, False, True]
    assert journalled == [True, False, False, True, True]
    ingest_pool.stop()
    close_stores()
    (sqlite_ws.settings.home / "events.duckdb").unlink()
    shutil.rmtree(sqlite_ws.settings.home / "events.duckdb.journal", ignore_errors=True)
    with TestClient(app_as(sqlite_ws, ("ingest:xapi", "read"), True, [])) as client:
        exact = run_script(client)
        alone = client.get("/xapi/statements", params={"limit": "0"}, headers=XAPI).json()["statements"]
    assert helped == exact
    assert [s["id"] for s in stored] == [s["id"] for s in alone]
    assert [{k: v for k, v in s.items() if k != "stored"} for s in stored] == [
        {k: v for k, v in s.items() if k != "stored"} for s in alone]


def test_activity_definitions_are_kept(sqlite_ws: Workspace, pool: IngestPool) -> None:
    taken = _counting(pool)
    with TestClient(app_as(sqlite_ws, ("ingest:xapi", "read"), True, [])) as client:
        sent = statement("li", "launched", day(0), obj="course/a/video1")
        sent["object"]["definition"] = {"name": {"zh-CN": "第一课"}, "type": "http://adlnet.gov/expapi/activities/media"}
        assert client.post("/xapi/statements", json=[sent], headers=XAPI).status_code == 200
        got = client.get("/xapi/activities", params={"activityId": sent["object"]["id"]}, headers=XAPI)
    assert taken == [True]
    assert got.status_code == 200 and got.json()["definition"]["name"] == {"zh-CN": "第一课"}


def _wait_ready(pool: IngestPool) -> None:
    """Start the helpers and wait until every one has started (they start in the background)."""
    pool.warm_up()
    deadline = time.monotonic() + 60
    while pool.status()["ready"] < pool.processes:
        assert time.monotonic() < deadline, pool.status()
        time.sleep(0.05)  # polling helpers that are starting, with a deadline


def _helper_pids(pool: IngestPool) -> list[int]:
    _wait_ready(pool)
    return pool.pids()


def test_a_helper_that_dies_costs_no_statement(sqlite_ws: Workspace, pool: IngestPool) -> None:
    taken = _counting(pool)
    with TestClient(app_as(sqlite_ws, ("ingest:xapi", "read"), True, [])) as client:
        pids = _helper_pids(pool)
        assert len(pids) == 1
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        first = client.post("/xapi/statements", json=_batch(2), headers=XAPI)
        _wait_ready(pool)  # the dead one's replacement
        second = client.post("/xapi/statements", json=[statement("wang", "launched", day(1))], headers=XAPI)
        stored = client.get("/xapi/statements", params={"limit": "0"}, headers=XAPI).json()["statements"]
        after = pool.pids()
    assert first.status_code == 200 and second.status_code == 200
    assert taken == [False, True]  # the broken pool's batch took the exact path; the next one a new helper
    assert len(stored) == 3
    assert len(after) == 1 and after != pids


def test_closing_stops_every_helper(pool: IngestPool) -> None:
    pids = _helper_pids(pool)
    pool.close()
    assert pool.pids() == [] and not [pid for pid in pids if _alive(pid)]
    assert pool.prepare(json.dumps(_batch(1)).encode(), AUTHORITY, 10, ()) is None  # a closed pool takes nothing


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_stored_time_is_the_requests(sqlite_ws: Workspace, pool: IngestPool) -> None:
    before = datetime.now(UTC)
    with TestClient(app_as(sqlite_ws, ("ingest:xapi", "read"), True, [])) as client:
        assert client.post("/xapi/statements", json=_batch(1), headers=XAPI).status_code == 200
        got = client.get("/xapi/statements", params={"statementId": IDS[0]}, headers=XAPI).json()
    stored = datetime.fromisoformat(got["stored"].replace("Z", "+00:00"))
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= stored <= datetime.now(UTC)


@pytest.mark.parametrize(("size", "taken"), [(0, False), (8 * 1024 - 1, False), (8 * 1024, True), (10**6, True)])
def test_small_batches_stay_in_the_serving_process(size: int, taken: bool) -> None:
    assert IngestPool(1).takes(b" " * size) is taken


def test_helpers_start_with_the_first_batch_and_meanwhile_the_exact_path_serves(sqlite_ws: Workspace) -> None:
    pool = IngestPool(1, min_body_bytes=0)
    ingest_pool._active = pool
    try:
        taken = _counting(pool)
        with TestClient(app_as(sqlite_ws, ("ingest:xapi", "read"), True, [])) as client:
            assert pool.status() == {"configured": 1, "running": 0, "ready": 0}  # nothing started with the server
            first = client.post("/xapi/statements", json=_batch(2), headers=XAPI)
            assert pool.status()["running"] == 1
            _wait_ready(pool)
            second = client.post("/xapi/statements", json=[statement("wang", "launched", day(1))], headers=XAPI)
            status = client.get("/api/v1/analytics/status").json()
        assert first.status_code == second.status_code == 200
        assert taken == [False, True]
        assert status["ingest_helpers"] == {"configured": 1, "running": 1, "ready": 1} and status["statements"] == 3
    finally:
        ingest_pool.stop()
        close_stores()


def test_a_helper_that_hangs_is_replaced(sqlite_ws: Workspace, pool: IngestPool,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_pool, "ANSWER_WITHIN_S", 0.5)
    taken = _counting(pool)
    with TestClient(app_as(sqlite_ws, ("ingest:xapi", "read"), True, [])) as client:
        (stuck,) = _helper_pids(pool)
        os.kill(stuck, signal.SIGSTOP)  # alive, never answering
        try:
            first = client.post("/xapi/statements", json=_batch(2), headers=XAPI)
        finally:
            with contextlib.suppress(ProcessLookupError):  # the pool kills it
                os.kill(stuck, signal.SIGCONT)
        _wait_ready(pool)
        second = client.post("/xapi/statements", json=[statement("wang", "launched", day(1))], headers=XAPI)
        after = pool.pids()
    assert first.status_code == second.status_code == 200
    assert taken == [False, True] and after != [stuck] and not _alive(stuck)
