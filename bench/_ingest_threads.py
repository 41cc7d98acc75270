"""Where a serving process's CPU goes during xAPI ingest (a diagnostic beside analytics_ingest.py, no goal):
a real `eduops serve`, warmed up, then rounds of POST /xapi/statements; per round, each thread's CPU per
statement (user and system, from /proc/PID/task/*/stat; the main thread is the event loop, the unnamed
busiest others the events loader, DuckDB's own threads and the request threads), the helper processes' CPU
and page faults, and the context switches per request.

    PYTHONPATH=src:bench .venv/bin/python bench/_ingest_threads.py [--statements 50000] [--rounds 3] [--clients 4]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from analytics_ingest import get, helpers_ready, post_all, statements_for
from serving import free_port, start_server

from eduops.core.workspace import init_workspace
from eduops.db import dispose_engines
from eduops.web.apikeys import create_key

TICK = os.sysconf("SC_CLK_TCK")


def _stat(path: str) -> list[str]:
    return Path(path).read_text().rsplit(")", 1)[1].split()


def threads(pid: int) -> dict[int, tuple[float, float, int]]:
    """Each thread's (user s, system s, context switches)."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = _stat(f"/proc/{pid}/task/{tid}/stat")
            status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except FileNotFoundError:
            continue  # ended meanwhile
        switches = sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches" in line)
        found[int(tid)] = (int(fields[11]) / TICK, int(fields[12]) / TICK, switches)
    return found


def children(pid: int) -> dict[int, tuple[float, float, int]]:
    """Each child process's (user s, system s, minor page faults)."""
    found = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        for child in Path(f"/proc/{pid}/task/{tid}/children").read_text().split():
            try:
                fields = _stat(f"/proc/{child}/stat")
            except FileNotFoundError:
                continue
            found[int(child)] = (int(fields[11]) / TICK, int(fields[12]) / TICK, int(fields[7]))
    return found


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--statements", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clients", type=int, default=4)
    args = p.parse_args()
    n, batch = args.statements, 100
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "ws"
        ws, _ = init_workspace(home, admin_password="Bench-Ingest-2026!x")
        _info, key = create_key(ws.engine, "bench", ["ingest:xapi", "read"], actor="bench")
        dispose_engines()
        port = free_port()
        server = start_server(home, port)
        headers = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json",
                   "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        try:
            warm = statements_for(1, 2_000)
            post_all(port, headers, [json.dumps(warm[i:i + batch]).encode() for i in range(0, 2_000, batch)],
                     args.clients)
            get(port, headers, "/xapi/statements?limit=1")
            helpers_ready(port, headers)
            for r in range(args.rounds):
                rows = statements_for(7 + r, n)
                bodies = [json.dumps(rows[i:i + batch]).encode() for i in range(0, n, batch)]
                before, kids_before = threads(server.pid), children(server.pid)
                started = time.perf_counter()
                post_all(port, headers, bodies, args.clients)
                get(port, headers, "/xapi/statements?limit=1")
                elapsed = time.perf_counter() - started
                after, kids_after = threads(server.pid), children(server.pid)
                per = {tid: tuple(a - b for a, b in zip(after[tid], before.get(tid, (0, 0, 0)), strict=True))
                       for tid in after}
                busy = sorted(per.items(), key=lambda item: -(item[1][0] + item[1][1]))
                shown = ", ".join(f"{'main' if tid == server.pid else tid}: {1e6 * u / n:.1f}+{1e6 * s / n:.1f}"
                                  for tid, (u, s, _sw) in busy if u + s > 0)
                helper = [sum(kids_after[c][i] - kids_before.get(c, (0, 0, 0))[i] for c in kids_after)
                          for i in range(3)]
                switches = sum(v[2] for v in per.values()) / (n / batch)
                print(f"round {r + 1}: {n / elapsed:,.0f} statements/s; serving process, µs/statement user+system "
                      f"by thread: {shown}; context switches/request {switches:.0f}; "
                      f"helpers {1e6 * helper[0] / n:.1f}+{1e6 * helper[1] / n:.1f} µs/statement, "
                      f"{helper[2] / n:.2f} page faults/statement", flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
