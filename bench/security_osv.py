"""Dependency check speed: the indexed OSV lookup against a linear scan of every advisory.

Packages checked per second for both on the PyPA database, in interleaved rounds; the answers are
compared. Goal: the index ≥ 100× the linear scan (a guard: docs/security.md quotes about 300×).
Run: .venv/bin/python bench/security_osv.py [--quick]   (--quick: the first 100 installed packages)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from harness import Goal, finish, interleaved, parse, parser, report, timed

from eduops.security.deps import scan_packages
from eduops.security.inventory import Package, installed_python
from eduops.security.osv import load_database, record_affects
from eduops.security.settings import BUNDLED_OSV

GOAL = Goal("dependency check: OSV index speed-up over a linear scan", "≥ 100× the linear scan", ">=", 100.0)


def main() -> int:
    args = parse(parser(__doc__))
    source = BUNDLED_OSV
    if not source.is_dir():
        raise SystemExit(f"{source}: the PyPA advisory database is not there")
    began = time.perf_counter()
    db = load_database([Path(source)])
    load_s = time.perf_counter() - began
    installed = installed_python()
    packages = (installed[:100] if args.quick else installed) + [Package("requests", "2.19.0", "PyPI"),
                                                                   Package("django", "3.2.0", "PyPI")]
    records = [r for rs in db.by_package.values() for r in rs]
    found: dict[str, set[tuple[str, str]]] = {}

    def indexed() -> None:
        found["indexed"] = {(v.package, v.id) for v in scan_packages(db, packages).vulnerabilities}

    def linear() -> None:
        found["linear"] = {(p.name, r["id"]) for p in packages for r in records
                           if record_affects(r, p.ecosystem, p.name, p.version or "")[0]}

    pairs = interleaved(args.rounds, lambda _n: timed(indexed), lambda _n: timed(linear), label="seconds")
    assert found["indexed"] == found["linear"], "the index and the linear scan disagree"
    print(f"OSV database: {db.count} advisories loaded in {load_s:.2f}s; {len(packages)} packages")
    report(GOAL, [base / mine for mine, base in pairs],
           f"{len(packages)} packages, {db.count} advisories; index {len(packages) / pairs[0][0]:,.0f} packages/s")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
