"""Plotly figures as plain dicts for the console (the browser draws them with /static/plotly.min.js)."""

from __future__ import annotations

from typing import Any

from eduops.core.i18n import gettext


def timeline(ticks: list[dict[str, Any]], lang: str = "en") -> dict[str, Any]:
    """Requests/s, p95 and errors/s over the seconds of the test; legends and axes in ``lang``."""
    t = [k["t"] for k in ticks]

    def _(text: str) -> str:
        return gettext(text, lang)

    return {"data": [
        {"type": "scatter", "name": _("req/s"), "x": t, "y": [k["rps"] for k in ticks]},
        {"type": "scatter", "name": _("p95 ms"), "x": t, "y": [k["p95"] for k in ticks], "yaxis": "y2"},
        {"type": "bar", "name": _("errors/s"), "x": t, "marker": {"color": "#c92a2a"},
         "y": [k["failures"] / k["dt"] if k.get("dt") else 0 for k in ticks]},
        {"type": "scatter", "name": _("users"), "x": t, "y": [k["users"] for k in ticks], "line": {"dash": "dot"}},
    ], "layout": {"xaxis": {"title": _("seconds into the test")},
                  "yaxis2": {"overlaying": "y", "side": "right", "title": _("ms")},
                  "legend": {"orientation": "h"}}}


def knee(steps: list[dict[str, Any]], found: dict[str, Any], p95_slo_ms: float, lang: str = "en") -> dict[str, Any]:
    """Throughput and p95 per step of the capacity search, the SLO line and the knee; texts in ``lang``."""

    def _(text: str) -> str:
        return gettext(text, lang)

    users = [s["users"] for s in steps]
    shapes: list[dict[str, Any]] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y2",
                                     "y0": p95_slo_ms, "y1": p95_slo_ms, "line": {"dash": "dash",
                                                                                  "color": "#e8a317"}}]
    annotations = []
    if found.get("users") is not None:
        shapes.append({"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": found["users"],
                       "x1": found["users"], "line": {"color": "#c92a2a", "width": 2}})
        label = _("knee: {users} users").format(users=found["users"])
        annotations.append({"x": found["users"], "yref": "paper", "y": 1, "text": label, "showarrow": False})
    return {"data": [
        {"type": "scatter", "mode": "lines+markers", "name": _("req/s"), "x": users, "y": [s["rps"] for s in steps]},
        {"type": "scatter", "mode": "lines+markers", "name": _("p95 ms"), "x": users,
         "y": [s["p95_ms"] for s in steps], "yaxis": "y2"},
    ], "layout": {"xaxis": {"title": _("users")}, "yaxis": {"title": _("req/s")},
                  "yaxis2": {"overlaying": "y", "side": "right", "title": _("p95 ms")},
                  "shapes": shapes, "annotations": annotations, "legend": {"orientation": "h"}}}
