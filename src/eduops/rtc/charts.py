"""Plotly figures (plain JSON) for the call-quality pages; the browser draws them with /static/plotly.min.js."""

from __future__ import annotations

from typing import Any

from eduops.core.pages import script_json

METRIC_TITLES = {
    "poor_pct": "poor share (%)",
    "video_freeze_rate_pct": "video freeze rate (%)",
    "audio_freeze_rate_pct": "audio freeze rate (%)",
    "mos": "MOS",
    "rtt_avg_ms": "RTT (ms)",
    "loss_pct": "loss (%)",
}



def heatmap_figure(data: dict[str, Any]) -> str:
    reverse = data["metric"] == "mos"  # low MOS is bad: keep "red is bad"
    trace = {
        "type": "heatmap",
        "z": data["values"],
        "x": [f"{h:02d}" for h in data["hours"]],
        "y": data["rows"],
        "colorscale": "Reds",
        "reversescale": reverse,
        "hoverongaps": False,
        "colorbar": {"title": {"text": METRIC_TITLES.get(data["metric"], data["metric"])}},
    }
    layout = {
        "height": max(260, 28 * len(data["rows"]) + 80),
        "xaxis": {"title": {"text": "hour"}},
        "margin": {"l": 110},
    }
    return script_json({"data": [trace], "layout": layout})


def timeline_figures(timeline: dict[str, list[dict[str, Any]]]) -> list[dict[str, str]]:
    """One chart per measure (RTT, loss, freezes, bitrate) with a line per participant."""
    measures = [
        ("rtt_ms", "RTT (ms)", "scatter"),
        ("loss_down_pct", "loss down (%)", "scatter"),
        ("video_freeze_ms", "video freeze (ms)", "bar"),
        ("bitrate_down_kbps", "bitrate down (kbps)", "scatter"),
    ]
    figures = []
    for key, title, kind in measures:
        traces = [
            {
                "type": kind,
                "mode": "lines",
                "name": user,
                "x": [str(p["ts"]) for p in points],
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
                    {"data": traces, "layout": {"yaxis": {"title": {"text": title}}, "legend": {"orientation": "h"}}}
                ),
            }
        )
    return figures
