"""Release API and console pages: records, their pre/post-deploy checks and screenshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.concurrency import run_in_threadpool

from eduops.core import values
from eduops.core.bodies import read_json_object
from eduops.core.i18n import msg
from eduops.core.pages import language_of, render
from eduops.core.params import Id
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require
from eduops.errors import NotFound, UsageError, ValidationFailed
from eduops.release import service

router = APIRouter(tags=["release"])
pages = APIRouter()
NAV = [NavItem("/releases", "Releases", "read", 65, group="Operations")]


def _ws(request: Request) -> Any:
    return request.app.state.workspace


@router.get("/api/v1/releases")
def get_releases(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    return service.list_releases(_ws(request).engine)


@router.post("/api/v1/releases", status_code=201)
async def post_release(request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """Record a release ``{"version", "changes": [...], "deployed_at"?, "base_url"?}``."""
    body = await read_json_object(request)
    if not isinstance(body.get("changes", []), list):
        raise ValidationFailed('expected {"version": "5.3.1", "changes": ["..."]}')
    at = None
    if body.get("deployed_at"):
        try:
            at = values.parse_time(str(body["deployed_at"]), "deployed_at", tz=_ws(request).settings.tz)
        except UsageError as exc:  # a field of the body: 422 like the body's other rules
            raise ValidationFailed(exc.message) from None
    ws = _ws(request)
    release = service.create_release(
        ws.engine,
        str(body.get("version", "")),
        [str(c) for c in body.get("changes", [])],
        who.name,
        deployed_at=at,
        base_url=str(body.get("base_url", "")),
    )
    if body.get("check") and service.target_of(ws.settings, release["base_url"]):
        release["check_run_id"] = _start(ws, release["version"], "post" if at else "pre", who.name)
    return release


@router.get("/api/v1/releases/{version}")
def get_release(version: str, request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    return service.get_release(_ws(request).engine, version)


@router.post("/api/v1/releases/{version}/deployed")
def post_deployed(version: str, request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """Mark the release deployed; the post-deploy journeys start at once when a platform is configured."""
    ws = _ws(request)
    release = service.mark_deployed(ws.engine, version)
    if service.target_of(ws.settings, release["base_url"]):
        release["check_run_id"] = _start(ws, version, "post", who.name)
    return release


def _start(ws: Any, version: str, phase: str, who: str) -> int:
    import threading

    from eduops.core.runs import execute

    run_id, run_settings = service.start_check(ws.engine, ws.settings, version, phase, who)
    threading.Thread(
        target=execute, args=(ws.engine, run_settings, run_id), daemon=True, name=f"release-check-{run_id}"
    ).start()
    return run_id


@router.post("/api/v1/releases/{version}/check", status_code=202)
async def post_check(
    version: str, request: Request, phase: str = "post", who: Principal = Depends(require("ops"))
) -> dict[str, Any]:
    """Start the regression journeys for a release (phase pre or post); answers with the run id at once."""
    run_id = await run_in_threadpool(_start, _ws(request), version, phase, who.name)
    return {"id": run_id, "release": version, "phase": phase, "status": "running"}


@pages.get("/releases", response_class=HTMLResponse)
def releases_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    return render(request, "release/releases.html", {"releases": service.list_releases(_ws(request).engine)})


@pages.get("/releases/{version}", response_class=HTMLResponse)
def release_page(version: str, request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    release = service.get_release(_ws(request).engine, version, language_of(request))
    return render(request, "release/release.html", {"r": release})


@pages.get("/releases/{version}/screenshots/{run_id}/{name}")
def screenshot(
    version: str, run_id: Id, name: str, request: Request, _: Principal = Depends(require("read"))
) -> FileResponse:
    """A journey's screenshot, only from the artifacts of that release's own runs."""
    rel = service.get_release(_ws(request).engine, version)
    for phase in service.PHASES:
        run = rel[f"{phase}_run"]
        if run and run["id"] == run_id:
            for a in run["artifacts"]:
                if a["name"] == name and Path(a["path"]).is_file():
                    return FileResponse(a["path"], media_type=a["media_type"])
    raise NotFound(msg("no screenshot {name} in the checks of release {version}", name=name, version=version))
