"""The load-test report: Plotly charts (requests/s, latency percentiles, errors, the knee) in one HTML file.

The Plotly JavaScript comes from the installed ``plotly`` package and is written into the file, so the
report opens offline and where CDNs are blocked.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots


def timeline_figures(ticks: list[dict[str, Any]]) -> list[go.Figure]:
    t = [tick["t"] for tick in ticks]
    load = make_subplots(specs=[[{"secondary_y": True}]])
    load.add_trace(go.Scatter(x=t, y=[k["rps"] for k in ticks], name="requests/s"), secondary_y=False)
    load.add_trace(go.Scatter(x=t, y=[k["users"] for k in ticks], name="users", line={"dash": "dot"}),
                   secondary_y=True)
    load.update_layout(title="Requests per second and users", xaxis_title="seconds")
    latency = go.Figure([go.Scatter(x=t, y=[k[p] for k in ticks], name=p) for p in ("p50", "p95", "p99")])
    latency.update_layout(title="Latency percentiles (ms)", xaxis_title="seconds", yaxis_title="ms")
    errors = go.Figure([go.Bar(x=t, y=[k["failures"] / k["dt"] if k.get("dt") else 0 for k in ticks],
                               name="errors/s", marker_color="#c92a2a")])
    errors.update_layout(title="Errors per second", xaxis_title="seconds")
    return [load, latency, errors]


def knee_figure(steps: list[dict[str, Any]], knee: dict[str, Any], slo: dict[str, float]) -> go.Figure:
    users = [s["users"] for s in steps]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=users, y=[s["rps"] for s in steps], name="requests/s", mode="lines+markers"),
                  secondary_y=False)
    fig.add_trace(go.Scatter(x=users, y=[s["p95_ms"] for s in steps], name="p95 ms", mode="lines+markers"),
                  secondary_y=True)
    fig.add_hline(y=slo["p95_ms"], line_dash="dash", line_color="#e8a317", secondary_y=True,
                  annotation_text=f"SLO p95 {slo['p95_ms']:.0f} ms")
    if knee.get("users") is not None:
        fig.add_vline(x=knee["users"], line_color="#c92a2a", line_width=2,
                      annotation_text=f"knee: {knee['users']} users", annotation_position="top left")
    fig.update_layout(title="Capacity search: throughput and p95 per step", xaxis_title="users")
    fig.update_yaxes(title_text="requests/s", secondary_y=False)
    fig.update_yaxes(title_text="p95 ms", secondary_y=True)
    return fig


def arrivals_figure(arrivals: dict[str, Any]) -> go.Figure:
    """The join storm: learners planned to have arrived by each second against those who did."""
    fig = go.Figure([go.Scatter(x=arrivals["t"], y=arrivals["planned"], name="planned arrivals",
                                line={"dash": "dash"}),
                     go.Scatter(x=arrivals["t"], y=arrivals["actual"], name="actual arrivals")])
    fig.update_layout(title="Arrivals: planned against actual (cumulative)", xaxis_title="seconds",
                      yaxis_title="learners")
    return fig


def arrivals_line(summary: dict[str, Any]) -> str:
    arrivals = summary.get("arrivals")
    if not arrivals:
        return ""
    storm = arrivals["storm"]
    cpu = summary.get("generator_cpu_s")
    cores = f"; the generator used {cpu:.1f} CPU s over {summary['duration_s']} s " \
            f"({cpu / max(summary['duration_s'], 1e-9):.2f} cores)" if cpu is not None else ""
    state = "within" if arrivals["within_tolerance"] else "outside"
    return (f"<p><strong>Join storm:</strong> {arrivals['arrived']} of {storm['learners']} learners arrived, "
            f"planned evenly over {storm['join_s']:g} s, then a heartbeat every {storm['heartbeat_s']:g} s; "
            f"the largest gap between planned and actual arrivals was {arrivals['max_deviation_pct']}% of the "
            f"learners, {state} the {arrivals['tolerance_pct']:g}% tolerance{cores}.</p>")


def render_html(summary: dict[str, Any], ticks: list[dict[str, Any]]) -> str:
    figures = timeline_figures(ticks)
    if summary.get("knee") is not None:
        figures.insert(0, knee_figure(summary["steps"], summary["knee"], summary["slo"]))
    if summary.get("arrivals"):
        figures.insert(0, arrivals_figure(summary["arrivals"]))
    charts = "\n".join(f.to_html(full_html=False, include_plotlyjs=False) for f in figures)
    verdict = summary["verdict"]
    if summary["mode"] == "capacity":
        headline = (f"Capacity target of {summary['target_users']} users "
                    + ("met" if verdict["passed"] else "missed"))
    else:
        headline = "SLO " + ("passed" if verdict["passed"] else "failed")
    knee = summary.get("knee")
    knee_line = ""
    if knee is not None:
        knee_line = (f"<p><strong>Knee:</strong> {knee['users']} users at {knee['rps']} requests/s "
                     f"({html.escape('; '.join(knee['reasons']))}); capacity {knee['capacity_users']} users, "
                     f"{knee['capacity_rps']} requests/s.</p>" if knee["users"] is not None else
                     f"<p><strong>No knee</strong> up to {summary['users']} users: "
                     f"the SLO held at {knee['capacity_rps']} requests/s.</p>")
    rows = "".join(f"<tr><td>{html.escape(e['name'])}</td><td>{e['requests']}</td><td>{e['failures']}</td>"
                   f"<td>{e['p50_ms']}</td><td>{e['p95_ms']}</td><td>{e['p99_ms']}</td></tr>"
                   for e in summary["endpoints"])
    errors = "".join(f"<li>{html.escape(e['name'])}: {html.escape(e['error'])} × {e['count']}</li>"
                     for e in summary["errors"][:20])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Load test {html.escape(summary['scenario'])}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC","Noto Sans SC","PingFang SC",sans-serif;margin:2em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #d0d7de;padding:.2em .6em}}
.pass{{color:#2f9e44}}.fail{{color:#c92a2a}}</style>
<script>{get_plotlyjs()}</script></head><body>
<h1>Load test: {html.escape(summary['title'])}</h1>
<p>{html.escape(summary['host'])} · {summary['mode']} · {summary['users']} users
(nominal {summary['nominal_users']}) · {summary['duration_s']} s · shape {html.escape(summary['shape']['kind'])}</p>
<p class="{'pass' if verdict['passed'] else 'fail'}"><strong>{html.escape(headline)}</strong>:
SLO p95 ≤ {summary['slo']['p95_ms']:.0f} ms, errors ≤ {summary['slo']['error_rate_pct']}% —
{'over the whole search' if summary['mode'] == 'capacity' else 'measured'}
p95 {summary['overall']['p95_ms']:.0f} ms, errors {summary['overall']['error_rate_pct']:.2f}%,
{summary['overall']['rps']:.1f} requests/s. {html.escape('; '.join(verdict['reasons']))}</p>
{knee_line}
{arrivals_line(summary)}
{charts}
<h2>Endpoints</h2><table><tr><th>request</th><th>count</th><th>failures</th><th>p50 ms</th><th>p95 ms</th>
<th>p99 ms</th></tr>{rows}</table>
{'<h2>Errors</h2><ul>' + errors + '</ul>' if errors else ''}
</body></html>"""


def write_report(directory: Path, summary: dict[str, Any], ticks: list[dict[str, Any]]) -> list[Path]:
    """Write ``loadtest-report.html`` and ``loadtest-data.json`` (summary and every tick)."""
    directory.mkdir(parents=True, exist_ok=True)
    page = directory / "loadtest-report.html"
    page.write_text(render_html(summary, ticks), encoding="utf-8")
    data = directory / "loadtest-data.json"
    data.write_text(json.dumps({"summary": summary, "ticks": ticks}, ensure_ascii=False), encoding="utf-8")
    return [page, data]
