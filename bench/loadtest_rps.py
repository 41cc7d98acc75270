"""Load generator throughput: requests per second per core that eduops's Locust generator sustains against
a local nginx serving a static file, as a ratio to `wrk` against the same target in the same run.

Both generators get one core's worth of work (Locust: one gevent process; wrk: one thread); each figure is
requests divided by the generator's own CPU seconds (user + system, from wait4; Locust's imports and
set-up before its first request are left out), so a busy machine flatters neither.
Interleaved rounds (≥ 3, alternating who goes first); the figure per round is Locust's requests per CPU
second / wrk's. Goal (issue 18): ≥ 0.1× wrk per core, by the median (Locust's FastHttpUser).
Run: .venv/bin/python bench/loadtest_rps.py [--seconds 5] [--quick]   (--quick: 3 s a run)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Goal, finish, interleaved, parse, parser, report

from eduops.loadtest.runner import LoadSpec
from eduops.loadtest.shapes import make_shape

NGINX = "/usr/sbin/nginx"
CONNECTIONS = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_nginx(workdir: Path, port: int, locations: str = "") -> subprocess.Popen[bytes]:
    """nginx serving ``www/index.html`` on ``port``, plus any ``location`` blocks given."""
    workdir.chmod(0o755)  # nginx workers run as an unprivileged user when started by root
    (workdir / "www").mkdir()
    (workdir / "www" / "index.html").write_text("<!doctype html><title>eduops</title>" + "x" * 512)
    for sub in ("logs", "tmp"):
        (workdir / sub).mkdir()
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/tmp/body;
  proxy_temp_path {workdir}/tmp/proxy;
  fastcgi_temp_path {workdir}/tmp/fastcgi;
  uwsgi_temp_path {workdir}/tmp/uwsgi;
  scgi_temp_path {workdir}/tmp/scgi;
  keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port}; root {workdir}/www; {locations} }}
}}
""")
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(workdir)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                why = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"nginx did not start: {why}") from None
            time.sleep(0.05)


def cpu_seconds(pid: int) -> tuple[int, float]:
    _, status, usage = os.wait4(pid, 0)
    return status, usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, seconds: float) -> tuple[float, float]:
    proc = subprocess.Popen(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:.0f}s", url],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, cpu = cpu_seconds(proc.pid)
    match = re.search(r"^\s*(\d+) requests in", out, re.MULTILINE)
    if not match:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    return float(match.group(1)), cpu


def run_locust(url: str, seconds: float, workdir: Path) -> tuple[float, float]:
    spec = LoadSpec("StaticFileUser", url, make_shape("constant", CONNECTIONS, seconds, 1000.0),
                    {"path": "/index.html"}).child_spec("local")
    spec_file = workdir / "locust.json"
    spec_file.write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, "-m", "eduops.loadtest.worker", str(spec_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    final, cpu_at_start = {}, 0.0
    for line in proc.stdout or []:
        message = json.loads(line)
        if message.get("type") == "start":  # imports and set-up are not load generation
            cpu_at_start = _proc_cpu(proc.pid)
        if message.get("type") == "final":
            final = message
    _, cpu = cpu_seconds(proc.pid)
    cpu -= cpu_at_start
    total = final.get("total", {})
    if not total.get("requests") or total.get("failures"):
        raise SystemExit(f"the Locust run failed: {total} {final.get('errors', [])[:3]}")
    return float(total["requests"]), cpu


GOAL = Goal("load generation: Locust FastHttpUser req/s per core / wrk per core", "≥ 0.1× wrk per core", ">=", 0.1)


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=None, help="each run (default 5; --quick 3)")
    args = parse(p)
    seconds = args.seconds or (3.0 if args.quick else 5.0)
    if not Path(NGINX).exists() or not shutil.which("wrk"):
        raise SystemExit("needs /usr/sbin/nginx and wrk (Debian packages nginx-light or nginx, and wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="eduops-bench-"))
    port = free_port()
    nginx = start_nginx(workdir, port)
    url = f"http://127.0.0.1:{port}"
    runs: dict[str, list[tuple[float, float]]] = {"locust": [], "wrk": []}

    def locust(n: int) -> float:
        requests, cpu = run_locust(url, seconds, workdir)
        runs["locust"].append((requests, cpu))
        return requests / max(cpu, 1e-6)

    def wrk(n: int) -> float:
        requests, cpu = run_wrk(f"{url}/index.html", seconds)
        runs["wrk"].append((requests, cpu))
        return requests / max(cpu, 1e-6)

    try:
        pairs = interleaved(args.rounds, locust, wrk, label="requests per CPU second")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    locust_rate = statistics.median(m for m, _ in pairs)
    wrk_rate = statistics.median(b for _, b in pairs)
    report(GOAL, [m / b for m, b in pairs],
           f"nginx static file, {CONNECTIONS} connections/users, {seconds:.0f} s a run; median Locust "
           f"{locust_rate:,.0f} req/s per core, wrk {wrk_rate:,.0f}")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
