"""Contract: a load test against the demo platform completes and its report shows the knee.

Small and short on purpose: a platform with 2 slots of 20 ms (~100 req/s) and students with 50–100 ms of
think time saturate at about ten students.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from eduops.alerting.models import MetricSeries
from eduops.config import TaskOverride
from eduops.core.principal import Principal, current_principal
from eduops.core.runs import run_task
from eduops.core.service import get_run
from eduops.demo.platform import serve_platform
from eduops.loadtest.runner import LoadSpec, run_load
from eduops.loadtest.settings import DEFAULT_PATHS
from eduops.loadtest.shapes import make_shape
from eduops.web.app import create_app


@pytest.fixture
def platform() -> Iterator[str]:
    url, stop = serve_platform(capacity=2, service_ms=20)
    yield url
    stop()


def test_capacity_search_finds_the_knee_and_stores_the_report(sqlite_ws, platform: str) -> None:
    params = {"scenario": "browse", "mode": "capacity", "host": platform, "start_users": 2, "step_users": 6,
              "max_users": 32, "step_seconds": 2.5, "spawn_rate": 50, "think_min_s": 0.05, "think_max_s": 0.1,
              "target_users": 20, "p95_ms": 150}
    sqlite_ws.settings.tasks["load-test"] = TaskOverride.model_validate({"params": {"loadtest.capacity": params}})
    seen: list[str] = []
    run_id = run_task(sqlite_ws.engine, sqlite_ws.settings, "load-test",
                      progress=lambda message, fraction: seen.append(message))
    run = get_run(sqlite_ws.engine, run_id)
    check = run["checks"][0]
    assert check["name"] == "loadtest.capacity", check["summary"]
    knee = check["evidence"]["knee"]
    steps = check["evidence"]["steps"]
    # the knee is a real step past the first, where p95 broke the SLO (150 ms), errors appeared, or nothing
    # completed at all (on a busy machine the platform can stall for a whole short step: that breaks the SLO too)
    assert knee["users"] is not None and knee["index"] >= 1, steps
    broken = steps[knee["index"]]
    assert broken["p95_ms"] > 150 or broken["error_rate_pct"] > 0.5 or (
        broken["requests"] == 0 and knee["reasons"] == ["no requests completed"]), steps
    assert 2 <= knee["capacity_users"] < knee["users"]
    assert check["evidence"]["stopped_early"] or knee["index"] == len(steps) - 1
    # capacity below the target of 20 students is a crit finding with a remedy
    assert run["status"] == "crit" and "capacity below target" in check["findings"][0]["title"]
    html = next(a for a in run["artifacts"] if a["name"] == "loadtest-report.html")
    page = open(html["path"], encoding="utf-8").read()
    # the report file is read outside the console too: the workspace's language (zh-CN by default)
    assert 'lang="zh-CN"' in page and "拐点" in page and "容量搜索" in page and "Plotly" in page
    assert any("req/s" in m for m in seen)  # live progress reached the caller
    with sqlite_ws.engine.connect() as conn:
        names = set(conn.execute(sa.select(MetricSeries.name)).scalars())
    assert {"loadtest_capacity_users", "loadtest_p95_ms", "loadtest_rps"} <= names
    # the console shows the knee and serves the report
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="vera", kind="user", role="viewer")
    client = TestClient(app)
    page = client.get("/loadtest", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert f"Knee at {knee['users']} users" in page.text and 'id="loadtest-knee-chart"' in page.text
    runs = client.get("/api/v1/loadtest/runs").json()
    assert runs[0]["knee"]["users"] == knee["users"]
    report = client.get(f"/api/v1/loadtest/runs/{run_id}/report")
    assert report.status_code == 200 and "拐点" in report.text
    assert client.get("/api/v1/loadtest/live").json()["status"] == "done"


def test_distributed_mode_runs_a_master_with_one_worker(platform: str, tmp_path) -> None:
    spec = LoadSpec("QuizStudent", platform, make_shape("constant", 4, 4, 20),
                    {"paths": DEFAULT_PATHS, "think": [0.05, 0.1]}, workers=1)
    outcome = run_load(spec, workdir=tmp_path)
    assert outcome.final["total"]["requests"] > 20
    assert sum(t["requests"] for t in outcome.ticks) > 20  # ticks carry the worker's reports
    assert (tmp_path / "master.json").exists() and (tmp_path / "worker-1.json").exists()
    assert {e["name"] for e in outcome.final["endpoints"]} >= {"log in", "submit quiz"}


def test_open_model_keeps_students_arriving_when_the_site_slows_down(tmp_path) -> None:
    url, stop = serve_platform(capacity=1, service_ms=100)  # 10 req/s at most
    try:
        spec = LoadSpec("ArrivalUser", url, make_shape("constant", 1, 4, 10),
                        {"paths": DEFAULT_PATHS, "arrival_rate": 15, "journey": "QuizStudent",
                         "arrival_max_in_flight": 1000}, workers=0)
        outcome = run_load(spec, workdir=tmp_path)
    finally:
        stop()
    # 15 arrivals/s of two requests each against 10 req/s: students pile up waiting, although only one
    # Locust user generates them (a closed model with one user never has more than one in flight)
    in_flight = [t.get("in_flight", 0) for t in outcome.ticks]
    assert max(in_flight) >= 10, in_flight
