"""QoE windows become metric series the shipped alert rules use; the live board."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from eduops.alerting.models import MetricSample, MetricSeries
from eduops.alerting.promql import selectors
from eduops.alerting.rules import parse_rule_file
from eduops.core.workspace import Workspace
from eduops.db import session_scope, utcnow
from eduops.rtc.live import record_window, window_measurements
from eduops.rtc.service import ingest_items, open_store
from eduops.rtc.store import Store

RULES = __import__("eduops.rtc", fromlist=["x"]).__path__[0] + "/rules/rtc.yml"


def _window_items(now_iso: str, freeze_ms: float) -> list[dict[str, object]]:
    return [
        {"type": "call", "call_id": "c1", "scenario": "one_on_one", "start": now_iso},
        {"type": "session", "call_id": "c1", "user_id": "a", "province": "Henan", "join_ok": True, "join_ms": 400,
         "joined_at": now_iso},
        {"type": "session", "call_id": "c1", "user_id": "b", "province": "Henan", "join_ok": False,
         "join_error": "ICE_TIMEOUT", "joined_at": now_iso},
        {"type": "sample", "call_id": "c1", "user_id": "a", "ts": now_iso, "interval_s": 10, "rtt_ms": 60,
         "video_freezes_ms": [freeze_ms]},
    ]


def test_window_measurements(store: Store) -> None:
    now = utcnow()
    ingest_items(store, _window_items((now - timedelta(seconds=5)).isoformat(), 1500))
    found = {(m.name, tuple(sorted(m.labels.items()))): m.value for m in window_measurements(store, now)}
    assert found[("rtc_video_freeze_rate_pct", (("province", "Henan"),))] == 15.0
    assert found[("rtc_join_success_pct", (("scenario", "one_on_one"),))] == 50.0
    assert found[("rtc_connect_ms_p90", (("scenario", "one_on_one"),))] == 400.0
    assert window_measurements(store, now - timedelta(minutes=5)) == []


def test_record_window_writes_series(ws: Workspace) -> None:
    now = utcnow()
    ingest_items(open_store(ws.settings), _window_items((now - timedelta(seconds=5)).isoformat(), 2500))
    assert record_window(ws, open_store(ws.settings), now) >= 5
    with session_scope(ws.engine) as session:
        rows = session.execute(sa.select(MetricSeries.key, MetricSample.value).join(
            MetricSample, MetricSample.series_id == MetricSeries.id)).all()
    values = dict(rows)
    assert values['rtc_video_freeze_rate_pct{province="Henan"}'] == 25.0
    assert values['rtc_join_success_pct{scenario="one_on_one"}'] == 50.0


def test_shipped_rules_use_recorded_series() -> None:
    recorded = {"rtc_video_freeze_rate_pct", "rtc_audio_freeze_rate_pct", "rtc_mos", "rtc_join_success_pct",
                "rtc_join_attempts", "rtc_connect_ms_p90"}
    groups = parse_rule_file(open(RULES).read(), "rtc.yml")
    rules = {r.name: r for g in groups for r in g.rules}
    assert {"RtcVideoFreezeHighInProvince", "RtcJoinSuccessLow", "RtcOneOnOneConnectSlow"} <= set(rules)
    assert rules["RtcVideoFreezeHighInProvince"].hold == 20 and groups[0].interval == 20
    assert rules["RtcJoinSuccessLow"].hold == 300
    for rule in rules.values():
        assert {s.name for s in selectors(rule.query)} <= recorded


def test_recorder_records_windows_while_running(sqlite_ws: Workspace) -> None:
    from eduops.rtc.live import Recorder

    now = utcnow()
    store = open_store(sqlite_ws.settings)
    ingest_items(store, _window_items((now - timedelta(seconds=1)).isoformat(), 1000))
    recorder = Recorder(sqlite_ws, store, every_s=0.2, window_s=60)
    recorder.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            with session_scope(sqlite_ws.engine) as session:
                names = set(session.scalars(sa.select(MetricSeries.name)))
            if "rtc_video_freeze_rate_pct" in names:
                break
            assert time.monotonic() < deadline, "the recorder wrote nothing"
            time.sleep(0.05)
    finally:
        recorder.stop()
