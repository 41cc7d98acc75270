"""What the events loader's DuckDB work costs per statement (a diagnostic beside analytics_ingest.py, no goal).

Statements of the bench's shape are prepared as the ingest helpers prepare them (outside the timing), then one
thread journals them batch by batch through ``DuckDBStore.insert_table`` as fast as it can while the loader
moves them into DuckDB, and a read at the end loads the rest. Each SQL statement the store runs is timed: per
statement stored, the wall time of the rows' INSERT, the postings, and the COMMIT; the longest COMMIT (a
checkpoint stalls the loader, and every reader waiting on it); the loads; and the disk the store uses at the end
(file, DuckDB's write-ahead log, journal). Run it against another checkout with PYTHONPATH to compare.

    PYTHONPATH=src:bench .venv/bin/python bench/_ingest_loader.py [--statements 300000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analytics_ingest import AUTHORITY, statements_for

from eduops.analytics import ingest_pool
from eduops.analytics.lrs import iso
from eduops.analytics.store import DuckDBStore

BATCH = 100
KINDS = {"INSERT INTO statements": "rows", "INSERT INTO statement_keys": "postings",
         "INSERT INTO statement_key_counts": "postings", "COMMIT": "commit"}


def prepared(n: int) -> list[ingest_pool.Prepared]:
    stored_at = iso(datetime.now(UTC))
    statements = statements_for(60, n)
    out = []
    for i in range(0, n, BATCH):
        batch = ingest_pool.prepare_batch(json.dumps(statements[i:i + BATCH]).encode(), AUTHORITY, stored_at,
                                          10_000, ())
        if batch is None:
            raise SystemExit("a batch took the exact path: the statements are not of the common shape")
        out.append(batch)
    return out


def one_run(batches: list[ingest_pool.Prepared], n: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "events.duckdb")
        spent: dict[str, float] = {}
        commits: list[float] = []
        run = store._run

        def timed(text: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
            started = time.perf_counter()
            try:
                return run(text, params)
            finally:
                elapsed = time.perf_counter() - started
                kind = next((k for prefix, k in KINDS.items() if text.startswith(prefix)), None)
                if kind is not None:
                    spent[kind] = spent.get(kind, 0.0) + elapsed
                if kind == "commit":
                    commits.append(elapsed)

        store._run = timed  # type: ignore[method-assign]
        started = time.perf_counter()
        for batch in batches:
            if not store.insert_table(batch.ids, batch.table(), batch.journal):
                raise SystemExit("an id was refused: the statements repeat")
        store.query("SELECT count(*) FROM statements")
        elapsed = time.perf_counter() - started
        disk = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 2**20
        store.close()
    parts = ", ".join(f"{kind} {1e6 * spent.get(kind, 0.0) / n:.1f}" for kind in ("rows", "postings", "commit"))
    return (f"{n / elapsed:,.0f} statements/s journalled and loaded; loader µs/statement (wall): {parts}; "
            f"{len(commits)} loads, longest commit {max(commits):.2f} s; disk at the end {disk:.0f} MiB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--statements", type=int, default=300_000)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    n = args.statements // BATCH * BATCH
    batches = prepared(n)
    for _ in range(args.repeats):
        print(one_run(batches, n), flush=True)


if __name__ == "__main__":
    main()
