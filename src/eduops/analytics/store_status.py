"""What the event store is doing: statements stored, statements waiting in the ingest journal, and the filter
keys of statements still being indexed (after an upgrade, the postings are built in the background)."""

from __future__ import annotations

from typing import Any

from eduops.analytics import ingest_pool
from eduops.analytics.remote import RemoteStore
from eduops.analytics.store import DuckDBStore, Store
from eduops.core.i18n import Msg, msg


def store_status(store: Store) -> dict[str, Any]:
    """``statements``, ``backlog`` (journalled, not yet loaded), ``indexing`` ({posted, of} or None), errors, and
    in a server running ingest helpers ``ingest_helpers`` ({configured, running, ready})."""
    if isinstance(store, RemoteStore):
        return store.status()
    found: dict[str, Any] = {"location": store.location, "backend": "duckdb" if isinstance(store, DuckDBStore)
                             else "clickhouse", "statements": int(store.query("SELECT count(*) FROM statements")[0][0]),
                             "backlog": 0, "indexing": None, "load_error": None, "index_error": None}
    if isinstance(store, DuckDBStore):
        helpers = ingest_pool.active()
        if helpers is not None:  # `eduops serve`'s helper processes for POST /xapi/statements
            found["ingest_helpers"] = helpers.status()
        progress = store.indexing()
        found.update(backlog=store.backlog, load_error=store.load_error, index_error=store.index_error,
                     indexing={"posted": progress[0], "of": progress[1]} if progress else None)
    return found


def summary(status: dict[str, Any]) -> Msg:
    """One line for a person: the indexing progress while it runs, else what is stored."""
    indexing = status.get("indexing")
    if indexing:
        return msg("indexing statements: {posted} of {of} (queries scan the rest meanwhile)",
                   posted=indexing["posted"], of=indexing["of"])
    if status.get("backlog"):
        return msg("{statements} statements stored, {backlog} more being loaded from the journal",
                   statements=status["statements"], backlog=status["backlog"])
    return msg("{statements} statements stored, all indexed", statements=status["statements"])
