"""Call quality joined to learning: return within 7 days and completion per quality band, or a clear reason."""

from __future__ import annotations

from datetime import timedelta

from eduops.analytics import lrs
from eduops.analytics.quality import combine, quality_learning
from eduops.analytics.store import close_stores, open_store
from eduops.core.workspace import Workspace

from .helpers import day, statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "test"}}


def _rtc_class(ws: Workspace, call_id: str, learners: list[str], mos: float) -> None:
    """A live class on day 0, 10:00–11:00 UTC, every learner's session at the given MOS."""
    from eduops.rtc.store import Store, store_path

    start, end = day(0, 1), day(0, 2)
    with Store(store_path(ws.settings.home)).connect() as con:
        con.execute("INSERT INTO calls (call_id, scenario, start_ts, end_ts) VALUES (?, 'live_class', ?, ?)",
                    [call_id, f"{start:%Y-%m-%d %H:%M:%S}+00", f"{end:%Y-%m-%d %H:%M:%S}+00"])
        for user in learners:
            con.execute("INSERT INTO sessions (call_id, user_id, role, joined_at, left_at, sid) "
                        "VALUES (?, ?, 'student', ?, ?, hash(?, ?))",
                        [call_id, user, f"{start:%Y-%m-%d %H:%M:%S}+00", f"{end:%Y-%m-%d %H:%M:%S}+00", call_id, user])
            con.execute("INSERT INTO sample_rollup VALUES (hash(?, ?), ?, 360, 3600000, 0, 0, 0, ?, 360, "
                        "0, 0, 0, 0, 0, 0)", [call_id, user, f"{start:%Y-%m-%d %H:%M:%S}+00", mos * 360])


def test_drop_off_and_completion_by_quality_band(sqlite_ws: Workspace) -> None:
    good, poor = ["G1", "G2", "G3", "G4"], ["P1", "P2", "P3", "P4"]
    _rtc_class(sqlite_ws, "call-good", good, 4.3)
    _rtc_class(sqlite_ws, "call-poor", poor, 3.0)
    events = [statement(u, "launched", day(0)) for u in good + poor]
    events += [statement(u, "experienced", day(2), obj="course/a/p") for u in ("G1", "G2", "G3", "P1")]
    events += [statement(u, "passed", day(3)) for u in ("G1", "G2", "P1")]
    events += [statement("G1", "experienced", day(10), obj="course/a/p")]
    lrs.store_statements(open_store(sqlite_ws.settings), events, AUTHORITY)
    result = quality_learning(sqlite_ws.settings)
    close_stores()
    assert result["available"], result
    bands = {b["band"]: b for b in result["bands"]}
    assert (bands["good"]["sessions"], bands["good"]["returned_7d_pct"], bands["good"]["completion_pct"]) == (
        4, 75.0, 50.0)
    assert (bands["poor"]["sessions"], bands["poor"]["dropped_after_class_pct"], bands["poor"]["completion_pct"]) \
        == (4, 75.0, 25.0)
    assert bands["fair"]["sessions"] == 0 and bands["fair"]["completion_pct"] is None
    assert "75.0% of learners did not come back" in result["finding"]


def test_classes_too_recent_to_judge_are_left_out(sqlite_ws: Workspace) -> None:
    _rtc_class(sqlite_ws, "call-good", ["G1"], 4.3)
    lrs.store_statements(open_store(sqlite_ws.settings), [statement("G1", "launched", day(0) + timedelta(days=3))],
                         AUTHORITY)
    result = quality_learning(sqlite_ws.settings)
    close_stores()
    assert result["bands"][0]["sessions"] == 0


def test_without_call_quality_data_the_answer_says_why(sqlite_ws: Workspace) -> None:
    result = quality_learning(sqlite_ws.settings)
    assert not result["available"] and "rtc.duckdb" in result["reason"]


def test_combine_fills_every_band() -> None:
    rows = combine([("poor", 10, 4, 2)], [("poor", 4, 5, 1), ("good", 3, 3, 3)])
    assert [r["band"] for r in rows] == ["good", "fair", "poor"]
    assert rows[2] == {"band": "poor", "sessions": 10, "learners": 4, "returned_7d_pct": 20.0,
                       "dropped_after_class_pct": 80.0, "enrolments": 5, "completion_pct": 20.0}
    assert rows[0]["completion_pct"] == 100.0 and rows[0]["returned_7d_pct"] is None
