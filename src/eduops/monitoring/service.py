"""Running the collectors on their intervals and storing what they measure: the background work
`eduops serve` starts for monitoring (rule evaluation and delivery are alerting's)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from eduops.alerting.metric_store import ingest
from eduops.core.checks import Measurement
from eduops.core.leader import run_while_leading
from eduops.monitoring.collectors import collect_http, collect_tcp
from eduops.monitoring.db_probe import collect_database
from eduops.monitoring.host import collect_host
from eduops.monitoring.logscan import OffsetStore, compile_patterns, expand, scan_file
from eduops.monitoring.scrape import Scraper
from eduops.monitoring.settings import MonitoringSettings, monitoring_settings

log = logging.getLogger(__name__)


@dataclass
class Job:
    kind: str
    name: str
    interval: float
    run: Callable[[], tuple[list[Measurement], str]]
    next_at: float = 0.0
    last_error: str = ""
    last_at: float | None = None


@dataclass
class LogRate:
    """Error lines per minute in one log file since the previous collection."""

    path: str
    patterns: list[re.Pattern[str]]
    offsets: OffsetStore
    last: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> tuple[list[Measurement], str]:
        now = time.time()
        with self.lock:
            files = expand([self.path])
            if not files:
                return [], f"no file matches {self.path}"
            matched = 0
            for f in files:
                matched += scan_file(f, self.patterns, self.offsets, None).matched
            self.offsets.save()
            minutes = max((now - self.last) / 60, 1 / 60) if self.last else None
            self.last = now
        if minutes is None:
            return [], ""  # the first read sets the offsets; a rate needs two readings
        return [
            Measurement("log_error_lines_per_min", round(matched / minutes, 3), "lines/min", {"file": self.path}),
            Measurement("log_error_lines", float(matched), "lines", {"file": self.path}),
        ], ""


def host_job(host: str) -> tuple[list[Measurement], str]:
    return collect_host(0.5, host=host), ""


def jobs_for(settings: Any, ms: MonitoringSettings) -> list[Job]:
    import socket

    jobs = []
    if ms.host.enabled:
        host = socket.gethostname()
        jobs.append(Job("host", host, ms.host.interval, partial(host_job, host)))
    jobs += [Job("http", c.name, c.interval, partial(collect_http, c)) for c in ms.http]
    jobs += [Job("tcp", c.name, c.interval, partial(collect_tcp, c)) for c in ms.tcp]
    jobs += [Job("db", c.name, c.interval, partial(collect_database, c)) for c in ms.databases]
    jobs += [Job("scrape", c.name, c.interval, Scraper(c, settings.home)) for c in ms.scrape]
    for c in ms.logs:
        rate = LogRate(
            c.path,
            compile_patterns(c.patterns),
            OffsetStore(settings.home / "monitoring" / f"rate_offsets_{c.name}.json"),
        )
        jobs.append(Job("logs", c.name, c.interval, rate))
    return jobs


class Collectors:
    """Runs every due job on a small thread pool and stores what it measures."""

    def __init__(self, engine: Any, jobs: list[Job], workers: int = 4) -> None:
        self.engine, self.jobs = engine, jobs
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collector")
        self.running: set[str] = set()
        self.lock = threading.Lock()

    def tick(self, now: float) -> None:
        for job in self.jobs:
            key = f"{job.kind}:{job.name}"
            with self.lock:
                if job.next_at > now or key in self.running:
                    continue
                self.running.add(key)
                job.next_at = now + job.interval
            self.pool.submit(self.run_one, job, key)

    def run_one(self, job: Job, key: str) -> list[Measurement]:
        try:
            measurements, error = job.run()
            job.last_error, job.last_at = error, time.time()
            ts = datetime.now(UTC)
            ingest(self.engine, [(m.name, {k: str(v) for k, v in m.labels.items()}, m.value, ts) for m in measurements])
            if error:
                log.info("%s %s: %s", job.kind, job.name, error)
            return measurements
        except Exception as exc:  # a broken collector is reported, the others go on
            job.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("collector %s failed: %s", key, job.last_error)
            return []
        finally:
            with self.lock:
                self.running.discard(key)

    def stop(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def replace_jobs(self, jobs: list[Job]) -> None:
        """New jobs (after a reload); a job that stays keeps its schedule and last result."""
        with self.lock:
            old = {(j.kind, j.name): j for j in self.jobs}
            for job in jobs:
                before = old.get((job.kind, job.name))
                if before is not None:
                    job.next_at, job.last_error, job.last_at = before.next_at, before.last_error, before.last_at
            self.jobs = jobs


class CollectorWork:
    """The leading process runs the collectors whose interval has come."""

    def __init__(self, collectors: Collectors) -> None:
        self.collectors = collectors

    def lead(self) -> None:
        pass

    def tick(self, now: float) -> None:
        self.collectors.tick(now)

    def stop(self) -> None:
        self.collectors.stop()


def start_background(ws: Any, period: float = 1.0) -> Callable[[], None]:
    """Run the collectors on their intervals until stop().

    With several `eduops serve` processes on one state database only the one leading "monitoring"
    collects; another takes over when it stops.
    """
    from eduops.alerting.reload import register

    collectors = Collectors(ws.engine, jobs_for(ws.settings, monitoring_settings(ws.settings)))
    stop = run_while_leading(ws.engine, ws.settings.home, "monitoring", CollectorWork(collectors), period)

    def prepare_reload(new_settings: Any) -> Callable[[], None]:
        jobs = jobs_for(new_settings, monitoring_settings(new_settings))  # a bad section refuses the reload
        return lambda: collectors.replace_jobs(jobs)

    unregister = register(ws, "monitoring", prepare_reload)

    def stopper() -> None:
        unregister()
        stop()

    return stopper
