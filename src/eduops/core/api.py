"""Core JSON API: health, calendar, runs, reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from eduops.core import calendar as cal
from eduops.core.audit import audit
from eduops.core.bodies import parse_json, read_body
from eduops.core.params import Id
from eduops.core.principal import Principal, public, require
from eduops.core.reports import render_run
from eduops.core.runs import claim, execute
from eduops.core.service import get_run, list_runs, sign_off
from eduops.core.values import MAX_INT
from eduops.errors import UsageError

router = APIRouter()


def _ws(request: Request) -> Any:
    return request.app.state.workspace


@router.get("/healthz", tags=["core"], dependencies=[Depends(public)])
def healthz(request: Request) -> dict[str, Any]:
    import sqlalchemy as sa

    with _ws(request).engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


@router.get("/api/v1/local/ping", tags=["core"], include_in_schema=False)
def local_ping(request: Request, _: Principal = Depends(require("local"))) -> dict[str, Any]:
    """For a CLI command on this workspace: this is its running server (the local token), with its pid (the
    `eduops serve` process: with several workers, their supervisor) and the pid of the process answering."""
    import os

    return {"pid": getattr(request.app.state, "server_pid", os.getpid()), "worker_pid": os.getpid()}


@router.get("/api/v1/calendar", tags=["calendar"])
def get_calendar(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    ws = _ws(request)
    return [e.to_dict() for e in cal.calendar(ws.engine, ws.settings)]


@router.post("/api/v1/calendar/{key}/run", tags=["calendar"], status_code=202)
async def run_now(key: str, request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """Start a task now; answers with the run id at once, the run goes on in the background."""
    ws = _ws(request)
    cal.task_spec(key)
    run_id = claim(ws.engine, ws.settings, key, "manual", who.name, None,
                   source_ip=request.client.host if request.client else "")
    request.app.state.background_run(run_id)
    return {"id": run_id, "task": key, "status": "running"}


@router.get("/api/v1/runs", tags=["runs"])
def get_runs(
    request: Request,
    task: str | None = None,
    status: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_INT),
    _: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    return list_runs(_ws(request).engine, task=task, status=status, limit=limit, offset=offset)


@router.get("/api/v1/runs/{run_id}", tags=["runs"])
def get_one_run(run_id: Id, request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    return get_run(_ws(request).engine, run_id)


REPORT_TYPES = {"md": "text/markdown", "html": "text/html", "json": "application/json"}


@router.get("/api/v1/runs/{run_id}/report", tags=["runs"],
            responses={200: {"description": "the report in the format asked for",
                             "content": {media: {} for media in REPORT_TYPES.values()}}})
def get_report(run_id: Id, request: Request, format: str = Query("md", pattern="^(md|html|json)$"),
               _: Principal = Depends(require("read"))) -> Response:
    settings = _ws(request).settings
    text = render_run(_ws(request).engine, run_id, format, settings.language, settings.timezone)
    return PlainTextResponse(text, media_type=f"{REPORT_TYPES[format]}; charset=utf-8")


@router.post("/api/v1/runs/{run_id}/sign-off", tags=["runs"])
async def post_sign_off(run_id: Id, request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    raw = await read_body(request, 64 * 1024, "the sign-off")
    body = parse_json(raw, "the sign-off") if raw.strip() else {}
    if not isinstance(body, dict):
        raise UsageError('send {"comment": "..."} or nothing')
    comment = str(body.get("comment", ""))
    signed = await run_in_threadpool(sign_off, _ws(request).engine, run_id, who.name, comment)
    await run_in_threadpool(audit, _ws(request).engine, actor=who.name, action="run.sign_off", target=f"run:{run_id}",
                            after={"comment": comment}, source_ip=request.client.host if request.client else "")
    return signed


def background(request_app: Any, run_id: int) -> None:
    ws = request_app.state.workspace
    execute(ws.engine, ws.settings, run_id)
