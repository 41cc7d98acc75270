"""Console figures are reused while the event store is unchanged and computed again after any write."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.analytics.helpers import HOME, day, statement

from eduops.analytics import lrs
from eduops.analytics.figures_cache import FiguresCache
from eduops.analytics.store import DuckDBStore

AUTHORITY = {"objectType": "Agent", "account": {"homePage": HOME, "name": "lms-key"}}


def test_figures_are_recomputed_after_a_statement_or_a_voiding_and_reused_otherwise(store: DuckDBStore) -> None:
    now = [0.0]
    cache, computed = FiguresCache(clock=lambda: now[0]), []

    def count() -> int:
        computed.append(1)
        return int(store.query("SELECT count(*) FROM statements WHERE NOT voided")[0][0])

    (first,) = lrs.store_statements(store, [statement("ann", "launched", day(0))], AUTHORITY,
                                    now=datetime(2026, 3, 20, tzinfo=UTC))
    assert cache.get(store, "n", count) == 1
    assert cache.get(store, "n", count) == 1 and len(computed) == 1
    lrs.store_statements(store, [statement("bob", "launched", day(1))], AUTHORITY)  # journalled, not yet loaded
    assert cache.get(store, "n", count) == 2
    lrs.store_statements(store, [{"actor": {"mbox": "mailto:t@example.edu"},
                                  "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                                  "object": {"objectType": "StatementRef", "id": first}}], AUTHORITY)
    assert cache.get(store, "n", count) == 2  # the voiding statement counts, the voided one no longer
    assert len(computed) == 3
    now[0] += 301  # figures that end "today" are computed again after a while even without writes
    assert cache.get(store, "n", count) == 2 and len(computed) == 4
