"""The incident's timeline chart: one lane per signal kind, times in the viewer's zone."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from eduops.core.clock import chart_time, zone_label
from eduops.core.i18n import gettext
from eduops.core.pages import script_json
from eduops.incidents.signals import KINDS
from eduops.incidents.wording import signal_title

MARKS = (("first_signal_at", "first signal"), ("opened_at", "opened"), ("acknowledged_at", "acknowledged"),
         ("resolved_at", "resolved"))


def timeline_chart(incident: dict[str, Any], signals: list[dict[str, Any]], tz: tzinfo, lang: str) -> str:
    """Plotly JSON: each signal a marker in its kind's lane (a bar from start to end when it ended),
    with the incident's own moments as vertical lines."""
    lanes = [gettext(k, lang, "incidents") for k in KINDS]
    traces: list[dict[str, Any]] = []
    for kind, lane in zip(KINDS, lanes, strict=True):
        mine = [s for s in signals if s["kind"] == kind]
        if not mine:
            continue
        traces.append({
            "type": "scatter", "mode": "markers", "name": lane,
            "x": [chart_time(s["at"], tz) for s in mine], "y": [lane] * len(mine),
            "text": [signal_title(s, lang) for s in mine], "hoverinfo": "x+text",
            "customdata": [s.get("link", "") for s in mine], "marker": {"size": 12},
        })
        for s in mine:
            if s.get("ended_at"):
                traces.append({"type": "scatter", "mode": "lines", "showlegend": False, "hoverinfo": "skip",
                               "x": [chart_time(s["at"], tz), chart_time(s["ended_at"], tz)], "y": [lane, lane],
                               "line": {"width": 6}})
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    moments: list[datetime] = []
    for key, english in MARKS:
        value = incident.get(key)
        if not value:
            continue
        moments.append(datetime.fromisoformat(value))
        x = chart_time(moments[-1], tz)
        shapes.append({"type": "line", "x0": x, "x1": x, "yref": "paper", "y0": 0, "y1": 1,
                       "line": {"dash": "dot", "width": 1}})
        notes.append({"x": x, "yref": "paper", "y": 1.05, "text": gettext(english, lang, "incidents"),
                      "showarrow": False, "font": {"size": 10}})
    layout: dict[str, Any] = {
        "height": 120 + 40 * max(len({t["name"] for t in traces if "name" in t}), 1),
        "margin": {"l": 90, "r": 10, "t": 30, "b": 40}, "showlegend": False,
        "xaxis": {"type": "date", "title": {"text": gettext("time ({zone})", lang).format(zone=zone_label(tz))}},
        "yaxis": {"type": "category", "categoryorder": "array", "categoryarray": lanes},
        "shapes": shapes, "annotations": notes,
    }
    if not traces and moments:  # a drill's incident has no signal: Plotly's range would ignore the moments' lines
        pad = max((max(moments) - min(moments)) / 10, timedelta(minutes=1))
        layout["xaxis"]["range"] = [chart_time(min(moments) - pad, tz), chart_time(max(moments) + pad, tz)]
    return script_json({"data": traces, "layout": layout})  # titles are partly user text: keep </script> out
