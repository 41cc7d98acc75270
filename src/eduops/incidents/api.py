"""Incidents API and console pages: the list, one incident with its timeline, the review (复盘), and
the public status page of an incident's learner-facing notice."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from eduops.core.bodies import read_json_object
from eduops.core.pages import language_of, render, timezone_of
from eduops.core.params import Id
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, public, require
from eduops.errors import ValidationFailed
from eduops.incidents import review, service, wording
from eduops.incidents.charts import timeline_chart

router = APIRouter(tags=["incidents"])
pages = APIRouter()
NAV = [NavItem("/incidents", "Incidents", "read", 5, group="Operations")]


def _ws(request: Request) -> Any:
    return request.app.state.workspace


def _str(body: dict[str, Any], key: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if value is None:
        raise ValidationFailed(f'"{key}" is required')
    if not isinstance(value, str):
        raise ValidationFailed(f'"{key}" must be a string')
    return value


def _opt(body: dict[str, Any], key: str) -> str | None:
    return _str(body, key) if key in body and body[key] is not None else None


@router.get("/api/v1/incidents")
def get_incidents(request: Request, status: str | None = None, _: Principal = Depends(require("read"))
                  ) -> list[dict[str, Any]]:
    """Newest first; ``status`` is open (not resolved) or one status. Each lists its ``signals``."""
    return service.list_incidents(_ws(request).engine, status)


@router.post("/api/v1/incidents", status_code=201)
async def post_incident(request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """Open an incident by hand: ``{"title", "severity"?, "owner"?, "dims"?: {"region": "henan", ...}}``."""
    body = await read_json_object(request)
    dims = body.get("dims") or {}
    if not isinstance(dims, dict):
        raise ValidationFailed('"dims" must be an object such as {"region": "henan", "isp": "unicom"}')
    ws = _ws(request)
    return await run_in_threadpool(
        lambda: service.open_incident(ws.engine, ws.settings, title=_str(body, "title", ""), who=who.name,
                                      severity=_str(body, "severity", "warning"), dims=dims,
                                      owner=_str(body, "owner", "")))


@router.get("/api/v1/incidents/{incident_id}")
def get_incident(incident_id: Id, request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    return service.get_incident(_ws(request).engine, incident_id)


@router.post("/api/v1/incidents/{incident_id}/ack")
def post_ack(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    return service.acknowledge(_ws(request).engine, incident_id, who.name)


@router.post("/api/v1/incidents/{incident_id}/status")
async def post_status(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))
                      ) -> dict[str, Any]:
    """``{"status": "identified"}`` (investigating, identified, monitoring, resolved)."""
    body = await read_json_object(request)
    ws = _ws(request)
    return await run_in_threadpool(service.set_status, ws.engine, ws.settings, incident_id, _str(body, "status"),
                                   who.name)


@router.post("/api/v1/incidents/{incident_id}/owner")
async def post_owner(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))
                     ) -> dict[str, Any]:
    body = await read_json_object(request)
    ws = _ws(request)
    return await run_in_threadpool(service.set_owner, ws.engine, ws.settings, incident_id, _str(body, "owner"),
                                   who.name)


@router.post("/api/v1/incidents/{incident_id}/escalate")
async def post_escalate(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))
                        ) -> dict[str, Any]:
    body = await read_json_object(request)
    ws = _ws(request)
    return await run_in_threadpool(service.escalate, ws.engine, ws.settings, incident_id, who.name,
                                   _str(body, "severity", "critical"))


@router.post("/api/v1/incidents/{incident_id}/notes", status_code=201)
async def post_note(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))
                    ) -> dict[str, Any]:
    body = await read_json_object(request)
    return await run_in_threadpool(service.add_note, _ws(request).engine, incident_id, who.name,
                                   _str(body, "text"))


@router.post("/api/v1/incidents/{incident_id}/resolve")
def post_resolve(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    ws = _ws(request)
    return service.resolve(ws.engine, ws.settings, incident_id, who.name)


@router.put("/api/v1/incidents/{incident_id}/notice")
async def put_notice(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))
                     ) -> dict[str, Any]:
    """The learner-facing notice ``{"public": true, "zh": "...", "en": "..."}`` (off by default)."""
    body = await read_json_object(request)
    if not isinstance(body.get("public", False), bool):
        raise ValidationFailed('"public" must be true or false')
    return await run_in_threadpool(lambda: service.set_notice(
        _ws(request).engine, incident_id, who.name, public=bool(body.get("public", False)),
        zh=_opt(body, "zh"), en=_opt(body, "en")))


@router.get("/api/v1/incidents/{incident_id}/review")
def get_review(incident_id: Id, request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """The review, pre-filled: durations (TTD/TTA/TTR), impact, ranked causes and the whole timeline."""
    ws = _ws(request)
    return review.get_review(ws.engine, ws.settings, incident_id)


@router.put("/api/v1/incidents/{incident_id}/review")
async def put_review(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))
                     ) -> dict[str, Any]:
    """``{"went_well", "went_badly", "summary"}`` (each optional) once the incident is resolved."""
    body = await read_json_object(request)
    return await run_in_threadpool(lambda: review.save_review(
        _ws(request).engine, incident_id, who.name, went_well=_opt(body, "went_well"),
        went_badly=_opt(body, "went_badly"), summary=_opt(body, "summary")))


@router.post("/api/v1/incidents/{incident_id}/actions", status_code=201)
async def post_action(incident_id: Id, request: Request, who: Principal = Depends(require("ops"))
                      ) -> dict[str, Any]:
    """An action item ``{"title", "owner"}``; it becomes a work item."""
    body = await read_json_object(request)
    ws = _ws(request)
    return await run_in_threadpool(review.add_action, ws.engine, ws.settings, incident_id, who.name,
                                   _str(body, "title"), _str(body, "owner"))


@router.post("/api/v1/incidents/drills/{run_id}", status_code=201)
def post_drill_review(run_id: Id, request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """The review of a quarterly-drill run, as an incident of kind drill (the same one when asked again)."""
    ws = _ws(request)
    return review.review_drill(ws.engine, ws.settings, run_id, who.name)


# -- console pages


def _wording(request: Request) -> dict[str, Any]:
    lang = language_of(request)
    return {"incident_title": lambda i: wording.incident_title(i, lang),
            "signal_title": lambda s: wording.signal_title(s, lang),
            "words": lambda value: wording.localized(value, lang)}


@pages.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    return render(request, "incidents/list.html", {"incidents": service.list_incidents(_ws(request).engine),
                                                   **_wording(request)})


@pages.post("/incidents")
def incidents_open(request: Request, title: str = Form(...), severity: str = Form("warning"),
                   who: Principal = Depends(require("ops"))) -> RedirectResponse:
    ws = _ws(request)
    made = service.open_incident(ws.engine, ws.settings, title=title, who=who.name, severity=severity)
    return RedirectResponse(f"/incidents/{made['id']}", status_code=303)


@pages.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: Id, request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    incident = service.get_incident(_ws(request).engine, incident_id)
    chart = timeline_chart(incident, incident["signals"], timezone_of(request), language_of(request))
    return render(request, "incidents/incident.html", {"i": incident, "chart": chart,
                                                       "statuses": service.STATUSES, **_wording(request)})


@pages.post("/incidents/{incident_id}/act")
def incident_act(incident_id: Id, request: Request, action: str = Form(...), value: str = Form(""),
                 who: Principal = Depends(require("ops"))) -> RedirectResponse:
    """The incident page's buttons: ack, status, owner, note, resolve."""
    ws = _ws(request)
    if action == "ack":
        service.acknowledge(ws.engine, incident_id, who.name)
    elif action == "status":
        service.set_status(ws.engine, ws.settings, incident_id, value, who.name)
    elif action == "owner":
        service.set_owner(ws.engine, ws.settings, incident_id, value, who.name)
    elif action == "note":
        service.add_note(ws.engine, incident_id, who.name, value)
    elif action == "resolve":
        service.resolve(ws.engine, ws.settings, incident_id, who.name)
    else:
        raise ValidationFailed("action must be ack, status, owner, note or resolve")
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@pages.post("/incidents/{incident_id}/notice")
def incident_notice(incident_id: Id, request: Request, zh: str = Form(""), en: str = Form(""),
                    public: str = Form(""), who: Principal = Depends(require("ops"))) -> RedirectResponse:
    """The learner-facing notice from the incident page: its two texts, on or off."""
    service.set_notice(_ws(request).engine, incident_id, who.name, public=bool(public), zh=zh, en=en)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@pages.get("/incidents/{incident_id}/review", response_class=HTMLResponse)
def review_page(incident_id: Id, request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    ws = _ws(request)
    data = review.get_review(ws.engine, ws.settings, incident_id)
    chart = timeline_chart(data["incident"], data["timeline"], timezone_of(request), language_of(request))
    return render(request, "incidents/review.html", {"r": data, "i": data["incident"], "chart": chart,
                                                     **_wording(request)})


@pages.post("/incidents/{incident_id}/review")
def review_save(incident_id: Id, request: Request, went_well: str = Form(""), went_badly: str = Form(""),
                summary: str = Form(""), action_title: str = Form(""), action_owner: str = Form(""),
                who: Principal = Depends(require("ops"))) -> RedirectResponse:
    ws = _ws(request)
    if action_title.strip():
        review.add_action(ws.engine, ws.settings, incident_id, who.name, action_title, action_owner)
    else:
        review.save_review(ws.engine, incident_id, who.name, went_well=went_well, went_badly=went_badly,
                           summary=summary)
    return RedirectResponse(f"/incidents/{incident_id}/review", status_code=303)


@pages.get("/status/incidents/{public_id}", response_class=HTMLResponse)
def status_page(public_id: str, request: Request, _: None = Depends(public)) -> HTMLResponse:
    """Learners' read-only page: the notice in Chinese and English, the status and the times. No login."""
    notice = service.public_status(_ws(request).engine, public_id)
    return render(request, "incidents/status.html", {"n": notice})
