"""The load-test report: Plotly charts (requests/s, latency percentiles, errors, the knee) in one HTML file.

The Plotly JavaScript comes from the installed ``plotly`` package and is written into the file, so the
report opens offline and where CDNs are blocked.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from eduops.core.i18n import gettext


def _translator(lang: str) -> Callable[[str], str]:
    return lambda text: gettext(text, lang, "loadtest")


def timeline_figures(ticks: list[dict[str, Any]], lang: str = "en") -> list[go.Figure]:
    _ = _translator(lang)
    t = [tick["t"] for tick in ticks]
    load = make_subplots(specs=[[{"secondary_y": True}]])
    load.add_trace(go.Scatter(x=t, y=[k["rps"] for k in ticks], name=_("requests/s")), secondary_y=False)
    load.add_trace(go.Scatter(x=t, y=[k["users"] for k in ticks], name=_("users"), line={"dash": "dot"}),
                   secondary_y=True)
    load.update_layout(title=_("Requests per second and users"), xaxis_title=_("seconds into the test"))
    latency = go.Figure([go.Scatter(x=t, y=[k[p] for k in ticks], name=p) for p in ("p50", "p95", "p99")])
    latency.update_layout(title=_("Latency percentiles (ms)"), xaxis_title=_("seconds into the test"),
                          yaxis_title=_("ms"))
    errors = go.Figure([go.Bar(x=t, y=[k["failures"] / k["dt"] if k.get("dt") else 0 for k in ticks],
                               name=_("errors/s"), marker_color="#c92a2a")])
    errors.update_layout(title=_("Errors per second"), xaxis_title=_("seconds into the test"))
    return [load, latency, errors]


def knee_figure(steps: list[dict[str, Any]], knee: dict[str, Any], slo: dict[str, float],
                lang: str = "en") -> go.Figure:
    _ = _translator(lang)
    users = [s["users"] for s in steps]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=users, y=[s["rps"] for s in steps], name=_("requests/s"), mode="lines+markers"),
                  secondary_y=False)
    fig.add_trace(go.Scatter(x=users, y=[s["p95_ms"] for s in steps], name=_("p95 ms"), mode="lines+markers"),
                  secondary_y=True)
    fig.add_hline(y=slo["p95_ms"], line_dash="dash", line_color="#e8a317", secondary_y=True,
                  annotation_text=_("SLO p95 {ms} ms").format(ms=f"{slo['p95_ms']:.0f}"))
    if knee.get("users") is not None:
        fig.add_vline(x=knee["users"], line_color="#c92a2a", line_width=2,
                      annotation_text=_("knee: {users} users").format(users=knee["users"]),
                      annotation_position="top left")
    fig.update_layout(title=_("Capacity search: throughput and p95 per step"), xaxis_title=_("users"))
    fig.update_yaxes(title_text=_("requests/s"), secondary_y=False)
    fig.update_yaxes(title_text=_("p95 ms"), secondary_y=True)
    return fig


def arrivals_figure(arrivals: dict[str, Any], lang: str = "en") -> go.Figure:
    """The join storm: learners planned to have arrived by each second against those who did."""
    _ = _translator(lang)
    fig = go.Figure([go.Scatter(x=arrivals["t"], y=arrivals["planned"], name=_("planned arrivals"),
                                line={"dash": "dash"}),
                     go.Scatter(x=arrivals["t"], y=arrivals["actual"], name=_("actual arrivals"))])
    fig.update_layout(title=_("Arrivals: planned against actual (cumulative)"), xaxis_title=_("seconds into the test"),
                      yaxis_title=_("learners"))
    return fig


def arrivals_line(summary: dict[str, Any], lang: str = "en") -> str:
    arrivals = summary.get("arrivals")
    if not arrivals:
        return ""
    _ = _translator(lang)
    storm = arrivals["storm"]
    text = _("{arrived} of {learners} learners arrived, planned evenly over {join_s} s, then a heartbeat every "
             "{heartbeat_s} s; the largest gap between planned and actual arrivals was {gap}% of the learners "
             "(tolerance {tolerance}%).").format(
        arrived=arrivals["arrived"], learners=storm["learners"], join_s=f"{storm['join_s']:g}",
        heartbeat_s=f"{storm['heartbeat_s']:g}", gap=arrivals["max_deviation_pct"],
        tolerance=f"{arrivals['tolerance_pct']:g}")
    cpu = summary.get("generator_cpu_s")
    if cpu is not None:
        text += " " + _("The generator used {cores} cores.").format(
            cores=f"{cpu / max(summary['duration_s'], 1e-9):.2f}")
    verdict = _("within tolerance") if arrivals["within_tolerance"] else _("outside tolerance")
    return f"<p><strong>{html.escape(_('Join storm'))} ({html.escape(verdict)}):</strong> {html.escape(text)}</p>"


def render_html(summary: dict[str, Any], ticks: list[dict[str, Any]], lang: str = "en") -> str:
    """The report in ``lang`` (the workspace's language: it is read outside the console too)."""
    _ = _translator(lang)
    figures = timeline_figures(ticks, lang)
    if summary.get("knee") is not None:
        figures.insert(0, knee_figure(summary["steps"], summary["knee"], summary["slo"], lang))
    if summary.get("arrivals"):
        figures.insert(0, arrivals_figure(summary["arrivals"], lang))
    charts = "\n".join(f.to_html(full_html=False, include_plotlyjs=False) for f in figures)
    verdict = summary["verdict"]
    if summary["mode"] == "capacity":
        headline = (_("Capacity target of {users} users met") if verdict["passed"]
                    else _("Capacity target of {users} users missed")).format(users=summary["target_users"])
    else:
        headline = _("SLO passed") if verdict["passed"] else _("SLO failed")
    knee = summary.get("knee")
    knee_line = ""
    if knee is not None:
        knee_line = "<p>" + html.escape(
            _("Knee: {users} users at {rps} requests/s ({reasons}); capacity {capacity_users} users, "
              "{capacity_rps} requests/s.").format(users=knee["users"], rps=knee["rps"],
                                                   reasons="; ".join(knee["reasons"]),
                                                   capacity_users=knee["capacity_users"],
                                                   capacity_rps=knee["capacity_rps"])
            if knee["users"] is not None else
            _("No knee up to {users} users: the SLO held at {capacity_rps} requests/s.").format(
                users=summary["users"], capacity_rps=knee["capacity_rps"])) + "</p>"
    rows = "".join(f"<tr><td>{html.escape(e['name'])}</td><td>{e['requests']}</td><td>{e['failures']}</td>"
                   f"<td>{e['p50_ms']}</td><td>{e['p95_ms']}</td><td>{e['p99_ms']}</td></tr>"
                   for e in summary["endpoints"])
    errors = "".join(f"<li>{html.escape(e['name'])}: {html.escape(e['error'])} × {e['count']}</li>"
                     for e in summary["errors"][:20])
    measured = _("over the whole search") if summary["mode"] == "capacity" else _("measured")
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>{html.escape(_("Load test"))} {html.escape(summary['scenario'])}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC","Noto Sans SC","PingFang SC",sans-serif;margin:2em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #d0d7de;padding:.2em .6em}}
.pass{{color:#2f9e44}}.fail{{color:#c92a2a}}</style>
<script>{get_plotlyjs()}</script></head><body>
<h1>{html.escape(_("Load test"))}: {html.escape(_(summary['title']))}</h1>
<p><code>{html.escape(summary['host'])}</code> · <code>{summary['mode']}</code> · {summary['users']} {_("users")}
({_("nominal")} {summary['nominal_users']}) · {summary['duration_s']} s · {_("shape")}
{html.escape(_(summary['shape']['kind']))}</p>
<p class="{'pass' if verdict['passed'] else 'fail'}"><strong>{html.escape(headline)}</strong>:
SLO p95 ≤ {summary['slo']['p95_ms']:.0f} ms, {_("errors")} ≤ {summary['slo']['error_rate_pct']}% —
{html.escape(measured)} p95 {summary['overall']['p95_ms']:.0f} ms, {_("errors")}
{summary['overall']['error_rate_pct']:.2f}%, {summary['overall']['rps']:.1f} {_("requests/s")}.
{html.escape('; '.join(verdict['reasons']))}</p>
{knee_line}
{arrivals_line(summary, lang)}
{charts}
<h2>{_("Endpoints")}</h2><table><tr><th>{_("request")}</th><th>{_("count")}</th><th>{_("failures")}</th>
<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>{rows}</table>
{'<h2>' + _("Errors") + '</h2><ul>' + errors + '</ul>' if errors else ''}
</body></html>"""


def write_report(directory: Path, summary: dict[str, Any], ticks: list[dict[str, Any]],
                 lang: str = "en") -> list[Path]:
    """Write ``loadtest-report.html`` (in ``lang``) and ``loadtest-data.json`` (summary and every tick)."""
    directory.mkdir(parents=True, exist_ok=True)
    page = directory / "loadtest-report.html"
    page.write_text(render_html(summary, ticks, lang), encoding="utf-8")
    data = directory / "loadtest-data.json"
    data.write_text(json.dumps({"summary": summary, "ticks": ticks}, ensure_ascii=False), encoding="utf-8")
    return [page, data]
