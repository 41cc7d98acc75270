"""The column path for bulk samples stores exactly what the per-item path stores, and rejects the same."""

from __future__ import annotations

import random
from typing import Any

import pytest

from eduops.rtc import fastpath
from eduops.rtc.service import ingest_items
from eduops.rtc.store import SAMPLE_COLUMNS, Store


def _items(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    items: list[dict[str, Any]] = [{"type": "session", "call_id": "c0", "user_id": "u0", "platform": "web"}]
    for i in range(n):
        item: dict[str, Any] = {
            "type": "sample", "call_id": f"c{i % 7}", "user_id": f"u{i % 3}",
            "ts": f"2026-11-30T{10 + i % 10:02d}:{i % 60:02d}:05{'Z' if i % 2 else '+08:00'}",
            "interval_s": rng.choice([2, 5, 10, 2.5]), "rtt_ms": rng.choice([None, 0, 35.5, 200, 900]),
            "jitter_ms": rng.choice([None, 0, 12.5]), "loss_up_pct": rng.choice([None, 0.5, 7]),
            "loss_down_pct": rng.choice([None, 0, 3.25]), "fps": rng.choice([None, 24, 29.97]),
            "width": rng.choice([None, 1280]), "height": rng.choice([None, 720]),
            "quality_limitation": rng.choice([None, "", "cpu", "none"]),
            "video_freezes_ms": rng.choice([[], [550], [650, 1200], None]),
            "audio_freezes_ms": rng.choice([[], [150, 250], None]),
            "av_sync_ms": rng.choice([None, -40, 15]),
        }
        trouble = rng.random()  # about one item in ten is bad in some way, or unusual
        if trouble < 0.02:
            item["rtt_ms"] = -5
        elif trouble < 0.04:
            item["interval_s"] = 0.1
        elif trouble < 0.05:
            item["quality_limitation"] = "gpu"
        elif trouble < 0.06:
            item["user_id"] = ""
        elif trouble < 0.07:
            item["video_freezes_ms"] = [9000, 9000]  # longer than the interval
        elif trouble < 0.08:
            item["frame_times_ms"] = [k * 33.0 for k in range(31)] + [1800.0]
        elif trouble < 0.09:
            item["video_freeze_ms"] = 700
        elif trouble < 0.10:
            item["width"] = 99999
        items.append(item)
    return items


def _stored(store: Store) -> list[tuple[Any, ...]]:
    cols = ", ".join(SAMPLE_COLUMNS)
    return [tuple(r.values()) for r in store.query(f"SELECT {cols} FROM samples ORDER BY ALL")]


@pytest.mark.parametrize("seed", [1, 2])
def test_column_path_matches_item_path(tmp_path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    items = _items(1500, seed)
    fast_store, slow_store = Store(tmp_path / "fast.duckdb"), Store(tmp_path / "slow.duckdb")
    fast = ingest_items(fast_store, [dict(i) for i in items])
    monkeypatch.setattr(fastpath, "MIN_ROWS", 10**9)  # the per-item path only
    slow = ingest_items(slow_store, [dict(i) for i in items])
    assert fast.accepted == slow.accepted and fast.rejected == slow.rejected
    assert 1200 < fast.accepted["samples"] < 1500 and fast.rejected_total > 50
    assert _stored(fast_store) == _stored(slow_store)


def test_unusual_chunks_take_the_item_path() -> None:
    plain = [{"type": "sample", "call_id": "c", "user_id": "u", "ts": "2026-11-30T10:00:00Z", "interval_s": 5}]
    assert fastpath.fast_samples(plain * 300, {}) is not None
    assert fastpath.fast_samples([dict(plain[0], ts=1764496800)] * 300, {}) is None  # epoch times
    assert fastpath.fast_samples([dict(plain[0], rtt_ms="80")] * 300, {}) is None  # numbers as text (CSV)
    assert fastpath.fast_samples([dict(plain[0], rtt_ms=True)] * 300, {}) is None  # a bool is not a number
    assert fastpath.fast_samples([dict(plain[0], ts="2026-11-30T10:00:00")] * 300, {}) is None  # no zone
    assert fastpath.fast_samples(plain * 10, {}) is None  # too few to bother
