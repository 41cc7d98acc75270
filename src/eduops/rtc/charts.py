"""Plotly figures (plain JSON) for the call-quality pages; the browser draws them with /static/plotly.min.js."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from eduops.core.clock import chart_time, zone_label
from eduops.core.i18n import gettext
from eduops.core.pages import script_json
from eduops.core.places import place_name

PLACE_DIMENSIONS = ("province", "isp")

METRIC_TITLES = {
    "poor_pct": "poor share (%)",
    "video_freeze_rate_pct": "video freeze rate (%)",
    "audio_freeze_rate_pct": "audio freeze rate (%)",
    "mos": "MOS",
    "rtt_avg_ms": "RTT (ms)",
    "loss_pct": "loss (%)",
}
MIN_CELL_SESSIONS = 10  # a heat-map cell with fewer calls is greyed out: a handful of calls is not a trend


def split_by_volume(values: list[list[float | None]], sessions: list[list[int]],
                    minimum: int = MIN_CELL_SESSIONS) -> tuple[list[list[float | None]], list[list[int | None]]]:
    """(values of cells with enough calls, a 1 where a cell has data but too few calls) — a pure rule."""
    shown = [[v if n >= minimum else None for v, n in zip(row, counts, strict=True)]
             for row, counts in zip(values, sessions, strict=True)]
    grey = [[1 if v is not None and n < minimum else None for v, n in zip(row, counts, strict=True)]
            for row, counts in zip(values, sessions, strict=True)]
    return shown, grey



def heatmap_figure(data: dict[str, Any], minimum: int = MIN_CELL_SESSIONS, lang: str = "en",
                   rows_dim: str = "province") -> str:
    """Quality per segment and local hour; cells with fewer than ``minimum`` calls are grey, not coloured;
    segments that are places by their display name in ``lang``."""
    rows = [place_name(r, lang) if rows_dim in PLACE_DIMENSIONS else r for r in data["rows"]]
    reverse = data["metric"] == "mos"  # low MOS is bad: keep "red is bad"
    sessions = data.get("sessions") or [[minimum] * len(row) for row in data["values"]]
    shown, grey = split_by_volume(data["values"], sessions, minimum)
    hours = [f"{h:02d}" for h in data["hours"]]
    low = {
        "type": "heatmap", "z": grey, "x": hours, "y": rows, "showscale": False, "hoverongaps": False,
        "colorscale": [[0, "#dee2e6"], [1, "#dee2e6"]], "customdata": sessions, "name": gettext("low volume", lang),
        "hovertemplate": "%{y} %{x}:00<br>" + gettext("%{customdata} calls: fewer than {n}, too few to judge",
                                                       lang).replace("{n}", str(minimum)) + "<extra></extra>",
    }
    trace = {
        "type": "heatmap",
        "customdata": sessions,
        "hovertemplate": "%{y} %{x}:00<br>%{z}<br>" + gettext("%{customdata} calls", lang) + "<extra></extra>",
        "z": shown,
        "x": hours,
        "y": rows,
        "colorscale": "Reds",
        "reversescale": reverse,
        "hoverongaps": False,
        "colorbar": {"title": {"text": gettext(METRIC_TITLES.get(data["metric"], data["metric"]), lang)}},
    }
    layout = {
        "height": max(260, 28 * len(data["rows"]) + 80),
        "xaxis": {"title": {"text": gettext("hour of day (workspace time)", lang)}, "type": "category"},
        "yaxis": {"type": "category", "automargin": True},
        "margin": {"l": 12},
    }
    return script_json({"data": [low, trace], "layout": layout})


def timeline_figures(
    timeline: dict[str, list[dict[str, Any]]], lang: str = "en", tz: tzinfo | str = "UTC"
) -> list[dict[str, str]]:
    """One chart per measure (RTT, loss, freezes, bitrate) with a line per participant; times on the x axis in
    ``tz`` (the axis title names it), titles in ``lang``."""
    measures = [
        ("rtt_ms", "RTT (ms)", "scatter"),
        ("loss_down_pct", "loss down (%)", "scatter"),
        ("video_freeze_ms", "video freeze (ms)", "bar"),
        ("bitrate_down_kbps", "bitrate down (kbps)", "scatter"),
    ]
    figures = []
    time_title = gettext("time ({zone})", lang).format(zone=zone_label(tz))
    for key, english, kind in measures:
        title = gettext(english, lang)
        traces = [
            {
                "type": kind,
                "mode": "lines",
                "name": user,
                "x": [chart_time(p["ts"], tz) for p in points],
                "y": [p[key] for p in points],
            }
            for user, points in timeline.items()
        ]
        if kind == "bar":
            for t in traces:
                t.pop("mode")
        figures.append(
            {
                "id": f"chart-{key}",
                "title": title,
                "json": script_json(
                    {
                        "data": traces,
                        "layout": {
                            "xaxis": {"title": {"text": time_title}},
                            "yaxis": {"title": {"text": title}},
                            "legend": {"orientation": "h"},
                        },
                    }
                ),
            }
        )
    return figures
