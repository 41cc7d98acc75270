"""Ingestion: partial acceptance with reasons, files with line numbers, vendor adapters, the store lock."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eduops.errors import PayloadTooLarge, ServiceUnavailable, UsageError
from eduops.rtc.adapters import from_agora, from_trtc, from_w3c
from eduops.rtc.service import MAX_BATCH_ITEMS, batch_from_body, ingest_file, ingest_items
from eduops.rtc.store import Store

CALL = {"type": "call", "call_id": "c1", "scenario": "one_on_one", "channel": "room-1",
        "start": "2026-11-30T11:00:00Z", "end": "2026-11-30T11:25:00Z"}
SESSION = {"type": "session", "call_id": "c1", "user_id": "u1", "role": "student", "province": "Henan",
           "isp": "China Unicom", "network": "wifi", "platform": "web", "join_ok": True, "join_ms": 850,
           "joined_at": "2026-11-30T11:00:05Z"}


def sample(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"type": "sample", "call_id": "c1", "user_id": "u1", "ts": "2026-11-30T11:00:10Z",
                               "interval_s": 5, "rtt_ms": 200, "jitter_ms": 0, "loss_down_pct": 0}
    base.update(extra)
    return base


def test_batch_keeps_valid_items_and_names_rejected_ones(store: Store) -> None:
    items = [CALL, SESSION, sample(), sample(ts="yesterday"), sample(loss_down_pct=140), {"type": "bogus"}, 7,
             sample(interval_s=None), {"type": "session", "call_id": "c1", "user_id": "u2", "join_ok": False}]
    result = ingest_items(store, items).to_dict()
    assert result["accepted"] == {"calls": 1, "sessions": 1, "samples": 1, "ai_turns": 0}
    reasons = {r["index"]: r["reason"] for r in result["rejected"]}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert "ts" in reasons[3] and "outside 0..100" in reasons[4] and "type" in reasons[5]
    assert "JSON object" in reasons[6] and "interval_s" in reasons[7] and "join_error" in reasons[8]
    row = store.query("SELECT mos, interval_ms FROM samples")[0]
    assert row == {"mos": pytest.approx(4.3525, abs=1e-4), "interval_ms": 5000.0}  # G.107: Ta 110 ms, R 90.56


def test_freeze_threshold_follows_the_sessions_platform(store: Store) -> None:
    # the session says web (500 ms): a 550 ms stall counts; on native (600 ms) it would not
    ingest_items(store, [CALL, SESSION, sample(video_freezes_ms=[550, 300], audio_freezes_ms=[150, 250])])
    ingest_items(store, [sample(user_id="u9", video_freezes_ms=[550])])  # no session: native
    rows = {r["user_id"]: r for r in store.query("SELECT * FROM samples")}
    assert (rows["u1"]["video_freeze_count"], rows["u1"]["video_freeze_ms"]) == (1, 550.0)
    assert (rows["u1"]["audio_freeze_count"], rows["u1"]["audio_freeze_ms"]) == (1, 250.0)
    assert rows["u9"]["video_freeze_ms"] == 0.0


def test_w3c_frame_timing_counts_freezes(store: Store) -> None:
    frames = [i * 33.0 for i in range(31)] + [30 * 33.0 + 800]
    ingest_items(store, [CALL, SESSION, sample(frame_times_ms=frames)])
    assert store.query("SELECT video_freeze_ms FROM samples")[0]["video_freeze_ms"] == 800.0


def test_later_reports_complete_earlier_ones(store: Store) -> None:
    ingest_items(store, [{"type": "call", "call_id": "c1", "scenario": "live_class"}])
    ingest_items(store, [{"type": "call", "call_id": "c1", "end": "2026-11-30T12:00:00Z"}])
    row = store.query("SELECT scenario, end_ts FROM calls")[0]
    assert row["scenario"] == "live_class" and row["end_ts"] is not None


def test_durable_after_reopening(tmp_path: Path) -> None:
    store = Store(tmp_path / "rtc.duckdb")
    ingest_items(store, [CALL, SESSION, sample()])
    store.close()  # another process may open the file once this one lets go of it
    code = (f"import duckdb; c = duckdb.connect({str(tmp_path / 'rtc.duckdb')!r}, read_only=True); "
            "print(c.execute('select count(*) from samples').fetchone()[0])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "1\n"


def test_the_store_lets_go_of_the_file_when_idle(tmp_path: Path) -> None:
    store = Store(tmp_path / "rtc.duckdb", idle_close_s=0.2)
    ingest_items(store, [CALL])
    code = f"import duckdb; duckdb.connect({str(tmp_path / 'rtc.duckdb')!r}, read_only=True)"
    deadline = time.monotonic() + 10
    while subprocess.run([sys.executable, "-c", code], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "the store kept the file open"


def test_another_process_holding_the_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "rtc.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(path)!r}); "
                               "print('ready', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "ready"
        with pytest.raises(ServiceUnavailable, match=rf"in use by process {holder.pid}"):
            Store(path, lock_timeout_s=0.3).query("SELECT 1")
    finally:
        holder.communicate("")


def test_body_shapes() -> None:
    assert batch_from_body({"items": [1]}) == [1]
    assert batch_from_body([1, 2]) == [1, 2]
    with pytest.raises(UsageError):
        batch_from_body({"calls": []})
    with pytest.raises(PayloadTooLarge):
        batch_from_body([{}] * (MAX_BATCH_ITEMS + 1))


def test_jsonl_file_reports_line_numbers(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "reports.jsonl"
    lines = [json.dumps(CALL), json.dumps(SESSION), "", "{not json", json.dumps(sample()),
             json.dumps(sample(rtt_ms="fast"))]
    path.write_text("\n".join(lines) + "\n")
    result = ingest_file(store, path)
    assert result.accepted["samples"] == 1 and result.accepted["sessions"] == 1
    assert [(r["line"], r["reason"].split(":")[0]) for r in result.rejected] == [(4, "not JSON"), (6, "rtt_ms")]


def test_csv_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "reports.csv"
    path.write_text("type,call_id,user_id,ts,interval_s,rtt_ms,jitter_ms,loss_down_pct,video_freezes_ms\n"
                    "sample,c1,u1,2026-11-30T11:00:10Z,5,200,0,0,700;900\n"
                    "sample,c1,u1,2026-11-30T11:00:15+08:00,5,abc,0,0,\n")
    result = ingest_file(store, path)
    assert result.accepted["samples"] == 1
    assert result.rejected == [{"line": 3, "reason": "rtt_ms: 'abc' is not a number"}]
    assert store.query("SELECT video_freeze_ms FROM samples")[0]["video_freeze_ms"] == 1600.0


def test_bad_files_are_usage_errors(store: Store, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        ingest_file(store, tmp_path / "missing.jsonl")
    headerless = tmp_path / "x.csv"
    headerless.write_text("a,b\n1,2\n")
    with pytest.raises(UsageError, match="'type' column"):
        ingest_file(store, headerless)


W3C_NOW = {
    "out-v": {"type": "outbound-rtp", "kind": "video", "bytesSent": 1_250_000, "qualityLimitationReason": "cpu"},
    "in-v": {"type": "inbound-rtp", "kind": "video", "jitter": 0.025, "packetsLost": -2, "packetsReceived": 1000,
             "bytesReceived": 2_000_000, "framesPerSecond": 24, "frameWidth": 640, "frameHeight": 360,
             "totalFreezesDuration": 1.5, "freezeCount": 2},
    "rin-v": {"type": "remote-inbound-rtp", "kind": "video", "roundTripTime": 0.084, "fractionLost": 0.02},
}
W3C_BEFORE = {"out-v": {"type": "outbound-rtp", "kind": "video", "bytesSent": 0},
              "in-v": {"type": "inbound-rtp", "kind": "video", "packetsLost": 0, "packetsReceived": 500,
                       "bytesReceived": 0, "totalFreezesDuration": 0.5, "freezeCount": 1}}


def test_w3c_adapter_units() -> None:
    out = from_w3c({"format": "w3c", "call_id": "c1", "user_id": "u1", "ts": 1, "interval_s": 10,
                    "stats": W3C_NOW, "previous": W3C_BEFORE})
    assert out["rtt_ms"] == pytest.approx(84.0)  # remote-inbound-rtp, seconds → ms
    assert out["jitter_ms"] == pytest.approx(25.0)  # seconds → ms
    assert out["loss_down_pct"] == 0.0  # negative packetsLost (duplicates) counts as none
    assert out["loss_up_pct"] == pytest.approx(2.0)
    assert out["video_freeze_ms"] == pytest.approx(1000.0) and out["video_freeze_count"] == 1
    assert out["bitrate_down_kbps"] == pytest.approx(1600.0) and out["bitrate_up_kbps"] == pytest.approx(1000.0)
    assert out["quality_limitation"] == "cpu"


def test_vendor_items_go_through_the_batch(store: Store) -> None:
    w3c = {"format": "w3c", "call_id": "c1", "user_id": "u1", "ts": "2026-11-30T11:00:10Z", "interval_s": 10,
           "stats": list(W3C_NOW.values()), "previous": list(W3C_BEFORE.values())}
    broken = {"format": "w3c", "call_id": "c1", "user_id": "u1", "ts": "2026-11-30T11:00:10Z", "interval_s": 10}
    result = ingest_items(store, [w3c, broken])
    assert result.accepted["samples"] == 1
    assert result.rejected[0]["index"] == 1 and "getStats" in result.rejected[0]["reason"]


def test_agora_and_trtc_mappings() -> None:
    envelope = {"call_id": "c1", "user_id": "u1", "ts": 1, "interval_s": 2}
    agora = from_agora({"format": "agora", **envelope,
                        "rtc_stats": {"gatewayRtt": 60, "txPacketLossRate": 3, "rxPacketLossRate": 4,
                                      "cpuAppUsage": 95},
                        "remote_video": {"totalFrozenTime": 800, "rendererOutputFrameRate": 15},
                        "remote_audio": {"jitterBufferDelay": 40}})
    assert (agora["rtt_ms"], agora["loss_up_pct"], agora["loss_down_pct"], agora["jitter_ms"]) == (60, 3, 4, 40)
    assert (agora["video_freeze_ms"], agora["fps"], agora["quality_limitation"]) == (800, 15, "cpu")
    trtc = from_trtc({"format": "trtc", **envelope,
                      "statistics": {"rtt": 80, "upLoss": 1, "downLoss": 2, "appCpu": 20,
                                     "remoteArray": [{"jitterBufferDelay": 30, "videoTotalBlockTime": 600,
                                                      "point2PointDelay": 180, "videoBitrate": 800,
                                                      "audioBitrate": 48}]}})
    assert (trtc["rtt_ms"], trtc["loss_up_pct"], trtc["loss_down_pct"], trtc["jitter_ms"]) == (80, 1, 2, 30)
    assert (trtc["video_freeze_ms"], trtc["e2e_delay_ms"], trtc["bitrate_down_kbps"]) == (600, 180, 848)
    assert "quality_limitation" not in trtc
