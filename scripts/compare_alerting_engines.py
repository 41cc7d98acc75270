"""How far each engine holds: one rule cycle (5 rules over N series) on the embedded store (SQLite)
against the same rules on the real Prometheus (prometheus_url), on the same data.

For each N the same five minutes of 15-second samples go into eduops's state database (ingest) and
into a Prometheus TSDB (promtool tsdb create-blocks-from openmetrics); then one cycle is timed on each:
embedded = load the window + evaluate (what RuleEvaluator does), Prometheus = the five instant
queries over HTTP (what RuleEvaluator does with prometheus_url). Prints seconds and the ratio.
VictoriaMetrics (Debian's victoria-metrics) gets the same samples through its import API and the
same five queries. Needs Debian's prometheus and victoria-metrics packages.
A comparison for docs/monitoring.md ("Scale"), not a bench with a goal, so `make bench` does not run it.
Run: .venv/bin/python scripts/compare_alerting_engines.py [N ...]
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.alerting.realstack import PROMTOOL, prometheus  # noqa: E402

from eduops.alerting.metric_store import DbSource, ingest  # noqa: E402
from eduops.alerting.prom_source import PrometheusAPI  # noqa: E402
from eduops.alerting.promql import parse  # noqa: E402
from eduops.alerting.promql_eval import evaluate  # noqa: E402
from eduops.db import make_engine, upgrade  # noqa: E402

SAMPLES = 20
RULES = [
    "bench_value > 90",
    "avg_over_time(bench_value[5m]) > 95",
    "rate(bench_total[5m]) > 1",
    "sum by (host) (bench_value) > 1000",
    "max_over_time(bench_value[5m]) > 99 and bench_value > 50",
]


def samples(n: int, end: int) -> list[tuple[str, dict[str, str], float, int]]:
    rng = random.Random(n)
    out = []
    for s in range(n // 2):
        labels = {"host": f"h{s % 100}", "instance": f"i{s}"}
        base, total = rng.uniform(0, 100), 0.0
        for k in range(SAMPLES):
            t = end - (SAMPLES - 1 - k) * 15
            total += rng.uniform(0, 30)
            out.append(("bench_value", labels, round(base + rng.uniform(-5, 5), 3), t))
            out.append(("bench_total", labels, total, t))
    return out


def openmetrics(rows: list[tuple[str, dict[str, str], float, int]]) -> str:
    lines = []
    for name in ("bench_total", "bench_value"):
        lines.append(f"# TYPE {name} gauge")
        lines += [
            f'{n}{{host="{lb["host"]}",instance="{lb["instance"]}"}} {v} {t}' for n, lb, v, t in rows if n == name
        ]
    return "\n".join(lines) + "\n# EOF\n"


def measure_vm(rows: list[tuple[str, dict[str, str], float, int]], work: Path, at: float) -> float:
    """The five queries on VictoriaMetrics (Debian's victoria-metrics), after importing the same samples."""
    import requests
    from tests.alerting.realstack import poll, victoriametrics

    text = "\n".join(f'{n}{{host="{lb["host"]}",instance="{lb["instance"]}"}} {v} {t * 1000}' for n, lb, v, t in rows)
    with victoriametrics(work / "vm") as vm:
        requests.post(vm.url + "/api/v1/import/prometheus", data=text + "\n", timeout=600).raise_for_status()
        requests.get(vm.url + "/internal/force_flush", timeout=600)
        api = PrometheusAPI(vm.url)
        want = len({r[1]["instance"] for r in rows})

        def loaded() -> bool:
            found = api.instant("count(bench_value)", at)
            return isinstance(found, list) and bool(found) and found[0].value == want

        poll(loaded, "VictoriaMetrics has the data", 120)
        t0 = time.perf_counter()
        for r in RULES:  # MetricsQL's rate does not extrapolate: the answers differ on purpose, the work does not
            api.instant(r, at)
        return time.perf_counter() - t0


def measure(n: int) -> tuple[float, float, float]:
    end = (int(time.time()) // 3600) * 3600 - 3600
    rows = sorted(samples(n, end), key=lambda r: (r[0], r[1]["instance"], r[3]))
    at = end - 7
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'eduops.db'}"
        upgrade(url)
        engine = make_engine(url)
        ingest(engine, [(name, lb, v, datetime.fromtimestamp(t, UTC)) for name, lb, v, t in rows])
        (work / "data.om").write_text(openmetrics(rows))
        (work / "prom" / "data").mkdir(parents=True)
        subprocess.run(
            [
                PROMTOOL,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "-q",
                str(work / "data.om"),
                str(work / "prom" / "data"),
            ],
            check=True,
        )
        nodes = [parse(r) for r in RULES]
        t0 = time.perf_counter()
        source = DbSource(engine, raw_days=3650, now=at)
        source.preload(nodes, at - 300, at)
        ours = [evaluate(node, source, at) for node in nodes]
        embedded = time.perf_counter() - t0
        with prometheus(work / "prom", "global: {scrape_interval: 1m}\n") as server:
            api = PrometheusAPI(server.url)
            api.instant("count(bench_value)", at)  # first touch: Prometheus opens the block
            t0 = time.perf_counter()
            theirs = [api.instant(r, at) for r in RULES]
            remote = time.perf_counter() - t0
        assert [len(x) if isinstance(x, list) else 1 for x in ours] == [
            len(x) if isinstance(x, list) else 1 for x in theirs
        ], "the engines disagree"
        engine.dispose()
        vm = measure_vm(rows, work, at)
    return embedded, remote, vm


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 50_000]
    print("series   embedded (s)   Prometheus (s)   VictoriaMetrics (s)   embedded / Prometheus")
    for n in sizes:
        embedded, remote, vm = measure(n)
        print(f"{n:>7}   {embedded:>12.3f}   {remote:>14.3f}   {vm:>19.3f}   {embedded / remote:>21.1f}")


if __name__ == "__main__":
    main()
