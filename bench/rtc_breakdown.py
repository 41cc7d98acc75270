"""Province × hour heat map over ten million stats samples: eduops's breakdown (read from its 15-minute
rollup) against a hand-written query over the same rollup table for the same figure (poor share of
media time per province and local hour), in interleaved rounds; the answers are compared first.

Goals (issue 18): < 1 s and ≤ 1.5× the hand query on the same summary, by the median.

    .venv/bin/python bench/rtc_breakdown.py [--calls-per-day 340] [--quick]   (--quick: 34 a day ≈ 1 M samples)
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import Goal, finish, interleaved, parse, parser, report, timed

from eduops.rtc.breakdowns import Window, heatmap
from eduops.rtc.qoe import media_share_sql
from eduops.rtc.store import Store, insert_arrow
from eduops.rtc.synthetic import generate

HAND_WRITTEN = f"""
SELECT s.province AS segment, hour(r.bucket) AS hour, {media_share_sql("r.poor_ms", "r.media_ms")} AS poor_pct
FROM sample_rollup r JOIN sessions s ON s.sid = r.sid
WHERE r.bucket >= ? AND r.bucket < ? GROUP BY ALL"""


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--calls-per-day", type=int, default=None, help="340 a day for 30 days ≈ 10 M samples")
    args = parse(p)
    per_day = args.calls_per_day or (34 if args.quick else 340)
    end = datetime(2026, 11, 30, 12, tzinfo=UTC)
    window = Window(end - timedelta(days=31), end)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "rtc.duckdb", timezone="Asia/Shanghai")
        started = time.perf_counter()
        data = generate(end, days=30, calls_per_day=per_day, seed=1)
        with store.connect() as con:
            insert_arrow(con, data.calls, data.sessions, data.samples)
        n = data.samples.num_rows
        print(f"stats samples: {n:,} ({data.sessions.num_rows:,} sessions), generated and stored in "
              f"{time.perf_counter() - started:.0f} s", flush=True)

        ours = heatmap(store, window, "poor_pct")  # also the warm-up of both
        hand = store.query(HAND_WRITTEN, [window.start, window.end])
        for row in hand:  # the same answer both ways
            mine = ours["values"][ours["rows"].index(str(row["segment"]))][row["hour"]]
            assert mine is not None and abs(mine - row["poor_pct"]) < 0.01, (row, mine)

        pairs = interleaved(args.rounds, lambda _n: timed(lambda: heatmap(store, window, "poor_pct")),
                            lambda _n: timed(lambda: store.query(HAND_WRITTEN, [window.start, window.end])),
                            label="heat map seconds")
    size = f"{n / 1e6:.1f}M samples"
    report(Goal(f"rtc province × hour heat map, {size} / hand query on the same rollup", "≤ 1.5× the hand query",
                "<=", 1.5), [mine / hand for mine, hand in pairs])
    report(Goal(f"rtc province × hour heat map, {size}", "< 1 s", "<", 1.0, unit="s"), [mine for mine, _ in pairs])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
