"""The /monitoring charts kept while the embedded metric store has no new sample, so a page view does not
evaluate every panel's range query again (most of the page's time).

A view is answered from the charts computed for the same choice (window, subject, language, timezone) while
the metric store's newest sample and roll-up are the ones they were computed with and they are younger than
one step of the charts (the window ends now: after a step the charts would gain a point). A new sample,
a roll-up or a deletion by retention makes the next view compute them again. A Prometheus-compatible source
(``alerting.prometheus_url``) answers every view itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.alerting import metric_store
from eduops.alerting.models import MetricRollup, MetricSample
from eduops.core.kept import Kept

KEPT = 32  # choices kept; the least recently computed goes first


def store_version(engine: Engine) -> tuple[Any, ...]:
    """Changes with every sample or roll-up written, and every deletion by this process's retention."""
    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.select(sa.func.max(MetricSample.id)).scalar_subquery(),
                                        sa.select(sa.func.max(MetricRollup.id)).scalar_subquery())).one()
    return (*newest, metric_store.deletions)


class PanelsCache(Kept):
    """``get(key, store_version(engine), fresh_s, compute)``: the charts for one choice (``core.kept``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(KEPT, clock)
