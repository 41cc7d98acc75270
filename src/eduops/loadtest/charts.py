"""Plotly figures as plain dicts for the console (the browser draws them with /static/plotly.min.js)."""

from __future__ import annotations

from typing import Any


def _title(text: str) -> dict[str, Any]:
    return {"text": text}


def timeline(ticks: list[dict[str, Any]], t: Any = lambda s: s) -> dict[str, Any]:
    """Requests/s and errors/s (left axis), p95 in ms (right axis) and users (third axis) over the test;
    each axis holds one unit and is titled; ``t`` translates the titles."""
    x = [k["t"] for k in ticks]
    return {"data": [
        {"type": "scatter", "name": t("requests/s"), "x": x, "y": [k["rps"] for k in ticks]},
        {"type": "bar", "name": t("errors/s"), "x": x, "marker": {"color": "#c92a2a"},
         "y": [k["failures"] / k["dt"] if k.get("dt") else 0 for k in ticks]},
        {"type": "scatter", "name": t("p95 latency (ms)"), "x": x, "y": [k["p95"] for k in ticks], "yaxis": "y2"},
        {"type": "scatter", "name": t("users"), "x": x, "y": [k["users"] for k in ticks], "yaxis": "y3",
         "line": {"dash": "dot"}},
    ], "layout": {"xaxis": {"title": _title(t("seconds since start")), "domain": [0, 0.88]},
                  "yaxis": {"title": _title(t("requests/s")), "rangemode": "tozero"},
                  "yaxis2": {"overlaying": "y", "side": "right", "title": _title("ms"), "rangemode": "tozero"},
                  "yaxis3": {"overlaying": "y", "side": "right", "anchor": "free", "position": 1,
                             "title": _title(t("users")), "rangemode": "tozero", "showgrid": False},
                  "legend": {"orientation": "h"}, "margin": {"r": 70}}}


def knee(steps: list[dict[str, Any]], found: dict[str, Any], p95_slo_ms: float, t: Any = lambda s: s) -> dict[str, Any]:
    """Throughput and p95 per step of the capacity search, the SLO line and the knee."""
    users = [s["users"] for s in steps]
    shapes: list[dict[str, Any]] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y2",
                                     "y0": p95_slo_ms, "y1": p95_slo_ms, "line": {"dash": "dash",
                                                                                  "color": "#e8a317"}}]
    annotations = []
    if found.get("users") is not None:
        shapes.append({"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": found["users"],
                       "x1": found["users"], "line": {"color": "#c92a2a", "width": 2}})
        annotations.append({"x": found["users"], "yref": "paper", "y": 1,
                            "text": t("knee: {n} users").replace("{n}", str(found["users"])), "showarrow": False})
    return {"data": [
        {"type": "scatter", "mode": "lines+markers", "name": t("requests/s"), "x": users,
         "y": [s["rps"] for s in steps]},
        {"type": "scatter", "mode": "lines+markers", "name": t("p95 latency (ms)"), "x": users,
         "y": [s["p95_ms"] for s in steps], "yaxis": "y2"},
    ], "layout": {"xaxis": {"title": _title(t("concurrent users"))},
                  "yaxis": {"title": _title(t("requests/s")), "rangemode": "tozero"},
                  "yaxis2": {"overlaying": "y", "side": "right", "title": _title(t("p95 latency (ms)")),
                             "rangemode": "tozero"},
                  "shapes": shapes, "annotations": annotations, "legend": {"orientation": "h"}}}
