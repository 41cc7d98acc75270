"""The live-class join storm: the planned schedule (pure), the plan's checks, and a small storm run for real."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eduops.config import TaskOverride
from eduops.core.principal import Principal, current_principal
from eduops.core.runs import run_task
from eduops.core.service import get_run
from eduops.errors import UsageError
from eduops.loadtest.service import plan_test
from eduops.loadtest.settings import LoadtestSettings
from eduops.loadtest.storm import Storm, arrival_report, make_storm, planned_arrival, planned_by, planned_heartbeats
from eduops.web.app import create_app

STORM = Storm(learners=10_000, join_s=60.0, heartbeat_s=15.0, duration_s=360.0)
SMALL = Storm(learners=4, join_s=2.0, heartbeat_s=1.0, duration_s=4.0)


@pytest.mark.parametrize(("storm", "k", "second"), [
    (STORM, 0, 0.0), (STORM, 1, 0.006), (STORM, 5_000, 30.0), (STORM, 9_999, 59.994),
    (SMALL, 0, 0.0), (SMALL, 1, 0.5), (SMALL, 3, 1.5),
])
def test_learners_are_planned_evenly_over_the_join_window(storm: Storm, k: int, second: float) -> None:
    assert planned_arrival(storm, k) == pytest.approx(second)


@pytest.mark.parametrize(("storm", "t", "arrived"), [
    (STORM, -0.1, 0), (STORM, 0.0, 1), (STORM, 0.0059, 1), (STORM, 0.006, 2), (STORM, 30.0, 5_001),
    (STORM, 59.999, 10_000), (STORM, 60.0, 10_000), (STORM, 300.0, 10_000),
    (SMALL, 0.49, 1), (SMALL, 0.5, 2), (SMALL, 1.5, 4), (SMALL, 9.0, 4),
])
def test_planned_by(storm: Storm, t: float, arrived: int) -> None:
    assert planned_by(storm, t) == arrived


@pytest.mark.parametrize(("storm", "beats"), [
    # learner k (arriving at 0, 0.5, 1, 1.5 s) beats at arrival + 1 s, + 2 s, ... before second 4
    (SMALL, 3 + 3 + 2 + 2),
    (Storm(1, 1.0, 15.0, 61.0), 4),  # at 15, 30, 45, 60
    (Storm(1, 1.0, 15.0, 60.0), 3),  # the beat due at 60 is the end: not sent
])
def test_planned_heartbeats(storm: Storm, beats: int) -> None:
    assert planned_heartbeats(storm) == beats


@pytest.mark.parametrize(("ticks", "deviation", "within"), [
    ([{"storm_t": 1.0, "arrivals": 3}, {"storm_t": 2.0, "arrivals": 4}], 0.0, True),  # on plan (3 by 1 s)
    ([{"storm_t": 1.0, "arrivals": 2}, {"storm_t": 2.0, "arrivals": 4}], 25.0, False),  # one learner late
    ([{"storm_t": 1.0, "arrivals": 3}, {"storm_t": 2.0, "arrivals": 3}], 25.0, False),  # one never came
    ([{"t": 1.0, "users": 1}], 100.0, False),  # no storm ticks at all
])
def test_arrival_report_sets_planned_against_actual(ticks: list[dict], deviation: float, within: bool) -> None:
    report = arrival_report(SMALL, ticks)
    assert report["max_deviation_pct"] == deviation
    assert report["within_tolerance"] is within


@pytest.mark.parametrize(("args", "message"), [
    ((0,), "between 1 and"),
    ((10, 0.0), "more than zero"),
    ((10, 60.0, 0.0), "more than zero"),
    ((10, 60.0, 15.0, 30.0), "at least the join window"),
])
def test_bad_storms_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make_storm(*args)


def test_the_default_storm_is_the_issue_s() -> None:
    plan = plan_test(LoadtestSettings(), {"scenario": "join-storm", "mode": "fixed"})
    assert (plan.shape.kind, plan.shape.users, plan.shape.duration_s) == ("storm", 10_000, 360.0)
    assert plan.shape.params == {"join_s": 60.0, "heartbeat_s": 15.0}


@pytest.mark.parametrize(("params", "message"), [
    ({"mode": "capacity"}, "without --capacity"),
    ({"mode": "fixed", "workers": 2}, "one generator process"),
    ({"mode": "fixed", "arrival_rate": 5}, "--arrival-rate"),
    ({"mode": "fixed", "users": 10, "duration": 30, "join_seconds": 60}, "at least the join window"),
])
def test_a_storm_plan_refuses_what_it_cannot_do(params: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan_test(LoadtestSettings(), {"scenario": "join-storm", **params})


class _Platform(BaseHTTPRequestHandler):
    """Answers every POST like the platform: a token for log-in, ok for join and heartbeat; counts paths."""

    seen: dict[str, int] = {}

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.path.rsplit("/", 1)[-1]
        _Platform.seen[key] = _Platform.seen.get(key, 0) + 1
        body = json.dumps({"token": "t"} if key == "login" else {"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def platform() -> Iterator[str]:
    _Platform.seen = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.slow
def test_a_small_storm_runs_its_schedule_and_shows_planned_against_actual(sqlite_ws, platform: str) -> None:
    params = {"scenario": "join-storm", "mode": "fixed", "users": 40, "join_seconds": 2, "heartbeat_seconds": 1,
              "duration": 4, "host": platform}
    sqlite_ws.settings.tasks["load-test"] = TaskOverride.model_validate({"params": {"loadtest.capacity": params}})
    run = get_run(sqlite_ws.engine, run_task(sqlite_ws.engine, sqlite_ws.settings, "load-test"))
    evidence = run["checks"][0]["evidence"]
    arrivals = evidence["arrivals"]
    assert arrivals["arrived"] == 40 and arrivals["planned"][-1] == 40
    assert len(arrivals["t"]) == len(arrivals["actual"]) >= 2
    assert _Platform.seen == {"login": 40, "join": 40, "heartbeat": planned_heartbeats(Storm(40, 2.0, 1.0, 4.0))}
    assert evidence["generator_cpu_s"] > 0
    html = next(a for a in run["artifacts"] if a["name"] == "loadtest-report.html")
    page = Path(html["path"]).read_text(encoding="utf-8")
    # the report file is in the workspace's language (zh-CN here)
    assert "到达人数：计划与实际" in page and "40 名学员中有 40 名到达" in page
    # the console says it too, in Chinese and in English
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="vera", kind="user", role="viewer")
    client = TestClient(app)
    gap = arrivals["max_deviation_pct"]
    zh = client.get("/loadtest", headers={"accept-language": "zh-CN"}).text
    assert f"40 名学员中有 40 名到达；实际到达与计划时间表的最大偏差为学员总数的 {gap}%" in zh
    en = client.get("/loadtest", headers={"accept-language": "en"}).text
    assert f"Join storm: 40 of 40 learners arrived; the largest gap from the planned schedule was {gap}%" in en
