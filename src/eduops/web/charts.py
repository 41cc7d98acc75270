"""Plotly figures as plain JSON for the pages; the browser draws them with /static/plotly.min.js."""

from __future__ import annotations

from typing import Any

from eduops.core.i18n import gettext
from eduops.core.pages import script_json
from eduops.core.units import axis_scale, humanize

STATUS_COLOURS = {
    "ok": "#2f9e44",
    "warn": "#e8a317",
    "crit": "#c92a2a",
    "error": "#a61e4d",
    "skipped": "#868e96",
    "interrupted": "#7048e8",
    "running": "#1c7ed6",
}



def runs_chart(rows: list[dict[str, Any]], lang: str = "en") -> str:
    """A stacked bar chart of runs per day (the workspace's days) by status; legend and axis titles in ``lang``."""

    def t(text: str) -> str:
        return gettext(text, lang, "web")
    days = sorted({r["day"] for r in rows})
    data = []
    for status, colour in STATUS_COLOURS.items():
        counts = {r["day"]: r["count"] for r in rows if r["status"] == status}
        if counts:
            data.append(
                {
                    "type": "bar",
                    "name": t(status),
                    "x": days,
                    "y": [counts.get(d, 0) for d in days],
                    "marker": {"color": colour},
                }
            )
    return script_json(
        {"data": data, "layout": {"barmode": "stack", "legend": {"orientation": "h"},
                                  "xaxis": {"type": "category", "title": {"text": t("Day")}},
                                  "yaxis": {"title": {"text": t("Runs")}, "rangemode": "tozero", "tickformat": ",d"}}}
    )


def measurements_charts(checks: list[dict[str, Any]], limit: int = 40, lang: str = "en") -> list[str]:
    """A run's measurements (the first ``limit``) as horizontal bars, one chart per unit so an axis never
    mixes %, bytes and counts; each axis is titled with its unit and reads in one readable scale."""
    points = [m for c in checks for m in c["measurements"]][:limit]
    by_unit: dict[str, list[tuple[str, float]]] = {}
    for m in points:
        labels = ",".join(f"{k}={v}" for k, v in sorted(m.get("labels", {}).items()))
        name = f"{m['name']}{{{labels}}}" if labels else m["name"]
        by_unit.setdefault(m.get("unit") or "", []).append((name, float(m["value"])))
    charts = []
    for unit, items in by_unit.items():
        factor, shown = axis_scale(unit, [v for _, v in items])
        charts.append(script_json({
            "data": [{"type": "bar", "orientation": "h", "y": [n for n, _ in items],
                      "x": [v / factor for _, v in items], "text": [humanize(v, unit) for _, v in items],
                      "textposition": "auto", "hovertemplate": "%{y}: %{text}<extra></extra>"}],
            "layout": {
                "height": 120 + 26 * len(items),
                "margin": {"l": 12, "r": 12, "t": 12, "b": 48},
                "xaxis": {"title": {"text": shown or gettext("count", lang, "web")}, "automargin": True},
                "yaxis": {"type": "category", "automargin": True},
                "showlegend": False,
            },
        }))
    return charts
