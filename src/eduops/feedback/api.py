"""Feedback API: intake (API key scope ingest:feedback, the widget), support queue, clusters, work items."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eduops.core.bodies import check_declared_length, read_body, read_json, read_json_object, too_large
from eduops.core.params import Id
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require
from eduops.errors import UsageError, ValidationFailed
from eduops.feedback import analysis, service, workitems
from eduops.feedback.evidence import call_quality
from eduops.feedback.pages import pages

router = APIRouter(tags=["feedback"])
NAV = [
    NavItem("/feedback/clusters", "Feedback", "read", 60, group="Platform"),
    NavItem("/feedback/support", "Support queue", "support", 61, group="Platform"),
    NavItem("/work-items", "Work items", "read", 62, group="Platform"),
]
__all__ = ["NAV", "pages", "router", "setup"]
MAX_IMPORT_BYTES = 50 * 1024 * 1024


def _ws(request: Request) -> Any:
    return request.app.state.workspace


async def _read_intake(
    request: Request, cfg: service.FeedbackSettings
) -> tuple[service.FeedbackIn, list[service.Upload]]:
    limit = cfg.max_text_chars * 4 + cfg.max_attachments * cfg.max_attachment_bytes * 4 // 3 + 64 * 1024
    check_declared_length(request, limit)
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=cfg.max_attachments + 1, max_fields=20)
        fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
        uploads = []
        for value in form.getlist("attachments") + form.getlist("file"):
            if isinstance(value, UploadFile):
                data = await value.read(cfg.max_attachment_bytes + 1)
                uploads.append(
                    service.Upload(
                        value.filename or "attachment", data, value.content_type or "application/octet-stream"
                    )
                )
        return service.parse_feedback(fields), uploads
    return service.parse_feedback(await read_json(request, limit)), []


@router.post("/api/v1/feedback", status_code=201)
async def post_feedback(
    request: Request, response: Response, who: Principal = Depends(require("ingest:feedback"))
) -> dict[str, Any]:
    """Take one piece of feedback; answers 201 once it (and its attachments) are stored. Safe to retry with
    an ``external_id``: the same content again answers 200 with the stored item, different content 409."""
    ws = _ws(request)
    cfg = service.feedback_settings(ws.settings)
    fb, uploads = await _read_intake(request, cfg)
    item, created = await run_in_threadpool(service.submit_once, ws.engine, ws.settings, fb, uploads)
    if not created:  # a retry of feedback already stored under its external_id
        response.status_code = 200
    return item


@router.get("/api/v1/feedback")
def get_queue(
    request: Request,
    status: str = Query("open", pattern="^(open|answered|closed|all)$"),
    category: str | None = None,
    limit: int = Query(200, ge=1, le=2000),
    _: Principal = Depends(require("support")),
) -> list[dict[str, Any]]:
    return service.support_queue(_ws(request).engine, status=status, category=category, limit=limit)


@router.post("/api/v1/feedback/import")
async def post_import(request: Request, _: Principal = Depends(require("support"))) -> dict[str, Any]:
    """A CSV of feedback, as the request body (text/csv) or a multipart file field ``file``."""
    ws = _ws(request)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise UsageError("send the CSV in a form field named file")
        data = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            raise too_large(MAX_IMPORT_BYTES, "the CSV")
    else:
        data = await read_body(request, MAX_IMPORT_BYTES, "the CSV")
    return await run_in_threadpool(service.import_csv, ws.engine, ws.settings, data)


@router.get("/api/v1/feedback/clusters")
def get_clusters(
    request: Request, order: str = Query("size", pattern="^(size|week)$"), _: Principal = Depends(require("read"))
) -> list[dict[str, Any]]:
    return analysis.ranking(_ws(request).engine, order=order)


@router.post("/api/v1/feedback/clusters/refresh")
def post_recluster(request: Request, _: Principal = Depends(require("support"))) -> dict[str, Any]:
    ws = _ws(request)
    return analysis.recluster(ws.engine, ws.settings)


@router.get("/api/v1/feedback/clusters/{cluster_id}")
def get_cluster(cluster_id: Id, request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    return analysis.cluster_detail(_ws(request).engine, cluster_id)


@router.get("/api/v1/feedback/{item_id}")
def get_feedback(item_id: Id, request: Request, _: Principal = Depends(require("support"))) -> dict[str, Any]:
    ws = _ws(request)
    item = service.get_item(ws.engine, item_id)
    from datetime import datetime

    item["call_quality"] = call_quality(
        ws.settings, item["user"], item["category"], datetime.fromisoformat(item["received_at"])
    )
    return item


async def _body(request: Request) -> dict[str, Any]:
    return await read_json_object(request)


@router.post("/api/v1/feedback/{item_id}/reply")
async def post_reply(item_id: Id, request: Request, who: Principal = Depends(require("support"))) -> dict[str, Any]:
    body = await _body(request)
    return await run_in_threadpool(
        service.reply, _ws(request).engine, item_id, who.name, str(body.get("text", "")), bool(body.get("close", False))
    )


@router.post("/api/v1/feedback/{item_id}/close")
def post_close(item_id: Id, request: Request, who: Principal = Depends(require("support"))) -> dict[str, Any]:
    return service.close(_ws(request).engine, item_id, who.name)


@router.get("/api/v1/work-items", tags=["work items"])
def get_work_items(
    request: Request,
    status: str | None = None,
    release: str | None = None,
    priority: str | None = None,
    _: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    return workitems.list_items(_ws(request).engine, status=status, release=release, priority=priority)


@router.post("/api/v1/work-items", tags=["work items"], status_code=201)
async def post_work_item(request: Request, who: Principal = Depends(require("support"))) -> dict[str, Any]:
    """A work item: ``{"cluster_id": 3}`` from a feedback cluster, or title/kind/function/requesters by hand."""
    ws = _ws(request)
    body = await _body(request)
    if "cluster_id" in body:
        try:
            cluster_id = int(body["cluster_id"])
        except (TypeError, ValueError):
            raise ValidationFailed("cluster_id must be a number") from None
        return await run_in_threadpool(
            workitems.from_cluster, ws.engine, ws.settings, cluster_id, who.name, body.get("kind"), body.get("title")
        )
    try:
        item = workitems.WorkItemIn.model_validate(body)
    except Exception as exc:
        raise ValidationFailed(f"invalid work item: {exc}") from None
    return await run_in_threadpool(workitems.create, ws.engine, ws.settings, item, who.name)


@router.post("/api/v1/work-items/from-alert", tags=["work items"], status_code=201)
async def post_work_item_from_alert(request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """A firing alert becomes a bug: ``{"alertname": ..., "labels": {...}, "summary": ..., "fingerprint": ...}``."""
    ws = _ws(request)
    body = await _body(request)
    labels = body.get("labels") or {}
    name = str(body.get("alertname") or labels.get("alertname") or "")
    if not name or not isinstance(labels, dict):
        raise ValidationFailed("an alert needs an alertname and a labels object")
    return await run_in_threadpool(
        workitems.from_alert,
        ws.engine,
        ws.settings,
        name,
        {str(k): str(v) for k, v in labels.items()},
        str(body.get("summary", "")),
        who.name,
        str(body.get("fingerprint", "")),
    )


@router.patch("/api/v1/work-items/{item_id}", tags=["work items"])
async def patch_work_item(item_id: Id, request: Request, _: Principal = Depends(require("ops"))) -> dict[str, Any]:
    body = await _body(request)
    return await run_in_threadpool(
        workitems.update,
        _ws(request).engine,
        item_id,
        status=body.get("status"),
        release=body.get("release"),
        notes=body.get("notes"),
    )


class WidgetCORS:
    """Lets the widget on the configured origins post to the intake (a pure ASGI middleware: every
    other request passes straight through, with no per-request task or stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/v1/feedback":
            await self.app(scope, receive, send)
            return
        origins = service.feedback_settings(scope["app"].state.workspace.settings).widget_origins
        origin = Headers(scope=scope).get("origin", "")
        allowed = origin if origin and (origin in origins or "*" in origins) else ""
        if scope["method"] == "OPTIONS" and allowed:
            preflight = Response(status_code=204, headers={
                "Access-Control-Allow-Origin": allowed,
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            })
            await preflight(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed:
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = allowed
                headers["Vary"] = "Origin"
            await send(message)

        await self.app(scope, receive, send_with_cors)


def setup(app: FastAPI) -> None:
    """Serve the widget script, let configured origins post to the intake, and keep the SLA metric fresh."""
    from pathlib import Path

    from starlette.staticfiles import StaticFiles

    app.mount("/feedback/static", StaticFiles(directory=Path(__file__).parent / "static"), name="feedback-static")

    app.add_middleware(WidgetCORS)

    stop = threading.Event()

    def sla_timer() -> None:
        from eduops.feedback.analysis import record_sla_metric

        ws = app.state.workspace
        every = service.feedback_settings(ws.settings).sla_check_seconds
        while not stop.wait(every):
            try:
                record_sla_metric(ws.engine)
            except Exception:  # a database hiccup must not end the timer
                import logging

                logging.getLogger(__name__).exception("recording the feedback SLA metric failed")

    def start() -> None:
        from eduops.core.local_access import holds_stores

        if holds_stores():  # with several serving workers, one records the metric
            threading.Thread(target=sla_timer, name="feedback-sla", daemon=True).start()

    app.router.on_startup.append(start)
    app.router.on_shutdown.append(stop.set)
