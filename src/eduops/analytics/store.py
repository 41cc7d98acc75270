"""The event store: xAPI statements with their analytics columns, in DuckDB (default) or ClickHouse.

``<home>/events.duckdb`` by default. Nothing is acknowledged before it is durable: new statements
are fsynced to the ingest journal beside the file (``journal.py``) and loaded into DuckDB in large
transactions; voidings and possible duplicates commit to DuckDB before the answer. DuckDB lets one
process open a file (even a read-only open or ``ATTACH ... (READ_ONLY)`` fails while another holds it),
so while `eduops serve` runs on the workspace, other processes (the CLI) get a ``remote.RemoteStore`` that
asks the server; without a running server, a second process gets ``ServiceUnavailable`` naming the holder.
One ``EventStore`` per file per process (``open_store``), shared by the API threads.
"""

from __future__ import annotations

import atexit
import logging
import operator
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from eduops.analytics import postings, sql
from eduops.analytics.extract import ROW_FIELDS, with_prefixes
from eduops.analytics.journal import IdFilter, Journal, id_halves, lines_bytes
from eduops.config import Settings
from eduops.errors import ServiceUnavailable, UsageError

log = logging.getLogger(__name__)
DUCK_TYPES = {name: duck for name, duck, _ch in sql.COLUMNS}
# Rows reach DuckDB as an Arrow table: building one column at a time is several times cheaper than
# handing DuckDB Python lists, and DuckDB reads it without holding the GIL. UUIDs travel as text.
ARROW_TYPES = {"UUID": pa.string(), "VARCHAR": pa.string(), "TIMESTAMP": pa.timestamp("us"), "BOOLEAN": pa.bool_(),
               "DOUBLE": pa.float64(), "BIGINT": pa.int64()}
# the statements' columns, then each statement's posting keys (``postings.statement_keys``), which DuckDB posts
# from the batch instead of deriving them again
ARROW_SCHEMA = pa.schema([*((name, ARROW_TYPES[DUCK_TYPES[name]]) for name in ROW_FIELDS),
                          ("keys", pa.list_(pa.uint64()))])
_ROW_STRUCT = pa.struct(list(ARROW_SCHEMA))
row_values = operator.itemgetter(*ROW_FIELDS, "keys")  # a row dict as values in ``ARROW_SCHEMA`` order
_INSERT_FROM_ARROW = (
    f"INSERT INTO statements ({', '.join(f'{chr(34)}{n}{chr(34)}' for n in ROW_FIELDS)}) SELECT "
    + ", ".join(f'"{n}"::UUID' if DUCK_TYPES[n] == "UUID" else f'"{n}"' for n in ROW_FIELDS)
    + " FROM batch"
)
# the high and low 64 bits of each id, as journal.id_halves computes them in Python
_ID_HALVES = ", ".join(f"('0x' || substr(replace(CAST(id AS VARCHAR), '-', ''), {start}, 16))::UBIGINT AS {name}"
                       for start, name in ((1, "hi"), (17, "lo")))
_INSERT_OR_IGNORE_FROM_ARROW = _INSERT_FROM_ARROW.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
# Keys of statements stored without them are posted a chunk of statement numbers per transaction, each holding
# the writer lock about this long (ingest and voidings wait at most that), the chunk resized to keep to it.
INDEX_CHUNK_S = 1.0
INDEX_CHUNKS = (10_000, 100_000, 1_000_000)  # the smallest, first and largest chunk
# Rows per DuckDB row group in the files this process writes (DuckDB's default is 122,880). A transaction that
# appends whole row groups has them compressed and written to the file as it inserts, and its commit only
# records where they are; any other append is written to DuckDB's write-ahead log at the commit and compressed
# again at the next checkpoint, which stalls the loader for a second every 256 MiB of log. Row groups are sized
# to what the loader gathers in about a second at full rate, and it loads whole row groups while statements keep
# coming. Over 300,000 statements (bench/_ingest_loader.py) the rows' insert and commit took 10.6-11.2 µs a
# statement instead of 11.8-13.0, the longest commit 0.4 s instead of 1.1 (a checkpoint), and the files 136 MiB
# instead of 260 until closed. Queries cost about the same (at 10M: 12-week retention 0.53 s against 0.49, the
# funnel and MAU alike; bench/analytics_metrics.py), the checkpointed file a few % larger.
ROW_GROUP_SIZE = 16_384
# The loader waits for a large batch: a DuckDB transaction costs about 20 ms of CPU whatever its size (the
# postings' two statements are most of it), so loading every request's 100 statements on its own took more
# CPU than validating them. Reads load what is waiting first, so no reader ever sees the wait.
LOAD_AT = ROW_GROUP_SIZE  # statements waiting: load the whole row groups among them now
LOAD_WITHIN_S = 5.0  # else all of them, this long after the first of them was acknowledged
ALIAS = "events"  # the catalog the file is attached as


def load_due(waiting: int, waited_s: float) -> bool:
    """Whether the loader loads now: ``waiting`` statements acknowledged, the first of them ``waited_s`` ago."""
    return waiting > 0 and (waiting >= LOAD_AT or waited_s >= LOAD_WITHIN_S)


def only_whole_row_groups(waiting: int, waited_s: float) -> bool:
    """Whether a due load takes only whole row groups (statements keep coming) rather than everything waiting."""
    return waiting >= LOAD_AT and waited_s < LOAD_WITHIN_S


def connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The file as the default catalog of a new connection; written to in row groups of ``ROW_GROUP_SIZE``
    (an option of ATTACH, not of the file: every writer attaches it so)."""
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql.DUCKDB.lit(str(path))} AS {ALIAS} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
        con.execute(f"USE {ALIAS}")
    except BaseException:
        con.close()
        raise
    return con


def to_arrow(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Statement rows (``extract.to_row``) as one Arrow table in ``ARROW_SCHEMA``: the columns of ``ROW_FIELDS``,
    then the posting keys."""
    return values_to_arrow(list(map(row_values, rows)))


def values_to_arrow(rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """``to_arrow`` for rows as values in ``ARROW_SCHEMA`` order (``lrs.batch_values``)."""
    # one conversion of the tuples as structs, not one per column: a helper's batch is 100 rows, where the 28
    # calls' own cost was a fifth of it (1.7 µs a statement against 2.1)
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(rows, type=_ROW_STRUCT))])


class EventsSettings(BaseModel):
    """The [events] section of eduops.toml."""

    model_config = ConfigDict(extra="forbid")
    backend: Literal["duckdb", "clickhouse"] = "duckdb"
    path: str = Field("", description="DuckDB file; empty means events.duckdb in the workspace")
    clickhouse_url: str = Field("http://127.0.0.1:8123", description="ClickHouse HTTP interface")
    clickhouse_database: str = "eduops"
    clickhouse_user: str = "default"
    clickhouse_password: str = ""
    max_batch: int = Field(10_000, ge=1, description="most statements accepted in one request")
    max_document_bytes: int = Field(1024 * 1024, ge=1, description="largest xAPI state or profile document")
    ingest_processes: int | None = Field(None, ge=0, le=64, description=(
        "helper processes that parse and validate POST /xapi/statements batches for `eduops serve` "
        "(empty: one per core, at most 4, none on one core; 0: in the serving process)"))


class Store(Protocol):
    """What the LRS and the metrics need from a backend."""

    dialect: sql.Dialect
    location: str

    def query(self, text: str) -> list[tuple[Any, ...]]: ...

    def insert(self, rows: Sequence[dict[str, Any]], voidings: Sequence[tuple[str, str]]) -> None: ...

    def mark_voided(self, ids: Sequence[str]) -> None: ...

    @contextmanager
    def writing(self) -> Iterator[None]: ...

    def close(self) -> None: ...


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def lock_message(path: Path, exc: Exception) -> str:
    """Say who holds the DuckDB file and what to do, instead of DuckDB's IO error."""
    match = _LOCK_HOLDER.search(str(exc))
    holder = f"process {match.group(2)} ({match.group(1)})" if match else "another process"
    return (f"the event store {path} is open in {holder}, probably `eduops serve`; DuckDB allows one process "
            "at a time. Stop that process, or ask the running server (GET /api/v1/analytics/... or /xapi).")


class DuckDBStore:
    """Statements in one DuckDB file; reads use cursors, writes are serialised by a lock.

    New statements are acknowledged once journalled (``journal.py``) and reach DuckDB through the
    loader thread in large transactions; every read first loads what is journalled, so a reader
    always sees every acknowledged statement. Voiding statements and ids the filter cannot rule out
    take the exact path: one DuckDB transaction, checked by the primary key.
    """

    dialect = sql.DUCKDB

    def __init__(self, path: Path, read_only: bool = False, course_prefixes: tuple[str, ...] = (),
                 index_in_background: bool = True) -> None:
        """``index_in_background=False``: statements stored without filter keys wait for ``post_keys``."""
        self.path = path
        self.course_prefixes = course_prefixes  # [analytics] course_prefixes, applied to every row stored
        self.location = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._attached = not (read_only and path.exists())
            self._con = connect(path, not self._attached)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise ServiceUnavailable(lock_message(path, exc)) from None
            raise ServiceUnavailable(f"cannot open the event store {path}: {exc}") from None
        except duckdb.Error as exc:
            raise ServiceUnavailable(f"{path} is not a usable DuckDB event store: {exc}") from None
        self._write_lock = threading.RLock()  # DuckDB writes (and the loader) one at a time
        self._accept_lock = threading.Lock()  # id checks, journal appends and the loader's queue
        self._queue: list[_Journalled] = []
        self._queued = 0  # statements in the queue
        self._pending: set[str] = set()  # journalled ids not yet in DuckDB
        self._wake = threading.Condition(self._accept_lock)
        self._loader: threading.Thread | None = None
        self._closing = False
        self.load_error: str | None = None
        self._journal: Journal | None = None
        self._voidings_seen = False
        self._ids = IdFilter(0)
        self._ids_stale = True  # (re)built from DuckDB when the journal next needs it (also once it is full)
        self.keyed_through: int | None = None  # statements posted to statement_keys (postings.py); None: no postings
        self.generation = 0  # counts the writes committed by this process (cached figures compare it)
        # Statements above keyed_through wait for the indexer (queries scan them meanwhile); commits then leave
        # their keys to it, so keyed_through always means "every statement up to here is posted".
        self._indexing = False
        self._indexed = (0, 0)  # statements posted by the indexer so far, and of how many
        self._index_chunk = INDEX_CHUNKS[1]
        self._indexer: threading.Thread | None = None
        self._stop_indexing = threading.Event()
        self.index_error: str | None = None
        if not read_only:
            self._run("SET enable_progress_bar = false")  # DuckDB's own bar would land in the server's output
            # Checkpoint (rewrite the file from the WAL) every 256 MiB rather than DuckDB's 16: statements
            # carry their JSON, and each checkpoint recompresses the table's last row groups, so at the
            # default a third of the ingest CPU went to checkpoints.
            self._run("SET checkpoint_threshold = '256MiB'")
            for statement in sql.ddl(sql.DUCKDB):
                self._run(statement)
            self._voidings_seen = bool(self._run("SELECT count(*) FROM voidings")[0][0])
            for statement in postings.DDL:
                self._run(statement)
            self.keyed_through = int(self._run(postings.keyed_through_sql())[0][0])
            unposted = self._mark_unposted()  # posted in the background: opening a large old store is immediate
            self._journal = Journal(path.with_name(path.name + ".journal"))
            self._replay()
            if unposted and index_in_background:
                self._start_indexer()

    def _run(self, text: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run on the writer connection and read the result to the end (DuckDB wants that before the next)."""
        return self._con.execute(text, params or []).fetchall()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for one reader, on the same database (the default catalog is per connection)."""
        cursor = self._con.cursor()
        if self._attached:
            cursor.execute(f"USE {ALIAS}")
        return cursor

    def _cursor_run(self, text: str) -> tuple[list[tuple[Any, ...]], list[str]]:
        self.flush()
        cursor = self._cursor()
        try:
            cursor.execute(text)
            return cursor.fetchall(), [c[0] for c in cursor.description or []]
        finally:
            cursor.close()

    def query(self, text: str) -> list[tuple[Any, ...]]:
        return self._cursor_run(text)[0]

    def query_with(self, text: str, tables: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run a query that also reads in-memory tables (Arrow) under the given names."""
        self.flush()
        cursor = self._cursor()
        try:
            for name, table in tables.items():
                cursor.register(name, table)
            return cursor.execute(text).fetchall()
        finally:
            cursor.close()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock: no other thread of this process writes meanwhile."""
        with self._write_lock:
            yield

    def insert(self, rows: Sequence[dict[str, Any]], voidings: Sequence[tuple[str, str]]) -> None:
        """Store statements (and voidings) atomically and durably; raises DuplicateIds if any id exists."""
        rows = with_prefixes(list(rows), self.course_prefixes)
        if not voidings and self._journal is not None and self._journal_batch([r["id"] for r in rows], rows):
            return
        self._commit_now(rows, voidings)

    def insert_table(self, ids: list[str], table: pa.Table, journal: bytes | None = None) -> bool:
        """Journal new statements an ingest helper prepared (``ids`` in order, ``table`` in ``ARROW_SCHEMA`` with
        the course prefixes applied, ``journal`` its raw column as ``journal.lines_bytes`` when the helper made it)
        and return True once durable; False when the exact path must decide (an id may be stored already, or there
        is no journal): nothing is stored then."""
        return self._journal is not None and self._journal_batch(ids, None, table, journal)

    def _commit_now(self, rows: Sequence[dict[str, Any]], voidings: Sequence[tuple[str, str]]) -> None:
        """The exact path: after what is journalled, one DuckDB transaction whose primary key decides."""
        with self._write_lock:
            self.flush()
            with self._accept_lock:
                self._ids.add([r["id"] for r in rows])  # before the commit: a racing request must see them
            self._commit([r["id"] for r in rows], to_arrow(rows) if rows else None, voidings)

    def _journal_batch(self, ids: list[str], rows: Sequence[dict[str, Any]] | None,
                       table: pa.Table | None = None, journal: bytes | None = None) -> bool:
        """Journal new statements (rows, or a helper's table of them and perhaps their journal lines) and return
        True once durable; False when an id may be known already."""
        assert self._journal is not None
        assert rows is not None or table is not None
        halves = id_halves(ids)
        raws = journal if journal is not None else lines_bytes(
            [r["raw"] for r in rows] if rows is not None else table["raw"].to_pylist())  # type: ignore[index]
        if self._ids_stale or self._ids.full:
            self._rebuild_filter()
        with self._accept_lock:
            positions = self._ids.positions(*halves)  # after any rebuild: the filter's size decides them
            if self._closing or self._pending.intersection(ids) or self._ids.maybe_at(positions).any():
                return False
            segment = self._journal.current
            ticket = self._journal.append(raws)
            self._pending.update(ids)
            self._ids.add_at(positions)
            item = _Journalled(ids, None if rows is None else list(rows), table, segment, time.monotonic())
            self._queue.append(item)
            self._queued += len(ids)
            self._start_loader()
            if self._queued >= LOAD_AT or len(self._queue) == 1:  # due now, or the loader starts its clock
                self._wake.notify()
        Journal.sync(ticket)
        return True

    def _start_loader(self) -> None:
        if self._loader is None or not self._loader.is_alive():
            self._loader = threading.Thread(target=self._load_forever, name="events-loader", daemon=True)
            self._loader.start()

    def _load_forever(self) -> None:
        while True:
            with self._accept_lock:
                while not self._closing and not self._load_due():
                    self._wake.wait(timeout=LOAD_WITHIN_S - self._waited() if self._queue else None)
                if self._closing:
                    return
                whole = only_whole_row_groups(self._queued, self._waited())
            try:
                self.flush(whole_row_groups=whole)
            except Exception as exc:  # noqa: BLE001 - kept in the journal; retried, and said in the log
                self.load_error = f"{type(exc).__name__}: {exc}"
                log.error("loading journalled statements into %s failed (kept in the journal, retrying): %s",
                          self.path, exc)
                with self._accept_lock:
                    self._wake.wait(timeout=5)

    def _load_due(self) -> bool:
        """Whether the loader should load the queue now (called under the accept lock)."""
        return load_due(self._queued, self._waited())

    def _waited(self) -> float:
        """Seconds since the oldest queued statement was acknowledged (0 with none; under the accept lock)."""
        return time.monotonic() - self._queue[0].at if self._queue else 0.0

    def flush(self, whole_row_groups: bool = False) -> None:
        """Move everything journalled into DuckDB now (in the caller's thread), or wait for the loader to.
        ``whole_row_groups``: only as many of the oldest statements as fill whole row groups (the loader while
        statements keep coming); the rest stay queued, and the journal keeps the segments that hold them."""
        if not self._pending:  # ids leave it only once committed, after the loader's batch left the queue
            return
        with self._write_lock:
            with self._accept_lock:
                if whole_row_groups:
                    batch = self._take(self._queued // ROW_GROUP_SIZE * ROW_GROUP_SIZE)
                else:
                    batch, self._queue, self._queued = self._queue, [], 0
                if not batch:
                    return
                assert self._journal is not None
                through = self._journal.rotate()
                if self._queue:  # the segments from the first still queued on hold its statements
                    through = min(through, self._queue[0].segment - 1)
            ids = [i for item in batch for i in item.ids]
            table = _batch_table(batch)  # one conversion for the whole batch
            try:
                self._commit(ids, table, [])
            except DuplicateIds:
                log.error("journalled statements collided with stored ids; keeping the stored ones")
                self._commit(ids, table, [], or_ignore=True)
            except BaseException:
                with self._accept_lock:
                    self._queue[:0] = batch  # still journalled: try again with the next batch
                    self._queued += sum(len(item.ids) for item in batch)
                raise
            with self._accept_lock:
                self._pending.difference_update(i for item in batch for i in item.ids)
            self._journal.remove_through(through)
            self.load_error = None

    def _take(self, count: int) -> list[_Journalled]:
        """The oldest ``count`` statements off the queue (an item split where the count ends); under the accept
        lock."""
        taken: list[_Journalled] = []
        left = count
        while left > 0 and self._queue:
            item = self._queue[0]
            if len(item.ids) <= left:
                taken.append(self._queue.pop(0))
                left -= len(item.ids)
            else:
                head, self._queue[0] = item.split(left)
                taken.append(head)
                left = 0
        self._queued -= count - left
        return taken

    def _replay(self) -> None:
        """Load the segments a previous process journalled but did not load (after a crash)."""
        assert self._journal is not None
        from eduops.analytics.extract import to_row

        last = 0
        for number, lines in self._journal.replay():
            last = number
            rows, damaged = [], 0
            for line in lines:
                try:
                    rows.append(to_row(orjson.loads(line)))
                except (ValueError, KeyError, TypeError):
                    damaged += 1
            rows = with_prefixes(rows, self.course_prefixes)
            for i in range(0, len(rows), 2 * ROW_GROUP_SIZE):
                chunk = rows[i:i + 2 * ROW_GROUP_SIZE]
                self._commit([r["id"] for r in chunk], to_arrow(chunk), [], or_ignore=True)
            log.info("loaded %d journalled statements from %s", len(rows), self._journal.path_of(number))
            if damaged:  # kept for a person to look at; the store opens with everything readable
                path = self._journal.path_of(number)
                path.rename(path.with_suffix(".damaged"))
                log.error("%d lines of %s could not be read (disk damage?); the file is kept as %s", damaged,
                          path, path.with_suffix(".damaged"))
        if last:
            self._journal.remove_through(last)

    def _rebuild_filter(self) -> None:
        """Size the id filter for twice the statements stored, and fill it from DuckDB."""
        with self._write_lock, self._accept_lock:
            if not self._ids_stale and not self._ids.full:
                return  # another thread rebuilt it meanwhile
            count = int(self._run("SELECT count(*) FROM statements")[0][0])
            fresh = IdFilter(2 * (count + len(self._pending)))
            halves = self._con.execute(f"SELECT {_ID_HALVES} FROM statements").fetchnumpy()
            fresh.add_halves(halves["hi"], halves["lo"])
            fresh.add(list(self._pending))
            self._ids = fresh
            self._ids_stale = False

    def _commit(self, ids: list[str], table: pa.Table | None, voidings: Sequence[tuple[str, str]],
                or_ignore: bool = False) -> None:
        """One transaction: the rows (``ids`` are their ids) and the voidings."""
        with self._write_lock:
            self._run("BEGIN TRANSACTION")
            registered = False
            keyed = None
            try:
                if table is not None and table.num_rows:
                    # a statement arriving after the statement that voids it is voided on arrival
                    pending = {t for (t,) in self._run(
                        "SELECT CAST(target_id AS VARCHAR) FROM voidings WHERE target_id IN (SELECT unnest(?::UUID[]))",
                        [ids])} if self._voidings_seen else set()
                    if pending:
                        table = _voided_on_arrival(table, pending)
                    self._con.register("batch", table)
                    registered = True
                    numbers = self._run((_INSERT_OR_IGNORE_FROM_ARROW if or_ignore else _INSERT_FROM_ARROW)
                                        + " RETURNING seq")
                    if numbers and self.keyed_through is not None and not self._indexing:
                        low, high = min(n for (n,) in numbers), max(n for (n,) in numbers)
                        for statement in postings.post_batch_sql(low, high):
                            self._run(statement)
                        keyed = max(self.keyed_through, high)
                if voidings:
                    self._voidings_seen = True
                    targets = [t for t, _v in voidings]
                    self._run(
                        "INSERT INTO voidings SELECT unnest(?::UUID[]), unnest(?::UUID[]) ON CONFLICT DO NOTHING",
                        [targets, [v for _t, v in voidings]])
                    self._run("UPDATE statements SET voided = true WHERE id IN (SELECT unnest(?::UUID[]))",
                              [targets])
                self._run("COMMIT")
                self.generation += 1
                if keyed is not None:
                    self.keyed_through = keyed
            except duckdb.ConstraintException as exc:
                self._run("ROLLBACK")
                raise DuplicateIds(str(exc)) from None
            except BaseException:
                self._run("ROLLBACK")
                raise
            finally:
                if registered:
                    self._con.unregister("batch")  # outside the transaction: an aborted one refuses it

    def mark_voided(self, ids: Sequence[str]) -> None:
        with self._write_lock:
            self.flush()
            self._run("UPDATE statements SET voided = true WHERE id IN (SELECT unnest(?::UUID[]))", [list(ids)])
            self.generation += 1

    def bulk_load(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many statements at once (imports, demo) in one transaction; raises DuplicateIds."""
        self._commit_now(with_prefixes(list(rows), self.course_prefixes), [])

    def execute(self, text: str, params: list[Any] | None = None) -> None:
        """Run a statement that changes the store (bench and demo data generation)."""
        with self._write_lock:
            self.flush()
            self._run(text, params or [])
            self.generation += 1
            self._ids_stale = True
            if self._mark_unposted():
                self._start_indexer()

    def _mark_unposted(self) -> bool:
        """Whether statements wait for their keys (a store from before postings, rows written by ``execute``);
        if so, commits leave theirs to the indexer from now on."""
        with self._write_lock:
            if self.keyed_through is None:
                return False
            if not self._indexing:
                waiting = int(self._run("SELECT count(*) FROM statements WHERE seq > ?", [self.keyed_through])[0][0])
                self._indexing, self._indexed = waiting > 0, (0, waiting)
            return self._indexing

    def _start_indexer(self) -> None:
        with self._write_lock:
            if self._indexer is not None and self._indexer.is_alive():
                return
            self._indexer = threading.Thread(target=self._index_in_background, name="events-indexer", daemon=True)
            self._indexer.start()

    def _index_in_background(self) -> None:
        started, (_done, total) = time.perf_counter(), self._indexed
        log.info("indexing the %d statements of %s stored without filter keys, in the background (queries scan "
                 "them until then; `eduops analytics status` shows the progress)", total, self.path)
        while not self._stop_indexing.is_set():
            try:
                if not self._post_chunk():
                    log.info("indexed %d statements of %s in %.1f s", self._indexed[1], self.path,
                             time.perf_counter() - started)
                    return
                self.index_error = None
            except Exception as exc:  # noqa: BLE001 - queries stay exact (they scan); retried, and said in the log
                self.index_error = f"{type(exc).__name__}: {exc}"
                log.error("indexing statements of %s failed (queries scan them meanwhile; retrying): %s",
                          self.path, exc)
                self._stop_indexing.wait(5)

    def _post_chunk(self) -> bool:
        """Post the keys of the next chunk of statements in one transaction; False once none wait."""
        with self._write_lock:
            if self.keyed_through is None or not self._indexing:
                return False
            after = self.keyed_through
            high = self._run("SELECT max(seq) FROM statements WHERE seq > ?", [after])[0][0]
            if high is None:
                self._indexing = False
                return False
            upto = min(int(high), after + self._index_chunk)
            started = time.perf_counter()
            self._run("BEGIN TRANSACTION")
            try:
                for statement in postings.index_sql(after, upto):
                    self._run(statement)
                self._run("COMMIT")
            except BaseException:
                self._run("ROLLBACK")
                raise
            self.keyed_through = upto
            self._index_chunk = postings.next_chunk(self._index_chunk, time.perf_counter() - started,
                                                    INDEX_CHUNK_S, INDEX_CHUNKS)
            posted, left = self._run("SELECT count(*) FILTER (WHERE seq <= ?), count(*) FILTER (WHERE seq > ?) "
                                     "FROM statements WHERE seq > ?", [upto, upto, after])[0]
            done = self._indexed[0] + int(posted)
            self._indexed = (done, done + int(left))  # statements stored meanwhile join the count
            return True

    def post_keys(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Post the keys of every statement stored without them now, in this thread (``eduops upgrade``, benches),
        calling ``progress(posted, of)`` after each chunk."""
        if not self._mark_unposted():
            return
        while self._post_chunk():
            if progress is not None:
                progress(*self._indexed)
        if progress is not None:
            progress(self._indexed[1], self._indexed[1])

    def indexing(self) -> tuple[int, int] | None:
        """(posted, of) while statements wait for their filter keys, else None."""
        return self._indexed if self._indexing else None

    def settled_generation(self) -> int:
        """``generation`` once everything acknowledged is loaded: equal numbers mean equal contents."""
        self.flush()
        return self.generation

    def posted_through(self) -> tuple[int | None, bool]:
        """The highest statement number whose keys are posted (all below it are), or None without postings; and
        whether statements above it wait for their keys (a query scans those)."""
        self.flush()
        waiting = self._indexing  # read first: once it is False, every statement up to keyed_through stays posted
        return self.keyed_through, waiting

    @property
    def backlog(self) -> int:
        """Statements acknowledged (in the fsynced journal) but not yet loaded into DuckDB."""
        return len(self._pending)

    def close(self) -> None:
        """Load what is journalled, stop the loader and the indexer, and close the file."""
        self._stop_indexing.set()
        if self._indexer is not None:
            self._indexer.join(timeout=120)  # ends after its current chunk; the rest is posted at the next open
        try:
            if self._journal is not None:
                try:
                    self.flush()
                except Exception as exc:  # noqa: BLE001 - still journalled; loaded at the next open
                    log.error("closing %s with statements still journalled: %s", self.path, exc)
                with self._accept_lock:
                    self._closing = True
                    self._wake.notify_all()
                if self._loader is not None:
                    self._loader.join(timeout=30)
                self._journal.close()
            self._con.close()
        except duckdb.Error:
            pass


class _Journalled:
    """One request's statements: journalled, acknowledged, waiting for the loader (as rows, or as the Arrow
    table an ingest helper made of them)."""

    __slots__ = ("ids", "rows", "table", "segment", "at")

    def __init__(self, ids: list[str], rows: list[dict[str, Any]] | None, table: pa.Table | None,
                 segment: int, at: float) -> None:
        self.ids = ids
        self.rows = rows
        self.table = table
        self.segment = segment  # the journal segment holding them
        self.at = at  # when they were acknowledged (time.monotonic)

    def split(self, count: int) -> tuple[_Journalled, _Journalled]:
        """The first ``count`` statements, and the rest."""
        def part(start: int, stop: int | None) -> _Journalled:
            return _Journalled(self.ids[start:stop], None if self.rows is None else self.rows[start:stop],
                               None if self.table is None else self.table.slice(start, None if stop is None
                                                                                else stop - start),
                               self.segment, self.at)
        return part(0, count), part(count, None)


def _batch_table(batch: Sequence[_Journalled]) -> pa.Table:
    """The loader's batch as one Arrow table (rows converted once, helpers' tables appended)."""
    rows = [r for item in batch if item.rows for r in item.rows]
    tables = ([to_arrow(rows)] if rows else []) + [item.table for item in batch if item.table is not None]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def _voided_on_arrival(table: pa.Table, targets: set[str]) -> pa.Table:
    """The rows whose id a stored voiding names, marked voided."""
    index = table.schema.get_field_index("voided")
    voided = pc.or_(table["voided"], pc.is_in(table["id"], value_set=pa.array(sorted(targets), pa.string())))
    return table.set_column(index, "voided", voided)


class DuplicateIds(Exception):
    """Some statement ids of a batch are stored already (the LRS decides: same → fine, else 409)."""


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def events_settings(settings: Settings) -> EventsSettings:
    return settings.section("events", EventsSettings)


def store_path(settings: Settings, cfg: EventsSettings | None = None) -> Path:
    """The DuckDB file (``cfg``: the [events] section when the caller has it already)."""
    configured = (cfg or events_settings(settings)).path
    if not configured:
        return settings.home / "events.duckdb"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else settings.home / path


def open_store(settings: Settings) -> Store:
    """The event store of this workspace, opened once per process (every request asks: one settings read)."""
    cfg = events_settings(settings)
    key = f"clickhouse:{cfg.clickhouse_url}/{cfg.clickhouse_database}" if cfg.backend == "clickhouse" \
        else str(store_path(settings, cfg))
    with _stores_lock:
        if key not in _stores:
            from eduops.analytics.settings import analytics_settings

            prefixes = tuple(analytics_settings(settings).course_prefixes)
            if cfg.backend == "duckdb" and (remote := _running_server_store(settings, prefixes)) is not None:
                from eduops.core.local_access import holds_stores

                if not holds_stores():  # a serving worker: the first worker holds the store as long as it runs
                    _stores[key] = remote
                return remote  # else not kept: the server may stop before this process asks again
            if cfg.backend == "clickhouse":
                from eduops.analytics.clickhouse import ClickHouseStore

                _stores[key] = ClickHouseStore.connect(cfg, prefixes)
            else:
                _stores[key] = DuckDBStore(store_path(settings, cfg), course_prefixes=prefixes)
        return _stores[key]


def _running_server_store(settings: Settings, prefixes: tuple[str, ...]) -> Store | None:
    """The store of an `eduops serve` running on this workspace (it holds the DuckDB file), if there is one."""
    from eduops.analytics.remote import RemoteStore
    from eduops.core.local_access import LocalClient, running_server

    cred = running_server(settings.home)
    if cred is None:
        return None
    return RemoteStore(LocalClient(cred), str(store_path(settings)), prefixes)


def open_duckdb_stores() -> list[DuckDBStore]:
    """The DuckDB event stores this process holds open."""
    with _stores_lock:
        return [s for s in _stores.values() if isinstance(s, DuckDBStore)]


@atexit.register
def close_stores() -> None:
    with _stores_lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


def close_store(settings: Settings) -> None:
    with _stores_lock:
        for key in [k for k in _stores if k == str(store_path(settings))]:
            _stores.pop(key).close()


def require_duckdb(store: Store) -> DuckDBStore:
    if not isinstance(store, DuckDBStore):
        raise UsageError("this needs the DuckDB event store (events.backend = \"duckdb\")")
    return store
