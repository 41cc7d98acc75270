"""Security API, the console page (score per area and trend) and the rate-limit middleware."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from eduops.core.i18n import msg
from eduops.core.pages import script_json
from eduops.core.plugins import NavItem
from eduops.core.principal import Principal, require
from eduops.security.scoring import AREA_TITLES, AREAS, SCORE_HELP, week_over_week

router = APIRouter(prefix="/api/v1/security", tags=["security"])
pages = APIRouter()
NAV = [NavItem("/security", "Security", "read", 60, group="Protection")]


def _ws(request: Request) -> Any:
    return request.app.state.workspace


@router.get("/latest")
def get_latest(request: Request, _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """The newest scan: status, score per area, findings with severity and remedy."""
    from eduops.errors import NotFound
    from eduops.security.service import latest

    scan = latest(_ws(request).engine)
    if scan is None:
        raise NotFound(msg("no security scan yet; run `eduops security scan` or the weekly-security task"))
    return scan


@router.get("/history")
def get_history(request: Request, limit: int = Query(100, ge=1, le=1000),
                _: Principal = Depends(require("read"))) -> dict[str, Any]:
    """Scores per area over time and the change week over week."""
    from datetime import UTC, datetime

    from eduops.security.service import history

    points = history(_ws(request).engine, limit)
    return {"points": [{"at": p.at.isoformat(), "score": p.score, "areas": p.areas} for p in points],
            "week_over_week": week_over_week(points, datetime.now(UTC))}


@router.post("/scan", status_code=200)
async def post_scan(request: Request, areas: str | None = Query(None, description="comma-separated areas"),
                    who: Principal = Depends(require("ops"))) -> dict[str, Any]:
    """Scan now (may take a minute with TLS hosts); the result is stored in the history."""
    from eduops.security.cli import _areas
    from eduops.security.service import run_scan

    ws = _ws(request)
    report = await run_in_threadpool(run_scan, ws.settings, ws.engine, None, _areas(areas), trigger=f"api:{who.name}")
    return report.to_dict()


def trend_figure(points: list[dict[str, Any]], lang: str = "en", tz: Any = "UTC") -> str:
    """The security score over time: x on the reader's clock (the axis names the zone), texts in ``lang``."""
    from eduops.core.clock import chart_time, zone_label
    from eduops.core.i18n import gettext

    xs = [chart_time(p["at"], tz) for p in points]
    data = [{"type": "scatter", "mode": "lines+markers", "name": gettext("overall", lang), "x": xs,
             "y": [p["score"] for p in points], "line": {"width": 3}}]
    for area in AREAS:
        ys = [p["areas"].get(area) for p in points]
        if any(y is not None for y in ys):
            data.append({"type": "scatter", "mode": "lines", "name": gettext(AREA_TITLES[area], lang),
                         "x": xs, "y": ys})
    time_title = gettext("time ({zone})", lang).format(zone=zone_label(tz))
    figure = {"data": data, "layout": {"yaxis": {"range": [0, 105], "title": {"text": gettext("score", lang)}},
                                       "xaxis": {"title": {"text": time_title}}, "legend": {"orientation": "h"}}}
    return script_json(figure)


@pages.get("/security", response_class=HTMLResponse)
def security_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    from datetime import UTC, datetime

    from eduops.core.pages import language_of, render, timezone_of
    from eduops.security.service import history, latest

    ws = _ws(request)
    points = history(ws.engine, 60)
    scan = latest(ws.engine, language_of(request))
    rows = [{"at": p.at.isoformat(), "score": p.score, "areas": p.areas} for p in points]
    delta = week_over_week(points, datetime.now(UTC))
    tiles = [{"area": a, "title": AREA_TITLES[a], "score": (scan or {}).get("scores", {}).get(a),
              "delta": delta.get(a)} for a in AREAS]
    order = {"crit": 0, "warn": 1, "info": 2}
    findings = sorted((scan or {}).get("findings", []), key=lambda f: order.get(f["severity"], 3))
    return render(request, "security/index.html", {"scan": scan, "tiles": tiles, "delta": delta.get("overall"),
                                                    "findings": findings, "score_help": SCORE_HELP,
                                                    "chart": trend_figure(rows, language_of(request),
                                                                          timezone_of(request))})


def setup(app: FastAPI) -> None:
    """Rate limits on /api/ and /xapi/ (per API key and per IP), from the [security] settings."""
    from eduops.security.ratelimit import RateLimitMiddleware, parse_policy, per_process
    from eduops.security.settings import security_settings

    settings = app.state.workspace.settings
    sec = security_settings(settings)
    if not sec.rate_limits:
        return
    policy = parse_policy(sec.rate_limit_per_key, sec.rate_limit_per_ip, sec.ingest_rate_limit_per_key,
                          sec.ingest_rate_limit_per_ip, sec.state_rate_limit_per_key, sec.state_rate_limit_per_ip)
    if not settings.redis_url:  # each serving worker counts in its own memory: its share of the limit
        policy = per_process(policy, settings.web.workers)
    if sec.trust_forwarded_for:  # it believed X-Forwarded-For from anyone: a client could pick its own limit
        import logging

        logging.getLogger(__name__).warning(
            "[security] trust_forwarded_for is ignored: list your proxies in the top-level trusted_proxies "
            "(or EDUOPS_TRUSTED_PROXIES); rate limits then count each client behind them")
    # the client address is the scope's: eduops.web.proxy has put the real one there for trusted proxies
    app.add_middleware(RateLimitMiddleware, policy=policy, storage_url=settings.redis_url, trust_forwarded=False)
