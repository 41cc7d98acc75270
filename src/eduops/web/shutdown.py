"""What `eduops serve` does after SIGTERM, once uvicorn has stopped taking requests, and what it says.

1. Requests in flight: uvicorn lets them finish for ``shutdown_timeout_seconds`` (an xAPI batch that was
   answered 2xx is in the fsynced ingest journal already; one cut off got no answer and the client retries).
2. Background work (collectors, rule evaluation, deliveries) stops after its current step; a notification
   not yet sent goes out from the next leader (the notification log records only what was sent).
3. Runs this process is executing get ``shutdown_timeout_seconds`` to finish; those that do not are recorded
   as ``interrupted`` at once (their scheduled slot runs again at the next start).
4. The event store loads its journal into DuckDB and closes; what it cannot load stays journalled and is
   loaded at the next start.
Each step prints one line (journald keeps them), ending with how long stopping took.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from eduops.core.runs import interrupt_own, running_here

Say = Callable[[str], None]


def finish_runs(engine: Engine, timeout_s: float, say: Say, poll_s: float = 0.2) -> tuple[list[int], list[int]]:
    """Wait up to ``timeout_s`` for this process's runs; record the rest as interrupted. (finished, interrupted)"""
    started = running_here(engine)
    if not started:
        return [], []
    say(f"waiting up to {timeout_s:.0f} s for {len(started)} run(s): "
        + ", ".join(f"#{i} {k}" for i, k in started))
    deadline = time.monotonic() + timeout_s
    left = started
    while left and time.monotonic() < deadline:
        time.sleep(min(poll_s, max(deadline - time.monotonic(), 0)))
        left = running_here(engine)
    still = {i for i, _k in left}
    finished = [i for i, _k in started if i not in still]
    for i, key in started:
        if i in still:
            say(f"run #{i} ({key}) did not finish within {timeout_s:.0f} s: recorded as interrupted; "
                "a scheduled run goes again at the next start")
        else:
            say(f"run #{i} ({key}) finished")
    if still:
        interrupt_own(engine, sorted(still), f"eduops was stopped (SIGTERM) and the run did not finish within "
                                             f"{timeout_s:.0f} s (shutdown_timeout_seconds)")
    return finished, sorted(still)


def close_event_store(say: Say) -> None:
    """Load what the ingest journal holds into DuckDB and close the store, saying how much."""
    from eduops.analytics.store import close_stores, open_duckdb_stores

    stores = open_duckdb_stores()
    backlog = sum(s.backlog for s in stores)
    close_stores()
    left = sum(s.backlog for s in stores)
    if stores:
        say(f"event store: {backlog - left} journalled statement(s) loaded into DuckDB and closed"
            + (f"; {left} stay in the journal and are loaded at the next start" if left else ""))
