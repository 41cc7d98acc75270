"""Reading the call-quality store through a running `eduops serve` on the same workspace.

The server opens ``rtc.duckdb`` per operation and lets go after ``idle_close_s``, so a CLI command can
open it in between; under steady call reporting the server never lets go, and a reader would wait out
``store_lock_timeout_s`` and fail. So while a server runs, reads (``query``) go to its
``/api/v1/rtc/store/query`` with the local credential (``eduops.core.local_access``); writes
(``connect()``: ``eduops rtc ingest``) still open the file, taking their turn as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from eduops.analytics.remote import decode_rows, encode
from eduops.core.local_access import LocalClient
from eduops.rtc.store import Store

PATH = "/api/v1/rtc/store/query"


class ServerReads:
    """The local ``Store`` with its reads answered by the running server."""

    def __init__(self, local: Store, client: LocalClient) -> None:
        self.local, self.client = local, client

    def __getattr__(self, name: str) -> Any:  # path, timezone, lock_timeout_s … of the file store
        return getattr(self.local, name)

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        body = {"sql": sql, "params": [encode(p) for p in params or []]}
        answer = self.client.request("POST", PATH, json=body).json()
        columns = answer["columns"]
        return [dict(zip(columns, row, strict=True)) for row in decode_rows(answer["rows"])]

    @contextmanager
    def connect(self, write: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.local.connect(write) as con:
            yield con
