"""`eduops demo` serves the demo platform and shows last week's capacity search with its knee, and the join
storm rehearsed before it with planned against actual arrivals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from eduops.core.demo import DemoContext
from eduops.core.service import get_run, list_runs
from eduops.loadtest.service import loadtest_settings


@pytest.mark.slow
def test_demo_serves_the_platform_and_records_a_past_load_test(full_demo: DemoContext) -> None:
    demo = full_demo
    url = demo.shared["platform_url"]
    assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
    assert url in demo.notes["loadtest"]
    assert loadtest_settings(demo.ws.settings).host == url
    from eduops.config import load_settings

    reread = loadtest_settings(load_settings(demo.ws.settings.config_file))  # the [loadtest] written for it
    assert reread.host == url and reread.capacity.scenario == "browse"
    # the two tests the loadtest share measured (the calendar's history may hold a scheduled one as well)
    runs = [r for r in list_runs(demo.ws.engine, task="load-test") if r["triggered_by"] == "demo"]
    assert len(runs) == 2
    run = get_run(demo.ws.engine, runs[0]["id"])  # newest first: the capacity search
    knee = run["checks"][0]["evidence"]["knee"]
    assert knee["users"] is not None and knee["capacity_users"] >= 5
    started = demo.now - timedelta(days=7, hours=2)
    assert abs((run_started(run) - started).total_seconds()) < 5
    storm = get_run(demo.ws.engine, runs[1]["id"])
    arrivals = storm["checks"][0]["evidence"]["arrivals"]
    # every learner logged in, joined and sent heartbeats to the demo platform's class
    assert arrivals["arrived"] == 50 and arrivals["planned"][-1] == 50 and len(arrivals["t"]) >= 3
    assert httpx.get(f"{url}/healthz").json()["heartbeats"] > 0
    report = next(a for a in storm["artifacts"] if a["name"] == "loadtest-report.html")
    assert "到达人数：计划与实际" in Path(report["path"]).read_text(encoding="utf-8")
    assert "eduops loadtest run join-storm" in demo.notes["loadtest"]


def run_started(run: dict):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.fromisoformat(run["started_at"])


def test_load_test_charts_title_every_axis_with_one_unit_each() -> None:
    from eduops.loadtest.charts import knee, timeline

    ticks = [{"t": i, "rps": 10.0 * i, "p95": 100 + i, "failures": 1, "dt": 1.0, "users": i} for i in range(1, 5)]
    steps = [{"users": u, "rps": u * 2.0, "p95_ms": 100.0 + u} for u in (5, 15, 25)]
    zh = {"requests/s": "请求数/秒", "users": "用户数"}
    for figure in (timeline(ticks, lambda s: zh.get(s, s)), knee(steps, {"users": 15}, 500.0)):
        layout = figure["layout"]
        axes = {k: v for k, v in layout.items() if k[1:5] == "axis"}
        assert all(isinstance(a["title"], dict) and a["title"]["text"] for a in axes.values()), axes
        used = {t.get("yaxis", "y") for t in figure["data"]}
        assert {"y" + k[5:] if k[5:] else "y" for k in axes if k.startswith("yaxis")} >= used
    line = timeline(ticks, lambda s: zh.get(s, s))
    assert {t["name"]: t.get("yaxis", "y") for t in line["data"]}["用户数"] == "y3"  # users never share req/s's axis
