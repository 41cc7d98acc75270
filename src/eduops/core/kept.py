"""Values kept while what they were computed from is unchanged: the console's figure caches.

``Kept.get(key, version, fresh_s, compute)`` answers the value computed for ``key`` again while ``version``
(whatever changes with the data it read: a store's generation, its newest row id) is the one it was computed
with and it is younger than ``fresh_s``; otherwise it computes and keeps it. At most ``kept`` keys are kept;
the least recently computed goes first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class Kept:
    def __init__(self, kept: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.kept = kept
        self.clock = clock
        self._entries: dict[Hashable, tuple[Hashable, float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable, fresh_s: float, compute: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] == version and self.clock() - entry[1] < fresh_s:
            return entry[2]
        at = self.clock()
        value = compute()
        with self._lock:
            self._entries[key] = (version, at, value)
            while len(self._entries) > self.kept:
                del self._entries[min(self._entries, key=lambda k: self._entries[k][1])]
        return value
