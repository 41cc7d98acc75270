"""Statement batches parsed, validated and turned into rows by helper processes, for `eduops serve`.

One Python process holds the GIL for every statement it parses, validates and extracts (about 25 µs each),
so `POST /xapi/statements` used one core of two. With ``[events] ingest_processes`` (default: one per core,
at most 4) the serving process hands each JSON batch to a helper process, which does the per-statement work
and answers with the rows as one Arrow table; the serving process then only checks the ids against its id
filter, journals the rows (fsynced before the answer, as ever) and queues the table for the loader.

The helper decides nothing on its own: any batch it cannot take whole — an invalid statement, a voiding, an
attachment, a batch too large — comes back as ``None`` and the serving process runs the exact path on it
(``lrs.store_statements``), which gives the same answer and the same error message as without helpers. So
do ids the filter may know (a statement sent again, a conflict) and a helper that died (logged; the pool is
started again on the next batch).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from eduops.analytics.lrs import iso
from eduops.errors import EduopsError

log = logging.getLogger(__name__)
MAX_PROCESSES = 4
PARENT_CHECK_S = 1.0


@dataclass(frozen=True)
class Prepared:
    """A batch made ready by a helper: its ids in order, its rows (Arrow IPC) and its activity definitions."""

    ids: list[str]
    rows_ipc: bytes
    definitions: dict[str, dict[str, Any]]

    def table(self) -> pa.Table:
        return pa.ipc.open_stream(self.rows_ipc).read_all()


def processes_for(configured: int | None, cores: int | None) -> int:
    """Helper processes to start: as configured, else one per core (at most ``MAX_PROCESSES``); none on one core."""
    if configured is not None:
        return configured
    count = min(cores or 1, MAX_PROCESSES)
    return count if count > 1 else 0


def prepare_batch(body: bytes, authority: dict[str, Any], stored_at: str, limit: int,
                  prefixes: tuple[str, ...]) -> Prepared | None:
    """In a helper process: the batch's rows, or None when the serving process must take the exact path."""
    from eduops.analytics import activities, extract, lrs
    from eduops.analytics.store import to_arrow
    from eduops.analytics.xapi import parse_timestamp

    try:
        parsed = orjson.loads(body)
        statements = parsed if isinstance(parsed, list) else [parsed]
        if not statements or len(statements) > limit:
            return None
        if any(not isinstance(s, dict) or "attachments" in s for s in statements):
            return None  # attachments are checked against the parts and stored by the serving process
        lrs.validate_batch(statements)
        prepared = [lrs.prepare(s, authority, stored_at) for s in statements]
        ids = [p["id"] for p in prepared]
        if len(set(ids)) != len(ids):
            return None
        stored = parse_timestamp(stored_at, "stored")
        rows = [extract.to_row(p, stored) for p in prepared]
        if any(r["voids"] for r in rows):
            return None  # voidings are checked against the store
        table = to_arrow(extract.with_prefixes(rows, prefixes))
        definitions = activities.definitions_of(statements)
    except (EduopsError, ValueError, TypeError, KeyError):
        return None  # the exact path says what is wrong
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return Prepared(ids, sink.getvalue().to_pybytes(), definitions)


def _watch_parent(parent_pid: int) -> None:
    """Exit when the serving process is gone (killed with -9, say): its helpers must not linger."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _helper_started(parent_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the serving process stops its helpers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()
    # a helper keeps nothing between batches: the collector only needs to look at what one batch allocates
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _ready() -> bool:
    return True


class IngestPool:
    """The helper processes of one serving process (spawned, not forked: the server has threads)."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_helper_started, initargs=(os.getpid(),))
            return self._executor

    def warm_up(self) -> None:
        """Start the helpers now (each imports the LRS once), not on the first batch."""
        pool = self._pool()
        for _ in range(self.processes):
            pool.submit(_ready)

    def prepare(self, body: bytes, authority: dict[str, Any], limit: int,
                prefixes: tuple[str, ...]) -> Prepared | None:
        stored_at = iso(datetime.now(UTC))
        try:
            return self._pool().submit(prepare_batch, body, authority, stored_at, limit, prefixes).result()
        except BrokenProcessPool as exc:
            log.warning("an ingest helper process died (%s); starting them again, this batch takes the exact path",
                        exc)
            self._drop()
            return None

    def _drop(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


_active: IngestPool | None = None


def start(configured: int | None) -> IngestPool | None:
    """Called by `eduops serve` in the process that holds the event store."""
    global _active
    count = processes_for(configured, os.cpu_count())
    if count <= 0:
        return None
    _active = IngestPool(count)
    _active.warm_up()
    return _active


def active() -> IngestPool | None:
    return _active


def stop() -> None:
    global _active
    pool, _active = _active, None
    if pool is not None:
        pool.close()


