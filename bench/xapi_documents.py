"""xAPI State documents against a real `eduops serve`: PUT then GET of each learner's "resume" state, as
learning content does every few seconds; requests per second and p50/p99 latency, next to the same
documents upserted and read straight through SQLAlchemy on SQLite (the baseline), in interleaved rounds.

    .venv/bin/python bench/xapi_documents.py [--quick] [--rounds 3] [--requests 20000] [--clients 8]

Goals (issue 15): >= 2,000 state PUT/GET per second on 2 cores and p99 < 50 ms, by the median of the rounds;
the ratio to the baseline is printed in the note.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from harness import Goal, finish, interleaved, parse, parser, report
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


def baseline_engine(folder: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{folder / 'baseline.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    XapiDocument.__table__.create(engine)  # type: ignore[attr-defined]
    return engine


def baseline(jobs: list[tuple[int, int]], engine: sa.Engine) -> float:
    """The same PUT/GET pairs as a raw SQLAlchemy upsert and select on SQLite (WAL), one connection."""
    from sqlalchemy.dialects.sqlite import insert

    table = XapiDocument.__table__
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
    return 2 * len(jobs) / elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to see cost per request whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_round(port: int, headers: dict[str, str], jobs: list[tuple[int, int]],
               clients: int) -> tuple[float, list[float]]:
    """PUT then GET of each job's state from ``clients`` threads: (requests per second, latencies)."""
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

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"state requests failed: {errors[0]}")
    return len(latencies) / (time.perf_counter() - started), latencies


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--requests", type=int, default=None, help="PUT and GET requests per round (20,000; quick 4,000)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--learners", type=int, default=1000)
    args = parse(p)
    requests = args.requests or (4_000 if args.quick else 20_000)
    jobs = [(n % args.learners, n) for n in range(requests // 2)]
    rates: list[float] = []
    p99s: list[float] = []
    cpu_per_request: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = baseline_engine(Path(tmp))
        home = Path(tmp) / "ws"
        ws, _ = init_workspace(home, admin_password="Bench-Documents-2026!x")
        _info, key = create_key(ws.engine, "content", ["xapi:state"], actor="bench")
        dispose_engines()
        port = free_port()
        server = start_server(home, port)
        headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
                   "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}

        def ours(_n: int) -> float:
            cpu_before = cpu_seconds(server.pid)
            rate, latencies = http_round(port, headers, jobs, args.clients)
            cpu_per_request.append((cpu_seconds(server.pid) - cpu_before) / len(latencies))
            rates.append(rate)
            p99s.append(statistics.quantiles(latencies, n=100)[98])
            return rate

        try:
            pairs = interleaved(args.rounds, ours, lambda _n: baseline(jobs, engine), label="operations/s")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            engine.dispose()
    per_request = statistics.median(cpu_per_request)
    note = (f"server CPU {per_request * 1000:.2f} ms/request: one process tops out near {1 / per_request:,.0f}/s "
            f"on an idle core; load average {os.getloadavg()[0]:.1f}")
    ratio = statistics.median(mine / base for mine, base in pairs)
    note += f"; {ratio:.2f}× a SQLAlchemy upsert+select on SQLite without HTTP"
    report(Goal("xAPI state PUT/GET over HTTP", "≥ 2,000 requests/s", ">=", 2000, unit="/s"), rates, note=note)
    report(Goal("xAPI state PUT/GET p99 latency", "< 50 ms", "<", 0.050, unit="s"), p99s)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
