"""What authentication and the audit chain cost per request, as ratios to baselines in the same run.

- GET /api/v1/me with an API key (Bearer) and with a session cookie, next to GET /healthz (no auth);
- record_audit (hash chain, one transaction per row) next to a plain insert of a login attempt.

    .venv/bin/python bench/web_auth.py [--requests 400] [--rows 400]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rows", type=int, default=400)
    args = parser.parse_args()
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

    health = median_ms(lambda: anonymous.get("/healthz"), args.requests)
    by_key = median_ms(lambda: anonymous.get("/api/v1/me", headers={"authorization": f"Bearer {key}"}), args.requests)
    by_cookie = median_ms(lambda: client.get("/api/v1/me"), args.requests)

    def plain() -> None:
        with session_scope(ws.engine) as session:
            log_attempt(session, "bench", "127.0.0.1", utcnow(), "ok")

    def audited() -> None:
        with session_scope(ws.engine) as session:
            record_audit(session, actor="bench", action="bench.write", target="x", after={"n": 1})

    insert = median_ms(plain, args.rows)
    chained = median_ms(audited, args.rows)
    t0 = time.perf_counter()
    checked, problem = verify_chain(ws.engine)
    verify_s = time.perf_counter() - t0
    assert problem is None
    print(f"GET /healthz (no auth, baseline)   {health:7.2f} ms")
    print(f"GET /api/v1/me with an API key     {by_key:7.2f} ms   ratio {by_key / health:5.2f}x")
    print(f"GET /api/v1/me with a session      {by_cookie:7.2f} ms   ratio {by_cookie / health:5.2f}x")
    print(f"plain row insert (baseline)        {insert:7.2f} ms")
    print(f"hash-chained audit row             {chained:7.2f} ms   ratio {chained / insert:5.2f}x")
    print(f"verify {checked} audit rows: {verify_s * 1000:.0f} ms ({checked / verify_s:,.0f} rows/s)")


if __name__ == "__main__":
    main()
