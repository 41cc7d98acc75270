"""An incident's call-quality evidence covers the window it names, in any workspace time zone.

The call-quality store keeps TIMESTAMPTZ and reads in the workspace's time zone. The incident sources once bound
their windows with naive UTC times, which DuckDB read as local: with Asia/Shanghai every window started and ended
eight hours early (the demo's evening degradation leaked into the next morning's window, and a test of it failed
at some hours of the day).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eduops.core.workspace import Workspace
from eduops.incidents.call_signals import rtc_segment_baseline, rtc_worst_calls
from eduops.incidents.dims import rtc_store
from eduops.incidents.impact import calls_affected

CALL_AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # one poor class, 12:00-13:00 UTC
SEGMENT = {"region": "Henan", "isp": "China Unicom"}


def _poor_class(ws: Workspace) -> None:
    from eduops.rtc.store import Store, store_path

    start, end = (f"{t:%Y-%m-%d %H:%M:%S}+00" for t in (CALL_AT, CALL_AT + timedelta(hours=1)))
    with Store(store_path(ws.settings.home)).connect() as con:
        con.execute("INSERT INTO calls (call_id, scenario, start_ts, end_ts) VALUES ('c1', 'live_class', ?, ?)",
                    [start, end])
        con.execute("INSERT INTO sessions (call_id, user_id, role, joined_at, left_at, province, isp, sid) "
                    "VALUES ('c1', 'P1', 'student', ?, ?, ?, ?, hash('c1', 'P1'))",
                    [start, end, SEGMENT["region"], SEGMENT["isp"]])
        con.execute("INSERT INTO sample_rollup VALUES (hash('c1', 'P1'), ?, 360, 3600000, 0, 0, 3600000, 1080, 360, "
                    "0, 0, 0, 0, 0, 0)", [start])


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Shanghai", "America/Los_Angeles"])
@pytest.mark.parametrize(("from_h", "to_h", "found"), [
    (-1, 2, 1),  # the window holds the class
    (2, 9, 0),  # after it (read eight hours early, Shanghai's window held it)
    (-9, -1, 0),  # before it (read eight hours late, Los Angeles's window held it)
])
def test_the_call_evidence_window_is_the_one_asked_for(sqlite_ws: Workspace, timezone: str, from_h: int,
                                                        to_h: int, found: int) -> None:
    sqlite_ws.settings.timezone = timezone
    _poor_class(sqlite_ws)
    store = rtc_store(sqlite_ws)
    assert store is not None and store.timezone == timezone
    start, end = CALL_AT + timedelta(hours=from_h), CALL_AT + timedelta(hours=to_h)
    affected = calls_affected(sqlite_ws, start, end, SEGMENT)
    assert affected == {"calls": found, "affected": found, "failed_joins": 0}
    assert [c["call_id"] for c in rtc_worst_calls(store, SEGMENT, start, end)] == ["c1"] * found
    # the class is in the baseline of a window that starts after it, and not in one that ends before it
    baseline = rtc_segment_baseline(store, SEGMENT, start, days=0.5)
    assert (baseline is not None) == (from_h >= 1)
