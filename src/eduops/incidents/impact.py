"""What an incident cost: calls affected, learners with a failed step, complaints; and how fast it was
detected, acknowledged and resolved.

Calls affected (``CALLS_DEFINITION``): calls in the window with a participant in the incident's segment
(region/ISP, app version, teacher; every call when it names none) whose media in that segment is in the
``poor`` band of rtc's ``quality_band`` (MOS under the fair floor, or 25 % or more of its media time in
poor samples), or whose segment participant failed to join.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from eduops.core.i18n import msg
from eduops.core.workspace import Workspace
from eduops.db import as_utc, session_scope
from eduops.feedback.models import FeedbackItem
from eduops.incidents.dims import SEGMENT_FILTER, feedback_dims, matches, rtc_store, segment_where
from eduops.incidents.learning import failed_learners

CALLS_DEFINITION = msg("calls in the segment and window whose quality band is poor or with a failed join")
LEARNERS_DEFINITION = msg("learners with an xAPI failed statement or a quiz attempted and never submitted")
COMPLAINTS_DEFINITION = msg("complaints in the window naming a matching dimension and none that differs")


def complaints(ws: Workspace, start: datetime, end: datetime, dims: Mapping[str, str]) -> int:
    with session_scope(ws.engine) as session:
        rows = session.execute(sa.select(FeedbackItem.app_version, FeedbackItem.meta).where(
            FeedbackItem.received_at >= start, FeedbackItem.received_at < end,
            FeedbackItem.complaint.is_(True))).tuples().all()
    return sum(1 for version, meta in rows if matches(feedback_dims(version, meta), dims))


def calls_affected(ws: Workspace, start: datetime, end: datetime, dims: Mapping[str, str]) -> dict[str, int] | None:
    """Poor or failed calls of the segment in the window, and all its calls there; None without call data."""
    from eduops.rtc.qoe import band_sql, media_share_sql

    store = rtc_store(ws)
    if store is None:
        return None
    where, params = segment_where({k: v for k, v in dims.items() if k in SEGMENT_FILTER})
    where = f"AND {where}" if where else ""
    row = store.query(
        f"""WITH seg AS (SELECT s.sid, s.call_id, s.join_ok FROM sessions s
                 WHERE s.joined_at < ? AND coalesce(s.left_at, ?) >= ? {where}),
            q AS (SELECT seg.call_id, sum(r.mos_sum) / nullif(sum(r.mos_n), 0) AS mos,
                         {media_share_sql("r.poor_ms", "r.media_ms")} AS poor_pct
                  FROM sample_rollup r JOIN seg ON seg.sid = r.sid WHERE r.bucket >= ? AND r.bucket < ?
                  GROUP BY seg.call_id),
            f AS (SELECT call_id, bool_or(NOT coalesce(join_ok, TRUE)) AS failed FROM seg GROUP BY call_id)
            SELECT count(*) AS calls,
                   count(*) FILTER (WHERE f.failed OR {band_sql("q.mos", "q.poor_pct")} = 'poor') AS affected,
                   count(*) FILTER (WHERE f.failed) AS failed_joins
            FROM f LEFT JOIN q USING (call_id)""",
        [as_utc(end), as_utc(end), as_utc(start), *params, as_utc(start), as_utc(end)],
    )[0]
    return {"calls": int(row["calls"] or 0), "affected": int(row["affected"] or 0),
            "failed_joins": int(row["failed_joins"] or 0)}


def measure_impact(ws: Workspace, start: datetime, end: datetime, dims: Mapping[str, str]) -> dict[str, Any]:
    """Calls affected, learners with a failed step and matching complaints in [start, end), with the
    definition of each figure (a Msg); a figure is None when its domain holds no data."""
    calls = calls_affected(ws, start, end, dims)
    learners = failed_learners(ws.settings, start, end, dims.get("course") or None)
    return {
        "calls_affected": None if calls is None else calls["affected"],
        "calls_in_segment": None if calls is None else calls["calls"],
        "failed_joins": None if calls is None else calls["failed_joins"],
        "learners_failed": learners["learners"],
        "learners": learners,
        "complaints": complaints(ws, start, end, dims),
        "definitions": {"calls_affected": CALLS_DEFINITION, "learners_failed": LEARNERS_DEFINITION,
                        "complaints": COMPLAINTS_DEFINITION},
    }


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round(max(0.0, (b - a).total_seconds()) / 60, 1)


def durations(first_signal_at: datetime | None, opened_at: datetime | None, acknowledged_at: datetime | None,
              resolved_at: datetime | None) -> dict[str, float | None]:
    """Minutes to detect (first signal → opened), to acknowledge and to resolve (both from the first
    signal, as incident reviews count them); each None while a moment is not known."""
    start = first_signal_at or opened_at
    return {
        "detect_min": _minutes(first_signal_at, opened_at),
        "acknowledge_min": _minutes(start, acknowledged_at),
        "resolve_min": _minutes(start, resolved_at),
    }
