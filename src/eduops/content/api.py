"""Content API and console pages: courses, assets, syllabus versions, import and the audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from eduops.content import service
from eduops.content.importer import MAX_IMPORT_BYTES, parse_records, read_file
from eduops.core.bodies import check_declared_length, read_body, read_json, read_json_object, too_large
from eduops.core.pages import render
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require
from eduops.db import utcnow
from eduops.errors import UsageError, ValidationFailed

router = APIRouter(tags=["content"])
pages = APIRouter()
NAV = [NavItem("/content/courses", "Courses", "read", 55, group="Platform"),
       NavItem("/content/audit", "Content audit", "read", 56, group="Platform")]


def _ws(request: Request) -> Any:
    return request.app.state.workspace


def _today(request: Request) -> Any:
    return utcnow().astimezone(_ws(request).settings.tz).date()


@router.get("/api/v1/content/courses")
def get_courses(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    return service.list_courses(_ws(request).engine)


@router.get("/api/v1/content/assets")
def get_assets(
    request: Request,
    course: str | None = None,
    kind: str | None = None,
    needs_review: bool = False,
    owner: str | None = None,
    limit: int = Query(500, ge=1, le=5000),
    _: Principal = Depends(require("read")),
) -> list[dict[str, Any]]:
    return service.list_assets(
        _ws(request).engine, course=course, kind=kind, needs_review=needs_review, owner=owner, limit=limit
    )


@router.post("/api/v1/content/assets")
async def post_assets(request: Request, _: Principal = Depends(require("content"))) -> dict[str, Any]:
    """Create or update assets: a JSON list (or {"assets": [...]}), a CSV body, or a multipart ``file``."""
    ctype = request.headers.get("content-type", "")
    check_declared_length(request, MAX_IMPORT_BYTES, "the import")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise UsageError("send the file in a form field named file")
        data = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            raise too_large(MAX_IMPORT_BYTES, "the import")
        records = read_file(upload.filename or "upload.csv", data)
    elif ctype.startswith("text/csv"):
        records = read_file("body.csv", await read_body(request, MAX_IMPORT_BYTES, "the import"))
    else:
        body = await read_json(request, MAX_IMPORT_BYTES, "the import")
        body = body.get("assets") if isinstance(body, dict) else body
        if not isinstance(body, list):
            raise ValidationFailed('expected a list of assets or {"assets": [...]}')
        records = parse_records(body)
    return await run_in_threadpool(service.import_assets, _ws(request).engine, records)


@router.post("/api/v1/content/assets/{code}/reviewed")
def post_reviewed(code: str, request: Request, who: Principal = Depends(require("content"))) -> dict[str, Any]:
    return service.mark_reviewed(_ws(request).engine, code, who.name, _today(request))


@router.get("/api/v1/content/syllabi")
def get_syllabi(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    return service.list_syllabi(_ws(request).engine)


@router.post("/api/v1/content/syllabi")
async def post_syllabus(request: Request, _: Principal = Depends(require("content"))) -> dict[str, Any]:
    """Publish a syllabus version ``{"code", "version", "title", "points"}``; older assets need review."""
    body = await read_json_object(request)
    if not isinstance(body.get("points", []), list):
        raise ValidationFailed('expected {"code": ..., "version": ..., "points": [...]}')
    return service.publish_syllabus(
        _ws(request).engine,
        str(body.get("code", "")),
        str(body.get("version", "")),
        title=str(body.get("title", "")),
        points=[str(p) for p in body["points"]] if "points" in body else None,
    )


@router.get("/api/v1/content/audit")
def get_audit(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    ws = _ws(request)
    return service.audit(ws.engine, ws.settings, _today(request))


@pages.get("/content/courses", response_class=HTMLResponse)
def courses_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    return render(request, "content/courses.html", {"courses": service.list_courses(_ws(request).engine)})


@pages.get("/content/assets", response_class=HTMLResponse)
def assets_page(
    request: Request, course: str | None = None, needs_review: bool = False, _: Principal = Depends(require("read"))
) -> HTMLResponse:
    assets = service.list_assets(_ws(request).engine, course=course, needs_review=needs_review)
    return render(request, "content/assets.html", {"assets": assets, "course": course, "needs_review": needs_review})


@pages.get("/content/audit", response_class=HTMLResponse)
def audit_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    ws = _ws(request)
    return render(request, "content/audit.html", {"report": service.audit(ws.engine, ws.settings, _today(request))})
