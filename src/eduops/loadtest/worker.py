"""The Locust child process: ``python -m eduops.loadtest.worker SPEC.json``.

Runs one local runner, a master or a worker, and (local and master) prints one JSON line per second
(``{"type": "tick", ...}``) and a last ``{"type": "final", ...}``. SIGINT/SIGTERM end the test early.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import locust.runners  # noqa: E402
from locust import events  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.stats import RequestStats  # noqa: E402

from eduops.loadtest import batching, locustfile  # noqa: E402
from eduops.loadtest.analysis import percentile  # noqa: E402
from eduops.loadtest.shapes import Shape, step_index, target  # noqa: E402

locust.runners.WORKER_REPORT_INTERVAL = 1.0
_stop = {"requested": False}
STOPPED = locust.runners.STATE_STOPPED


class Window:
    """Requests since the last tick, read off Locust's own stats once a tick: count, failures, the latency
    histogram (Locust's buckets, ``analysis.bucket_ms``) and error messages. Nothing of ours runs per
    request; a master's stats already hold its workers' reports."""

    def __init__(self, stats: RequestStats) -> None:
        self.stats = stats
        self.requests, self.failures = 0, 0
        self.hist: dict[int, int] = {}
        self.errors: dict[str, int] = {}

    def take(self) -> dict[str, Any]:
        batching.flush_all()
        total = self.stats.total
        if total.num_requests < self.requests:  # the stats were reset: count from zero
            self.requests, self.failures, self.hist, self.errors = 0, 0, {}, {}
        hist = {int(k): v - self.hist.get(int(k), 0) for k, v in total.response_times.items()}
        errors = {f"{e.method} {e.name}: {str(e.error)[:160]}": e.occurrences for e in self.stats.errors.values()}
        data = {"requests": total.num_requests - self.requests, "failures": total.num_failures - self.failures,
                "hist": {k: n for k, n in hist.items() if n > 0},
                "errors": {k: n - self.errors.get(k, 0) for k, n in errors.items() if n > self.errors.get(k, 0)}}
        self.requests, self.failures = total.num_requests, total.num_failures
        self.hist = {int(k): v for k, v in total.response_times.items()}
        self.errors = errors
        return data


def emit(kind: str, **data: Any) -> None:
    sys.stdout.write(json.dumps({"type": kind, **data}) + "\n")
    sys.stdout.flush()


def final_stats(env: Environment) -> dict[str, Any]:
    def entry(s: Any) -> dict[str, Any]:
        return {"method": s.method or "", "name": s.name, "requests": s.num_requests, "failures": s.num_failures,
                "avg_ms": round(s.avg_response_time, 1), "p50_ms": s.get_response_time_percentile(0.5),
                "p95_ms": s.get_response_time_percentile(0.95), "p99_ms": s.get_response_time_percentile(0.99),
                "max_ms": round(s.max_response_time or 0, 1), "rps": round(s.total_rps, 2)}

    return {"total": entry(env.stats.total),
            "endpoints": [entry(s) for s in sorted(env.stats.entries.values(), key=lambda s: s.name)],
            "errors": [{"method": e.method, "name": e.name, "error": str(e.error), "count": e.occurrences}
                       for e in env.stats.errors.values()]}


def main(spec: dict[str, Any]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    locustfile.CONFIG.update(spec["config"])
    mode = spec.get("mode", "local")
    shape = Shape(**spec["shape"])
    user_class = getattr(locustfile, spec["user_class"])
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: _stop.update(requested=True))

    if mode == "worker":
        env = Environment(user_classes=[user_class], host=spec["host"], events=events)
        events.report_to_master.add_listener(lambda client_id, data: batching.flush_all())  # before Locust's
        runner: Any = env.create_worker_runner(spec["master_host"], int(spec["master_port"]))
        done = gevent.spawn(runner.greenlet.join)  # ends when the master says quit
        while not done.ready() and not _stop["requested"]:
            gevent.sleep(0.2)
        runner.quit()
        return 0

    env = Environment(user_classes=[user_class], host=spec["host"], events=events,
                      shape_class=locustfile.EduopsShape(shape))
    if mode == "master":
        runner = env.create_master_runner("127.0.0.1", int(spec["master_port"]))
        deadline = time.monotonic() + float(spec.get("connect_timeout_s", 30))
        while len(runner.clients.ready) < int(spec["expect_workers"]):
            if time.monotonic() > deadline or _stop["requested"]:
                emit("error", message=f"only {len(runner.clients.ready)} of {spec['expect_workers']} Locust "
                                      "workers connected")
                runner.quit()
                return 3
            gevent.sleep(0.1)
    else:
        runner = env.create_local_runner()
    window = Window(env.stats)

    tick_s = float(spec.get("tick_s", 1.0))
    emit("start", mode=mode, host=spec["host"], shape=spec["shape"], user_class=spec["user_class"])
    started = last = time.monotonic()
    runner.start_shape()
    gevent.sleep(0.05)
    while not _stop["requested"] and runner.state not in (STOPPED, "quitting"):
        gevent.sleep(max(0.0, tick_s - (time.monotonic() - last)))
        now = time.monotonic()
        t, dt, last = now - started, now - last, now
        data = window.take()
        wanted = target(shape, t)
        tick = {"t": round(t, 3), "dt": round(dt, 3), "users": runner.user_count,
                "target": wanted[0] if wanted else 0, **data,
                "rps": round(data["requests"] / dt, 2) if dt > 0 else 0.0,
                "p50": percentile(data["hist"], 0.5), "p95": percentile(data["hist"], 0.95),
                "p99": percentile(data["hist"], 0.99)}
        if shape.kind == "step":
            tick["step"] = step_index(shape, t)
        if spec.get("config", {}).get("arrival_rate"):
            tick["in_flight"] = locustfile.ArrivalUser.in_flight
        if spec.get("config", {}).get("storm") and locustfile.STORM["started"]:
            tick.update(storm_t=round(now - locustfile.STORM["started"], 3), arrivals=locustfile.STORM["arrivals"],
                        heartbeats=locustfile.STORM["heartbeats"])
        emit("tick", **tick)
    stopped_early = _stop["requested"]
    runner.quit()
    gevent.sleep(0.2 if mode == "local" else 1.5)  # workers send their last report
    batching.flush_all()
    usage = resource.getrusage(resource.RUSAGE_SELF)  # this process's CPU: what generating the load cost
    emit("final", stopped_early=stopped_early, duration_s=round(time.monotonic() - started, 2),
         cpu_s=round(usage.ru_utime + usage.ru_stime, 2), **final_stats(env))
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(Path(sys.argv[1]).read_text())))
