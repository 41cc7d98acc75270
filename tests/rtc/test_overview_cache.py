"""The /rtc page's figures are reused while the store is unchanged, and recomputed (in the background while
the kept ones are recent) once it changed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from eduops.rtc import overview_cache
from eduops.rtc.overview_cache import DEFAULT, OverviewCache


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, store: Any, days: float, dimension: str, metric: str, end: Any) -> dict[str, Any]:
        self.calls += 1
        return {"n": self.calls, "choice": (days, dimension, metric)}


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = time.time_ns() + 10**9 * len(text)  # a clearly different modification time
    os.utime(path, ns=(stamp, stamp))


def test_figures_are_reused_until_the_store_changes_then_recomputed_in_the_background(tmp_path: Path) -> None:
    store = SimpleNamespace(path=tmp_path / "rtc.duckdb")
    _write(store.path, "a")
    now = [1000.0]
    compute = Counting()
    cache = OverviewCache(compute=compute, clock=lambda: now[0])
    assert cache.get(store, DEFAULT)["n"] == 1
    now[0] += 10
    assert cache.get(store, DEFAULT)["n"] == 1 and compute.calls == 1  # unchanged: kept
    assert cache.get(store, (1.0, "isp", "mos")) == {"n": 2, "choice": (1.0, "isp", "mos")}  # another choice
    _write(tmp_path / "rtc.duckdb.wal", "written")
    assert cache.get(store, DEFAULT)["n"] == 1  # changed: the recent figures answer while new ones are computed
    deadline = time.monotonic() + 30
    while cache.entries[DEFAULT].data["n"] == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get(store, DEFAULT)["n"] == 3 and compute.calls == 3
    now[0] += overview_cache.STALE_S
    assert cache.get(store, DEFAULT)["n"] == 4  # too old to show: computed before the answer
