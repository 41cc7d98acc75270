"""The event store for CLI commands on this workspace while the server holds it (see ``remote.py``).

Only the server's local credential (``<home>/run/server.json``, mode 0600) gets through: the query
route runs the SQL it is given, which is no more than the owner of that file can do to the store file
with the server stopped.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from eduops.analytics import lrs
from eduops.analytics.remote import PREFIX, arrow_from_text, encode_rows
from eduops.analytics.store import ARROW_SCHEMA, DuckDBStore, open_store
from eduops.core.audit import audit
from eduops.core.local_access import WORKER_ACTOR
from eduops.core.principal import Principal, require
from eduops.errors import UsageError

router = APIRouter(prefix=PREFIX, tags=["analytics"], include_in_schema=False)


class QueryBody(BaseModel):
    sql: str = Field(min_length=1)
    tables: dict[str, str] = Field(default_factory=dict, description="name → Arrow IPC stream, base64")


class StatementsBody(BaseModel):
    statements: list[Any]
    authority: dict[str, Any]
    contents: list[str] = []  # hashes of attachment contents a serving worker stored already


@router.post("/query")
async def query(request: Request, body: QueryBody, _: Principal = Depends(require("local"))) -> dict[str, Any]:
    store = open_store(request.app.state.workspace.settings)

    def run() -> list[list[Any]]:
        try:
            tables = {name: arrow_from_text(text) for name, text in body.tables.items()}
        except (ValueError, OSError) as exc:
            raise UsageError(f"tables: not an Arrow IPC stream in base64: {exc}") from None
        try:
            if tables:
                return encode_rows(store.query_with(body.sql, tables))  # type: ignore[attr-defined]
            return encode_rows(store.query(body.sql))
        except duckdb.Error as exc:
            raise UsageError(f"the query failed: {exc}") from None

    return {"rows": await run_in_threadpool(run)}


@router.post("/statements")
async def statements(request: Request, body: StatementsBody,
                     who: Principal = Depends(require("local"))) -> dict[str, Any]:
    """`eduops analytics import` beside the server: stored through the LRS, audited with the OS user."""
    store = open_store(request.app.state.workspace.settings)
    ids = await run_in_threadpool(lrs.store_statements, store, body.statements, body.authority, None,
                                  body.contents)
    if who.name == WORKER_ACTOR:  # POST /xapi/statements on another serving worker: not an import
        return {"ids": ids}
    await run_in_threadpool(audit, request.app.state.workspace.engine, actor=who.name, action="analytics.import",
                            after={"statements": len(body.statements)},
                            source_ip=request.client.host if request.client else "")
    return {"ids": ids}


@router.post("/prepared")
async def prepared(request: Request, _: Principal = Depends(require("local"))) -> dict[str, bool]:
    """POST /xapi/statements on another serving worker, whose batch that worker prepared itself
    (``ingest_pool.prepare_batch``): journalled here when every id is new; ``stored: false`` sends it down the
    exact path (``/statements``)."""
    body = await request.body()
    store = open_store(request.app.state.workspace.settings)
    if not isinstance(store, DuckDBStore):
        return {"stored": False}

    def run() -> bool:
        try:
            table = pa.ipc.open_stream(body).read_all()
        except (pa.ArrowInvalid, OSError) as exc:
            raise UsageError(f"the body is not an Arrow IPC stream: {exc}") from None
        if not table.schema.equals(ARROW_SCHEMA):
            raise UsageError("the rows are not in the statements' Arrow schema (store.ARROW_SCHEMA)")
        return store.insert_table(table["id"].to_pylist(), table)

    return {"stored": await run_in_threadpool(run)}
