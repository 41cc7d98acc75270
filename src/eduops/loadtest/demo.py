"""The load-test share of the demo: the demo platform keeps running (on the console's port + 1); a small
live-class join storm (planned against actual arrivals, then heartbeats) and a capacity search, both measured
against it for real and scaled down, sit on the calendar as last week's rehearsal and pre-term load test."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eduops.alerting.models import MetricSample, MetricSeries
from eduops.config import TaskOverride
from eduops.core.demo import DemoContext
from eduops.core.models import CheckRun, Run
from eduops.core.runs import run_task
from eduops.db import session_scope
from eduops.demo.platform import serve_platform

CAPACITY, SERVICE_MS = 2, 25.0  # ~80 req/s: the knee comes with a few dozen students
SEARCH = {"scenario": "browse", "mode": "capacity", "start_users": 5, "step_users": 10, "max_users": 125,
          "step_seconds": 2.0, "spawn_rate": 100, "think_min_s": 0.05, "think_max_s": 0.15, "target_users": 50}
# 50 learners join within 4 s, then beat every 2 s: ~50 req/s, under the platform's ~80
STORM = {"scenario": "join-storm", "mode": "fixed", "users": 50, "join_seconds": 4, "heartbeat_seconds": 2,
         "duration": 6}
STORM_COMMAND = "eduops loadtest run join-storm --users 200 --join-seconds 10 --heartbeat-seconds 5 --duration 30s"


def populate(demo: DemoContext) -> None:
    demo.progress("starting the demo platform", 0.05)
    try:
        url, stop = serve_platform(port=demo.platform_port, capacity=CAPACITY, service_ms=SERVICE_MS)
    except OSError:
        url, stop = serve_platform(port=0, capacity=CAPACITY, service_ms=SERVICE_MS)
    demo.stoppers.append(stop)
    demo.shared["platform_url"] = url
    settings = demo.ws.settings
    if settings.model_extra is not None:
        settings.model_extra.setdefault("loadtest", {})["host"] = url
    if settings.config_file and settings.config_file.exists():
        with settings.config_file.open("a", encoding="utf-8") as fh:
            fh.write(f'\n# The demo platform `eduops demo` serves (students log in with the password "demo").\n'
                     f'[loadtest]\nhost = "{url}"\nusers = 30\nduration_seconds = 30\n'
                     "think_min_seconds = 0.1\nthink_max_seconds = 0.5\n"
                     "[loadtest.capacity]\nscenario = \"browse\"\nmax_users = 125\nstep_users = 10\n"
                     "start_users = 5\nstep_seconds = 5\ntarget_users = 50\n")
    demo.notes["loadtest"] = (f"demo platform on {url} (any student name, password 'demo'); try "
                              "`eduops loadtest run browse --capacity`, `eduops loadtest run live-class-spike` "
                              f"or a join storm: `{STORM_COMMAND}`")
    demo.progress("a small join storm against the demo platform", 0.05)
    storm_id = _measure(demo, {**STORM, "host": url}, 0.05, 0.3)
    _move_back(demo, storm_id, timedelta(days=8, hours=3))  # the live-class rehearsal, before the search
    demo.progress("a capacity search against the demo platform", 0.3)
    _move_back(demo, _measure(demo, {**SEARCH, "host": url}, 0.3, 0.95), timedelta(days=7, hours=2))
    demo.progress("done", 1.0)


def _measure(demo: DemoContext, params: dict[str, object], start: float, end: float) -> int:
    """Run the `load-test` task with ``params`` against the demo platform; returns its run id."""
    settings = demo.ws.settings
    base = settings.tasks.get("load-test") or TaskOverride.model_validate({})
    settings.tasks["load-test"] = base.model_copy(update={"params": {"loadtest.capacity": params}})
    try:
        return run_task(demo.ws.engine, settings, "load-test", actor="demo",
                        progress=lambda message, fraction: demo.progress(message, start + (end - start) * fraction))
    finally:
        settings.tasks["load-test"] = base


def _move_back(demo: DemoContext, run_id: int, ago: timedelta) -> None:
    """Place the measured run on the calendar ``ago`` before now, as a test the team ran then."""
    with session_scope(demo.ws.engine) as session:
        run = session.get(Run, run_id)
        if run is None or run.finished_at is None:
            return
        shift = run.started_at - (demo.now - ago)
        started = run.started_at
        run.started_at, run.finished_at = run.started_at - shift, run.finished_at - shift
        run.heartbeat_at = run.finished_at
        for check in session.scalars(sa.select(CheckRun).where(CheckRun.run_id == run_id)):
            check.started_at = check.started_at - shift
        loadtest_series = sa.select(MetricSeries.id).where(MetricSeries.name.like("loadtest_%"))
        for sample in session.scalars(sa.select(MetricSample).where(MetricSample.series_id.in_(loadtest_series),
                                                                     MetricSample.ts >= started)):
            sample.ts = sample.ts - shift
