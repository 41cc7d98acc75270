"""The overview: a tile per area, the most serious findings, what is overdue, runs of the last weeks."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from eduops.core.pages import language_of, render, timezone_of
from eduops.core.principal import Principal, require
from eduops.web import dashboard
from eduops.web.charts import runs_chart
from eduops.web.views import clock, ws_of

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, who: Principal = Depends(require("read"))) -> Response:
    ws = ws_of(request)
    now = clock(request)
    tz = timezone_of(request)
    return render(
        request,
        "web/overview.html",
        {
            "tiles": dashboard.tiles(ws, now),
            "findings": dashboard.top_findings(ws.engine),
            "overdue": dashboard.overdue(ws.engine, ws.settings, now),
            "chart": runs_chart(dashboard.runs_per_day(ws.engine, now - timedelta(days=28), tz), language_of(request)),
        },
    )
