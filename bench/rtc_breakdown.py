"""Province × hour heat map over ten million stats samples: eduops's breakdown (read from its 15-minute
rollup) against the same figure computed by a hand-written query over the raw samples, in the same run.

    .venv/bin/python bench/rtc_breakdown.py [--calls-per-day 340] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eduops.rtc.breakdowns import Window, heatmap
from eduops.rtc.qoe import poor_pct_sql
from eduops.rtc.store import Store, insert_arrow
from eduops.rtc.synthetic import generate

TARGET_S = 1.0
HAND_WRITTEN = f"""
SELECT s.province AS segment, hour(x.ts) AS hour,
       {poor_pct_sql("x")} AS poor_pct
FROM samples x JOIN sessions s ON s.sid = x.sid
WHERE x.ts >= ? AND x.ts < ? GROUP BY ALL"""


def best_of(runs: int, action) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times) if runs < 3 else statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls-per-day", type=int, default=340, help="340 a day for 30 days ≈ 10 M samples")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    end = datetime(2026, 11, 30, 12, tzinfo=UTC)
    window = Window(end - timedelta(days=31), end)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "rtc.duckdb", timezone="Asia/Shanghai")
        started = time.perf_counter()
        data = generate(end, days=30, calls_per_day=args.calls_per_day, seed=1)
        with store.connect() as con:
            insert_arrow(con, data.calls, data.sessions, data.samples)
        load_s = time.perf_counter() - started
        n = data.samples.num_rows

        ours = heatmap(store, window, "poor_pct")
        hand = store.query(HAND_WRITTEN, [window.start, window.end])
        for row in hand:  # the same answer both ways
            mine = ours["values"][ours["rows"].index(str(row["segment"]))][row["hour"]]
            assert abs(mine - row["poor_pct"]) < 0.01, (row, mine)

        eduops_s = best_of(args.runs, lambda: heatmap(store, window, "poor_pct"))
        hand_s = best_of(args.runs, lambda: store.query(HAND_WRITTEN, [window.start, window.end]))
    print(f"stats samples: {n:,} ({data.sessions.num_rows:,} sessions), generated and stored in {load_s:.0f} s")
    print(f"baseline, hand-written query over raw samples: {hand_s * 1000:,.0f} ms")
    print(f"eduops province × hour heat map: {eduops_s * 1000:,.0f} ms  target < {TARGET_S * 1000:.0f} ms  "
          f"ratio to baseline {eduops_s / hand_s:.3f}  {'OK' if eduops_s < TARGET_S else 'ABOVE TARGET'}")
    if eduops_s >= TARGET_S:
        sys.exit(1)


if __name__ == "__main__":
    main()
