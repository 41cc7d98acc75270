"""xAPI State documents against a real `eduops serve`: PUT then GET of each learner's "resume" state, as
learning content does every few seconds; requests per second and p50/p99 latency, next to the same
documents upserted and read straight through SQLAlchemy on SQLite (the baseline) in the same run.

    .venv/bin/python bench/xapi_documents.py [--requests 20000] [--clients 8] [--learners 1000]

Target (issue 15): >= 2,000 state PUT/GET per second on 2 cores, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from serving import free_port, start_server

from eduops.analytics.documents import DocumentRef, etag_of
from eduops.analytics.models import XapiDocument
from eduops.core.workspace import init_workspace
from eduops.db import dispose_engines
from eduops.web.apikeys import create_key

ACTIVITY = "https://lms.example.edu/course/physics-101/unit-3/video-2"


def agent(i: int) -> str:
    return json.dumps({"objectType": "Agent", "account": {"homePage": "https://lms.example.edu", "name": f"l{i:05d}"}})


def state(i: int, n: int) -> bytes:
    return json.dumps({"location": f"slide-{n % 40}", "progress": round((n % 100) / 100, 2), "learner": i,
                       "suspend_data": "x" * 200}).encode()


def baseline(jobs: list[tuple[int, int]], folder: Path) -> float:
    """The same PUT/GET pairs as a raw SQLAlchemy upsert and select on SQLite (WAL), one connection."""
    from sqlalchemy.dialects.sqlite import insert

    engine = sa.create_engine(f"sqlite:///{folder / 'baseline.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    table = XapiDocument.__table__
    table.create(engine)  # type: ignore[attr-defined]
    started = time.perf_counter()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        for i, n in jobs:
            ref = DocumentRef("state", ACTIVITY, f"account|https://lms.example.edu|l{i:05d}", "", "resume")
            content = state(i, n)
            values = {"key": ref.key, "scope": ref.scope, "kind": "state", "activity_id": ACTIVITY, "agent": ref.agent,
                      "registration": "", "doc_id": "resume", "content_type": "application/json",
                      "content": content, "etag": etag_of(content), "updated": datetime.now(UTC)}
            statement = insert(table).values(**values)
            conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_={
                k: statement.excluded[k] for k in ("content", "etag", "updated")}))
            conn.commit()
            conn.execute(sa.select(table.c.content).where(table.c.key == ref.key)).one()  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    engine.dispose()
    return 2 * len(jobs) / elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to see cost per request whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000, help="PUT and GET requests in all")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--learners", type=int, default=1000)
    args = parser.parse_args()
    jobs = [(n % args.learners, n) for n in range(args.requests // 2)]
    with tempfile.TemporaryDirectory() as tmp:
        base_rate = baseline(jobs, Path(tmp))
        home = Path(tmp) / "ws"
        ws, _ = init_workspace(home, admin_password="Bench-Documents-2026!x")
        _info, key = create_key(ws.engine, "content", ["xapi:state"], actor="bench")
        dispose_engines()
        port = free_port()
        server = start_server(home, port)
        headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
                   "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        queue = list(reversed(jobs))
        lock = threading.Lock()
        latencies: list[float] = []
        errors: list[str] = []

        def client() -> None:
            mine: list[float] = []
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
                while True:
                    with lock:
                        if not queue or errors:
                            break
                        i, n = queue.pop()
                    params = {"activityId": ACTIVITY, "agent": agent(i), "stateId": "resume"}
                    content = state(i, n)
                    t0 = time.perf_counter()
                    put = http.put("/xapi/activities/state", params=params, content=content)
                    t1 = time.perf_counter()
                    got = http.get("/xapi/activities/state", params=params)
                    t2 = time.perf_counter()
                    if put.status_code != 204 or got.status_code != 200:
                        errors.append(f"PUT {put.status_code} GET {got.status_code} {got.text[:200]}")
                        break
                    mine += [t1 - t0, t2 - t1]
            with lock:
                latencies.extend(mine)

        try:
            cpu_before = cpu_seconds(server.pid)
            started = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            http_s = time.perf_counter() - started
            server_cpu = cpu_seconds(server.pid) - cpu_before
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    if errors:
        raise SystemExit(f"state requests failed: {errors[0]}")
    rate = len(latencies) / http_s
    cuts = statistics.quantiles(latencies, n=100)
    print(f"requests: {len(latencies):,} (PUT then GET of {args.learners:,} learners' state), {args.clients} clients")
    print(f"state PUT/GET over HTTP: {rate:,.0f} requests/s  target >= 2,000")
    print(f"latency p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms  target p99 < 50 ms")
    per_request = server_cpu / len(latencies)
    print(f"server CPU per request: {per_request * 1000:.2f} ms (one process: at most {1 / per_request:,.0f} "
          f"requests/s on an idle core; load average now {os.getloadavg()[0]:.1f})")
    print(f"baseline (SQLAlchemy upsert + select on SQLite, no HTTP): {base_rate:,.0f} operations/s")
    print(f"ratio HTTP / baseline: {rate / base_rate:.2f}")


if __name__ == "__main__":
    main()
