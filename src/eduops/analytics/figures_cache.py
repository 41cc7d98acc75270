"""Console figures kept while the event store is unchanged, so a page view does not recompute them.

A page asks ``FiguresCache.get(store, key, compute)``: the figures computed for ``key`` are answered again
while the store has committed nothing since (``DuckDBStore.settled_generation``, which first loads what
is acknowledged) and they are younger than ``FRESH_S`` (the metrics end at the newest event or today, so
time alone changes them slowly). Any new statement or voiding makes the next view compute them again, so
a page never shows figures the store no longer has. Other backends (ClickHouse, a remote server) answer
every view themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from eduops.analytics.store import DuckDBStore
from eduops.core.kept import Kept

FRESH_S = 300.0
KEPT = 128  # keys kept; the least recently computed goes first


class FiguresCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._kept = Kept(KEPT, clock)

    def get(self, store: Any, key: Hashable, compute: Callable[[], Any], also: Hashable = None) -> Any:
        """``also``: the version of anything else the figures read (``file_stamp`` of another store)."""
        if not isinstance(store, DuckDBStore):
            return compute()
        return self._kept.get(key, (store.settled_generation(), also), FRESH_S, compute)


def file_stamp(path: Path) -> tuple[int, ...]:
    """Size and modification time of a DuckDB file and its write-ahead log: changes with every commit."""
    stamp: list[int] = []
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            st = candidate.stat()
            stamp += [st.st_size, st.st_mtime_ns]
        except OSError:
            stamp += [-1, -1]
    return tuple(stamp)
