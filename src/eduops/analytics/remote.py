"""The event store of a running `eduops serve`, from another process on the same workspace.

DuckDB lets one process open ``events.duckdb``, and a running server holds it (DuckDB refuses even a
read-only open or ``ATTACH ... (READ_ONLY)`` from a second process). So a CLI command next to a running
server gets a ``RemoteStore``: reads go to the server's ``/api/v1/analytics/store/query`` and new
statements to ``/api/v1/analytics/store/statements``, which stores them through the same LRS code as
``POST /xapi/statements`` — journalled and fsynced before the server answers, so an import that was
told "stored" survives a crash of the server just the same. Both routes accept only the server's local
credential (``eduops.core.local_access``). Query results travel as JSON with the Python types DuckDB
returns (datetimes, dates, decimals, UUIDs, intervals) tagged, so the metrics compute the same numbers.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from eduops.analytics import sql
from eduops.core.local_access import LocalClient
from eduops.errors import ServiceUnavailable

PREFIX = "/api/v1/analytics/store"
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def encode(value: Any) -> Any:
    """A DuckDB result value as JSON, with the types JSON lacks tagged (``{"$t": kind, "v": text}``)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        return {"$t": "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {"$t": "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {"$t": "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$t": "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {"$t": "decimal", "v": str(value)}
    if isinstance(value, uuid.UUID):
        return {"$t": "uuid", "v": str(value)}
    if isinstance(value, bytes):
        return {"$t": "bytes", "v": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$t": "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot send a {type(value).__name__} from the event store")


_DECODERS: dict[str, Any] = {
    "datetime": datetime.fromisoformat, "date": date.fromisoformat, "time": time.fromisoformat,
    "timedelta": lambda v: timedelta(days=v[0], seconds=v[1], microseconds=v[2]), "decimal": Decimal,
    "uuid": uuid.UUID, "bytes": base64.b64decode,
}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        kind = value.get("$t")
        if kind == "dict":
            return {decode(k): decode(v) for k, v in value["v"]}
        if kind in _DECODERS:
            return _DECODERS[kind](value["v"])
        raise ValueError(f"unknown value tag {kind!r} from the server")
    return value


def encode_rows(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [[encode(v) for v in row] for row in rows]


def decode_rows(rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    return [tuple(decode(v) for v in row) for row in rows]


def arrow_to_text(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode()


def arrow_from_text(text: str) -> pa.Table:
    return pa.ipc.open_stream(base64.b64decode(text)).read_all()


class RemoteStore:
    """The ``Store`` of the running server, for reads and for storing statements through its LRS."""

    dialect = sql.DUCKDB

    def __init__(self, client: LocalClient, location: str, course_prefixes: tuple[str, ...] = ()) -> None:
        self.client = client
        self.location = f"{location} (through the running server, pid {client.cred.pid})"
        self.course_prefixes = course_prefixes

    def query(self, text: str) -> list[tuple[Any, ...]]:
        return self.query_with(text, {})

    def query_with(self, text: str, tables: dict[str, Any]) -> list[tuple[Any, ...]]:
        body = {"sql": text, "tables": {name: arrow_to_text(t) for name, t in tables.items()}}
        return decode_rows(self.client.request("POST", f"{PREFIX}/query", json=body).json()["rows"])

    def store_statements(self, statements: list[Any], authority: dict[str, Any],
                         contents: Collection[str] = ()) -> list[str]:
        """Store a batch through the server's LRS; answered once durable there (journal or commit).
        ``contents``: the hashes of attachment contents stored already (in the workspace, which is shared)."""
        body = {"statements": statements, "authority": authority, "contents": sorted(contents)}
        ids: list[str] = self.client.request("POST", f"{PREFIX}/statements", json=body).json()["ids"]
        return ids

    def insert_prepared(self, rows_ipc: bytes) -> bool:
        """Journal statement rows prepared here (``ingest_pool.prepare_batch``: an Arrow IPC stream) in the server;
        False when it cannot take them as they are (an id it may know): nothing is stored then."""
        answer = self.client.request("POST", f"{PREFIX}/prepared", content=rows_ipc,
                                     headers={"content-type": ARROW_STREAM})
        return bool(answer.json()["stored"])

    def status(self) -> dict[str, Any]:
        """The server's store status (``store_status.store_status``)."""
        found: dict[str, Any] = self.client.get_json("/api/v1/analytics/status")
        return {**found, "location": self.location}

    def insert(self, rows: Sequence[dict[str, Any]], voidings: Sequence[tuple[str, str]]) -> None:
        raise ServiceUnavailable(f"{self.location}: store statements through store_statements (the server's LRS)")

    def mark_voided(self, ids: Sequence[str]) -> None:
        raise ServiceUnavailable(f"{self.location}: voiding goes through the server's LRS (POST /xapi/statements)")

    @contextmanager
    def writing(self) -> Iterator[None]:
        yield  # the server's LRS takes its own writer lock for each batch

    def close(self) -> None:
        self.client.close()
