"""How alerts are shown: one severity scale (info, warning, critical), sorted and coloured; values with
their units; the same alert once; the overview's alerts headline; the expression's graph over an alert's life.

The rules below are pure functions (pinned by table-driven tests); the page and the CLI call them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.core.areas import Headline
from eduops.core.units import humanize, unit_of

SEVERITIES = ("critical", "warning", "info")
SEVERITY_ALIASES = {
    "critical": "critical", "crit": "critical", "page": "critical", "error": "critical", "fatal": "critical",
    "high": "critical", "warning": "warning", "warn": "warning", "medium": "warning", "info": "info",
    "informational": "info", "low": "info", "none": "info", "": "info",
}
STATE_RANK = {"firing": 0, "pending": 1, "inactive": 2}
COMPARISON = re.compile(
    r"^(?P<lhs>.+?)\s*(?P<op>==|!=|>=|<=|>|<)\s*(?:bool\s+)?(?P<rhs>-?[0-9.]+(?:e[+-]?[0-9]+)?)\s*$", re.S | re.I
)


def normalize_severity(value: str | None) -> str:
    """warn → warning, crit → critical; anything unknown is info (never dropped)."""
    return SEVERITY_ALIASES.get((value or "").strip().lower(), "info")


def severity_rank(value: str | None) -> int:
    return SEVERITIES.index(normalize_severity(value))


def _since(alert: dict[str, Any]) -> str:
    return str(alert.get("fired_at") or alert.get("active_at") or "")


def sort_alerts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most severe first; within a severity the oldest first (the one that has waited longest)."""
    return sorted(alerts, key=lambda a: (severity_rank(a.get("severity") or a["labels"].get("severity")),
                                         _since(a), a["alertname"]))


def identity(alert: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What makes two alerts the same for a reader: the name and the labels, severity normalised."""
    labels = {k: v for k, v in alert["labels"].items() if k != "alertname"}
    labels["severity"] = normalize_severity(labels.get("severity"))
    return alert["alertname"], tuple(sorted(labels.items()))


def collapse(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per alertname+labels: the most urgent state, the earliest start, how many were merged."""
    merged: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    for a in alerts:
        key = identity(a)
        kept = merged.get(key)
        if kept is None:
            merged[key] = {**a, "duplicates": 1}
            continue
        kept["duplicates"] += 1
        if STATE_RANK.get(a["state"], 9) < STATE_RANK.get(kept["state"], 9) or (
            a["state"] == kept["state"] and _since(a) < _since(kept)
        ):
            merged[key] = {**a, "duplicates": kept["duplicates"]}
    return list(merged.values())


def series_units(engine: Engine) -> dict[str, str]:
    from eduops.alerting.models import MetricSeries
    from eduops.db import session_scope

    with session_scope(engine) as session:
        rows = session.execute(sa.select(MetricSeries.name, MetricSeries.unit).distinct()).all()
    return {name: unit for name, unit in rows if unit}


def expression_unit(expr: str, units: dict[str, str]) -> str:
    """The unit of an expression's value: that of the first metric it reads (stored, else from its name)."""
    from eduops.alerting.promql import parse, selectors

    try:
        names = [s.name for s in selectors(parse(expr)) if s.name]
    except Exception:  # noqa: BLE001 - a rule that does not parse shows its value without a unit
        return ""
    for name in names:
        if name.endswith("_total"):  # a counter's rate has no stored unit
            continue
        found = unit_of(name, units.get(name, ""))
        if found:
            return found
    return ""


def decorate(alerts: list[dict[str, Any]], rules: list[dict[str, Any]], units: dict[str, str]) -> list[dict[str, Any]]:
    """Add ``severity`` (normalised), ``unit``, ``value_text`` and the rule's ``expr`` to each alert."""
    exprs = {f"{r['group']}/{r['name']}": r["expr"] for r in rules if r.get("kind") == "alert"}
    by_name = {r["name"]: r["expr"] for r in rules if r.get("kind") == "alert"}
    out = []
    for a in alerts:
        expr = exprs.get(a.get("rule", "")) or by_name.get(a["alertname"], "")
        unit = a["annotations"].get("unit") or expression_unit(expr, units)
        out.append({**a, "severity": normalize_severity(a["labels"].get("severity")), "unit": unit,
                    "value_text": humanize(a.get("value"), unit), "expr": expr})
    return out


def alerts_view(engine: Engine, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The current alerts as the page and the CLI show them: decorated, collapsed, sorted."""
    from eduops.alerting.alerts import current_alerts

    return sort_alerts(collapse(decorate(current_alerts(engine), rules, series_units(engine))))


def alerts_headline(alerts: list[dict[str, Any]]) -> Headline:
    """The overview's alerts tile: critical if a critical alert fires, warn for a warning, else ok."""
    firing = sort_alerts([a for a in alerts if a["state"] == "firing"])
    counts = {s: sum(1 for a in firing if normalize_severity(a.get("severity")) == s) for s in SEVERITIES}
    items = [{"severity": normalize_severity(a.get("severity")), "alertname": a["alertname"],
              "since": a.get("fired_at") or a.get("active_at"), "href": f"/alerts/{a['fingerprint']}",
              "value": a.get("value_text", "")} for a in firing]
    status = "crit" if counts["critical"] else "warn" if counts["warning"] else "ok"
    if not firing:
        return Headline("ok", "No alert is firing.", href="/alerts")
    return Headline(status, "{critical} critical, {warning} warning, {info} info firing", dict(counts),
                    href=items[0]["href"], items=items)


def headline(ws: Any, now: datetime) -> Headline:
    """The alerts area's headline (the overview tile and the /alerts page)."""
    from eduops.alerting.service import rules_overview

    return alerts_headline(alerts_view(ws.engine, rules_overview(ws)))


def graphed_expression(expr: str) -> tuple[str, float | None, str]:
    """(what to graph, threshold, comparison): a rule ``x > 85`` graphs ``x`` with a line at 85."""
    found = COMPARISON.match(expr.strip())
    if not found:
        return expr.strip(), None, ""
    return found["lhs"].strip(), float(found["rhs"]), found["op"]


def life_window(alert: dict[str, Any], history: list[dict[str, Any]], now: datetime) -> tuple[datetime, datetime]:
    """From a little before the alert became active until it resolved (or now), at least an hour."""
    times = [datetime.fromisoformat(str(t)) for t in
             [alert.get("active_at"), alert.get("resolved_at")] + [e.get("at") for e in history] if t]
    start = min(times, default=now - timedelta(hours=1))
    end = now if alert.get("state") in ("firing", "pending") or not times else max(times)
    span = max(end - start, timedelta(hours=1))
    return start - span * 0.25, min(end + span * 0.1, now)


def matches(series_labels: dict[str, str], alert_labels: dict[str, str]) -> bool:
    return all(alert_labels.get(k) == v for k, v in series_labels.items() if k != "__name__")


def expression_chart(engine: Engine, alert: dict[str, Any], history: list[dict[str, Any]], now: datetime,
                     lang: str, tz: Any) -> dict[str, Any] | None:
    """A Plotly figure of the rule's expression (its left side, with the threshold) over the alert's life."""
    from eduops.alerting.metric_store import query_range
    from eduops.core.i18n import gettext
    from eduops.errors import EduopsError

    if not alert.get("expr"):
        return None
    graphed, threshold, op = graphed_expression(alert["expr"])
    start, end = life_window(alert, history, now)
    step = max((end - start).total_seconds() / 150, 15.0)
    try:
        series = query_range(engine, graphed, start, end, step, now=now)
    except EduopsError:
        return None
    mine = [s for s in series if matches(s["metric"], alert["labels"])] or series[:5]
    if not mine:
        return None
    unit = alert.get("unit", "")
    data: list[dict[str, Any]] = []
    for s in mine:
        xs = [datetime.fromisoformat(t).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") for t, _ in s["points"]]
        ys = [v for _, v in s["points"]]
        name = ",".join(f"{k}={v}" for k, v in sorted(s["metric"].items()) if k != "__name__") or graphed
        data.append({"type": "scatter", "mode": "lines", "name": name, "x": xs, "y": ys,
                     "text": [humanize(v, unit) for v in ys], "hovertemplate": "%{x}<br>%{text}<extra></extra>"})
    if threshold is not None:
        xs = [data[0]["x"][0], data[0]["x"][-1]]
        data.append({"type": "scatter", "mode": "lines", "name": f"{gettext('threshold', lang)} {op} "
                     f"{humanize(threshold, unit)}", "x": xs, "y": [threshold, threshold],
                     "line": {"dash": "dash", "color": "#c92a2a"}})
    moments = [datetime.fromisoformat(str(t)).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
               for t in (alert.get("fired_at"), alert.get("resolved_at")) if t]
    marks = [{"type": "line", "xref": "x", "yref": "paper", "y0": 0, "y1": 1, "x0": m, "x1": m,
              "line": {"color": "#e8a317", "dash": "dot"}} for m in moments]
    zone = getattr(tz, "key", str(tz))
    return {"data": data, "layout": {
        "shapes": marks, "legend": {"orientation": "h"}, "margin": {"l": 70, "r": 16, "t": 16, "b": 60},
        "xaxis": {"title": {"text": f"{gettext('Time', lang)} ({zone})"}, "automargin": True},
        "yaxis": {"title": {"text": gettext("Value", lang) + (f" ({unit})" if unit else "")}, "automargin": True,
                  "tickformat": "~s" if unit.lower() in ("bytes", "b") else ""}}}
