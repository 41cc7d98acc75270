"""The call-quality store through a running `eduops serve` on the same workspace.

The server opens ``rtc.duckdb`` per operation and lets go after ``idle_close_s``, so a CLI command could
open it in between; under steady call reporting the server never lets go, and the command would wait out
``store_lock_timeout_s`` and fail (exit 3). So while a server runs, reads (``query``) go to its
``/api/v1/rtc/store/query`` and `eduops rtc ingest` posts its items to ``/api/v1/rtc/reports`` in
batches (``ingest_items``: the server validates and stores them with the same code, so the rejections,
their reasons and the exit code are those of the direct path), both with the local credential
(``eduops.core.local_access``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

from eduops.analytics.remote import decode_rows, encode
from eduops.core.local_access import LocalClient
from eduops.rtc.service import IngestResult
from eduops.rtc.store import Store

PATH = "/api/v1/rtc/store/query"
REPORTS_PATH = "/api/v1/rtc/reports"
POST_BATCH_ITEMS = 5000  # the server takes 50,000; smaller batches keep each request short
POST_BATCH_BYTES = 8 * 1024 * 1024  # well under the route's 32 MiB body limit


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

    def ingest_items(self, items: list[Any]) -> IngestResult:
        """Store items through the server's report route, in batches; rejected indexes count from 0 in
        ``items``, as ``service.ingest_items`` gives them."""
        result = IngestResult()
        for start in range(0, len(items), POST_BATCH_ITEMS):
            self._post(items[start:start + POST_BATCH_ITEMS], start, result)
        return result

    def _post(self, batch: list[Any], offset: int, result: IngestResult) -> None:
        body = json.dumps(batch, ensure_ascii=False).encode()
        if len(body) > POST_BATCH_BYTES and len(batch) > 1:  # large items: halve until a batch fits
            half = len(batch) // 2
            self._post(batch[:half], offset, result)
            self._post(batch[half:], offset + half, result)
            return
        answer = self.client.request("POST", REPORTS_PATH, content=body,
                                     headers={"content-type": "application/json"}).json()
        shown = [{"index": r["index"] + offset, "reason": r["reason"]} for r in answer["rejected"]]
        result.add(answer["accepted"], shown)
        result.rejected_total += int(answer["rejected_total"]) - len(shown)  # beyond those the server listed
