"""What authentication and the audit chain cost per request, as ratios to baselines in the same run.

- GET /api/v1/me with an API key (Bearer) and with a session cookie, next to GET /healthz (no auth);
- record_audit (hash chain, one transaction per row) next to a plain insert of a login attempt.

Interleaved rounds (each round: the median of ``--requests`` requests or ``--rows`` rows of each).
Goals (guards, no issue sets them): each authenticated request ≤ 3× /healthz; an audit row ≤ 3× a plain insert.

    .venv/bin/python bench/web_auth.py [--requests 400] [--rows 400] [--quick]   (--quick: 100 each)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from harness import Goal, finish, interleaved, parse, parser, report

from eduops.core.audit import record_audit, verify_chain
from eduops.core.workspace import init_workspace
from eduops.db import session_scope, utcnow
from eduops.web.apikeys import create_key
from eduops.web.app import create_app
from eduops.web.throttle import log_attempt

PASSWORD = "bench-console-password-2026"


def median_ms(action: Callable[[], object], n: int) -> float:
    for _ in range(min(20, n)):
        action()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        action()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--requests", type=int, default=None)
    p.add_argument("--rows", type=int, default=None)
    args = parse(p)
    requests = args.requests or (100 if args.quick else 400)
    rows = args.rows or (100 if args.quick else 400)
    home = Path(tempfile.mkdtemp(prefix="eduops-bench-web-"))
    ws, _ = init_workspace(home, admin_password=PASSWORD)
    app = create_app(ws, domains=("core", "web"))
    _, key = create_key(ws.engine, "bench", ["read"], actor="bench")
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    login = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert login.status_code == 303
    anonymous = TestClient(app)

    def health(_n: int) -> float:
        return median_ms(lambda: anonymous.get("/healthz"), requests)

    def plain() -> None:
        with session_scope(ws.engine) as session:
            log_attempt(session, "bench", "127.0.0.1", utcnow(), "ok")

    def audited() -> None:
        with session_scope(ws.engine) as session:
            record_audit(session, actor="bench", action="bench.write", target="x", after={"n": 1})

    by_key = interleaved(args.rounds, lambda _n: median_ms(
        lambda: anonymous.get("/api/v1/me", headers={"authorization": f"Bearer {key}"}), requests), health,
        label="API key / healthz ms")
    by_cookie = interleaved(args.rounds, lambda _n: median_ms(lambda: client.get("/api/v1/me"), requests), health,
                            label="session / healthz ms")
    chained = interleaved(args.rounds, lambda _n: median_ms(audited, rows), lambda _n: median_ms(plain, rows),
                          label="audit row / plain insert ms")
    t0 = time.perf_counter()
    checked, problem = verify_chain(ws.engine)
    verify_s = time.perf_counter() - t0
    assert problem is None
    print(f"verify {checked} audit rows: {verify_s * 1000:.0f} ms ({checked / verify_s:,.0f} rows/s)")
    for label, pairs, base in (("GET /api/v1/me with an API key", by_key, "GET /healthz"),
                               ("GET /api/v1/me with a session", by_cookie, "GET /healthz"),
                               ("hash-chained audit row", chained, "a plain row insert")):
        report(Goal(f"{label} / {base}", f"≤ 3× {base}", "<=", 3.0), [m / b for m, b in pairs],
               f"median {statistics.median(m for m, _ in pairs):.2f} ms")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
