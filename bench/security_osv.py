"""Dependency check speed: the indexed OSV lookup against a linear scan of every advisory.

Prints packages checked per second for both, measured in the same run on the PyPA database, and
their ratio. Run: .venv/bin/python bench/security_osv.py
"""

from __future__ import annotations

import time
from pathlib import Path

from eduops.security.deps import scan_packages
from eduops.security.inventory import Package, installed_python
from eduops.security.osv import load_database, record_affects
from eduops.security.settings import BUNDLED_OSV


def main() -> None:
    source = BUNDLED_OSV
    if not source.is_dir():
        raise SystemExit(f"{source}: the PyPA advisory database is not there")
    began = time.perf_counter()
    db = load_database([Path(source)])
    load_s = time.perf_counter() - began
    packages = installed_python() + [Package("requests", "2.19.0", "PyPI"), Package("django", "3.2.0", "PyPI")]
    records = [r for rs in db.by_package.values() for r in rs]

    began = time.perf_counter()
    indexed = scan_packages(db, packages)
    indexed_s = time.perf_counter() - began

    began = time.perf_counter()
    naive = set()
    for p in packages:
        for r in records:
            if record_affects(r, p.ecosystem, p.name, p.version or "")[0]:
                naive.add((p.name, r["id"]))
    naive_s = time.perf_counter() - began

    assert {(v.package, v.id) for v in indexed.vulnerabilities} == naive
    print(f"OSV database: {db.count} advisories loaded in {load_s:.2f}s")
    print(f"{len(packages)} packages: indexed {len(packages) / indexed_s:,.0f}/s, "
          f"linear scan {len(packages) / naive_s:,.0f}/s, ratio {naive_s / indexed_s:.0f}x")


if __name__ == "__main__":
    main()
