"""The column path for bulk samples (parsed items, or JSONL blocks Arrow reads itself) stores exactly what the
per-item path stores, and rejects the same items with the same reasons."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest

from eduops.rtc import fastpath, service
from eduops.rtc.jsonl_block import read_block
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
    assert fastpath.fast_samples([dict(plain[0], rtt_ms="80")] * 299 + [dict(plain[0], rtt_ms=80)], {}) is None  # mixed
    assert fastpath.fast_samples([dict(plain[0], rtt_ms=True)] * 300, {}) is None  # a bool is not a number
    assert fastpath.fast_samples(plain * 10, {}) is None  # too few to bother
    for odd in ({"ts": "2026-11-30T10:00:00"}, {"ts": "20261130T100000Z"}, {"rtt_ms": float("nan")},
                {"width": -1}, {"width": "1280.0"}, {"rtt_ms": " 80"}, {"rtt_ms": "1_000"}, {"platform": 3},
                {"quality_limitation": 3}, {"video_freezes_ms": "700;x"}, {"video_freezes_ms": [True]},
                {"video_freezes_ms": [10**30]}, {"audio_freezes_ms": [None]}):
        found = fastpath.fast_samples([dict(plain[0], **odd)] * 300, {})  # each row handed to the item path
        assert found is not None and found[0].num_rows == 0 and len(found[1]) == 300, odd


def _file(tmp_path: Path, items: list[dict[str, Any]], extra: dict[int, str]) -> Path:
    """Items as JSONL, with some lines replaced by raw text."""
    lines = [json.dumps(item) for item in items]
    for at, text in extra.items():
        lines[at] = text
    path = tmp_path / "samples.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    return path


@pytest.mark.parametrize("extra", [
    {},  # every block goes to Arrow: bad rows come back by line, quoting the line's own values
    # the first block is read line by line; the blocks after it still by Arrow, their lines numbered on
    {5: "", 6: "{not json", 7: json.dumps({"type": "session", "call_id": "c1", "user_id": "u1"})},
])
def test_file_blocks_match_the_line_path(tmp_path, monkeypatch: pytest.MonkeyPatch, extra: dict[int, str]) -> None:
    items = _items(1000, 3)[1:]
    plain = {"type": "sample", "call_id": "c1", "user_id": "u1", "ts": "2026-11-30T10:00:00Z", "interval_s": 5}
    items[40] = dict(plain, rtt_ms=float("nan"))
    items[41] = dict(plain, loss_down_pct=10**30)  # an integer beyond 64 bits, outside the range
    path = _file(tmp_path, items, extra)
    monkeypatch.setattr(service, "FILE_BLOCK_BYTES", 100_000)  # several blocks, each over MIN_ROWS lines
    by_arrow: list[service.IngestResult | None] = []
    ingest_block = service.ingest_block
    monkeypatch.setattr(service, "ingest_block", lambda *a: by_arrow.append(ingest_block(*a)) or by_arrow[-1])
    fast = service.ingest_file(Store(tmp_path / "fast.duckdb"), path)
    assert sum(r is not None for r in by_arrow) >= 2  # (the last, short block goes line by line)
    monkeypatch.setattr(fastpath, "MIN_ROWS", 10**9)  # line by line, item by item
    slow = service.ingest_file(Store(tmp_path / "slow.duckdb"), path)
    assert fast.accepted == slow.accepted and fast.rejected == slow.rejected
    assert fast.rejected_total > 50 and {"line": 41, "reason": "rtt_ms: expected a number"} in fast.rejected
    assert {"line": 42, "reason": f"loss_down_pct: {10**30} is outside 0..100"} in fast.rejected
    assert _stored(Store(tmp_path / "fast.duckdb")) == _stored(Store(tmp_path / "slow.duckdb"))


def test_csv_files_match_the_item_path(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV's numbers come as text: plainly written ones go a column at a time, the rest item by item."""
    items = _items(600, 4)[1:]
    items[3]["rtt_ms"], items[4]["fps"], items[5]["width"] = "+80", "2.5e1", "720.0"
    items[6]["video_freezes_ms"], items[7]["audio_freezes_ms"] = "700;;x", ";"
    fields = sorted({key for item in items for key in item})
    path = tmp_path / "samples.csv"
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fields)
        writer.writeheader()
        writer.writerows({k: ";".join(map(str, v)) if isinstance(v, list) else "" if v is None else v
                          for k, v in item.items()} for item in items)
    taken: list[int] = []
    fast_samples = fastpath.fast_samples
    monkeypatch.setattr(fastpath, "fast_samples", lambda *a: taken.append(
        0 if (found := fast_samples(*a)) is None else found[0].num_rows) or found)
    fast = service.ingest_file(Store(tmp_path / "fast.duckdb"), path)
    assert sum(taken) > 400  # most rows by the column path
    monkeypatch.setattr(fastpath, "MIN_ROWS", 10**9)  # item by item
    slow = service.ingest_file(Store(tmp_path / "slow.duckdb"), path)
    assert fast.accepted == slow.accepted and fast.rejected == slow.rejected and fast.rejected_total > 20
    assert _stored(Store(tmp_path / "fast.duckdb")) == _stored(Store(tmp_path / "slow.duckdb"))


PLAIN = b'{"type": "sample", "call_id": "c", "user_id": "u", "ts": "2026-11-30T10:00:00Z", "interval_s": 5}'


@pytest.mark.parametrize(("block", "plain"), [
    (PLAIN + b"\n" + PLAIN + b"\n", True),
    (PLAIN + b"\r\n" + PLAIN, True),
    (PLAIN + b"\n\n" + PLAIN + b"\n", False),  # a blank line
    (b" \n" + PLAIN + b"\n", False),
    (PLAIN + b"\n \t", False),
    (PLAIN + b"\r" + PLAIN + b"\n", False),  # a lone CR ends a line for Python
    (b"\xef\xbb\xbf" + PLAIN + b"\n", False),  # byte-order mark
    (PLAIN[:-1] + b', "city": "\xff"}\n', False),  # not UTF-8
    (PLAIN[:-1] + b', "rtt_ms": Inf}\n', False),  # Arrow reads it, json.loads does not
    (PLAIN[:-1] + b', "rtt_ms": "80"}\n', False),  # numbers as text
    (PLAIN + b" " + PLAIN + b"\n", False),  # two objects on a line
    (PLAIN.replace(b"sample", b"session") + b"\n", False),
    (PLAIN[:-1] + b', "rtt_ms": 1, "rtt_ms": 2}\n', False),
    (b"[1, 2]\n", False),
])
def test_which_blocks_arrow_reads(block: bytes, plain: bool) -> None:
    assert (read_block(block) is not None) is plain
