"""Monitoring's console page: metric charts of hosts, endpoints and databases."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from eduops.alerting.prom_source import query_range_for
from eduops.core.hookspecs import NavItem
from eduops.core.pages import language_of, render, timezone_of
from eduops.core.principal import Principal, require
from eduops.core.values import parse_duration
from eduops.monitoring.charts import panels, subjects

pages = APIRouter()
NAV = [NavItem("/monitoring", "Metrics", "read", 21, group="Operations")]


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
    engine = request.app.state.workspace.engine
    return render(
        request,
        "monitoring/charts.html",
        {
            "panels": panels(
                engine,
                window,
                lang=language_of(request),
                only=only,
                query=partial(query_range_for, request.app.state.workspace),
                tz=timezone_of(request),
            ),
            "since": since,
            "only": only,
            "subjects": subjects(engine),
        },
    )
