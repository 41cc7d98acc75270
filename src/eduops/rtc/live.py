"""What is happening now: the live class board, and QoE windows recorded as metric series for alert rules.

Every ``WINDOW_S`` seconds ``record_window`` turns the last window's calls into series such as
``rtc_video_freeze_rate_pct{province="Henan"}``; the shipped rules in ``rules/rtc.yml`` watch them.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from eduops.alerting.metrics import record
from eduops.core.checks import Measurement
from eduops.core.workspace import Workspace
from eduops.db import session_scope, utcnow
from eduops.rtc.qoe import freeze_rate_sql, join_success_sql, mos_weighted_sql, percentile_sql
from eduops.rtc.store import Store

log = logging.getLogger(__name__)
WINDOW_S = 20


def live_board(store: Store, now: datetime, window_s: int = 60) -> dict[str, Any]:
    """Running calls with their participants now, and join failures and freeze rate in the last minute."""
    since = now - timedelta(seconds=window_s)
    rows = store.query(
        f"""SELECT c.call_id, c.scenario, c.channel, c.course_id, c.start_ts,
                  count(DISTINCT x.sid) AS participants,
                  {freeze_rate_sql("x.video_freeze_ms", "x.interval_ms")} AS video_freeze_rate_pct,
                  {mos_weighted_sql("x")} AS mos
           FROM samples x JOIN calls c USING (call_id)
           WHERE x.ts >= ? AND x.ts <= ? AND (c.end_ts IS NULL OR c.end_ts > ?)
           GROUP BY ALL ORDER BY participants DESC""",
        [since, now, since],
    )
    joins = store.query(
        "SELECT call_id, count(*) FILTER (WHERE NOT join_ok) AS join_failures, count(*) AS join_attempts "
        "FROM sessions WHERE joined_at >= ? AND joined_at <= ? GROUP BY call_id",
        [since, now],
    )
    by_call = {j["call_id"]: j for j in joins}
    for r in rows:
        j = by_call.get(r["call_id"], {})
        r["join_failures"] = j.get("join_failures", 0)
        r["join_attempts"] = j.get("join_attempts", 0)
    return {
        "at": now.isoformat(),
        "window_s": window_s,
        "classes": rows,
        "participants": sum(r["participants"] for r in rows),
        "join_failures": sum(j["join_failures"] for j in joins),
        "join_attempts": sum(j["join_attempts"] for j in joins),
    }


def window_measurements(store: Store, end: datetime, window_s: float = WINDOW_S) -> list[Measurement]:
    """QoE series over ``(end - window_s, end]``: freeze rates and MOS by province, join success,
    connect-time p90 by scenario."""
    start = end - timedelta(seconds=window_s)
    found: list[Measurement] = []
    for r in store.query(
        f"""SELECT coalesce(s.province, 'unknown') AS province,
                  {freeze_rate_sql("x.video_freeze_ms", "x.interval_ms")} AS video,
                  {freeze_rate_sql("x.audio_freeze_ms", "x.interval_ms")} AS audio, {mos_weighted_sql("x")} AS mos
           FROM samples x JOIN sessions s ON s.sid = x.sid WHERE x.ts > ? AND x.ts <= ? GROUP BY ALL""",
        [start, end],
    ):
        labels = {"province": r["province"]}
        if r["video"] is not None:
            found.append(Measurement("rtc_video_freeze_rate_pct", round(r["video"], 3), "%", labels))
            found.append(Measurement("rtc_audio_freeze_rate_pct", round(r["audio"], 3), "%", labels))
        if r["mos"] is not None:
            found.append(Measurement("rtc_mos", round(r["mos"], 3), "MOS", labels))
    for r in store.query(
        f"""SELECT coalesce(c.scenario, 'unknown') AS scenario, count(*) AS attempts,
                  {join_success_sql("s.join_ok")} AS success,
                  {percentile_sql("s.join_ms", 90)} FILTER (WHERE s.join_ok) AS connect_p90
           FROM sessions s LEFT JOIN calls c USING (call_id)
           WHERE s.joined_at > ? AND s.joined_at <= ? GROUP BY ALL""",
        [start, end],
    ):
        labels = {"scenario": r["scenario"]}
        found.append(Measurement("rtc_join_success_pct", round(r["success"], 3), "%", labels))
        found.append(Measurement("rtc_join_attempts", float(r["attempts"]), "", labels))
        if r["connect_p90"] is not None:
            found.append(Measurement("rtc_connect_ms_p90", round(r["connect_p90"], 1), "ms", labels))
    return found


def record_window(ws: Workspace, store: Store, end: datetime | None = None, window_s: float = WINDOW_S) -> int:
    """Record one window's QoE series in the metric store; returns how many samples were written."""
    end = end or utcnow()
    measurements = window_measurements(store, end, window_s)
    with session_scope(ws.engine) as session:
        return record(session, measurements, end)


class Recorder:
    """A daemon thread recording a QoE window every ``WINDOW_S`` seconds while the console runs."""

    def __init__(self, ws: Workspace, store: Store, every_s: float = WINDOW_S, window_s: float | None = None) -> None:
        self.ws, self.store, self.every_s = ws, store, every_s
        self.window_s = window_s or every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rtc-qoe-recorder")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                record_window(self.ws, self.store, window_s=self.window_s)
            except Exception as exc:  # a busy store or database must not end the recorder
                log.warning("rtc QoE window not recorded: %s", exc)
