"""Requests recorded into Locust's statistics in batches; imported only inside the Locust child process.

Locust's own request path (``FastHttpSession.request``) costs more Python per request than the HTTP
exchange itself: URL parsing, header dictionaries, a response wrapper, an event fired to every
listener, two ``StatsEntry.log`` calls. A throughput scenario (no think time) spends the generator's
core there. ``Batch`` keeps each response time in a list and hands Locust one ``StatsEntry`` per batch
(``StatsEntry.extend``, the way a master folds in its workers' reports), so Locust's totals,
percentiles, per-second counts and the ticks read from them hold every request all the same.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from locust.stats import RequestStats, StatsEntry, bucket_response_time

FLUSH_EVERY_S = 0.25  # a batch reaches Locust's stats at least this often
FLUSH_EVERY_N = 256


def batch_entry(stats: RequestStats, method: str, name: str, times_ms: list[float], content_length: int,
                now: float) -> StatsEntry:
    """One ``StatsEntry`` holding ``times_ms`` (the batch's response times) as if each had been logged at ``now``."""
    entry = StatsEntry(stats, name, method)
    entry.num_requests = len(times_ms)
    # Locust annotates times as int but logs FastHttpSession's float milliseconds as they are; so does this
    entry.total_response_time = sum(times_ms)  # type: ignore[assignment,arg-type]
    entry.min_response_time = min(times_ms)  # type: ignore[assignment]
    entry.max_response_time = max(times_ms)  # type: ignore[assignment]
    entry.total_content_length = content_length
    entry.last_request_timestamp = now
    entry.num_reqs_per_sec = {int(now): len(times_ms)}
    buckets: dict[int, int] = {}
    for ms in times_ms:
        key = bucket_response_time(ms)
        buckets[key] = buckets.get(key, 0) + 1
    entry.response_times = buckets
    return entry


_open: weakref.WeakSet[Batch] = weakref.WeakSet()


class Batch:
    """The responses of one request name (method + name) since the last flush."""

    def __init__(self, stats: RequestStats, method: str, name: str) -> None:
        self.stats, self.method, self.name = stats, method, name
        self.times: list[float] = []
        self.content_length = 0
        self.due = time.perf_counter() + FLUSH_EVERY_S
        stats.get(name, method)  # the entry starts counting its seconds now, as Locust's first log would
        _open.add(self)

    def ok(self, started: float, ended: float, content_length: int) -> None:
        """A response between ``started`` and ``ended`` (``time.perf_counter`` seconds)."""
        self.times.append((ended - started) * 1000.0)
        self.content_length += content_length
        if ended >= self.due or len(self.times) >= FLUSH_EVERY_N:
            self.flush()

    def failed(self, started: float, ended: float, error: Any) -> None:
        """A request that failed: counted with its time, and its error logged as Locust logs errors."""
        self.times.append((ended - started) * 1000.0)
        self.flush()
        self.stats.log_error(self.method, self.name, error)

    def flush(self) -> None:
        self.due = time.perf_counter() + FLUSH_EVERY_S
        if not self.times:
            return
        entry = batch_entry(self.stats, self.method, self.name, self.times, self.content_length, time.time())
        self.times, self.content_length = [], 0
        self.stats.total.extend(entry)
        self.stats.get(self.name, self.method).extend(entry)


def flush_all() -> None:
    """Hand every open batch to Locust's stats (before a tick is read, a report is sent, the test ends)."""
    for batch in list(_open):
        batch.flush()
