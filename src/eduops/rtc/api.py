"""Call quality over HTTP: report ingestion, breakdowns, call search, the live board, the probe; console pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from eduops.core import local_access, values
from eduops.core.audit import audit
from eduops.core.bodies import parse_json, read_body
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require
from eduops.core.values import MAX_INT
from eduops.db import utcnow
from eduops.rtc import charts
from eduops.rtc.breakdowns import DIMENSIONS, Window, breakdown, heatmap, week_over_week, worst_segments
from eduops.rtc.definitions import METRIC_HELP
from eduops.rtc.overview_cache import OverviewCache, Refresher
from eduops.rtc.service import batch_from_body, ingest_into, open_store

router = APIRouter(prefix="/api/v1/rtc", tags=["rtc"])
pages = APIRouter()
NAV = [NavItem("/rtc", "Call quality", "read", 30, group="Platform")]
MAX_BODY_BYTES = 32 * 1024 * 1024


def _store(request: Request) -> Any:
    return open_store(request.app.state.workspace.settings)


def _window(days: float) -> Window:
    end = utcnow()
    return Window(end - timedelta(days=days), end)


def _time(value: str | None, name: str) -> datetime | None:
    return values.parse_time(value, name)


def _local_time(value: str, name: str, tz: Any) -> datetime | None:
    """A time typed in the console (datetime-local: no zone) in the workspace's timezone."""
    return values.parse_time(value, name, tz=tz)


@router.post("/reports", status_code=200)
async def post_reports(request: Request, who: Principal = Depends(require("ingest:rtc"))) -> dict[str, Any]:
    """A batch of call, session, sample and ai_turn items (or W3C/Agora/TRTC stats). Valid items are stored
    (committed before this answers); the answer lists every rejected item's index and reason."""
    raw = await read_body(request, MAX_BODY_BYTES)
    body = await run_in_threadpool(parse_json, raw)
    items = batch_from_body(body)
    result = await run_in_threadpool(ingest_into, _store(request), items)
    if who.kind == "local" and who.name != local_access.WORKER_ACTOR:
        # `eduops rtc ingest` beside the server: audited like the CLI's own writes
        await run_in_threadpool(audit, request.app.state.workspace.engine, actor=who.name, action="rtc.ingest",
                                after={"accepted": result.accepted, "rejected": result.rejected_total},
                                source_ip=request.client.host if request.client else "")
    return result.to_dict()


@router.get("/breakdown/{dimension}")
def get_breakdown(
    dimension: str, request: Request, days: float = Query(7, gt=0, le=366), _: Principal = Depends(require("read"))
) -> list[dict[str, Any]]:
    """Quality per value of a dimension: province, isp, network, os, device, app_version, scenario, teacher, hour."""
    return breakdown(_store(request), dimension, _window(days))


@router.get("/heatmap")
def get_heatmap(
    request: Request,
    days: float = Query(7, gt=0, le=366),
    metric: str = "poor_pct",
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    return heatmap(_store(request), _window(days), metric)


@router.get("/worst")
def get_worst(
    request: Request,
    days: float = Query(7, gt=0, le=366),
    min_sessions: int = Query(20, ge=1, le=MAX_INT),
    limit: int = Query(20, ge=1, le=500),
    _: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    """Segments ranked by poor share of media time, among those with enough volume."""
    return worst_segments(_store(request), _window(days), min_sessions=min_sessions, limit=limit)


@router.get("/trend")
def get_trend(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    return week_over_week(_store(request), utcnow())


@router.get("/calls")
def get_calls(
    request: Request,
    user_id: str | None = None,
    channel: str | None = None,
    start: str | None = None,
    end: str | None = None,
    band: str | None = None,
    limit: int = Query(100, ge=1, le=5000),
    _: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    from eduops.rtc.calls import search_calls

    return search_calls(
        _store(request),
        user_id=user_id,
        channel=channel,
        start=_time(start, "start"),
        end=_time(end, "end"),
        band=band,
        limit=limit,
    )


@router.get("/calls/{call_id:path}")
def get_call(call_id: str, request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """One call with each participant's quality and timeline, and the root-cause hint when it was poor."""
    from eduops.rtc.calls import call_detail

    return call_detail(_store(request), call_id)


@router.get("/live")
def get_live(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    from eduops.rtc.live import live_board

    return live_board(_store(request), utcnow())


@router.get("/tutor")
def get_tutor(
    request: Request, days: float = Query(7, gt=0, le=366), _: Principal = Depends(require("read"))
) -> list[dict[str, Any]]:
    """AI tutor voice-to-voice latency and stage p50/p90 per provider and model."""
    from eduops.rtc.aitutor import latency_by_model, load_turns

    window = _window(days)
    return latency_by_model(load_turns(_store(request), window.start, window.end))


@router.post("/probe")
async def post_probe(
    request: Request,
    delay_ms: float = Query(0, ge=0, le=5000),
    jitter_ms: float = Query(0, ge=0, le=5000),
    loss_pct: float = Query(0, ge=0, le=100),
    duration_s: float = Query(5, ge=0.5, le=60),
    _: Principal = Depends(require("ops")),
) -> dict[str, Any]:
    """Place a synthetic WebRTC call now and return its measurements."""
    from eduops.rtc.probe import probe

    return (await probe(delay_ms, jitter_ms, loss_pct, duration_s)).to_dict()


@pages.get("/rtc", response_class=HTMLResponse)
def rtc_page(
    request: Request,
    days: float = Query(7, gt=0, le=366),
    dimension: str = "province",
    metric: str = "poor_pct",
    _: Principal = Depends(require("read")),
) -> HTMLResponse:
    from eduops.core.pages import language_of, render

    shown = _overview_cache(request).get(_store(request), (float(days), dimension, metric))
    context = {
        **shown,
        "days": days,
        "dimension": dimension,
        "dimensions": list(DIMENSIONS),
        "metric": metric,
        "heatmap": charts.heatmap_figure(shown["heatmap"], lang=language_of(request)),
        "help": METRIC_HELP,
    }
    return render(request, "rtc/overview.html", context)


def _overview_cache(request: Request) -> OverviewCache:
    """The app's cache of /rtc figures (overview_cache.py), made on first use."""
    cache = getattr(request.app.state, "rtc_overview", None)
    if cache is None:
        cache = request.app.state.rtc_overview = OverviewCache()
    return cache


@pages.get("/rtc/calls", response_class=HTMLResponse)
def calls_page(
    request: Request,
    user_id: str = "",
    channel: str = "",
    start: str = "",
    end: str = "",
    band: str = "",
    _: Principal = Depends(require("read")),
) -> HTMLResponse:
    from eduops.core.pages import render
    from eduops.rtc.calls import search_calls

    tz = request.app.state.workspace.settings.tz
    start_dt, end_dt = _local_time(start, "start", tz), _local_time(end, "end", tz)
    rows = search_calls(
        _store(request),
        user_id=user_id or None,
        channel=channel or None,
        start=start_dt,
        end=end_dt,
        band=band or None,
        limit=200,
    )
    query = {"user_id": user_id, "channel": channel, "start": start, "end": end, "band": band}
    return render(request, "rtc/calls.html", {"calls": rows, "q": query})


@pages.get("/rtc/calls/{call_id:path}", response_class=HTMLResponse)
def call_page(call_id: str, request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    from eduops.core.pages import language_of, render, timezone_of
    from eduops.rtc.calls import call_detail, review

    detail = call_detail(_store(request), call_id)
    return render(
        request,
        "rtc/call.html",
        {
            "d": detail,
            "review": review(detail),
            "charts": charts.timeline_figures(detail["timeline"], language_of(request), timezone_of(request)),
            "help": METRIC_HELP,
        },
    )


@pages.get("/rtc/live", response_class=HTMLResponse)
def live_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    from eduops.core.pages import render
    from eduops.rtc.live import live_board

    return render(request, "rtc/live.html", {"board": live_board(_store(request), utcnow())})


@pages.get("/rtc/probe", response_class=HTMLResponse)
def probe_page(request: Request, _: Principal = Depends(require("ops"))) -> HTMLResponse:
    from eduops.core.pages import render

    return render(request, "rtc/probe.html", {"result": None, "form": {"delay_ms": 0, "jitter_ms": 0,
                                                                          "loss_pct": 0, "duration_s": 5}})


@pages.post("/rtc/probe", response_class=HTMLResponse)
async def probe_run_page(request: Request, delay_ms: float = Form(0, ge=0, le=5000),
                         jitter_ms: float = Form(0, ge=0, le=5000), loss_pct: float = Form(0, ge=0, le=100),
                         duration_s: float = Form(5, ge=0.5, le=60),
                         _: Principal = Depends(require("ops"))) -> HTMLResponse:
    """Place a probe call from the console and show what it measured."""
    from eduops.core.pages import render
    from eduops.rtc.probe import probe

    result = (await probe(delay_ms, jitter_ms, loss_pct, duration_s)).to_dict()
    form = {"delay_ms": delay_ms, "jitter_ms": jitter_ms, "loss_pct": loss_pct, "duration_s": duration_s}
    return render(request, "rtc/probe.html", {"result": result, "form": form})


def setup(app: FastAPI) -> None:
    """While the console runs, record a QoE window every 20 s as metric series for the alert rules."""
    from eduops.rtc.live import Recorder

    def start() -> None:
        ws = app.state.workspace
        if local_access.holds_stores():  # with several serving workers: the one holding the store records
            recorder = Recorder(ws, open_store(ws.settings))
            recorder.start()
            app.state.rtc_recorder = recorder
        # the /rtc page's default figures, computed now and whenever the store changes (overview_cache.py)
        app.state.rtc_overview = app.state.rtc_overview if hasattr(app.state, "rtc_overview") else OverviewCache()
        refresher = Refresher(app.state.rtc_overview, lambda: open_store(ws.settings))
        refresher.start()
        app.state.rtc_overview_refresher = refresher

    def stop() -> None:
        recorder = getattr(app.state, "rtc_recorder", None)
        if recorder:
            recorder.stop()
        refresher = getattr(app.state, "rtc_overview_refresher", None)
        if refresher:
            refresher.stop()

    app.router.on_startup.append(start)
    app.router.on_shutdown.append(stop)


def _include_store_reads() -> None:
    from eduops.rtc.store_api import router as store_router

    router.include_router(store_router)  # /api/v1/rtc/store/query: CLI reads next to a running server


_include_store_reads()
