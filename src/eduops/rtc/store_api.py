"""The call-quality store's reads for CLI commands on this workspace while the server runs (``remote.py``).

Only the server's local credential gets through (``require("local")``): it runs the SQL it is given, no
more than the owner of that 0600 file could do to the store file directly.
"""

from __future__ import annotations

from typing import Any

import duckdb
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from eduops.analytics.remote import decode, encode_rows
from eduops.core.principal import Principal, require
from eduops.errors import UsageError
from eduops.rtc.service import open_store

router = APIRouter(prefix="/store", include_in_schema=False)  # under /api/v1/rtc


class QueryBody(BaseModel):
    sql: str = Field(min_length=1)
    params: list[Any] = Field(default_factory=list, description="values as remote.encode tags them")


@router.post("/query")
async def query(request: Request, body: QueryBody, _: Principal = Depends(require("local"))) -> dict[str, Any]:
    store = open_store(request.app.state.workspace.settings)

    def run() -> dict[str, Any]:
        try:
            params = [decode(p) for p in body.params]
        except (ValueError, TypeError, KeyError) as exc:
            raise UsageError(f"params: {exc}") from None
        try:
            rows = store.query(body.sql, params)
        except duckdb.Error as exc:
            raise UsageError(f"the query failed: {exc}") from None
        columns = list(rows[0]) if rows else []
        return {"columns": columns, "rows": encode_rows([tuple(r.values()) for r in rows])}

    return await run_in_threadpool(run)
