"""Load tests in the console: the scenario library, the live test, and the latest report's charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse

from eduops.core.i18n import msg
from eduops.core.params import Id
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require
from eduops.errors import NotFound

router = APIRouter(prefix="/api/v1/loadtest", tags=["loadtest"])
pages = APIRouter()
NAV = [NavItem("/loadtest", "Load tests", "read", 70, group="Operations")]


def _ws(request: Request) -> Any:
    return request.app.state.workspace


def _scenarios(request: Request) -> list[dict[str, Any]]:
    from eduops.loadtest.scenarios import SCENARIOS, scaled_users, slo_for
    from eduops.loadtest.service import loadtest_settings

    lt = loadtest_settings(_ws(request).settings)
    return [{"key": s.key, "title": s.title, "description": s.description, "shape": s.shape,
             "nominal_users": s.nominal_users, "local_users": scaled_users(s, lt),
             "p95_ms": slo_for(s, lt).p95_ms, "error_rate_pct": slo_for(s, lt).error_rate_pct}
            for s in SCENARIOS.values()]


@router.get("/scenarios")
def get_scenarios(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    """The scenario library with each scenario's shape, size and SLO."""
    return _scenarios(request)


@router.get("/live")
def get_live(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """The running (or last) load test: one tick per second with users, req/s, p95 and errors."""
    from eduops.loadtest.service import live_file, read_live

    return read_live(live_file(_ws(request).settings))


def _runs(request: Request, limit: int = 20, lang: str = "en") -> list[dict[str, Any]]:
    from eduops.core.service import get_run, list_runs

    engine = _ws(request).engine
    return [get_run(engine, r["id"], lang) for r in list_runs(engine, task="load-test", limit=limit)]


@router.get("/runs")
def get_runs(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    """Recent load-test runs with their SLO verdict and knee."""
    out = []
    for run in _runs(request):
        ev = run["checks"][0]["evidence"] if run["checks"] else {}
        out.append({"id": run["id"], "status": run["status"], "started_at": run["started_at"],
                    "scenario": ev.get("scenario"), "mode": ev.get("mode"), "overall": ev.get("overall"),
                    "verdict": ev.get("verdict"), "knee": ev.get("knee")})
    return out


@router.get("/runs/{run_id}/report")
def get_report(run_id: Id, request: Request, _: Principal = Depends(require("read"))) -> FileResponse:
    """The run's report with its charts, as a file to open in a browser."""
    from eduops.core.service import get_run

    run = get_run(_ws(request).engine, run_id)
    for artifact in run["artifacts"]:
        if artifact["name"] == "loadtest-report.html" and Path(artifact["path"]).exists():
            return FileResponse(artifact["path"], media_type="text/html",
                                filename=f"loadtest-run-{run_id}.html", content_disposition_type="attachment")
    raise NotFound(msg("run {run_id} has no load-test report", run_id=run_id))


@pages.get("/loadtest", response_class=HTMLResponse)
def loadtest_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    from eduops.core.i18n import gettext
    from eduops.core.pages import language_of, render, script_json
    from eduops.loadtest import charts

    lang = language_of(request)
    live = get_live(request, _)
    runs = _runs(request, 10, lang)
    latest = next((r for r in runs if r["checks"] and r["checks"][0]["evidence"].get("overall")), None)
    evidence = latest["checks"][0]["evidence"] if latest else {}
    ticks: list[dict[str, Any]] = []
    if latest:
        data = next((a["path"] for a in latest["artifacts"] if a["name"] == "loadtest-data.json"), None)
        if data and Path(data).exists():
            ticks = json.loads(Path(data).read_text()).get("ticks", [])
    lang = language_of(request)
    t = lambda text: gettext(text, lang)  # noqa: E731
    context = {
        "scenarios": _scenarios(request), "live": live, "runs": runs, "latest": latest, "evidence": evidence,
        "live_chart": script_json(charts.timeline(live["ticks"], t)) if live.get("status") == "running" else None,
        "timeline_chart": script_json(charts.timeline(ticks, t)) if ticks else None,
        "knee_chart": script_json(charts.knee(evidence["steps"], evidence["knee"], evidence["slo"]["p95_ms"], t))
        if evidence.get("knee") else None,
    }
    return render(request, "loadtest/index.html", context)
