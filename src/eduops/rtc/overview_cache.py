"""The /rtc console page's figures, computed in the background and kept until the store changes.

The page shows five things over a window that ends now: the week-over-week trend, the worst segments,
one breakdown, the province × hour heat map and the AI-tutor latencies. Each is its function in
``breakdowns.py`` / ``aitutor.py`` (the figures are defined once, there); together they take seconds on a
busy store because the trend and the breakdown take percentiles over raw samples. So a page is answered
from figures computed for the same choice (days, dimension, metric):

- while the store is unchanged (its file and write-ahead log keep their size and time) and the figures are
  younger than ``FRESH_S``, as they are;
- when the store changed or they are older, still as they are while younger than ``STALE_S``, and a
  background thread computes them again (one at a time per choice);
- else (never computed, or too old) they are computed before the answer.

``Refresher`` keeps the default choice warm: every ``EVERY_S`` it computes it again when the store changed
or the figures passed ``FRESH_S``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from eduops.analytics.figures_cache import file_stamp
from eduops.db import utcnow
from eduops.rtc.aitutor import latency_by_model, load_turns
from eduops.rtc.breakdowns import Window, breakdown, heatmap, week_over_week, worst_segments

log = logging.getLogger(__name__)
FRESH_S = 300.0
KEPT = 64  # choices kept; the least recently computed goes first
STALE_S = 600.0
EVERY_S = 15.0
DEFAULT = (7.0, "province", "poor_pct")
Choice = tuple[float, str, str]


def figures(store: Any, days: float, dimension: str, metric: str, end: datetime) -> dict[str, Any]:
    """Everything the page shows for the window of ``days`` to ``end`` (as the page computed it before)."""
    window = Window(end - timedelta(days=days), end)
    return {
        "trend": week_over_week(store, window.end)["metrics"],
        "worst": worst_segments(store, window, limit=10),
        "rows": breakdown(store, dimension, window),
        "heatmap": heatmap(store, window, metric),
        "tutor": latency_by_model(load_turns(store, window.start, window.end)),
        "as_of": end,
    }


def store_version(store: Any) -> tuple[int, ...]:
    """Changes whenever the store commits a write: size and time of its file and write-ahead log."""
    return file_stamp(Path(getattr(store, "path", "")))


@dataclass
class _Entry:
    version: tuple[int, ...]
    at: float
    data: dict[str, Any]


@dataclass
class OverviewCache:
    """Figures per choice; ``compute`` is ``figures`` (a test may count its calls)."""

    compute: Callable[..., dict[str, Any]] = figures
    clock: Callable[[], float] = time.monotonic
    entries: dict[Choice, _Entry] = field(default_factory=dict)
    _busy: set[Choice] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, store: Any, choice: Choice) -> dict[str, Any]:
        version = store_version(store)
        entry = self.entries.get(choice)
        if entry is not None:
            age = self.clock() - entry.at
            if entry.version == version and age < FRESH_S:
                return entry.data
            if age < STALE_S:
                self.refresh_later(store, choice)
                return entry.data
        return self.refresh(store, choice)

    def refresh(self, store: Any, choice: Choice) -> dict[str, Any]:
        version = store_version(store)  # before computing: a write meanwhile makes the result stale
        at = self.clock()
        data = self.compute(store, *choice, end=utcnow())
        with self._lock:
            self.entries[choice] = _Entry(version, at, data)
            while len(self.entries) > KEPT:
                del self.entries[min(self.entries, key=lambda c: self.entries[c].at)]
        return data

    def refresh_later(self, store: Any, choice: Choice) -> None:
        with self._lock:
            if choice in self._busy:
                return
            self._busy.add(choice)

        def run() -> None:
            try:
                self.refresh(store, choice)
            except Exception as exc:  # noqa: BLE001 - the page computes them itself next time
                log.warning("computing the /rtc figures in the background failed: %s", exc)
            finally:
                with self._lock:
                    self._busy.discard(choice)

        threading.Thread(target=run, name="rtc-overview-refresh", daemon=True).start()

    def due(self, store: Any, choice: Choice) -> bool:
        entry = self.entries.get(choice)
        return entry is None or entry.version != store_version(store) or self.clock() - entry.at >= FRESH_S


class Refresher:
    """Keeps the default choice's figures current while the console runs."""

    def __init__(self, cache: OverviewCache, open_store: Callable[[], Any]) -> None:
        self.cache, self.open_store = cache, open_store
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtc-overview", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(EVERY_S):
            try:
                store = self.open_store()
                if self.cache.due(store, DEFAULT):
                    self.cache.refresh(store, DEFAULT)
            except Exception as exc:  # noqa: BLE001 - tried again next time; the page computes on its own
                log.warning("keeping the /rtc figures current failed: %s", exc)
