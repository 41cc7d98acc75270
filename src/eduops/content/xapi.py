"""Question-bank usage from learner events: xAPI ``answered`` statements per item, when analytics is there.

An item names its activity with ``xapi_object_id`` (kept in the asset's extra data). Without the
analytics domain, or without its event store, nothing changes and the imported numbers stay.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.content.models import Asset
from eduops.db import session_scope

log = logging.getLogger(__name__)


def answered_rates(settings: Settings, object_ids: list[str]) -> dict[str, tuple[int, float]]:
    """object id → (answers with a success flag, share correct), from the analytics event store."""
    if not object_ids:
        return {}
    try:
        store_mod = importlib.import_module("eduops.analytics.store")
        sql = importlib.import_module("eduops.analytics.sql")
        vocab = importlib.import_module("eduops.analytics.vocab")
    except ImportError:
        return {}
    cfg = store_mod.events_settings(settings)
    if cfg.backend != "clickhouse" and not store_mod.store_path(settings).exists():
        return {}
    store = store_mod.open_store(settings)
    d = store.dialect
    ids = ", ".join(d.lit(o) for o in object_ids)
    rows = store.query(
        "SELECT object_id, count(success), avg(CASE WHEN success THEN 1.0 WHEN NOT success THEN 0.0 END) "
        f"FROM statements WHERE {sql.LIVE} AND verb_id = {d.lit(vocab.VERBS['answered'])} "
        f"AND object_id IN ({ids}) GROUP BY object_id"
    )
    return {str(oid): (int(n), float(rate)) for oid, n, rate in rows if n and rate is not None}


def refresh_from_xapi(engine: Engine, settings: Settings) -> int:
    """Update attempts and correct rate of every item that names its xAPI activity; returns how many."""
    with session_scope(engine) as session:
        items = {
            a.id: (a.extra or {}).get("xapi_object_id")
            for a in session.scalars(sa.select(Asset).where(Asset.kind == "question"))
        }
    wanted = {i: str(o) for i, o in items.items() if o}
    try:
        rates = answered_rates(settings, sorted(set(wanted.values())))
    except Exception as exc:  # analytics trouble must not stop the content audit
        log.warning("question-bank rates from xAPI failed: %s", exc)
        return 0
    updated = 0
    with session_scope(engine) as session:
        for asset_id, object_id in wanted.items():
            if object_id in rates:
                asset: Any = session.get(Asset, asset_id)
                asset.attempts, asset.correct_rate = rates[object_id][0], round(rates[object_id][1], 3)
                asset.times_used = max(asset.times_used, 1)
                updated += 1
    return updated
