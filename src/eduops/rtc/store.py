"""The call-quality store: calls, participant sessions and stats samples in a DuckDB file.

``<home>/rtc.duckdb``. DuckDB lets one process write a file at a time, so every operation opens the
file, does its work in one transaction and closes it again; another process holding it gets retried
for a few seconds, then a clear ``ServiceUnavailable``. Analytics attach it read-only, briefly:

    ATTACH '<home>/rtc.duckdb' AS rtc (READ_ONLY);
    SELECT * FROM rtc.session_quality WHERE user_id = ...;
    DETACH rtc;

The schema (also in docs/rtc.md) keeps the join keys plain: ``user_id``, ``call_id``, timestamps in
UTC (TIMESTAMPTZ), scenario, region, and per-session MOS and quality band in ``session_quality``.
"""

from __future__ import annotations

import atexit
import re
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from eduops.errors import ServiceUnavailable
from eduops.rtc.qoe import (
    DEFAULT_MODEL,
    EModel,
    band_sql,
    freeze_rate_sql,
    media_share_sql,
    mos_sql,
    poor_ms_sql,
    sample_loss_sql,
)

SCHEMA_VERSION = 2  # 2: G.107 MOS, rollup MOS weighted by media time, loss = the loss MOS used

SAMPLE_COLUMNS: dict[str, pa.DataType] = {
    "call_id": pa.string(),
    "user_id": pa.string(),
    "ts": pa.timestamp("us", tz="UTC"),
    "interval_ms": pa.float64(),
    "rtt_ms": pa.float64(),
    "jitter_ms": pa.float64(),
    "loss_up_pct": pa.float64(),
    "loss_down_pct": pa.float64(),
    "bitrate_up_kbps": pa.float64(),
    "bitrate_down_kbps": pa.float64(),
    "fps": pa.float64(),
    "width": pa.int32(),
    "height": pa.int32(),
    "video_freeze_count": pa.int32(),
    "video_freeze_ms": pa.float64(),
    "audio_freeze_count": pa.int32(),
    "audio_freeze_ms": pa.float64(),
    "e2e_delay_ms": pa.float64(),
    "av_sync_ms": pa.float64(),
    "quality_limitation": pa.string(),
    "mos": pa.float64(),
}
SESSION_COLUMNS: dict[str, pa.DataType] = {
    "call_id": pa.string(),
    "user_id": pa.string(),
    "role": pa.string(),
    "country": pa.string(),
    "province": pa.string(),
    "city": pa.string(),
    "isp": pa.string(),
    "network": pa.string(),
    "os": pa.string(),
    "device": pa.string(),
    "app_version": pa.string(),
    "sdk_version": pa.string(),
    "platform": pa.string(),
    "codec": pa.string(),  # the audio codec MOS assumes for this participant ([rtc] codecs); NULL: [rtc] codec
    "join_ok": pa.bool_(),
    "join_error": pa.string(),
    "join_ms": pa.float64(),
    "first_audio_ms": pa.float64(),
    "first_video_ms": pa.float64(),
    "joined_at": pa.timestamp("us", tz="UTC"),
    "left_at": pa.timestamp("us", tz="UTC"),
    "leave_reason": pa.string(),
}
CALL_COLUMNS: dict[str, pa.DataType] = {
    "call_id": pa.string(),
    "scenario": pa.string(),
    "channel": pa.string(),
    "course_id": pa.string(),
    "start_ts": pa.timestamp("us", tz="UTC"),
    "end_ts": pa.timestamp("us", tz="UTC"),
}
DUCK_TYPES = {
    pa.string(): "VARCHAR",
    pa.float64(): "DOUBLE",
    pa.int32(): "INTEGER",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


def _ddl(table: str, columns: dict[str, pa.DataType], extra: str = "") -> str:
    cols = ",\n  ".join(f"{name} {DUCK_TYPES[t]}" for name, t in columns.items())
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}{extra}\n)"


ROLLUP_MINUTES = 15
ROLLUP_ORIGIN = "2000-01-01 00:00:00+00"  # buckets start at whole quarter hours counted from here
# Per session and 15-minute bucket: sums that add up across sessions and buckets, so heat maps and
# rankings read this (tens of rows per session) instead of every sample.
ROLLUP_DDL = """CREATE TABLE IF NOT EXISTS sample_rollup (
  sid UBIGINT, bucket TIMESTAMPTZ, samples BIGINT, media_ms DOUBLE, video_freeze_ms DOUBLE,
  audio_freeze_ms DOUBLE, poor_ms DOUBLE, mos_sum DOUBLE, mos_n DOUBLE, rtt_sum DOUBLE, rtt_n BIGINT,
  jitter_sum DOUBLE, jitter_n BIGINT, loss_sum DOUBLE, loss_n BIGINT, PRIMARY KEY (sid, bucket))"""
ROLLUP_SUMS = (
    "samples",
    "media_ms",
    "video_freeze_ms",
    "audio_freeze_ms",
    "poor_ms",
    "mos_sum",
    "mos_n",
    "rtt_sum",
    "rtt_n",
    "jitter_sum",
    "jitter_n",
    "loss_sum",
    "loss_n",
)
ROLLUP_SELECT = f"""SELECT hash(x.call_id, x.user_id) AS sid,
  time_bucket(INTERVAL {ROLLUP_MINUTES} MINUTE, x.ts, TIMESTAMPTZ '{ROLLUP_ORIGIN}') AS bucket,
  count(*), sum(x.interval_ms), sum(x.video_freeze_ms), sum(x.audio_freeze_ms),
  sum({poor_ms_sql("x")}), sum(x.mos * x.interval_ms), sum(CASE WHEN x.mos IS NOT NULL THEN x.interval_ms END),
  sum(x.rtt_ms), count(x.rtt_ms), sum(x.jitter_ms), count(x.jitter_ms), sum({sample_loss_sql("x")}),
  count({sample_loss_sql("x")})"""

SCHEMA = [
    ROLLUP_DDL,
    _ddl(
        "calls",
        CALL_COLUMNS,
        ",\n  ingested_at TIMESTAMPTZ DEFAULT current_timestamp,\n  PRIMARY KEY (call_id)",
    ),
    # sid = hash(call_id, user_id): a cheap integer join key between sessions and samples
    _ddl("sessions", SESSION_COLUMNS, ",\n  sid UBIGINT,\n  PRIMARY KEY (call_id, user_id)"),
    "ALTER TABLE sessions ADD COLUMN IF NOT EXISTS codec VARCHAR",  # schema 1 had none
    _ddl("samples", SAMPLE_COLUMNS, ",\n  sid UBIGINT"),
    # AI tutor turns: each *_ms is measured from the moment the learner stopped speaking
    "CREATE TABLE IF NOT EXISTS ai_turns (call_id VARCHAR, user_id VARCHAR, turn INTEGER, ts TIMESTAMPTZ, "
    "provider VARCHAR, model VARCHAR, asr_final_ms DOUBLE, llm_first_token_ms DOUBLE, "
    "tts_first_audio_ms DOUBLE, playback_ms DOUBLE, interrupted BOOLEAN, outcome VARCHAR)",
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE OR REPLACE VIEW call_teachers AS SELECT call_id, min(user_id) AS teacher_id FROM sessions "
    "WHERE role = 'teacher' GROUP BY call_id",
    f"""CREATE OR REPLACE VIEW session_quality AS
SELECT s.call_id, s.user_id, s.role, c.scenario, c.channel, c.course_id, c.start_ts AS call_start,
       c.end_ts AS call_end, s.joined_at, s.left_at, s.country, s.province, s.city, s.isp, s.network, s.os,
       s.device, s.app_version, s.platform, s.join_ok, s.join_ms, s.first_video_ms,
       q.samples, q.media_ms, q.mos, q.rtt_ms, q.loss_pct, q.video_freeze_rate_pct, q.audio_freeze_rate_pct,
       q.poor_pct, {band_sql("q.mos", "q.poor_pct")} AS quality_band
FROM sessions s LEFT JOIN calls c USING (call_id)
LEFT JOIN (SELECT sid, sum(samples) AS samples, sum(media_ms) AS media_ms,
                  sum(mos_sum) / nullif(sum(mos_n), 0) AS mos, sum(rtt_sum) / nullif(sum(rtt_n), 0) AS rtt_ms,
                  sum(loss_sum) / nullif(sum(loss_n), 0) AS loss_pct,
                  {freeze_rate_sql("video_freeze_ms", "media_ms")} AS video_freeze_rate_pct,
                  {freeze_rate_sql("audio_freeze_ms", "media_ms")} AS audio_freeze_rate_pct,
                  {media_share_sql("poor_ms", "media_ms")} AS poor_pct
           FROM sample_rollup GROUP BY sid) q ON q.sid = s.sid""",
]

def upgrade(db: duckdb.DuckDBPyConnection, model: EModel) -> None:
    """A store written by schema 1: recompute every sample's MOS by G.107 (``qoe.mos_sql``) and rebuild
    the rollup (MOS weighted by media time, loss = the loss MOS used). A new store has nothing to do."""
    has_meta = db.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchone()
    if not has_meta or not has_meta[0]:
        return
    found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if found and int(found[0]) >= 2:
        return
    db.execute("BEGIN")
    try:
        db.execute(f"UPDATE samples AS x SET mos = round({mos_sql('x', model)}, 4)")
        db.execute("DROP TABLE IF EXISTS sample_rollup")
        db.execute(ROLLUP_DDL)
        db.execute(f"INSERT INTO sample_rollup {ROLLUP_SELECT} FROM samples x GROUP BY ALL")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '2')")
        db.execute("COMMIT")
    except Exception:
        db.execute("ROLLBACK")
        raise


_LOCK_PID = re.compile(r"PID (\d+)")


def store_path(home: Path) -> Path:
    return home / "rtc.duckdb"


class Store:
    """The DuckDB file; use ``with store.connect() as con:`` for one transaction.

    The file stays open while it is in use and closes after ``idle_close_s`` without work, so another
    process (the CLI next to a running console, an analyst attaching it) gets its turn.
    """

    def __init__(
        self, path: Path, lock_timeout_s: float = 10.0, timezone: str = "UTC", idle_close_s: float = 2.0,
        model: EModel = DEFAULT_MODEL,
    ) -> None:
        self.path = path
        self.model = model  # the codec and burstiness MOS assumes ([rtc] codec, codecs, burst_r)
        self.lock_timeout_s = lock_timeout_s
        self.timezone = timezone
        self.idle_close_s = idle_close_s
        self._ready = False
        # one writing transaction at a time in this process: concurrent upserts of the same session or
        # rollup bucket would otherwise fail with DuckDB write-write conflicts
        self._write_lock = threading.Lock()
        self._guard = threading.Lock()
        self._db: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._last_used = 0.0
        self._closer: threading.Thread | None = None
        _OPEN_STORES.add(self)

    def _open(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.02
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as exc:
                text = str(exc)
                if "lock" not in text.lower():
                    raise ServiceUnavailable(f"cannot open the call-quality store {self.path}: {text}") from None
                if time.monotonic() >= deadline:
                    pid = _LOCK_PID.search(text)
                    holder = f"process {pid.group(1)}" if pid else "another process"
                    raise ServiceUnavailable(
                        f"the call-quality store {self.path} is in use by {holder}; DuckDB allows one "
                        "process at a time: stop it (or run this through its API) and retry"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    def _acquire(self) -> duckdb.DuckDBPyConnection:
        with self._guard:
            if self._db is None:
                db = self._open()
                if not self._ready:
                    upgrade(db, self.model)
                    for statement in SCHEMA:
                        db.execute(statement)
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
                    self._ready = True
                self._db = db
                if self._closer is None or not self._closer.is_alive():
                    self._closer = threading.Thread(
                        target=self._close_when_idle, daemon=True, name=f"rtc-store-closer-{self.path.name}"
                    )
                    self._closer.start()
            self._users += 1
            cursor = self._db.cursor()
        cursor.execute(f"SET TimeZone = '{self.timezone}'")
        return cursor

    def _release(self, cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.close()
        with self._guard:
            self._users -= 1
            self._last_used = time.monotonic()

    def _close_when_idle(self) -> None:
        while True:
            time.sleep(min(self.idle_close_s, 0.5))
            if sys.is_finalizing():
                return
            with self._guard:
                if self._db is None:
                    return
                if self._users == 0 and time.monotonic() - self._last_used >= self.idle_close_s:
                    self._db.close()
                    self._db = None
                    return

    def close(self) -> None:
        """Close the file now (it reopens on the next use); waits for nothing, so call it when idle."""
        with self._guard:
            if self._db is not None and self._users == 0:
                self._db.close()
                self._db = None

    @contextmanager
    def connect(self, write: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction: committed (durably, through DuckDB's WAL) when the block ends without error.
        Writers in this process take turns; readers (``write=False``) run beside them."""
        with self._write_lock if write else nullcontext():
            con = self._acquire()
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                self._release(con)

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self.connect(write=False) as con:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


_OPEN_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Close every store before the interpreter tears down (a closer thread must not do it mid-shutdown)."""
    for store in list(_OPEN_STORES):
        store.close()


def arrow_table(rows: list[dict[str, Any]], columns: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array([r.get(name) for r in rows], type=t) for name, t in columns.items()})


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    calls: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    samples: list[dict[str, Any]],
) -> None:
    """Upsert calls and sessions (later reports fill in what earlier ones lacked), append samples."""
    insert_arrow(
        con,
        arrow_table(calls, CALL_COLUMNS) if calls else None,
        arrow_table(sessions, SESSION_COLUMNS) if sessions else None,
        arrow_table(samples, SAMPLE_COLUMNS) if samples else None,
    )


def insert_arrow(
    con: duckdb.DuckDBPyConnection,
    calls: pa.Table | None,
    sessions: pa.Table | None,
    samples: pa.Table | None,
) -> None:
    if calls is not None and calls.num_rows:
        con.register("new_calls", calls)
        sets = ", ".join(f"{c} = coalesce(excluded.{c}, calls.{c})" for c in CALL_COLUMNS if c != "call_id")
        cols = ", ".join(CALL_COLUMNS)
        con.execute(
            f"INSERT INTO calls ({cols}) SELECT {cols} FROM new_calls "
            "QUALIFY row_number() OVER (PARTITION BY call_id ORDER BY start_ts DESC NULLS LAST) = 1 "
            f"ON CONFLICT (call_id) DO UPDATE SET {sets}"
        )
        con.unregister("new_calls")
    if sessions is not None and sessions.num_rows:
        con.register("new_sessions", sessions)
        keyed = ("call_id", "user_id")
        sets = ", ".join(f"{c} = coalesce(excluded.{c}, sessions.{c})" for c in SESSION_COLUMNS if c not in keyed)
        cols = ", ".join(SESSION_COLUMNS)
        con.execute(
            f"INSERT INTO sessions ({cols}, sid) SELECT {cols}, hash(call_id, user_id) FROM new_sessions "
            "QUALIFY row_number() OVER (PARTITION BY call_id, user_id "
            "ORDER BY joined_at DESC NULLS LAST) = 1 "
            f"ON CONFLICT (call_id, user_id) DO UPDATE SET {sets}"
        )
        con.unregister("new_sessions")
    if samples is not None and samples.num_rows:
        insert_samples_arrow(con, samples)


def insert_samples_arrow(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    con.register("new_samples", table)
    cols = ", ".join(SAMPLE_COLUMNS)
    con.execute(f"INSERT INTO samples ({cols}, sid) SELECT {cols}, hash(call_id, user_id) FROM new_samples")
    updates = ", ".join(f"{c} = sample_rollup.{c} + excluded.{c}" for c in ROLLUP_SUMS)
    con.execute(
        f"INSERT INTO sample_rollup {ROLLUP_SELECT} FROM new_samples x GROUP BY ALL "
        f"ON CONFLICT (sid, bucket) DO UPDATE SET {updates}"
    )
    con.unregister("new_samples")


def session_settings(con: duckdb.DuckDBPyConnection,
                     keys: set[tuple[str, str]]) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """The stored platform (native | web, for freeze thresholds) and codec (for MOS) of the given sessions, in
    one read: ``(platforms, codecs)`` keyed by (call_id, user_id), only where the session stored one."""
    calls = sorted({k[0] for k in keys})
    if not calls:
        return {}, {}
    marks = ", ".join("?" for _ in calls)
    rows = con.execute(
        f"SELECT call_id, user_id, platform, codec FROM sessions WHERE call_id IN ({marks})", calls
    ).fetchall()
    mine = [row for row in rows if (row[0], row[1]) in keys]
    return ({(c, u): p for c, u, p, _ in mine if p is not None},
            {(c, u): codec for c, u, _, codec in mine if codec is not None})
