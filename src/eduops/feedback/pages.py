"""Console pages: feedback clusters with their trend, the support queue, one item, work items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from eduops.core.i18n import gettext
from eduops.core.pages import language_of, render, script_json
from eduops.core.params import Id
from eduops.core.principal import Principal, require
from eduops.feedback import analysis, service, workitems
from eduops.feedback.evidence import call_quality

pages = APIRouter()


def _ws(request: Request) -> Any:
    return request.app.state.workspace


def _trend_chart(ranked: list[dict[str, Any]], lang: str = "en") -> str:
    """A Plotly line chart of the weekly counts of the top clusters (JSON for the page's script)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    n = len(ranked[0]["weekly"]) if ranked else 0
    weeks = [f"W-{n - 1 - i}" for i in range(n - 1)] + ([gettext("this week", lang)] if n else [])
    for r in ranked[:8]:
        fig.add_trace(go.Scatter(x=weeks, y=r["weekly"], mode="lines+markers", name=r["label"]))
    fig.update_layout(height=320, margin={"l": 40, "r": 10, "t": 10, "b": 40}, legend={"orientation": "h"})
    return script_json(fig.to_plotly_json())  # cluster labels are user text: keep </script> out


@pages.get("/feedback/clusters", response_class=HTMLResponse)
def clusters_page(request: Request, order: str = Query("size", pattern="^(size|week)$"),
                  _: Principal = Depends(require("read"))) -> HTMLResponse:
    ranked = analysis.ranking(_ws(request).engine, order=order)
    chart = _trend_chart(ranked, language_of(request))
    return render(request, "feedback/clusters.html", {"clusters": ranked, "chart": chart, "order": order})


@pages.get("/feedback/clusters/{cluster_id}", response_class=HTMLResponse)
def cluster_page(cluster_id: Id, request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    return render(request, "feedback/cluster.html", {"c": analysis.cluster_detail(_ws(request).engine, cluster_id)})


@pages.get("/feedback/support", response_class=HTMLResponse)
def support_page(request: Request, status: str = Query("open", pattern="^(open|answered|closed|all)$"),
                 _: Principal = Depends(require("support"))) -> HTMLResponse:
    queue = service.support_queue(_ws(request).engine, status=status)
    return render(request, "feedback/support.html", {"queue": queue, "status": status})


@pages.get("/feedback/items/{item_id}", response_class=HTMLResponse)
def item_page(item_id: Id, request: Request, _: Principal = Depends(require("support"))) -> HTMLResponse:
    ws = _ws(request)
    item = service.get_item(ws.engine, item_id)
    quality = call_quality(ws.settings, item["user"], item["category"], datetime.fromisoformat(item["received_at"]))
    return render(request, "feedback/item.html", {"item": item, "quality": quality})


@pages.post("/feedback/items/{item_id}/reply")
def item_reply(
    item_id: Id,
    request: Request,
    text: str = Form(...),
    close: str = Form(""),
    who: Principal = Depends(require("support")),
) -> RedirectResponse:
    service.reply(_ws(request).engine, item_id, who.name, text, close=bool(close))
    return RedirectResponse(f"/feedback/items/{item_id}", status_code=303)


@pages.get("/work-items", response_class=HTMLResponse)
def work_items_page(request: Request, _: Principal = Depends(require("read"))) -> HTMLResponse:
    items = workitems.list_items(_ws(request).engine)
    return render(request, "feedback/work_items.html", {"items": items})


@pages.post("/feedback/clusters/{cluster_id}/work-item")
def cluster_to_work_item(
    cluster_id: Id, request: Request, who: Principal = Depends(require("support"))
) -> RedirectResponse:
    ws = _ws(request)
    workitems.from_cluster(ws.engine, ws.settings, cluster_id, who.name)
    return RedirectResponse("/work-items", status_code=303)
