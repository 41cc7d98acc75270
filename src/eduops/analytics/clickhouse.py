"""The event store on ClickHouse (``events.backend = "clickhouse"``): same table, same metric SQL.

``ClickHouseStore`` talks to any client with clickhouse-connect's three calls (``query``,
``command``, ``insert``): the real server through clickhouse-connect, or chdb (ClickHouse in
process) through ``ChdbClient`` — which is how the tests prove the ClickHouse dialect here.
ClickHouse has no unique keys, so ids are checked before each insert under this process's lock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from eduops.analytics import sql
from eduops.analytics.extract import ROW_FIELDS, with_prefixes
from eduops.analytics.store import DuplicateIds, EventsSettings
from eduops.errors import ServiceUnavailable


class ChdbClient:
    """clickhouse-connect's query/command/insert over an embedded chdb session."""

    def __init__(self, path: str | None = None) -> None:
        from chdb import session

        self._session = session.Session(path) if path else session.Session()
        self._lock = threading.Lock()

    def query_rows(self, text: str) -> list[tuple[Any, ...]]:
        with self._lock:
            table = self._session.query(text, "ArrowTable")
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return list(zip(*columns, strict=True)) if columns else []

    def command(self, text: str) -> None:
        with self._lock:
            self._session.query(text)

    def insert_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        body = "\n".join(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False) for row in rows)
        with self._lock:
            self._session.query(f"INSERT INTO {table} FORMAT JSONEachRow\n{body}")

    def close(self) -> None:
        self._session.close()


class ConnectClient:
    """The same three calls over clickhouse-connect, for a real ClickHouse server."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def query_rows(self, text: str) -> list[tuple[Any, ...]]:
        return list(self._client.query(text).result_rows)

    def command(self, text: str) -> None:
        self._client.command(text)

    def insert_rows(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        names = list(rows[0])
        self._client.insert(table, [[row[n] for n in names] for row in rows], column_names=names)

    def close(self) -> None:
        self._client.close()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


class ClickHouseStore:
    dialect = sql.CLICKHOUSE

    def __init__(self, client: Any, location: str, course_prefixes: tuple[str, ...] = ()) -> None:
        self._client = client
        self.course_prefixes = course_prefixes  # [analytics] course_prefixes, applied to every row stored
        self.location = location
        self._lock = threading.RLock()
        for statement in sql.ddl(sql.CLICKHOUSE):
            client.command(statement)
        self._next_seq = int(self.query("SELECT max(seq) FROM statements")[0][0] or 0) + 1

    @classmethod
    def connect(cls, cfg: EventsSettings, course_prefixes: tuple[str, ...] = ()) -> ClickHouseStore:
        import clickhouse_connect

        try:
            admin = clickhouse_connect.get_client(dsn=cfg.clickhouse_url, username=cfg.clickhouse_user,
                                                  password=cfg.clickhouse_password)
            admin.command(f"CREATE DATABASE IF NOT EXISTS `{cfg.clickhouse_database}`")
            client = clickhouse_connect.get_client(dsn=cfg.clickhouse_url, username=cfg.clickhouse_user,
                                                   password=cfg.clickhouse_password, database=cfg.clickhouse_database)
        except Exception as exc:  # clickhouse-connect raises its own and urllib3's errors
            raise ServiceUnavailable(f"cannot reach ClickHouse at {cfg.clickhouse_url}: {exc}") from None
        return cls(ConnectClient(client), f"{cfg.clickhouse_url}/{cfg.clickhouse_database}", course_prefixes)

    def query(self, text: str) -> list[tuple[Any, ...]]:
        return self._client.query_rows(text)  # type: ignore[no-any-return]

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._lock:
            yield

    def insert(self, rows: Sequence[dict[str, Any]], voidings: Sequence[tuple[str, str]]) -> None:
        d = self.dialect
        rows = with_prefixes(list(rows), self.course_prefixes)
        with self._lock:
            if rows:
                ids = d.in_list([r["id"] for r in rows])
                known = self.query(f"SELECT CAST(id AS VARCHAR) FROM statements WHERE id IN {ids}")
                if known:
                    raise DuplicateIds(f"{len(known)} ids exist already")
                stamped = []
                for row in rows:
                    stamped.append({"seq": self._next_seq, **{n: row[n] for n in ROW_FIELDS}})
                    self._next_seq += 1
                pending = {t for (t,) in self.query(
                    f"SELECT CAST(target_id AS VARCHAR) FROM voidings WHERE target_id IN {ids}")}
                for row in stamped:
                    row["voided"] = row["id"] in pending
                self._client.insert_rows("statements", stamped)
            if voidings:
                self._client.insert_rows("voidings", [{"target_id": t, "voiding_id": v} for t, v in voidings])
                self.mark_voided([t for t, _v in voidings])

    def mark_voided(self, ids: Sequence[str]) -> None:
        self._client.command(f"ALTER TABLE statements UPDATE voided = true WHERE id IN "
                             f"{self.dialect.in_list(list(ids))} SETTINGS mutations_sync = 2")

    def close(self) -> None:
        self._client.close()
