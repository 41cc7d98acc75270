"""Metric charts per host, endpoint and database for the console (Plotly figures as JSON)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.engine import Engine

from eduops.alerting.metric_store import expression_for, query_range
from eduops.core.pages import script_json

PANELS = [
    ("CPU busy (%)", "cpu_used_pct", "host"),
    ("Memory used (%)", "memory_used_pct", "host"),
    ("Disk used (%)", "disk_used_pct", "host,mount"),
    ("Endpoint total time (ms)", "http_total_ms", "endpoint"),
    ("Endpoint up", "endpoint_up", "endpoint"),
    ("Database query time (ms)", "db_query_ms", "db"),
    ("Error-log lines per minute", "log_error_lines_per_min", "file"),
]


def step_s(window: float) -> float:
    """Seconds between the points of a chart over ``window`` seconds (about 300 points, at least a minute apart)."""
    return max(window / 300, 60.0)


def panels(
    engine: Engine,
    window: float,
    now: datetime | None = None,
    lang: str = "en",
    only: tuple[str, str] | None = None,
    query: Callable[[str, datetime, datetime, float], list[dict[str, Any]]] | None = None,
    tz: tzinfo | str = "UTC",
) -> list[dict[str, Any]]:
    """One line chart per panel that has data in the window, times on the x axis in ``tz`` (named in its title);
    ``query`` (expr, start, end, step) reads another engine (``eduops.alerting.prom_source.query_range_for``),
    the embedded store by default."""
    from eduops.core.clock import chart_time, zone_label
    from eduops.core.i18n import gettext

    time_title = gettext("time ({zone})", lang).format(zone=zone_label(tz))
    now = now or datetime.now(UTC)
    step = step_s(window)
    out = []
    for msgid, metric, keys in PANELS:
        title = gettext(msgid, lang)
        selector = metric
        if only is not None:
            if only[0] not in keys.split(","):
                continue  # a host's page shows host panels, an endpoint's page endpoint panels
            selector = expression_for(metric, {only[0]: only[1]})
        start = now - timedelta(seconds=window)
        series = query(selector, start, now, step) if query else query_range(engine, selector, start, now, step)
        if not series:
            continue
        traces = []
        for s in series[:20]:
            name = " ".join(s["metric"].get(k, "") for k in keys.split(",")).strip() or metric
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": name,
                    "x": [chart_time(p[0], tz) for p in s["points"]],
                    "y": [p[1] for p in s["points"]],
                }
            )
        out.append(
            {
                "title": title,
                "metric": metric,
                "figure": script_json(
                    {
                        "data": traces,
                        "layout": {
                            "title": {"text": title},
                            "xaxis": {"title": {"text": time_title}},
                            "height": 300,
                            "margin": {"t": 40, "b": 40},
                            "legend": {"orientation": "h"},
                        },
                    }
                ),
            }
        )
    return out


def subjects(engine: Engine) -> dict[str, list[str]]:
    """The hosts, endpoints and databases that have metrics, for the page's links."""
    import sqlalchemy as sa

    from eduops.alerting.models import MetricSeries
    from eduops.db import session_scope

    found: dict[str, set[str]] = {"host": set(), "endpoint": set(), "db": set()}
    with session_scope(engine) as session:
        for (labels,) in session.execute(
            sa.select(MetricSeries.labels).where(MetricSeries.name.in_([m for _, m, _ in PANELS]))
        ):
            for key, values in found.items():
                if key in labels:
                    values.add(str(labels[key]))
    return {k: sorted(v) for k, v in found.items()}
