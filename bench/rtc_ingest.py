"""Call-quality ingestion: stats samples per second from a JSONL file (`eduops rtc ingest`'s path) and over
HTTP (POST /api/v1/rtc/reports against a real `eduops serve`), each next to DuckDB's own JSON reader
loading the same file into a bare table (the ceiling), measured in the same run.

    .venv/bin/python bench/rtc_ingest.py [--samples 200000] [--batch 1000] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
from serving import free_port, start_server

from eduops.core.workspace import init_workspace
from eduops.db import dispose_engines
from eduops.rtc.service import ingest_file
from eduops.rtc.store import Store
from eduops.web.apikeys import create_key

FILE_TARGET, HTTP_TARGET = 20_000, 5_000


def samples(count: int, seed: int = 5) -> list[dict[str, object]]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    items: list[dict[str, object]] = []
    for i in range(count):
        call, user = i // 400, i // 100
        items.append({
            "type": "sample", "call_id": f"call-{call}", "user_id": f"u-{user}",
            "ts": (start + timedelta(seconds=5 * i)).isoformat(), "interval_s": 5,
            "rtt_ms": round(rng.lognormvariate(3.8, 0.4), 1), "jitter_ms": round(rng.gammavariate(2, 3), 1),
            "loss_up_pct": round(rng.expovariate(3), 2), "loss_down_pct": round(rng.expovariate(3), 2),
            "bitrate_up_kbps": 900, "bitrate_down_kbps": 1200, "fps": 24, "width": 1280, "height": 720,
            "video_freezes_ms": [round(rng.uniform(700, 2500))] if rng.random() < 0.05 else [],
            "e2e_delay_ms": 160, "av_sync_ms": 12, "quality_limitation": "none",
        })
    return items


def post_all(port: int, key: str, batches: list[bytes], clients: int) -> float:
    queue = list(range(len(batches)))
    lock = threading.Lock()
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def client() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as http:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    index = queue.pop()
                answer = http.post("/api/v1/rtc/reports", content=batches[index])
                if answer.status_code != 200 or answer.json()["rejected_total"]:
                    errors.append(f"{answer.status_code} {answer.text[:200]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"ingestion failed: {errors[0]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    items = samples(args.samples)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samples.jsonl"
        path.write_text("".join(json.dumps(i) + "\n" for i in items))

        started = time.perf_counter()  # the ceiling: DuckDB's JSON reader into a bare table, no checks
        con = duckdb.connect(str(Path(tmp) / "baseline.duckdb"))
        con.execute(f"CREATE TABLE raw AS SELECT * FROM read_json_auto('{path}')")
        con.close()
        raw_s = time.perf_counter() - started

        started = time.perf_counter()
        result = ingest_file(Store(Path(tmp) / "file.duckdb"), path)
        file_s = time.perf_counter() - started
        assert result.accepted["samples"] == len(items) and not result.rejected_total

        home = Path(tmp) / "ws"
        ws, _ = init_workspace(home, admin_password="Bench-Rtc-Ingest-2026!x")
        _info, key = create_key(ws.engine, "bench", ["ingest:rtc"], actor="bench")
        dispose_engines()
        batches = [json.dumps(items[i:i + args.batch]).encode() for i in range(0, len(items), args.batch)]
        port = free_port()
        server = start_server(home, port)
        try:
            http_s = post_all(port, key, batches, args.clients)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    n = len(items)
    raw_rate, file_rate, http_rate = n / raw_s, n / file_s, n / http_s
    print(f"stats samples: {n:,}; HTTP in batches of {args.batch} from {args.clients} clients")
    print(f"baseline, DuckDB read_json into a bare table: {raw_rate:,.0f} samples/s ({raw_s:.1f} s)")
    print(f"eduops rtc ingest FILE: {file_rate:,.0f} samples/s ({file_s:.1f} s)  target >= {FILE_TARGET:,}  "
          f"ratio to baseline {file_rate / raw_rate:.2f}  {'OK' if file_rate >= FILE_TARGET else 'BELOW TARGET'}")
    print(f"POST /api/v1/rtc/reports: {http_rate:,.0f} samples/s ({http_s:.1f} s)  target >= {HTTP_TARGET:,}  "
          f"ratio to baseline {http_rate / raw_rate:.2f}  {'OK' if http_rate >= HTTP_TARGET else 'BELOW TARGET'}")
    if file_rate < FILE_TARGET or http_rate < HTTP_TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
