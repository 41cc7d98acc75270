"""POST /xapi/statements in batches of 100 against a real `eduops serve`: statements per second,
next to a bulk insert of the same statements straight into DuckDB (the ceiling) in the same run.

    .venv/bin/python bench/analytics_ingest.py [--statements 50000] [--batch 100] [--clients 4]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import signal
import tempfile
import threading
import time
from pathlib import Path

import httpx
from serving import free_port, start_server

from eduops.analytics import extract
from eduops.analytics.demo import semester
from eduops.analytics.lrs import iso, prepare
from eduops.analytics.store import DuckDBStore
from eduops.core.workspace import init_workspace
from eduops.db import dispose_engines
from eduops.web.apikeys import create_key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--statements", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    statements = []
    rng = random.Random(7)
    from datetime import datetime

    while len(statements) < args.statements:
        statements.extend(semester(rng, datetime(2026, 6, 30), learners=500))
    statements = statements[:args.statements]
    batches = [json.dumps(statements[i:i + args.batch]).encode() for i in range(0, len(statements), args.batch)]

    # baseline: the same statements, extracted and bulk-inserted straight into DuckDB
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "baseline.duckdb")
        started = time.perf_counter()
        now = datetime.now()
        authority = {"objectType": "Agent", "account": {"homePage": "https://x.example", "name": "bench"}}
        rows = [extract.to_row(prepare(s, authority, now)) for s in statements]
        for i in range(0, len(rows), 20_000):
            store.bulk_load(rows[i:i + 20_000])
        bulk_s = time.perf_counter() - started
        store.close()

        home = Path(tmp) / "ws"
        ws, _ = init_workspace(home, admin_password="Bench-Ingest-2026!x")
        _info, key = create_key(ws.engine, "bench", ["ingest:xapi"], actor="bench")
        dispose_engines()
        port = free_port()
        server = start_server(home, port)
        headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
                   "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        queue = list(range(len(batches)))
        lock = threading.Lock()
        errors: list[str] = []

        def client() -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
                while True:
                    with lock:
                        if not queue:
                            return
                        index = queue.pop()
                    r = http.post("/xapi/statements", content=batches[index])
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {r.text[:200]}")
                        return

        try:
            started = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            http_s = time.perf_counter() - started
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    if errors:
        raise SystemExit(f"ingestion failed: {errors[0]}")
    http_rate, bulk_rate = len(statements) / http_s, len(statements) / bulk_s
    print(f"statements: {len(statements):,} in batches of {args.batch}, {args.clients} clients, started {iso(now)}")
    print(f"POST /xapi/statements: {http_rate:,.0f} statements/s ({http_s:.1f} s)  target >= 10,000")
    print(f"bulk insert into DuckDB: {bulk_rate:,.0f} statements/s ({bulk_s:.1f} s)")
    print(f"ratio HTTP / bulk: {http_rate / bulk_rate:.2f}")


if __name__ == "__main__":
    main()
