"""`eduops upgrade` for the event store: index the filter keys of statements stored without them in the
foreground, with a progress bar, instead of in the background after the server starts."""

from __future__ import annotations

import time
from collections.abc import Callable

from eduops.analytics.settings import analytics_settings
from eduops.analytics.store import DuckDBStore, close_store, events_settings, store_path
from eduops.config import Settings
from eduops.core.i18n import Msg, msg


def upgrade(settings: Settings, progress: Callable[[str, float], None]) -> list[Msg]:
    """Post every statement's filter keys now (the server is stopped: this process holds the store)."""
    path = store_path(settings)
    if events_settings(settings).backend != "duckdb" or not path.exists():
        return []
    close_store(settings)  # this process's own copy, if it opened one: the indexing below holds the file
    # opened without the background indexer, so what is indexed here is counted here
    store = DuckDBStore(path, course_prefixes=tuple(analytics_settings(settings).course_prefixes),
                        index_in_background=False)
    started, posted = time.perf_counter(), 0

    def step(done: int, of: int) -> None:
        nonlocal posted
        posted = of
        progress(f"indexing statements: {done:,} of {of:,}", done / of if of else 1.0)

    try:
        store.post_keys(step)
    finally:
        store.close()
    if not posted:
        return [msg("event store {path}: every statement already indexed", path=str(path))]
    return [msg("event store {path}: filter keys of {count} statements indexed in {seconds} s", path=str(path),
                count=posted, seconds=round(time.perf_counter() - started, 1))]
