"""GET /xapi/statements filtered by agent, verb, activity and registration against a real `eduops serve`,
at growing store sizes, to show how each query grows with the store (issue 18, item 3).

The statements are generated inside DuckDB (as bench/analytics_metrics.py does, with each statement's
JSON, agents and registration filled in) straight into the workspace's event store before the server
starts. Each filter is asked ``--requests`` times a round (the default page, as an LRS client asks),
in ``--rounds`` rounds; a round's figure is its p95. The p50 and the growth from the smaller size are
in the note.

Goal (issue 18): p95 < 50 ms at 10 M statements; the smaller sizes report against the same goal,
which they must meet on the way (a full scan that grows linearly fails it as the store grows).

    .venv/bin/python bench/xapi_queries.py [--sizes 100000,1000000,10000000] [--requests 30] [--quick]
    (--quick: 100,000 and 1,000,000 statements, 15 requests a round)
"""

from __future__ import annotations

import base64
import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import httpx
from analytics_metrics import expressions, generate
from harness import Goal, finish, parse, parser, report
from serving import free_port, start_server

from eduops.analytics import vocab
from eduops.analytics.store import DuckDBStore, store_path
from eduops.core.workspace import init_workspace
from eduops.db import dispose_engines
from eduops.web.apikeys import create_key

LEARNER = 123
UUID_OF = ("lower(substr(md5({x}), 1, 8) || '-' || substr(md5({x}), 9, 4) || '-4' || substr(md5({x}), 14, 3) || "
           "'-a' || substr(md5({x}), 18, 3) || '-' || substr(md5({x}), 21, 12))")


def statement_exprs() -> dict[str, str]:
    exprs = expressions()
    registration = UUID_OF.format(x="'reg-' || a || '-' || (a % 20)")  # one registration per learner and course
    exprs["registration"] = registration
    exprs["agents"] = "chr(10) || 'account|https://lms|u-' || a || chr(10)"
    exprs["raw"] = ("CAST(json_object('id', 'ID-PLACEHOLDER', 'actor', json_object('objectType', 'Agent', 'account', "
                    "json_object('homePage', 'https://lms', 'name', 'u-' || a)), 'verb', json_object('id', "
                    f"{exprs['verb_id']}), 'object', json_object('objectType', 'Activity', 'id', "
                    f"{exprs['object_id']}), 'context', json_object('registration', {registration}), "
                    "'timestamp', '2025-01-01T00:00:00Z', 'stored', '2025-01-01T00:00:00Z') AS VARCHAR)")
    return exprs


def forget_keys(path: Path) -> None:
    """Remove every statement's filter keys, as in a store from before postings."""
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM statement_keys")
    con.execute("DELETE FROM statement_key_counts")
    con.close()


def fill(path: Path, rows: int, rounds: int) -> None:
    """Generate ``rows`` statements into ``path`` without their filter keys (a store from an older eduops), time
    opening it in each round, then post the keys in the foreground as `eduops upgrade` does."""
    con = duckdb.connect(str(path))
    generate(con, rows, max(1000, rows // 50), statement_exprs())
    # the statement's JSON carries its id (generated once, in its column); statements are numbered in the order
    # they lie in the file, as the LRS numbers them when it stores them (generate() numbers them before sorting)
    con.execute("UPDATE statements SET raw = replace(raw, 'ID-PLACEHOLDER', CAST(id AS VARCHAR)), seq = rowid + 1")
    con.close()
    # the store posts the keys of statements written without them in the background once open (each open here
    # leaves a chunk or so posted when it closes); opening used to wait for all of them
    opened = []
    for _round in range(rounds):
        started = time.perf_counter()
        store = DuckDBStore(path)
        opened.append(time.perf_counter() - started)
        assert store.indexing() is not None
        store.close()
        forget_keys(path)  # the next round opens an old store again (this one may have posted them all)
    started = time.perf_counter()
    store = DuckDBStore(path)
    store.post_keys()
    store.close()
    posting = time.perf_counter() - started
    print(f"  filter keys of {rows:,} statements posted in {posting:.1f} s", flush=True)
    report(Goal(f"open a {rows:,}-statement store without postings", "< 1 s (before: blocked while posting)", "<",
                1.0, unit="s"), opened, f"posting the keys in the foreground (what opening waited for) took "
                                        f"{posting:.1f} s; the server answers at once and posts them in the background")


def queries() -> dict[str, dict[str, str]]:
    learner = f"'reg-{LEARNER}-{LEARNER % 20}'"
    registration = duckdb.connect().execute("SELECT " + UUID_OF.format(x=learner)).fetchall()[0]
    return {
        "agent": {"agent": json.dumps({"objectType": "Agent", "account": {"homePage": "https://lms",
                                                                           "name": f"u-{LEARNER}"}})},
        "verb": {"verb": vocab.VERBS["passed"]},
        "activity": {"activity": f"https://lms/course-{LEARNER % 20}/x"},
        "registration": {"registration": str(registration[0])},
    }


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--sizes", default=None, help="comma-separated statement counts")
    p.add_argument("--requests", type=int, default=None, help="per filter and round (default 30; --quick 15)")
    args = parse(p)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        [100_000, 1_000_000] if args.quick else [100_000, 1_000_000, 10_000_000])
    requests = args.requests or (15 if args.quick else 30)
    previous: dict[str, float] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "ws"
            ws, _ = init_workspace(home, admin_password="Bench-Xapi-Queries-2026!x")
            _info, key = create_key(ws.engine, "bench", ["read"], actor="bench")
            target = store_path(ws.settings)
            dispose_engines()
            started = time.perf_counter()
            fill(target, size, args.rounds)
            print(f"{size:,} statements generated in {time.perf_counter() - started:.1f} s", flush=True)
            port = free_port()
            server = start_server(home, port)
            headers = {"X-Experience-API-Version": "1.0.3",
                       "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as http:
                    asked = queries()
                    for params in asked.values():  # warm-up, and each filter finds statements
                        r = http.get("/xapi/statements?" + urlencode(params))
                        assert r.status_code == 200 and r.json()["statements"], (params, r.status_code, r.text[:300])
                    times: dict[str, list[list[float]]] = {name: [] for name in asked}
                    for _round in range(args.rounds):
                        for name, params in asked.items():  # filters interleaved within each round
                            one = []
                            for _ in range(requests):
                                t0 = time.perf_counter()
                                r = http.get("/xapi/statements?" + urlencode(params))
                                one.append((time.perf_counter() - t0) * 1000)
                                assert r.status_code == 200, r.text[:300]
                            times[name].append(one)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=60)
        for name, per_round in times.items():
            p95s = [statistics.quantiles(one, n=20)[18] for one in per_round]
            p50 = statistics.median(t for one in per_round for t in one)
            growth = (f"; p95 {statistics.median(p95s) / previous[name]:.1f}× the previous size"
                      if name in previous else "")
            previous[name] = statistics.median(p95s)
            report(Goal(f"GET /xapi/statements?{name}=, {size:,} statements, p95", "p95 < 50 ms (goal at 10M)", "<",
                        50.0, unit="ms"), p95s, f"p50 {p50:.1f} ms, {requests} requests a round{growth}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
