"""Learning analytics over HTTP: the xAPI LRS at /xapi, metrics at /api/v1/analytics, console pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from eduops.analytics import xapi_http
from eduops.analytics.documents_api import router as documents_router
from eduops.analytics.documents_asgi import DocumentsFastPath
from eduops.analytics.pages import pages
from eduops.analytics.service import Analytics
from eduops.analytics.sql import Filters
from eduops.analytics.statements_asgi import StatementsFastPath
from eduops.analytics.store import events_settings
from eduops.analytics.store_api import router as store_router
from eduops.analytics.xapi_api import router as xapi_router
from eduops.core.i18n import render_text
from eduops.core.pages import language_of
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require

router = APIRouter()
router.include_router(xapi_router)
router.include_router(documents_router)
api = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])
NAV = [NavItem("/analytics", "Learning", "read", 60, group="Platform")]
__all__ = ["router", "pages", "NAV", "setup"]

Since = Annotated[str | None, Query(description="first day, YYYY-MM-DD")]
Until = Annotated[str | None, Query(description="last day, YYYY-MM-DD (inclusive)")]


def filters(course: str | None = None, region: str | None = None, teacher: str | None = None,
            device: str | None = None, part: str | None = None) -> Filters:
    return Filters(course or None, region or None, teacher or None, device or None, part or None)


def analytics(request: Request) -> Analytics:
    return Analytics.open(request.app.state.workspace.settings)


@api.get("/active")
async def active(request: Request, since: Since = None, until: Until = None, f: Filters = Depends(filters),
                 _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """DAU, rolling WAU/MAU, new vs returning and stickiness per day."""
    return await run_in_threadpool(analytics(request).active, since, until, f)


@api.get("/completion")
async def completion(request: Request, until: Until = None, f: Filters = Depends(filters),
                     by: str = Query("course", description="course, or part (presentation/term/class)"),
                     count: str = Query("learners", description="learners, or registrations (a retake counts again)"),
                     _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Per course or part: enrolled, completed, passed, failed, withdrawn, completion % and pass %."""
    return await run_in_threadpool(analytics(request).completion, until, f, by, count)


@api.get("/retention")
async def retention(request: Request, unit: str = "week", periods: int = Query(12, ge=1, le=520), mode: str = "on",
                    start_verb: Annotated[list[str] | None, Query()] = None,
                    return_verb: Annotated[list[str] | None, Query()] = None,
                    since: Since = None, until: Until = None, f: Filters = Depends(filters),
                    _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Retention cohorts (day/week/month, "on" or "on_or_after") with the weighted average row."""
    return await run_in_threadpool(analytics(request).retention, unit, periods, mode, start_verb or [],
                                   return_verb or [], since, until, f)


@api.get("/funnel")
async def funnel(request: Request, step: Annotated[list[str], Query(description="verb or verb@object-id")],
                 window_days: int = Query(14, ge=1, le=3660), since: Since = None, until: Until = None,
                 f: Filters = Depends(filters),
                 _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Ordered steps within a conversion window: conversion, median time, biggest drop-off."""
    return await run_in_threadpool(analytics(request).funnel, step, window_days, since, until, f)


@api.get("/breakdown/{dimension}")
async def breakdown(request: Request, dimension: str, since: Since = None, until: Until = None,
                    f: Filters = Depends(filters), _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Learners, statements, completions and mean score by course, region, teacher, device or time."""
    return await run_in_threadpool(analytics(request).breakdown, dimension, since, until, f)


@api.get("/video")
async def video(request: Request, since: Since = None, until: Until = None, f: Filters = Depends(filters),
                _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Per video: viewers, share watched, share of viewers per tenth of the video."""
    return await run_in_threadpool(analytics(request).video, since, until, f)


@api.get("/at-risk")
async def at_risk(request: Request, asof: str | None = None, idle_days: int = Query(7, ge=1, le=365),
                  f: Filters = Depends(filters), _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Learners still enrolled who are failing or idle for ``idle_days`` days."""
    return await run_in_threadpool(analytics(request).at_risk, asof, f, idle_days)


@api.get("/courses")
async def courses(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Every course with its learners and statements; ``excluded`` counts statements left out (timestamp)."""
    return await run_in_threadpool(analytics(request).courses)


@api.get("/status")
async def status(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """The event store: statements stored, statements waiting in the ingest journal, and while the filter keys of
    statements are indexed in the background (after an upgrade) ``indexing``: {posted, of}; ``summary`` says it."""
    from eduops.analytics.store_status import store_status, summary

    found = await run_in_threadpool(store_status, analytics(request).store)
    return {**found, "summary": render_text(summary(found), language_of(request))}


@api.get("/quality")
async def quality(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Completion and retention by call-quality band, and drop-off after a poor class."""
    from eduops.analytics.quality import quality_learning

    return await run_in_threadpool(quality_learning, request.app.state.workspace.settings)


router.include_router(api)
router.include_router(store_router)


def setup(app: FastAPI) -> None:
    # added before any other domain's middleware, so it is the innermost: every middleware runs for it
    app.add_middleware(DocumentsFastPath)
    app.add_middleware(StatementsFastPath)

    def start_ingest_helpers() -> None:
        from eduops.analytics import ingest_pool
        from eduops.core import local_access

        cfg = events_settings(app.state.workspace.settings)
        if local_access.serving_here and local_access.holds_stores() and cfg.backend == "duckdb":
            ingest_pool.start(cfg.ingest_processes)  # `eduops serve`'s process holding the event store

    def stop_ingest_helpers() -> None:
        from eduops.analytics import ingest_pool

        ingest_pool.stop()

    app.router.on_startup.append(start_ingest_helpers)
    app.router.on_shutdown.append(stop_ingest_helpers)
    xapi_http.install(app)
