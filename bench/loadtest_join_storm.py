"""The live-class join storm from this machine: 10,000 learners join within 60 s, then each sends a
heartbeat every 15 s for 5 minutes (`eduops loadtest run join-storm`), fired by one Locust generator
against a local nginx answering the platform's API, in rounds (≥ 3).

Goals (issue 18, item 4): arrivals within 5 % of the planned schedule (the largest gap between
learners planned to have arrived and learners who did, as a share of all learners, at every tick),
and the generator under one core (its CPU seconds / the test's seconds), in every round.

    .venv/bin/python bench/loadtest_join_storm.py [--learners 10000] [--quick]
    (--quick: 2,000 learners joining within 10 s, heartbeats every 15 s, 40 s a round)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from harness import Goal, finish, parse, parser, report
from loadtest_rps import NGINX, free_port, start_nginx

from eduops.loadtest.service import plan_test, run_test
from eduops.loadtest.settings import LoadtestSettings

PLATFORM = """location /api/ { default_type application/json; return 200 '{"token": "t", "ok": true}'; }"""


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--learners", type=int, default=None, help="default 10,000; --quick 2,000")
    args = parse(p)
    learners = args.learners or (2_000 if args.quick else 10_000)
    join_s, heartbeat_s, duration_s = (10.0, 15.0, 40.0) if args.quick else (60.0, 15.0, 360.0)
    if not Path(NGINX).exists():
        raise SystemExit("needs /usr/sbin/nginx (Debian package nginx-light)")
    workdir = Path(tempfile.mkdtemp(prefix="eduops-bench-storm-"))
    port = free_port()
    nginx = start_nginx(workdir, port, PLATFORM)
    lt = LoadtestSettings(host=f"http://127.0.0.1:{port}")
    deviations, cores = [], []
    try:
        for n in range(args.rounds):
            plan = plan_test(lt, {"scenario": "join-storm", "mode": "fixed", "users": learners,
                                  "join_seconds": join_s, "heartbeat_seconds": heartbeat_s, "duration": duration_s})
            summary, files = run_test(plan, lt, workdir / f"round{n}")
            arrivals = summary["arrivals"]
            deviations.append(arrivals["max_deviation_pct"])
            cores.append(summary["generator_cpu_s"] / max(summary["duration_s"], 1e-9))
            print(f"  round {n + 1}: {arrivals['arrived']:,} of {learners:,} arrived, largest gap "
                  f"{arrivals['max_deviation_pct']}%, generator {cores[-1]:.2f} cores, "
                  f"{summary['overall']['requests']:,} requests, {summary['overall']['error_rate_pct']:.2f}% errors; "
                  f"report {files[0]}", flush=True)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    shape = f"{learners:,} learners within {join_s:g} s, heartbeat every {heartbeat_s:g} s, {duration_s:g} s"
    report(Goal(f"join storm arrivals vs plan ({shape})", "within 5% of the planned schedule", "<=", 5.0,
                every_round=True, unit="%"), deviations, "largest gap as a share of all learners")
    report(Goal(f"join storm generator CPU ({shape})", "under one core", "<", 1.0, every_round=True, unit="cores"),
           cores, "generator CPU seconds / test seconds")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
