"""Call-quality ingestion: stats samples per second from a JSONL file (`eduops rtc ingest`'s path) and over
HTTP (POST /api/v1/rtc/reports against a real `eduops serve`), in interleaved rounds with DuckDB's own
JSON reader loading the same file into a bare table (the ceiling; its ratio is in the note).

Goals (issue 18): file ingest ≥ 20,000 samples/s in every round (the lowest round decides); HTTP ≥ 5,000
samples/s by the median. Each round has its own calls (fresh file store; the server's store grows as in
production). The file row's note also gives samples per CPU second, which other load on the machine does not
change: when the wall figure is far below it, the round waited for a core.

    .venv/bin/python bench/rtc_ingest.py [--samples 200000] [--batch 1000] [--clients 4] [--quick]
"""

from __future__ import annotations

import json
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
from harness import Goal, finish, interleaved, parse, parser, report, timed
from serving import free_port, start_server

from eduops.core.workspace import init_workspace
from eduops.db import dispose_engines
from eduops.rtc.service import ingest_file
from eduops.rtc.store import Store
from eduops.web.apikeys import create_key

FILE = Goal("rtc file ingest samples/s (eduops rtc ingest)", "≥ 20,000 samples/s", ">=", 20_000,
            every_round=True, unit="/s")
HTTP = Goal("rtc HTTP ingest samples/s (POST /api/v1/rtc/reports)", "≥ 5,000 samples/s", ">=", 5_000, unit="/s")


def samples(count: int, seed: int = 5, prefix: str = "") -> list[dict[str, object]]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    items: list[dict[str, object]] = []
    for i in range(count):
        call, user = i // 400, i // 100
        items.append({
            "type": "sample", "call_id": f"{prefix}call-{call}", "user_id": f"u-{user}",
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


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--samples", type=int, default=None, help="per round (default 200,000; --quick 50,000)")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--clients", type=int, default=4)
    args = parse(p)
    count = args.samples or (50_000 if args.quick else 200_000)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for r in range(args.rounds):
            path = Path(tmp) / f"samples{r}.jsonl"
            path.write_text("".join(json.dumps(i) + "\n" for i in samples(count, 5 + r, f"r{r}-")))
            files.append(path)

        loads = iter(range(10**6))

        def raw(r: int) -> float:  # the ceiling: DuckDB's JSON reader into a bare table, no checks
            target = Path(tmp) / f"baseline{next(loads)}.duckdb"

            def load() -> None:
                con = duckdb.connect(str(target))
                con.execute(f"CREATE TABLE raw AS SELECT * FROM read_json_auto('{files[r]}')")
                con.close()
            return count / timed(load)

        file_cpu: list[float] = []  # samples per CPU second of this process (its threads too) in each round

        def from_file(r: int) -> float:
            started, cpu = time.perf_counter(), time.process_time()
            result = ingest_file(Store(Path(tmp) / f"file{r}.duckdb"), files[r])
            elapsed = time.perf_counter() - started
            file_cpu.append(count / max(time.process_time() - cpu, 1e-9))
            assert result.accepted["samples"] == count and not result.rejected_total, result
            return count / elapsed

        file_pairs = interleaved(args.rounds, from_file, raw, label="file samples/s")

        home = Path(tmp) / "ws"
        ws, _ = init_workspace(home, admin_password="Bench-Rtc-Ingest-2026!x")
        _info, key = create_key(ws.engine, "bench", ["ingest:rtc"], actor="bench")
        dispose_engines()
        port = free_port()
        server = start_server(home, port)

        def over_http(r: int) -> float:
            items = samples(count, 50 + r, f"h{r}-")
            batches = [json.dumps(items[i:i + args.batch]).encode() for i in range(0, len(items), args.batch)]
            return count / post_all(port, key, batches, args.clients)

        try:
            http_pairs = interleaved(args.rounds, over_http, raw, label="HTTP samples/s")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    def ratio(pairs: list[tuple[float, float]]) -> str:
        return f"median {statistics.median(m / b for m, b in pairs):.2f}× DuckDB read_json into a bare table"

    report(FILE, [m for m, _ in file_pairs],
           f"{count:,} samples a round; {ratio(file_pairs)}; {statistics.median(file_cpu):,.0f} samples per CPU "
           f"second (lowest {min(file_cpu):,.0f}): wall below that is waiting for a core",
           extra={"samples_per_cpu_s": file_cpu})
    report(HTTP, [m for m, _ in http_pairs],
           f"{count:,} samples a round, batches of {args.batch}, {args.clients} clients; {ratio(http_pairs)}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
