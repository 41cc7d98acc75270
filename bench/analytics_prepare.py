"""xAPI statements made ready for the store: an ingest helper's work (``ingest_pool.prepare_batch``: parse, check,
rows through the compiled fast path, Arrow table, journal lines) next to the exact path doing the same for the
same batches with the fast path switched off (every statement through ``xapi.validate_statement``,
``lrs.prepare`` and ``extract.to_row``, as before it), in interleaved rounds, as CPU seconds per statement in this
one process (the garbage collector set as a helper sets it).

Each round takes fresh statements (the memos of learners, contexts and IRIs start as they would for a new batch
of a known class, not empty). The figure is the fast path's CPU per statement over the exact path's: it says
how much the helper's work shrank, independent of how fast this machine is today (issue 18 wants the whole
ingest at 0.5× the raw insert; this is the part of it the helpers do). The note gives both in µs.

    .venv/bin/python bench/analytics_prepare.py [--statements 20000] [--quick]
"""

from __future__ import annotations

import gc
import sys
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson
from analytics_ingest import AUTHORITY, statements_for
from harness import Goal, finish, interleaved, parse, parser, report

from eduops.analytics import fastpath, lrs
from eduops.analytics.ingest_pool import prepare_batch

NO_FAST_PATH = SimpleNamespace(row=lambda *args: None, values=lambda *args: None)  # every statement: the exact path
RATIO = Goal("xAPI helper work per statement: fast path / exact path (CPU)", "≤ 0.6× the exact path", "<=", 0.6)


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--statements", type=int, default=None, help="per round (default 20,000; --quick 5,000)")
    args = parse(p)
    n = args.statements or (5_000 if args.quick else 20_000)
    rounds = [[orjson.dumps(batch[i:i + 100]) for i in range(0, n, 100)]
              for batch in (statements_for(11 + r, n) for r in range(args.rounds))]
    stored_at = lrs.iso(datetime.now(UTC))
    prepare_batch(rounds[0][0], AUTHORITY, stored_at, 10_000, ())  # imports (pyarrow's pandas) before timing
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)  # as ingest_pool.helper_main

    def ours(r: int) -> float:
        started = time.process_time()
        for body in rounds[r]:
            if prepare_batch(body, AUTHORITY, stored_at, 10_000, ()) is None:
                raise SystemExit("a bench batch went to the exact path")
        return (time.process_time() - started) / n

    def exact(r: int) -> float:
        chosen = fastpath.compiled()
        fastpath._CHOSEN = NO_FAST_PATH  # type: ignore[assignment]
        try:
            return ours(r)
        finally:
            fastpath._CHOSEN = chosen

    pairs = interleaved(args.rounds, ours, exact, label="CPU s/statement")
    mine = sorted(m for m, _ in pairs)[len(pairs) // 2] * 1e6
    base = sorted(b for _, b in pairs)[len(pairs) // 2] * 1e6
    note = (f"{n:,} statements a round in batches of 100; helper {mine:.1f} µs/statement, exact path "
            f"{base:.1f} (medians); fast path module: {fastpath.compiled().__name__}")
    report(RATIO, [m / b for m, b in pairs], note)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
