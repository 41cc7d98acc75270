"""Backup API under /api/v1/backup and the console page /backup."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from eduops.backup import overview, service
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require
from eduops.core.runs import RunParams, claim

router = APIRouter(prefix="/api/v1/backup", tags=["backup"])
pages = APIRouter()
NAV = [NavItem("/backup", "Backups", "read", 40, group="Protection")]


def _ws(request: Request) -> Any:
    return request.app.state.workspace


@router.get("/overview")
def get_overview(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Per source: last backup, its copies per target, last drill; per target: last verification."""
    ws = _ws(request)
    return overview.overview(ws.engine, ws.settings)


@router.get("/backups")
def get_backups(
    request: Request,
    source: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    _: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    """Recent backups, newest first, with what each recorded and its copies."""
    ws = _ws(request)
    return service.list_backups(ws.engine, source, limit, settings=ws.settings)


@router.get("/drills")
def get_drills(
    request: Request,
    source: str | None = None,
    limit: int = Query(200, ge=1, le=1000),
    _: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    """Restore drills, oldest first: status, RTO, RPO, what went wrong."""
    return overview.drill_history(_ws(request).engine, source, limit)


@router.get("/verifications")
def get_verifications(
    request: Request,
    target: str | None = None,
    limit: int = Query(200, ge=1, le=1000),
    _: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    """restic checks, newest first, with the slice of data each read."""
    return overview.verification_history(_ws(request).engine, target, limit)


async def _start(request: Request, task: str, who: Principal, params: RunParams | None = None) -> dict[str, Any]:
    ws = _ws(request)
    source_ip = request.client.host if request.client else ""
    run_id = await run_in_threadpool(
        claim, ws.engine, ws.settings, task, "manual", who.name, None, source_ip=source_ip, params=params
    )
    request.app.state.background_run(run_id)
    return {"id": run_id, "task": task, "status": "running"}


@router.post("/run", status_code=202)
async def post_run(
    request: Request, full: bool = False, source: str | None = None, who: Principal = Depends(require("ops"))
) -> dict[str, Any]:
    """Start the backup task now (``full=true``: the weekly full backup; ``source``: only that source).

    Follow it under /api/v1/runs/{id}; its backups carry that run id.
    """
    params: RunParams = {}
    if source:  # a source that cannot be backed up is refused here; without one the run reports what is missing
        await run_in_threadpool(service.check_request, _ws(request).settings, source, "full" if full else "incremental")
        params = {"backup.run": {"source": source}}
    return await _start(request, "backup-full" if full else "backup", who, params)


@router.post("/drill", status_code=202)
async def post_drill(request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """Start the restore drill task now; follow it under /api/v1/runs/{id}."""
    return await _start(request, "restore-drill", who)


@pages.get("/backup", response_class=HTMLResponse)
def backup_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    from eduops.core.pages import language_of, render, script_json, timezone_of

    engine = _ws(request).engine
    drills = overview.drill_history(engine)
    figure = overview.rpo_rto_figure(drills, language_of(request), timezone_of(request))
    return render(
        request,
        "backup/index.html",
        {
            "view": overview.overview(engine, _ws(request).settings),
            "chart": script_json(figure) if drills else None,
            "drills": drills[::-1][:20],
        },
    )


async def _start_from_page(request: Request, task: str, who: Principal) -> Any:
    from fastapi.responses import RedirectResponse

    started = await _start(request, task, who)
    return RedirectResponse(f"/runs/{started['id']}", status_code=303)


@pages.post("/backup/run")
async def page_run(request: Request, who: Principal = Depends(require("ops"))) -> Any:
    return await _start_from_page(request, "backup", who)


@pages.post("/backup/drill")
async def page_drill(request: Request, who: Principal = Depends(require("ops"))) -> Any:
    return await _start_from_page(request, "restore-drill", who)
