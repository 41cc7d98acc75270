"""Planning and running a load test or a capacity search, and judging it against the scenario's SLO."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from eduops.config import Settings
from eduops.core.processes import pid_alive
from eduops.errors import ServiceUnavailable, UsageError
from eduops.loadtest.analysis import SLO, broke_at, find_knee, judge, steps_of, window
from eduops.loadtest.report import write_report
from eduops.loadtest.runner import LoadSpec, run_load
from eduops.loadtest.scenarios import Scenario, get_scenario, scaled_users, slo_for
from eduops.loadtest.settings import LoadtestSettings
from eduops.loadtest.shapes import KINDS, Shape, capacity_shape, make_shape
from eduops.loadtest.storm import Storm, arrival_report, make_storm

Progress = Callable[[str, float], None]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$")


def parse_duration(text: str | float) -> float:
    """'90', '90s', '5m', '1.5h' → seconds."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(text)
        if not match:
            raise UsageError(f"duration {text!r} is not understood; write e.g. 30s, 5m or 1h")
        seconds = float(match.group(1)) * {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[match.group(2) or "s"]
    if seconds <= 0:
        raise UsageError(f"duration {text!r} must be more than zero")
    return seconds


def reachable(host: str) -> None:
    """ServiceUnavailable when nothing answers at ``host`` (a load test against it would only measure that)."""
    import httpx

    try:
        httpx.get(host, timeout=5.0)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(f"the platform at {host} does not answer ({exc}); start it, or point "
                                 "[loadtest] host (or --host) at it") from None


def loadtest_settings(settings: Settings) -> LoadtestSettings:
    return settings.section("loadtest", LoadtestSettings)


HOST = socket.gethostname()


@dataclass
class TestPlan:
    scenario: Scenario
    host: str
    mode: str  # "fixed" or "capacity"
    shape: Shape
    slo: SLO
    think: tuple[float, float]
    workers: int
    arrival_rate: float = 0.0
    target_users: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario.key, "title": self.scenario.title, "host": self.host, "mode": self.mode,
                "shape": self.shape.to_dict(), "slo": {"p95_ms": self.slo.p95_ms,
                                                       "error_rate_pct": self.slo.error_rate_pct},
                "think_s": list(self.think), "workers": self.workers, "arrival_rate": self.arrival_rate,
                "target_users": self.target_users,
                "users": self.shape.users, "nominal_users": self.scenario.nominal_users}


def plan_test(lt: LoadtestSettings, params: dict[str, Any]) -> TestPlan:
    """A test from the [loadtest] settings and the run's parameters (scenario, mode, users, duration, ...)."""
    known = {"scenario", "mode", "users", "spawn_rate", "duration", "host", "shape", "arrival_rate", "workers",
             "think_min_s", "think_max_s", "target_users", "p95_ms", "error_rate_pct", "start_users", "step_users",
             "max_users", "step_seconds", "join_seconds", "heartbeat_seconds"}
    unknown = set(params) - known
    if unknown:
        raise UsageError(f"unknown load-test parameters {sorted(unknown)}; known: {', '.join(sorted(known))}")
    mode = str(params.get("mode", "capacity"))
    if mode not in ("fixed", "capacity"):
        raise UsageError(f"mode {mode!r}: use 'fixed' (one load, judged by the SLO) or 'capacity' (find the knee)")
    scenario = get_scenario(str(params.get("scenario") or lt.capacity.scenario))
    spawn_rate = float(params.get("spawn_rate") or lt.spawn_rate)
    if scenario.shape == "storm" or params.get("shape") == "storm":
        return _plan_storm(lt, params, scenario, mode)
    if mode == "capacity":
        cap = lt.capacity
        shape = capacity_shape(int(params.get("start_users") or cap.start_users),
                               int(params.get("step_users") or cap.step_users),
                               int(params.get("max_users") or params.get("users") or cap.max_users),
                               float(params.get("step_seconds") or cap.step_seconds), spawn_rate)
    else:
        kind = str(params.get("shape") or scenario.shape)
        if kind not in KINDS:
            raise UsageError(f"unknown load shape {kind!r}; use one of {', '.join(KINDS)}")
        users = int(params.get("users") or min(lt.users, scaled_users(scenario, lt)))
        shape = make_shape(kind, users, parse_duration(params.get("duration") or lt.duration_seconds), spawn_rate)
    think = (float(params.get("think_min_s", lt.think_min_seconds)),
             float(params.get("think_max_s", lt.think_max_seconds)))
    if think[0] > think[1]:
        raise UsageError("think_min_seconds must not be more than think_max_seconds")
    host = str(params.get("host") or lt.host).rstrip("/")
    if not host.startswith(("http://", "https://")):
        raise UsageError(f"host {host!r} must be an http:// or https:// URL")
    slo = slo_for(scenario, lt)
    slo = SLO(float(params.get("p95_ms") or slo.p95_ms), float(params.get("error_rate_pct", slo.error_rate_pct)))
    return TestPlan(scenario, host, mode, shape, slo, think,
                    int(params.get("workers", lt.workers) or 0), float(params.get("arrival_rate") or 0),
                    int(params.get("target_users") or lt.capacity.target_users) if mode == "capacity" else 0)


def _plan_storm(lt: LoadtestSettings, params: dict[str, Any], scenario: Scenario, mode: str) -> TestPlan:
    """The join storm: a fixed schedule of arrivals and heartbeats from one generator process."""
    if mode != "fixed" or params.get("arrival_rate") or int(params.get("workers") or 0):
        raise UsageError("the join storm is one fixed schedule from one generator process: run it without "
                         "--capacity, --arrival-rate and --workers")
    if scenario.shape != "storm":
        raise UsageError(f"shape 'storm' belongs to the join-storm scenario, not {scenario.key!r}")
    duration = params.get("duration")
    storm = make_storm(int(params.get("users") or scenario.nominal_users), float(params.get("join_seconds") or 60),
                       float(params.get("heartbeat_seconds") or 15),
                       parse_duration(duration) if duration is not None else None)
    host = str(params.get("host") or lt.host).rstrip("/")
    if not host.startswith(("http://", "https://")):
        raise UsageError(f"host {host!r} must be an http:// or https:// URL")
    slo = slo_for(scenario, lt)
    slo = SLO(float(params.get("p95_ms") or slo.p95_ms), float(params.get("error_rate_pct", slo.error_rate_pct)))
    shape = make_shape("storm", storm.learners, storm.duration_s, 1.0, join_s=storm.join_s,
                       heartbeat_s=storm.heartbeat_s)
    return TestPlan(scenario, host, "fixed", shape, slo, (0.0, 0.0), 0)


def storm_of(shape: Shape) -> Storm:
    return Storm(shape.users, float(shape.params["join_s"]), float(shape.params["heartbeat_s"]), shape.duration_s)


def _load_spec(plan: TestPlan, lt: LoadtestSettings) -> LoadSpec:
    config: dict[str, Any] = {"paths": lt.all_paths(), "username_prefix": lt.username_prefix,
                              "password": lt.password, "think": list(plan.think), "journey": plan.scenario.user_class}
    if plan.shape.kind == "storm":
        # one generator user fires the schedule; Locust's shape keeps it running to the end (+2 s: the last beats)
        config["storm"] = storm_of(plan.shape).to_dict()
        generator = make_shape("constant", 1, plan.shape.duration_s + 2.0, 1.0)
        return LoadSpec("JoinStormUser", plan.host, generator, config, 0)
    if plan.arrival_rate > 0:
        # open model: a few generator users fire arrivals; the shape sets the arrival rate over time
        config.update(arrival_rate=plan.arrival_rate, arrival_shape=plan.shape.to_dict())
        generators = make_shape("constant", max(1, plan.workers), plan.shape.duration_s, 100.0)
        return LoadSpec("ArrivalUser", plan.host, generators, config, plan.workers)
    return LoadSpec(plan.scenario.user_class, plan.host, plan.shape, config, plan.workers)


def _live(path: Path | None, data: dict[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def live_file(settings: Settings) -> Path:
    return settings.home / "loadtest" / "live.json"


def read_live(path: Path) -> dict[str, Any]:
    """The running (or last) load test as ``live.json`` says, reconciled: a test whose eduops process is gone
    (kill -9, power loss) becomes ``interrupted`` and the Locust processes it left are stopped."""
    try:
        data = dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {"status": "none", "ticks": []}
    if data.get("status") != "running" or data.get("host", HOST) != HOST or pid_alive(data.get("pid")):
        return data
    stopped = stop_leftovers(str(data.get("workdir") or ""))
    data.update(status="interrupted", interrupted_at=time.time(), leftovers_stopped=stopped)
    _live(path, data)
    return data


def stop_leftovers(workdir: str) -> list[int]:
    """Kill the Locust processes (each leads its own session) that were started for ``workdir``."""
    if not workdir:
        return []
    stopped = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if "eduops.loadtest.worker" in cmdline and any(arg.startswith(workdir + os.sep) for arg in cmdline):
            with contextlib.suppress(OSError):
                os.killpg(proc.info["pid"], signal.SIGKILL)
                stopped.append(int(proc.info["pid"]))
    return stopped


def run_test(plan: TestPlan, lt: LoadtestSettings, artifacts_dir: Path, progress: Progress = lambda m, f: None,
             live_path: Path | None = None, lang: str = "en") -> tuple[dict[str, Any], list[Path]]:
    """Run the plan in Locust child processes; returns the summary and the report files (in ``lang``)."""
    started = time.time()
    ticks: list[dict[str, Any]] = []
    if live_path is not None:
        read_live(live_path)  # a test an earlier crash left behind is stopped before this one starts
    live = {"status": "running", "started_at": started, **plan.to_dict(), "ticks": ticks, "pid": os.getpid(),
            "host": HOST, "workdir": str(artifacts_dir / "locust")}

    def on_tick(tick: dict[str, Any]) -> bool:
        ticks.append(tick)
        progress(f"{tick['users']} users · {tick['rps']:.0f} req/s · p95 {tick['p95']:.0f} ms · "
                 f"{tick['failures']} errors", min(tick["t"] / plan.shape.duration_s, 0.99))
        _live(live_path, {**live, "ticks": [{k: v for k, v in t.items() if k not in ("hist", "errors")}
                                            for t in ticks[-600:]]})
        return plan.mode == "capacity" and broke_at(ticks, plan.slo)

    try:
        outcome = run_load(_load_spec(plan, lt), on_tick, artifacts_dir / "locust")
    finally:
        _live(live_path, {**live, "status": "done", "ticks": [
            {k: v for k, v in t.items() if k not in ("hist", "errors")} for t in ticks[-600:]]})
    overall = window(outcome.ticks)
    reasons = judge(overall, plan.slo)
    summary: dict[str, Any] = {
        **plan.to_dict(), "duration_s": round(outcome.final.get("duration_s", 0.0), 1),
        "stopped_early": outcome.stopped_early, "overall": overall.to_dict(),
        "verdict": {"passed": not reasons, "reasons": reasons},
        "endpoints": outcome.final.get("endpoints", []), "errors": outcome.final.get("errors", []),
        "knee": None, "steps": [], "generator_cpu_s": outcome.final.get("cpu_s"),
    }
    if plan.shape.kind == "storm":
        arrivals = arrival_report(storm_of(plan.shape), outcome.ticks)
        summary["arrivals"] = arrivals
        if not arrivals["within_tolerance"]:
            summary["verdict"]["passed"] = False
            summary["verdict"]["reasons"].append(
                f"arrivals strayed {arrivals['max_deviation_pct']}% of the learners from the planned schedule "
                f"(at most {arrivals['tolerance_pct']:g}%); {arrivals['arrived']} of "
                f"{arrivals['storm']['learners']} arrived")
    if plan.mode == "capacity":
        steps = steps_of(outcome.ticks)
        knee = find_knee(steps, plan.slo)
        summary.update(steps=[s.to_dict() for s in steps], knee=knee.to_dict())
        short = knee.capacity_users < plan.target_users
        summary["verdict"] = {"passed": not short, "reasons": [
            f"capacity {knee.capacity_users} users is below the target of {plan.target_users}"] if short else []}
    files = write_report(artifacts_dir, summary, outcome.ticks, lang)
    progress("report written", 1.0)
    return summary, files
