"""xAPI ingest: POST /xapi/statements in batches of 100 against a real `eduops serve`, next to a raw insert
of the same statements, already prepared, into the same DuckDB table (the reference doing the work as
well as it can be done), in interleaved rounds.

- eduops: from the first POST until the last statement is readable (a GET /xapi/statements after the
  last acknowledgement loads what is journalled), clients posting in parallel;
- baseline: the round's statements are prepared outside the timing (``lrs.prepare``, ``extract.to_row``,
  ``store.to_arrow``); the timing covers one transaction inserting that Arrow table into a DuckDB file
  with eduops's own statements DDL (primary key included) and its commit.

Goals (issue 18): ≥ 0.5× the raw insert, and ≥ 20,000 statements/s on this machine (by the median).

    .venv/bin/python bench/analytics_ingest.py [--statements 50000] [--batch 100] [--clients 4] [--quick]
"""

from __future__ import annotations

import base64
import json
import random
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
from harness import Goal, finish, interleaved, parse, parser, report
from serving import free_port, start_server

from eduops.analytics import extract, sql
from eduops.analytics.demo import semester
from eduops.analytics.lrs import prepare
from eduops.analytics.store import _INSERT_FROM_ARROW, to_arrow  # the store's own insert, the fastest it has
from eduops.core.workspace import init_workspace
from eduops.db import dispose_engines
from eduops.web.apikeys import create_key

RATIO = Goal("xAPI ingest (HTTP, readable) / raw Arrow insert of prepared rows", "≥ 0.5× the raw insert", ">=", 0.5)
RATE = Goal("xAPI ingest statements/s (HTTP, 2 cores)", "≥ 20,000 statements/s", ">=", 20_000, unit="/s")
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://x.example", "name": "bench"}}


def statements_for(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    while len(out) < count:
        out.extend(semester(rng, datetime(2026, 6, 30), learners=500))
    return out[:count]


def post_all(port: int, headers: dict[str, str], batches: list[bytes], clients: int) -> None:
    queue = list(range(len(batches)))
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as http:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    index = queue.pop()
                r = http.post("/xapi/statements", content=batches[index])
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"ingestion failed: {errors[0]}")


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--statements", type=int, default=None, help="per round (default 50,000; --quick 10,000)")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--clients", type=int, default=4)
    args = parse(p)
    n = args.statements or (10_000 if args.quick else 50_000)
    rounds = [statements_for(7 + r, n) for r in range(args.rounds)]
    with tempfile.TemporaryDirectory() as tmp:
        base_con = duckdb.connect(str(Path(tmp) / "baseline.duckdb"))
        for statement in sql.ddl(sql.DUCKDB):
            base_con.execute(statement)

        def baseline(r: int) -> float:
            now = datetime.now()
            table = to_arrow([extract.to_row(prepare(s, AUTHORITY, now)) for s in rounds[r]])  # not timed
            started = time.perf_counter()
            base_con.register("batch", table)
            base_con.execute("BEGIN TRANSACTION")
            base_con.execute(_INSERT_FROM_ARROW)
            base_con.execute("COMMIT")
            elapsed = time.perf_counter() - started
            base_con.unregister("batch")
            return n / elapsed

        home = Path(tmp) / "ws"
        ws, _ = init_workspace(home, admin_password="Bench-Ingest-2026!x")
        _info, key = create_key(ws.engine, "bench", ["ingest:xapi", "read"], actor="bench")
        dispose_engines()
        port = free_port()
        server = start_server(home, port)
        headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
                   "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}

        def ours(r: int) -> float:
            batches = [json.dumps(rounds[r][i:i + args.batch]).encode() for i in range(0, n, args.batch)]
            started = time.perf_counter()
            post_all(port, headers, batches, args.clients)
            read = httpx.get(f"http://127.0.0.1:{port}/xapi/statements?limit=1", headers=headers, timeout=120)
            elapsed = time.perf_counter() - started
            if read.status_code != 200:
                raise SystemExit(f"GET /xapi/statements after ingest: {read.status_code} {read.text[:200]}")
            return n / elapsed

        try:
            pairs = interleaved(args.rounds, ours, baseline, label="statements/s")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            base_con.close()
    note = f"{n:,} statements a round, batches of {args.batch}, {args.clients} clients"
    report(RATIO, [mine / base for mine, base in pairs], note)
    report(RATE, [mine for mine, _ in pairs], note)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
