"""Quality × learning: do learners whose classes had poor call quality complete less and come back less?

Joins the call-quality store (``<home>/rtc.duckdb``, participant sessions with a quality band) to
learners by user id (= xAPI account name) and time. The call-quality file is attached read-only
and detached right after, as that store asks; when it is missing or busy the answer says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from eduops.analytics import sql
from eduops.analytics.store import DuckDBStore, open_store
from eduops.config import Settings

BANDS = ("good", "fair", "poor")
RETURN_DAYS = 7


def rtc_path(settings: Settings) -> Path:
    try:
        from eduops.rtc.store import store_path
    except ImportError:
        return settings.home / "rtc.duckdb"
    return store_path(settings.home)


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def combine(returns: list[tuple[Any, ...]], completion: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """One row per band (good, fair, poor) from the two queries' rows."""
    back = {r[0]: r[1:] for r in returns}
    done = {r[0]: r[1:] for r in completion}
    rows = []
    for band in BANDS:
        sessions, learners, returned = back.get(band, (0, 0, 0))
        c_learners, enrolments, completed = done.get(band, (0, 0, 0))
        rows.append({"band": band, "sessions": int(sessions), "learners": int(max(learners, c_learners)),
                     "returned_7d_pct": _pct(returned, sessions),
                     "dropped_after_class_pct": _pct(sessions - returned, sessions),
                     "enrolments": int(enrolments), "completion_pct": _pct(completed, enrolments)})
    return rows


def quality_learning(settings: Settings) -> dict[str, Any]:
    path = rtc_path(settings)
    if not path.exists():
        return {"available": False, "bands": [],
                "reason": f"no call-quality data yet ({path} does not exist); it fills when calls are reported "
                          "to /api/v1/rtc"}
    store = open_store(settings)
    if not isinstance(store, DuckDBStore):
        return {"available": False, "bands": [],
                "reason": "quality × learning joins two DuckDB files; it is not available with events.backend = "
                          "\"clickhouse\""}
    with store.writing():
        try:
            store.execute(f"ATTACH {sql.DUCKDB.quote(str(path))} AS rtc (READ_ONLY)")
        except duckdb.Error as exc:
            return {"available": False, "bands": [], "reason": f"cannot read the call-quality store {path}: {exc}"}
        try:
            returns = store.query(sql.quality_returns(store.dialect, RETURN_DAYS))
            completion = store.query(sql.quality_completion(store.dialect))
        except duckdb.Error as exc:
            return {"available": False, "bands": [],
                    "reason": f"the call-quality store {path} has no session_quality view we can read: {exc}"}
        finally:
            store.execute("DETACH rtc")
    bands = combine(returns, completion)
    poor, good = bands[2], bands[0]
    finding = ""
    if poor["dropped_after_class_pct"] is not None and good["dropped_after_class_pct"] is not None:
        gap = poor["dropped_after_class_pct"] - good["dropped_after_class_pct"]
        finding = (f"after a poor-quality class {poor['dropped_after_class_pct']}% of learners did not come back "
                   f"within {RETURN_DAYS} days, against {good['dropped_after_class_pct']}% after a good one "
                   f"({gap:+.1f} points)")
    return {"available": True, "return_days": RETURN_DAYS, "bands": bands, "finding": finding, "rtc_store": str(path)}
