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
import pickle
import queue
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import orjson
import pyarrow as pa

from eduops.analytics.extract import ROW_FIELDS
from eduops.analytics.journal import lines_bytes
from eduops.analytics.lrs import iso
from eduops.errors import EduopsError

log = logging.getLogger(__name__)
MAX_PROCESSES = 4
PARENT_CHECK_S = 1.0
STOP_WAIT_S = 5.0
ANSWER_WITHIN_S = 60.0  # a batch of 10,000 statements takes a helper about 0.3 s
WAIT_FOR_HELPER_S = 30.0  # a batch waits this long for a busy helper before the serving process takes it
MIN_BODY_BYTES = 8 * 1024  # about ten statements: smaller batches are handled in the serving process
_VOIDS, _RAW = (ROW_FIELDS.index(name) for name in ("voids", "raw"))


@dataclass(frozen=True)
class Prepared:
    """A batch made ready by a helper: its ids in order, its rows (one Arrow IPC record batch message in
    ``store.ARROW_SCHEMA``, without the schema: both ends know it, and reading a schema costs the serving process
    more than the rows), its activity definitions and its statements as the journal holds them
    (``journal.lines_bytes`` of the raw JSON)."""

    ids: list[str]
    rows_ipc: bytes
    definitions: dict[str, dict[str, Any]]
    journal: bytes

    def table(self) -> pa.Table:
        from eduops.analytics.store import ARROW_SCHEMA

        return pa.Table.from_batches([pa.ipc.read_record_batch(pa.py_buffer(self.rows_ipc), ARROW_SCHEMA)])

    def stream(self) -> bytes:
        """The rows as a self-describing Arrow IPC stream (what a serving worker sends the store's holder)."""
        table = self.table()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()  # type: ignore[no-any-return]


def _message(table: pa.Table) -> bytes:
    """The table as one IPC record batch message (``Prepared.rows_ipc``)."""
    batches = table.to_batches()
    if len(batches) != 1:
        batches = table.combine_chunks().to_batches()
    return batches[0].serialize().to_pybytes()  # type: ignore[no-any-return]


def processes_for(configured: int | None, cores: int | None) -> int:
    """Helper processes to start: as configured, else one per core (at most ``MAX_PROCESSES``); none on one core."""
    if configured is not None:
        return configured
    count = min(cores or 1, MAX_PROCESSES)
    return count if count > 1 else 0


def prepare_batch(body: bytes, authority: dict[str, Any], stored_at: str, limit: int,
                  prefixes: tuple[str, ...]) -> Prepared | None:
    """In a helper process: the batch's rows, or None when the serving process must take the exact path."""
    from eduops.analytics import extract, lrs
    from eduops.analytics.store import values_to_arrow

    try:
        parsed = orjson.loads(body)
        statements = parsed if isinstance(parsed, list) else [parsed]
        if not statements or len(statements) > limit:
            return None
        if any(not isinstance(s, dict) or "attachments" in s for s in statements):
            return None  # attachments are checked against the parts and stored by the serving process
        definitions: dict[str, dict[str, Any]] = {}
        ids, rows = lrs.batch_values(statements, authority, stored_at, definitions)
        if any(r[_VOIDS] for r in rows):
            return None  # voidings are checked against the store
        table = values_to_arrow(extract.values_with_prefixes(rows, prefixes))
    except (EduopsError, ValueError, TypeError, KeyError):
        return None  # the exact path says what is wrong
    return Prepared(ids, _message(table), definitions, lines_bytes([r[_RAW] for r in rows]))


_WARM_UP_AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.invalid", "name": "warm-up"}}
_WARM_UP = orjson.dumps([{  # one statement of the common shape, one the exact path takes (an openid)
    "id": f"00000000-0000-4000-8000-00000000000{n}", "actor": actor, "verb": {"id": "https://eduops.invalid/v"},
    "object": {"id": "https://eduops.invalid/a"}, "timestamp": "2026-01-01T00:00:00Z",
    "context": {"contextActivities": {"parent": [{"id": "https://eduops.invalid/c"}]}}}
    for n, actor in enumerate(({"mbox": "mailto:warm-up@eduops.invalid"}, {"openid": "https://eduops.invalid/o"}))])


def _watch_parent(parent_pid: int) -> None:
    """Exit when the serving process is gone (killed with -9, say): its helpers must not linger."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


READY = b"ready"


def helper_main(conn: Connection, parent_pid: int) -> None:
    """A helper process: prepare each batch the serving process sends, until it closes the pipe or is gone."""
    # Ctrl-C reaches the whole process group: the serving process stops its helpers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()
    # a helper is ready once it answers at full speed: the first batch through every path imports and builds
    # what the later ones use (pyarrow imports pandas on its first array: about a second of CPU)
    prepare_batch(_WARM_UP, _WARM_UP_AUTHORITY, iso(datetime.now(UTC)), 10, ())
    # a helper keeps nothing between batches: the collector only needs to look at what one batch allocates
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        conn.send_bytes(READY)
        while True:
            args = pickle.loads(conn.recv_bytes())
            conn.send_bytes(pickle.dumps(prepare_batch(*args), protocol=pickle.HIGHEST_PROTOCOL))
    except (EOFError, OSError):
        return  # the serving process closed the pipe (stopping) or is gone


class _Helper:
    def __init__(self, parent_pid: int) -> None:
        context = multiprocessing.get_context("spawn")  # not fork: the serving process has threads
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=helper_main, args=(theirs, parent_pid), name="eduops-ingest",
                                       daemon=True)
        self.process.start()
        theirs.close()

    def wait_ready(self) -> None:
        if self.conn.recv_bytes() != READY:
            raise EOFError("the helper did not start")

    def ask(self, args: tuple[Any, ...]) -> Prepared | None:
        self.conn.send_bytes(pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL))
        if not self.conn.poll(ANSWER_WITHIN_S):
            raise TimeoutError(f"no answer within {ANSWER_WITHIN_S:g} s")
        answer: Prepared | None = pickle.loads(self.conn.recv_bytes())
        return answer

    def stop(self) -> None:
        self.conn.close()  # the helper's next read ends its loop
        self.process.join(timeout=STOP_WAIT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=STOP_WAIT_S)


class IngestPool:
    """The helper processes of one serving process, each on its own pipe.

    They start in the background with the first batch that could use them (a server that is never sent
    statements in bulk never starts them); until one is ready, batches take the exact path. A request thread
    takes a ready, idle helper (waiting while every ready one is busy), sends the batch and waits for the rows.
    """

    def __init__(self, processes: int, min_body_bytes: int = MIN_BODY_BYTES) -> None:
        self.processes = processes
        self.min_body_bytes = min_body_bytes
        self._lock = threading.Lock()
        self._idle: queue.SimpleQueue[_Helper] = queue.SimpleQueue()
        self._running: set[_Helper] = set()  # started, ready or not
        self._ready = 0
        self._closed = False

    def status(self) -> dict[str, int]:
        with self._lock:
            return {"configured": self.processes, "running": len(self._running), "ready": self._ready}

    def pids(self) -> list[int]:
        with self._lock:
            return [h.process.pid for h in self._running if h.process.pid is not None]

    def warm_up(self) -> None:
        """Start every missing helper in the background."""
        while True:
            with self._lock:
                if self._closed or len(self._running) >= self.processes:
                    return
                helper = _Helper(os.getpid())
                self._running.add(helper)
            threading.Thread(target=self._starting, args=(helper,), name="ingest-helper-start", daemon=True).start()

    def _starting(self, helper: _Helper) -> None:
        try:
            helper.wait_ready()
        except (EOFError, OSError) as exc:
            log.warning("ingest helper process %s did not start (%s); batches take the exact path meanwhile",
                        helper.process.pid, exc)
            self._retire(helper, was_ready=False)
            return
        with self._lock:
            self._ready += 1
        self._give_back(helper)

    def _take(self) -> _Helper | None:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            missing, ready = len(self._running) < self.processes, self._ready
        if missing:
            self.warm_up()
        if not ready:
            return None  # none has started yet: this batch is prepared in the serving process
        try:
            return self._idle.get(timeout=WAIT_FOR_HELPER_S)
        except queue.Empty:
            return None  # every helper busy that long: this batch is prepared in the serving process

    def takes(self, body: bytes) -> bool:
        """Whether a helper is worth its round trip for this body (about 0.1 ms of the serving process's CPU,
        what it spends on a few statements itself): a few statements are quicker done in place."""
        return len(body) >= self.min_body_bytes

    def prepare(self, body: bytes, authority: dict[str, Any], limit: int,
                prefixes: tuple[str, ...]) -> Prepared | None:
        helper = self._take()
        if helper is None:
            return None
        try:
            prepared = helper.ask((body, authority, iso(datetime.now(UTC)), limit, prefixes))
        except (EOFError, OSError, TimeoutError, pickle.UnpicklingError) as exc:
            log.warning("ingest helper process %s failed (%s: %s); it is stopped, this batch takes the exact path "
                        "and another helper is started", helper.process.pid, type(exc).__name__, exc)
            self._retire(helper)
            return None
        self._give_back(helper)
        return prepared

    def _give_back(self, helper: _Helper) -> None:
        with self._lock:
            closed = self._closed
        if closed:
            self._retire(helper)
        else:
            self._idle.put(helper)

    def _retire(self, helper: _Helper, was_ready: bool = True) -> None:
        with self._lock:
            if helper in self._running:
                self._running.discard(helper)
                self._ready -= was_ready
        helper.stop()

    def close(self) -> None:
        """Stop the idle helpers now; a busy or starting one stops once it is done."""
        with self._lock:
            self._closed = True
        while True:
            try:
                helper = self._idle.get_nowait()
            except queue.Empty:
                return
            self._retire(helper)


_active: IngestPool | None = None


def start(configured: int | None) -> IngestPool | None:
    """Called by `eduops serve` in the process that holds the event store (helpers start with the first batch)."""
    global _active
    count = processes_for(configured, os.cpu_count())
    if count <= 0:
        return None
    _active = IngestPool(count)
    return _active


def active() -> IngestPool | None:
    return _active


def stop() -> None:
    global _active
    pool, _active = _active, None
    if pool is not None:
        pool.close()


