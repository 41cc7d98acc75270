"""Monitoring's console page: metric charts of hosts, endpoints and databases."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from eduops.alerting.prom_source import query_range_for, remote_for
from eduops.core.hookspecs import NavItem
from eduops.core.pages import language_of, render, timezone_of
from eduops.core.principal import Principal, require
from eduops.core.values import parse_duration
from eduops.monitoring.charts import panels, step_s, subjects
from eduops.monitoring.panels_cache import PanelsCache, store_version

pages = APIRouter()
NAV = [NavItem("/monitoring", "Metrics", "read", 21, group="Operations")]


def _panels_cache(request: Request) -> PanelsCache:
    """The app's cache of /monitoring charts (panels_cache.py), made on first use."""
    cache = getattr(request.app.state, "monitoring_panels", None)
    if cache is None:
        cache = request.app.state.monitoring_panels = PanelsCache()
    return cache


@pages.get("/monitoring", response_class=HTMLResponse)
def charts_page(
    request: Request,
    since: str = "24h",
    host: str = "",
    endpoint: str = "",
    db: str = "",
    _: Principal = Depends(require("read")),
) -> HTMLResponse:
    """Metric charts for everything, or for one host, endpoint or database."""
    window = parse_duration(since, "since", allow_zero=True)  # a UsageError naming the parameter, translated
    only = next(((k, v) for k, v in (("host", host), ("endpoint", endpoint), ("db", db)) if v), None)
    ws = request.app.state.workspace
    engine = ws.engine
    lang, tz = language_of(request), timezone_of(request)

    def compute() -> list[dict[str, Any]]:
        return panels(engine, window, lang=lang, only=only, query=partial(query_range_for, ws), tz=tz)

    if remote_for(ws.settings) is None:  # the embedded store: kept while it has no new sample (panels_cache.py)
        charts = _panels_cache(request).get((window, only, lang, str(tz)), store_version(engine), step_s(window),
                                            compute)
    else:
        charts = compute()
    return render(
        request,
        "monitoring/charts.html",
        {
            "panels": charts,
            "since": since,
            "only": only,
            "subjects": subjects(engine),
        },
    )
