"""`make bench` / `python -m bench [--quick] [NAME ...]`: run every bench/<domain>_<what>.py in turn.

Each bench appends one JSON line per goal to the file named by ``EDUOPS_BENCH_RESULTS`` (set here);
the run ends with the whole table (path | goal | median | range | verdict) and exits 1 when a goal
fails or a bench ends without reporting. ``--quick`` is passed to every bench (reduced sizes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from harness import QUICK_ENV, RESULTS_ENV, failed, read_results, table  # noqa: E402


def scripts(wanted: list[str]) -> list[Path]:
    """bench/<domain>_<what>.py (never this file or __init__.py), those naming a wanted word if any are given."""
    return sorted(p for p in HERE.glob("*_*.py")
                  if not p.name.startswith("_") and (not wanted or any(w in p.stem for w in wanted)))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced sizes, passed to every bench")
    p.add_argument("names", nargs="*", help="run only the benches whose file name contains one of these")
    args = p.parse_args(argv)  # an unknown option exits 2 with the usage, before anything runs
    quick, wanted = args.quick, args.names
    crashed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="eduops-bench-") as tmp:
        results_file = Path(tmp) / "results.jsonl"
        env = {**os.environ, RESULTS_ENV: str(results_file)}
        if quick:
            env[QUICK_ENV] = "1"
        for script in scripts(wanted):
            print(f"\n=== {script.stem}{' --quick' if quick else ''} ===", flush=True)
            started = time.perf_counter()
            before = len(read_results(results_file))
            rc = subprocess.call([sys.executable, str(script), *(["--quick"] if quick else [])], env=env)
            reported = len(read_results(results_file)) - before
            print(f"--- {script.stem}: exit {rc}, {reported} goals, {time.perf_counter() - started:.1f} s", flush=True)
            if reported == 0 or (rc not in (0, 1)):
                crashed.append(f"{script.stem} (exit {rc}, {reported} goals reported)")
        results = read_results(results_file)
    print(f"\n=== all benches{' (--quick: reduced sizes)' if quick else ''} ===")
    print(table(results))
    bad = failed(results)
    if bad:
        print(f"\n{len(bad)} of {len(results)} goals fail: " + "; ".join(r.goal.path for r in bad))
    if crashed:
        print("benches that did not finish: " + ", ".join(crashed))
    return 1 if bad or crashed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
