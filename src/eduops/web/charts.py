"""Plotly figures as plain JSON for the pages; the browser draws them with /static/plotly.min.js."""

from __future__ import annotations

from typing import Any

from eduops.core.i18n import gettext
from eduops.core.pages import script_json

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
    """A stacked bar chart of runs per day (the workspace's days) by status; legend in ``lang``."""
    days = sorted({r["day"] for r in rows})
    data = []
    for status, colour in STATUS_COLOURS.items():
        counts = {r["day"]: r["count"] for r in rows if r["status"] == status}
        if counts:
            data.append(
                {
                    "type": "bar",
                    "name": gettext(status, lang, "web"),
                    "x": days,
                    "y": [counts.get(d, 0) for d in days],
                    "marker": {"color": colour},
                }
            )
    return script_json(
        {"data": data, "layout": {"barmode": "stack", "legend": {"orientation": "h"}, "xaxis": {"type": "category"}}}
    )


def measurements_chart(checks: list[dict[str, Any]], limit: int = 40, lang: str = "en") -> str | None:
    """One horizontal bar per measurement of a run (the first ``limit``), grouped by unit."""
    points = [(c["name"], m) for c in checks for m in c["measurements"]][:limit]
    if not points:
        return None
    by_unit: dict[str, list[tuple[str, float]]] = {}
    for _check, m in points:
        labels = ",".join(f"{k}={v}" for k, v in sorted(m.get("labels", {}).items()))
        name = f"{m['name']}{{{labels}}}" if labels else m["name"]
        by_unit.setdefault(m.get("unit") or "", []).append((name, float(m["value"])))
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": unit or gettext("value", lang),
            "y": [n for n, _ in items],
            "x": [v for _, v in items],
        }
        for unit, items in by_unit.items()
    ]
    return script_json(
        {
            "data": data,
            "layout": {
                "height": 140 + 26 * len(points),
                "margin": {"l": 12, "r": 12, "t": 24, "b": 40},
                "yaxis": {"type": "category", "automargin": True},
                "legend": {"orientation": "h"},
            },
        }
    )
