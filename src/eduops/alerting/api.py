"""Alerting API and console pages: metric queries, /metrics, alerts, silences, surges, rules."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from eduops.core import values
from eduops.core.bodies import read_json, read_json_object
from eduops.core.i18n import msg
from eduops.core.params import Id
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require
from eduops.errors import UsageError

router = APIRouter(tags=["alerting"])
pages = APIRouter()
NAV = [NavItem("/alerts", "Alerts", "read", 20, group="Operations"),
       NavItem("/eduops-health", "eduops health", "read", 95, group="Administration")]
MAX_WEBHOOK_BYTES = 4 * 1024 * 1024


def _audit(request: Request, who: Principal, action: str, target: str, after: dict[str, Any] | None = None) -> None:
    from eduops.core.audit import audit

    audit(_ws(request).engine, actor=who.name, action=action, target=target, after=after,
          source_ip=request.client.host if request.client else "")


def _ws(request: Request) -> Any:
    return request.app.state.workspace


def _seconds(text: str, what: str) -> float:
    return values.parse_duration(text, what)


@router.get("/api/v1/metrics/query")
def metrics_query(
    request: Request,
    query: str = Query(..., description="a metric name or a PromQL expression"),
    labels: list[str] = Query([], description="k=v matchers for a metric name"),
    since: str = "1h",
    step: str = "1m",
    _: Principal = Depends(require("read")),
) -> dict[str, Any]:
    """Values over time; bad PromQL answers 400 with the position and the reason."""
    from eduops.alerting.cli import parse_labels
    from eduops.alerting.metric_store import expression_for
    from eduops.alerting.prom_source import query_range_for

    end = datetime.now(UTC)
    expr = expression_for(query, parse_labels(labels))
    series = query_range_for(
        _ws(request), expr, end - timedelta(seconds=_seconds(since, "since")), end, _seconds(step, "step")
    )
    return {"query": expr, "series": series}


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request, _: Principal = Depends(require("read"))) -> Response:
    from eduops.alerting.exposition import exposition

    return Response(exposition(_ws(request).engine), media_type="text/plain; version=0.0.4; charset=utf-8")


@router.get("/api/v1/alerts")
def get_alerts(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    from eduops.alerting.alerts import current_alerts

    return current_alerts(_ws(request).engine)


@router.get("/api/v1/alerts/history")
def get_alert_history(
    request: Request, limit: int = Query(200, ge=1, le=5000), _: Principal = Depends(require("read"))
) -> list[dict[str, Any]]:
    from eduops.alerting.alerts import alert_history

    return alert_history(_ws(request).engine, limit)


@router.post("/api/v1/alerts/alertmanager")
async def post_alertmanager_webhook(
    request: Request, _: Principal = Depends(require("ingest:alerts"))
) -> dict[str, Any]:
    """Alertmanager's webhook (version 4 body): point a `webhook_configs` entry here with an API key of
    scope ingest:alerts (`http_config.authorization.credentials`). The alerts join eduops's own."""
    import time

    from eduops.alerting.intake import ingest_webhook

    body = await read_json(request, MAX_WEBHOOK_BYTES, "the webhook body (lower max_alerts if it is too large)")
    return await run_in_threadpool(ingest_webhook, _ws(request).engine, body, time.time())


@router.post("/api/v1/alerts/{fingerprint}/ack")
def post_ack(fingerprint: str, request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    from eduops.alerting.alerts import acknowledge

    data = acknowledge(_ws(request).engine, fingerprint, who.name)
    _audit(request, who, "alert.ack", f"alert:{fingerprint}")
    return data


@router.get("/api/v1/silences")
def get_silences(request: Request, all: bool = False, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    from eduops.alerting.service import list_silences

    return list_silences(_ws(request).engine, all)


@router.post("/api/v1/silences", status_code=201)
async def post_silence(request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    from eduops.alerting.service import create_silence

    body = await read_json_object(request, what="the silence")
    matchers = body.get("matchers")
    if not isinstance(matchers, list) or not all(isinstance(m, str) for m in matchers):
        raise UsageError('matchers: a list of strings such as alertname="DiskAlmostFull"')
    duration = _seconds(str(body.get("duration", "2h")), "duration")
    data = await run_in_threadpool(
        create_silence, _ws(request).engine, matchers, who.name, str(body.get("comment", "")), duration=duration
    )
    await run_in_threadpool(_audit, request, who, "silence.create", f"silence:{data['id']}",
                            {"matchers": matchers, "until": str(data["ends_at"]), "comment": body.get("comment", "")})
    return data


@router.delete("/api/v1/silences/{silence_id}")
def delete_silence(silence_id: Id, request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    from eduops.alerting.service import expire_silence

    data = expire_silence(_ws(request).engine, silence_id)
    _audit(request, who, "silence.expire", f"silence:{silence_id}")
    return data


@router.get("/api/v1/surges")
def get_surges(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    from eduops.alerting.service import list_surges

    return list_surges(_ws(request).engine)


@router.post("/api/v1/surges", status_code=201)
async def post_surge(request: Request, who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """Announce an expected surge: {"title", "starts_at" (ISO), "duration" (e.g. 3d), "metric"?}."""
    from eduops.alerting.service import add_surge

    body = await read_json_object(request, what="the surge")
    if not body.get("title") or not body.get("starts_at"):
        raise UsageError("send a JSON object with title, starts_at (ISO time) and duration (e.g. 3d)")
    start = values.parse_time(str(body["starts_at"]), "starts_at", tz=UTC)
    assert start is not None
    end = start + timedelta(seconds=_seconds(str(body.get("duration", "1d")), "duration"))
    return await run_in_threadpool(
        add_surge, _ws(request).engine, str(body["title"]), start, end, str(body.get("metric", "")), who.name
    )


@router.post("/-/reload")
def post_reload(request: Request, who: Principal = Depends(require("admin"))) -> dict[str, Any]:
    """Re-read eduops.toml and the rule files (rules, routes, receivers, channels, scrape targets), as
    SIGHUP does; a broken file answers 400 saying what is wrong and the running configuration stays."""
    from eduops.alerting.reload import reload
    from eduops.core import local_access

    try:
        if local_access.holds_stores():
            data = reload(_ws(request))
        else:  # another serving worker: the first one runs the rules and collectors, and tells the others
            first = local_access.running_server(_ws(request).settings.home)
            assert first is not None  # such a worker always knows the one holding the stores
            client = local_access.LocalClient(first)
            try:
                data = client.request("POST", "/-/reload").json()
            finally:
                client.close()
    finally:
        if who.name != local_access.WORKER_ACTOR:  # audited once, by the worker the admin asked
            _audit(request, who, "config.reload", "eduops.toml")
    return data


@router.get("/api/v1/rules")
def get_rules(request: Request, _: Principal = Depends(require("read"))) -> list[dict[str, Any]]:
    from eduops.alerting.service import rules_overview

    return rules_overview(_ws(request))


# -- console pages


@pages.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, who: Principal = Depends(require("read"))) -> HTMLResponse:
    from eduops.alerting.alerts import alert_history
    from eduops.alerting.localize import localize_alert
    from eduops.alerting.presentation import alerts_view
    from eduops.alerting.service import list_silences, rules_overview, silence_matchers_for
    from eduops.core.pages import language_of, render

    engine = _ws(request).engine
    lang = language_of(request)
    alerts = [localize_alert(a, lang) for a in alerts_view(engine, rules_overview(_ws(request)))]
    for a in alerts:
        a["silence_matchers"] = " ".join(silence_matchers_for({**a["labels"], "alertname": a["alertname"]}))
    return render(
        request,
        "alerting/alerts.html",
        {
            "firing": [a for a in alerts if a["state"] == "firing"],
            "pending": [a for a in alerts if a["state"] == "pending"],
            "resolved": [a for a in alerts if a["state"] == "inactive"],
            "history": [localize_alert(e, lang) for e in alert_history(engine, 100)],
            "silences": list_silences(engine),
        },
    )


@pages.get("/alerts/{fingerprint}", response_class=HTMLResponse)
def alert_page(fingerprint: str, request: Request, who: Principal = Depends(require("read"))) -> HTMLResponse:
    from eduops.alerting.alerts import alert_history, current_alerts
    from eduops.alerting.localize import localize_alert
    from eduops.alerting.presentation import decorate, expression_chart, series_units
    from eduops.alerting.service import rules_overview, silence_matchers_for
    from eduops.core.pages import language_of, render, script_json, timezone_of
    from eduops.db import utcnow

    engine = _ws(request).engine
    lang = language_of(request)
    rules = rules_overview(_ws(request))
    units = series_units(engine)
    found = [a for a in current_alerts(engine) if a["fingerprint"] == fingerprint]
    alert = localize_alert(decorate(found, rules, units)[0], lang) if found else None
    history = [localize_alert(e, lang) for e in alert_history(engine, 200, fingerprint)]
    if alert is None and not history:
        from eduops.errors import NotFound

        raise NotFound(msg("no alert {fingerprint}", fingerprint=fingerprint))
    subject = alert or decorate([{**history[0], "rule": "", "state": "inactive", "value": history[0]["value"]}],
                                rules, units)[0]
    now = getattr(request.app.state, "clock", utcnow)()
    chart = expression_chart(engine, subject, history, now, language_of(request), timezone_of(request))
    return render(
        request,
        "alerting/alert.html",
        {
            "alert": alert,
            "subject": subject,
            "history": history,
            "fingerprint": fingerprint,
            "labels": subject["labels"],
            "silence_matchers": " ".join(silence_matchers_for(subject["labels"])),
            "chart": script_json(chart) if chart else None,
        },
    )


@pages.get("/alerts/{fingerprint}/ack")
def ack_link(
    fingerprint: str, request: Request, token: str = "", who: Principal = Depends(require("ops"))
) -> RedirectResponse:
    """The link in an escalation message: acknowledges when its token belongs to this alert."""
    from eduops.alerting.alerts import acknowledge
    from eduops.alerting.format import ack_token
    from eduops.core.workspace import keyring

    ring = keyring(_ws(request).settings)
    if not hmac.compare_digest(token, ack_token(ring.keys[ring.active], fingerprint)):
        raise UsageError("this acknowledgement link is not valid for this alert")
    acknowledge(_ws(request).engine, fingerprint, who.name)
    _audit(request, who, "alert.ack", f"alert:{fingerprint}")
    return RedirectResponse(f"/alerts/{fingerprint}", status_code=303)


@pages.post("/alerts/{fingerprint}/ack")
def ack_form(fingerprint: str, request: Request, who: Principal = Depends(require("ops"))) -> RedirectResponse:
    from eduops.alerting.alerts import acknowledge

    acknowledge(_ws(request).engine, fingerprint, who.name)
    _audit(request, who, "alert.ack", f"alert:{fingerprint}")
    return RedirectResponse(f"/alerts/{fingerprint}", status_code=303)


@pages.post("/silences")
async def silence_form(request: Request, who: Principal = Depends(require("ops"))) -> RedirectResponse:
    from eduops.alerting.service import create_silence

    form = await request.form()
    matchers = [m for m in str(form.get("matchers", "")).split() if m]
    duration = _seconds(str(form.get("duration") or "2h"), "duration")
    data = await run_in_threadpool(
        create_silence, _ws(request).engine, matchers, who.name, str(form.get("comment", "")), duration=duration
    )
    await run_in_threadpool(_audit, request, who, "silence.create", f"silence:{data['id']}",
                            {"matchers": matchers, "until": str(data["ends_at"]), "comment": form.get("comment", "")})
    return RedirectResponse("/alerts#silences", status_code=303)


@pages.post("/silences/{silence_id}/expire")
def silence_expire_form(
    silence_id: Id, request: Request, who: Principal = Depends(require("ops"))
) -> RedirectResponse:
    from eduops.alerting.service import expire_silence

    expire_silence(_ws(request).engine, silence_id)
    _audit(request, who, "silence.expire", f"silence:{silence_id}")
    return RedirectResponse("/alerts#silences", status_code=303)


@pages.get("/eduops-health", response_class=HTMLResponse)
def self_health_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    """eduops's own health: the values its leader recorded last and the rules watching them."""
    from eduops.alerting.selfhealth import latest, shown_value
    from eduops.alerting.service import rules_overview
    from eduops.core.pages import render

    ws = _ws(request)
    values = [{**row, "shown": shown_value(float(row["value"]), str(row["unit"]))}  # type: ignore[arg-type]
              for row in latest(ws.engine)]
    rules = [r for r in rules_overview(ws) if r["group"] == "eduops-self"]
    return render(request, "alerting/health.html", {"values": values, "rules": rules})


@pages.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    from eduops.alerting.pipeline import RULE_FILE_ERRORS, rule_files
    from eduops.alerting.presentation import normalize_severity
    from eduops.alerting.service import rules_overview
    from eduops.alerting.settings import alerting_settings
    from eduops.core.pages import render

    ws = _ws(request)
    rules = [{**r, "severity": normalize_severity(r["labels"].get("severity")) if r["kind"] == "alert" else ""}
             for r in rules_overview(ws)]
    mine = {str(path) for path in rule_files(ws.settings, alerting_settings(ws.settings))}
    errors = {path: why for path, why in RULE_FILE_ERRORS.items() if path in mine}  # this workspace's files only
    return render(request, "alerting/rules.html", {"rules": rules, "errors": errors})
