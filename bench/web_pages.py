"""Every console page of a demo workspace: p50/p95 per page, logged in as the admin, against a real
`eduops serve` (issue 18, item 3).

The pages are found by walking the console from / (same-site links in each page, query strings
dropped, one page per path shape: /runs/29 stands for every /runs/<id>, /rtc/calls/call-003600 for
every call; at most ``--max-pages``); each round asks every page ``--requests`` times, pages in turn.
Goals (issue 18): every page p95 < 300 ms (the figure per round is the slowest page's p95; the note
names the pages over it); /rtc p50 < 100 ms.

    .venv/bin/python bench/web_pages.py [--demo-dir DIR] [--requests 20] [--quick]   (--quick: 5 requests)

Without --demo-dir it builds one with `eduops demo --no-serve` (about two minutes); with a directory
that holds a demo already, that one is used.
"""

from __future__ import annotations

import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from harness import Goal, finish, parse, parser, report
from serving import EDUOPS, free_port, start_server

SKIP = ("/static", "/api", "/xapi", "/logout", "/metrics", "/healthz", "/login")
LINK = re.compile(r'href="([^"#]+)"')
PAGE_P95 = Goal("console pages, slowest page p95 (demo workspace)", "every page p95 < 300 ms", "<", 300.0, unit="ms")
RTC_P50 = Goal("console /rtc p50 (demo workspace)", "/rtc p50 < 100 ms", "<", 100.0, unit="ms")


def build_demo(directory: Path) -> str:
    """The demo's admin password; builds the demo when ``directory`` holds none."""
    marker = directory / "bench-admin-password"
    if marker.exists():
        return marker.read_text().strip()
    done = subprocess.run([EDUOPS, "demo", "--no-serve", "--dir", str(directory)], capture_output=True, text=True,
                          check=True, env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"})
    found = re.search(r"as admin / (\S+)", done.stdout)
    if not found:
        raise SystemExit(f"eduops demo printed no admin login:\n{done.stdout[-2000:]}")
    marker.write_text(found.group(1))
    return found.group(1)


def log_in(http: httpx.Client, password: str) -> None:
    page = http.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = http.post("/login", data={"username": "admin", "password": password, "csrf_token": token})
    if r.status_code not in (200, 303):
        raise SystemExit(f"could not log in as admin: {r.status_code} {r.text[:300]}")


ID = re.compile(r"^(?:[0-9]+|[0-9a-f]{8,}|[0-9a-f-]{36}|\d+(?:\.\d+)+)$|\d{3,}")  # 29, 46244b90…, 5.3.1, call-003600


def shape(path: str) -> str:
    """A path with its ids as {id}: /runs/29 and /runs/30 are one page."""
    return "/".join("{id}" if ID.search(part) else part for part in path.split("/"))


def walk(http: httpx.Client, limit: int) -> list[str]:
    """Console pages reachable from /, breadth first: same-site links that answer 200 with HTML, one per
    shape (the first /runs/<id> found stands for all runs)."""
    seen, queue, pages = {"/"}, ["/"], []
    while queue and len(pages) < limit:
        path = queue.pop(0)
        r = http.get(path)
        if r.status_code != 200 or not r.headers.get("content-type", "").startswith("text/html"):
            continue
        pages.append(path)
        for href in LINK.findall(r.text):
            url = urlsplit(urljoin("http://x" + path, href))
            if url.netloc != "x" or shape(url.path) in seen or url.path.startswith(SKIP):
                continue
            if re.search(r"\.(css|js|png|svg|ico|pdf|csv|json|zip|md)$", url.path):
                continue
            seen.add(shape(url.path))
            queue.append(url.path)
    return pages


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--demo-dir", type=Path, default=None, help="a demo workspace to use (built there if empty)")
    p.add_argument("--requests", type=int, default=None, help="per page and round (default 20; --quick 5)")
    p.add_argument("--max-pages", type=int, default=80)
    args = parse(p)
    requests = args.requests or (5 if args.quick else 20)
    home = args.demo_dir or Path(tempfile.mkdtemp(prefix="eduops-bench-demo-"))
    started = time.perf_counter()
    password = build_demo(home)
    print(f"demo workspace {home} ready in {time.perf_counter() - started:.0f} s", flush=True)
    port = free_port()
    server = start_server(home, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, follow_redirects=True) as http:
            log_in(http, password)
            pages = walk(http, args.max_pages)
            if "/rtc" not in pages:
                raise SystemExit(f"/rtc was not among the pages found: {pages}")
            times: dict[str, list[list[float]]] = {page: [] for page in pages}
            for _round in range(args.rounds):
                for page in pages:
                    one = []
                    for _ in range(requests):
                        t0 = time.perf_counter()
                        r = http.get(page)
                        one.append((time.perf_counter() - t0) * 1000)
                        if r.status_code != 200:
                            raise SystemExit(f"GET {page}: {r.status_code} {r.text[:300]}")
                    times[page].append(one)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    print(f"{'page':48} {'p50 ms':>8} {'p95 ms':>8}")
    worst_by_round = []
    over = []
    for page in pages:
        every = [t for one in times[page] for t in one]
        p50, p95 = statistics.median(every), quantile(every, 0.95)
        print(f"{page:48} {p50:8.0f} {p95:8.0f}{'   over 300 ms' if p95 >= 300 else ''}")
        if p95 >= 300:
            over.append(f"{page} {p95:.0f}")
    for n in range(args.rounds):
        worst_by_round.append(max(quantile(times[page][n], 0.95) for page in pages))
    report(PAGE_P95, worst_by_round, f"{len(pages)} pages, {requests} requests each a round; p95 ≥ 300 ms: "
           + (", ".join(over) if over else "none"))
    report(RTC_P50, [statistics.median(one) for one in times["/rtc"]], f"{requests} requests a round")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
