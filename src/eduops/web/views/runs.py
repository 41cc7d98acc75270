"""The calendar (week, month, list) with run-now, the runs list, a run's detail, report and sign-off."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from eduops.core import calendar as cal
from eduops.core.audit import record_audit
from eduops.core.i18n import msg
from eduops.core.pages import language_of, render, timezone_of
from eduops.core.params import Id
from eduops.core.plan import PLAN_BY_KEY
from eduops.core.principal import Principal, require
from eduops.core.reports import render_run
from eduops.core.runs import FINISHED, claim
from eduops.core.service import get_run, list_runs, sign_off
from eduops.db import session_scope
from eduops.errors import NotFound
from eduops.web import agenda
from eduops.web.charts import measurements_charts
from eduops.web.views import back, client_ip, clock, ws_of

router = APIRouter()
STATUSES = ("running",) + FINISHED
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'self'; sandbox"


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    view: str = Query("week", pattern="^(week|month|list)$"),
    on: date | None = None,
    who: Principal = Depends(require("read")),
) -> Response:
    ws = ws_of(request)
    now = clock(request)
    tz = timezone_of(request)
    entries = cal.calendar(ws.engine, ws.settings, now)
    today = now.astimezone(tz).date()
    anchor = on or today
    grid = agenda.days(entries, view, anchor, tz) if view != "list" else []
    return render(
        request,
        "web/calendar.html",
        {
            "entries": entries,
            "view": view,
            "days": grid,
            "today": today,
            "anchor": anchor,
            "previous": agenda.shift(view, anchor, -1) if view != "list" else None,
            "following": agenda.shift(view, anchor, 1) if view != "list" else None,
        },
    )


@router.post("/calendar/{key}/run")
async def run_now(key: str, request: Request, who: Principal = Depends(require("ops"))) -> Response:
    """Start a run; a task that loads or breaks production (``TaskSpec.impact``) first shows what will
    happen and starts only when that page is confirmed (a server-side step: works without JavaScript)."""
    spec = cal.task_spec(key)
    form = await request.form()
    if spec.impact and form.get("confirmed") != "yes":
        return render(request, "web/confirm.html", {"spec": spec, "action": f"/calendar/{key}/run"})
    return await run_in_threadpool(_start, request, key, who)


def _start(request: Request, key: str, who: Principal) -> Response:
    ws = ws_of(request)
    run_id = claim(ws.engine, ws.settings, key, "manual", who.name, None, source_ip=client_ip(request))
    request.app.state.background_run(run_id)
    return back(f"/runs/{run_id}")


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    task: str = "",
    status: str = "",
    page: int = Query(1, ge=1, le=10000),
    who: Principal = Depends(require("read")),
) -> Response:
    per_page = 50
    runs = list_runs(
        ws_of(request).engine,
        task=task or None,
        status=status or None,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
        lang=language_of(request),
    )
    return render(
        request,
        "web/runs.html",
        {
            "runs": runs[:per_page],
            "more": len(runs) > per_page,
            "page": page,
            "task": task,
            "status": status,
            "tasks": list(PLAN_BY_KEY),
            "statuses": STATUSES,
        },
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: Id, request: Request, who: Principal = Depends(require("read"))) -> Response:
    run = get_run(ws_of(request).engine, run_id, lang=language_of(request))
    spec = PLAN_BY_KEY.get(run["task"])
    findings = [dict(f, check=c["name"]) for c in run["checks"] for f in c["findings"]]
    return render(
        request,
        "web/run.html",
        {
            "run": run,
            "task": spec,
            "findings": findings,
            "charts": measurements_charts(run["checks"], lang=language_of(request)),
            "needs_signoff": bool(spec and spec.needs_signoff),
        },
    )


@router.get("/runs/{run_id}/report", response_class=HTMLResponse)
def run_report(run_id: Id, request: Request, who: Principal = Depends(require("read"))) -> Response:
    # the reader's language and clock: the report opened from the console is read by this user
    html = render_run(ws_of(request).engine, run_id, "html", lang=language_of(request), tz=timezone_of(request))
    # a report quotes what checks found (log lines, feedback text): no script, form or plugin may run in it
    return HTMLResponse(html, headers={"content-security-policy": REPORT_CSP})


@router.get("/runs/{run_id}/artifacts/{artifact_id}")
def run_artifact(
    run_id: Id, artifact_id: Id, request: Request, who: Principal = Depends(require("read"))
) -> Response:
    ws = ws_of(request)
    run = get_run(ws.engine, run_id)
    artifact = next((a for a in run["artifacts"] if a["id"] == artifact_id), None)
    if artifact is None:
        raise NotFound(msg("run {run_id} has no artifact {artifact_id}", run_id=run_id, artifact_id=artifact_id))
    path = Path(artifact["path"]).resolve()
    if not path.is_relative_to(ws.settings.artifacts_dir.resolve()) or not path.is_file():
        raise NotFound(msg("artifact {name} is no longer in the workspace", name=artifact["name"]))
    return FileResponse(
        path,
        media_type=artifact["media_type"],
        filename=artifact["name"],
        content_disposition_type="attachment",
    )


@router.post("/runs/{run_id}/sign-off")
async def run_sign_off(
    run_id: Id, request: Request, comment: str = Form(""), who: Principal = Depends(require("ops"))
) -> Response:
    ws = ws_of(request)
    await run_in_threadpool(sign_off, ws.engine, run_id, who.name, comment[:2000])

    def log() -> None:
        with session_scope(ws.engine) as session:
            record_audit(
                session,
                actor=who.name,
                action="run.sign_off",
                target=f"run:{run_id}",
                after={"comment": comment[:2000]},
                source_ip=client_ip(request),
            )

    await run_in_threadpool(log)
    return back(f"/runs/{run_id}")
