"""Quality × learning: do learners whose classes had poor call quality complete less and come back less?

Joins the call-quality store (``<home>/rtc.duckdb``, participant sessions with a quality band) to
learners by user id (= xAPI account name) and time. Student sessions are read through the
call-quality store's own API (it owns that file and its locking) and joined in the event store's
DuckDB; when the file is missing or busy the answer says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from eduops.analytics import sql
from eduops.analytics.remote import RemoteStore
from eduops.analytics.store import DuckDBStore, open_store
from eduops.config import Settings
from eduops.core.i18n import msg
from eduops.errors import EduopsError

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


def student_sessions(settings: Settings) -> Any:
    """Student sessions with their quality band, from the call-quality store, as an Arrow table."""
    import pyarrow as pa

    from eduops.rtc.service import open_store as open_rtc_store

    rows = open_rtc_store(settings).query(sql.RTC_STUDENT_SESSIONS)
    return pa.table({"user_id": pa.array([r["user_id"] for r in rows], pa.string()),
                     "call_id": pa.array([r["call_id"] for r in rows], pa.string()),
                     "band": pa.array([r["band"] for r in rows], pa.string()),
                     "ended": pa.array([r["ended"] for r in rows], pa.timestamp("us"))})


def quality_learning(settings: Settings) -> dict[str, Any]:
    path = rtc_path(settings)
    if not path.exists():
        return {"available": False, "bands": [],
                "reason": msg("no call-quality data yet ({path} does not exist); it fills when calls are "
                              "reported to /api/v1/rtc", path=str(path))}
    store = open_store(settings)  # the DuckDB file, or the serving worker that holds it (`serve --workers N`)
    if not isinstance(store, DuckDBStore | RemoteStore):
        return {"available": False, "bands": [],
                "reason": msg("quality × learning reads the DuckDB event store; it is not available with "
                              "events.backend = \"clickhouse\"")}
    try:
        sessions = student_sessions(settings)
    except (EduopsError, duckdb.Error, ImportError) as exc:
        return {"available": False, "bands": [],
                "reason": msg("cannot read the call-quality store {path}: {error}", path=str(path),
                              error=getattr(exc, "message", str(exc)))}
    tables = {"rtc_sessions": sessions}
    returns = store.query_with(sql.quality_returns(store.dialect, RETURN_DAYS), tables)
    completion = store.query_with(sql.quality_completion(store.dialect), tables)
    bands = combine(returns, completion)
    poor, good = bands[2], bands[0]
    finding = ""
    if poor["dropped_after_class_pct"] is not None and good["dropped_after_class_pct"] is not None:
        gap = poor["dropped_after_class_pct"] - good["dropped_after_class_pct"]
        finding = (f"after a poor-quality class {poor['dropped_after_class_pct']}% of learners did not come back "
                   f"within {RETURN_DAYS} days, against {good['dropped_after_class_pct']}% after a good one "
                   f"({gap:+.1f} points)")
    from eduops.analytics.metrics import excluded
    from eduops.analytics.sql import Filters

    return {"available": True, "return_days": RETURN_DAYS, "bands": bands, "finding": finding, "rtc_store": str(path),
            "sessions": sessions.num_rows, "excluded": excluded(store, Filters())}
