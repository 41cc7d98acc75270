"""Vulnerable dependencies: inventories matched against the offline OSV database, as findings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from eduops.core.checks import Finding, Severity
from eduops.core.i18n import msg
from eduops.security.inventory import Package
from eduops.security.osv import OsvDatabase, Vulnerability, load_database
from eduops.security.versions import sort_key

DEFAULT_OSV = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pypa-advisory-db" / "vulns"


@lru_cache(maxsize=4)
def cached_database(paths: tuple[str, ...], mtimes: tuple[float, ...]) -> OsvDatabase:
    return load_database(Path(p) for p in paths)


def database(paths: Iterable[Path]) -> OsvDatabase:
    """The OSV database, loaded once per process while its files stay unchanged."""
    ordered = tuple(str(p) for p in paths)
    return cached_database(ordered, tuple(Path(p).stat().st_mtime if Path(p).exists() else 0.0 for p in ordered))


@dataclass
class DependencyReport:
    packages: int = 0
    unpinned: list[str] = field(default_factory=list)
    vulnerabilities: list[Vulnerability] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"packages": self.packages, "unpinned": self.unpinned,
                "vulnerabilities": [asdict(v) | {"cves": v.cves} for v in self.vulnerabilities]}


def scan_packages(db: OsvDatabase, packages: Iterable[Package]) -> DependencyReport:
    report = DependencyReport()
    seen: set[tuple[str, str, str]] = set()
    for pkg in packages:
        report.packages += 1
        if pkg.version is None:
            report.unpinned.append(f"{pkg.name} ({pkg.source})")
            continue
        if (pkg.ecosystem, pkg.name.lower(), pkg.version) in seen:
            continue
        seen.add((pkg.ecosystem, pkg.name.lower(), pkg.version))
        report.vulnerabilities.extend(db.match(pkg.ecosystem, pkg.name, pkg.version, pkg.source))
    return report


def severity_level(vuln: Vulnerability) -> str:
    """crit for CRITICAL/HIGH advisories (or CVSS network attacks without privileges), warn otherwise."""
    sev = vuln.severity.upper()
    if sev in ("CRITICAL", "HIGH"):
        return "crit"
    if sev.startswith("CVSS:") and "/AV:N/" in sev and "/PR:N/" in sev and "/C:H" in sev:
        return "crit"
    return "warn"


def findings(report: DependencyReport) -> list[Finding]:
    """One finding per vulnerable package version, listing its advisories and the version to move to."""
    grouped: dict[tuple[str, str, str], list[Vulnerability]] = {}
    for v in report.vulnerabilities:
        grouped.setdefault((v.ecosystem, v.package, v.version), []).append(v)
    result = []
    for (ecosystem, name, version), vulns in sorted(grouped.items()):
        fixes = [v.fixed for v in vulns if v.fixed]
        target = max(fixes, key=lambda f: sort_key(ecosystem, f)) if fixes else None
        ids = ", ".join(v.id + (f" ({', '.join(v.cves)})" if v.cves else "") for v in vulns)
        level: Severity = "crit" if any(severity_level(v) == "crit" for v in vulns) else "warn"
        remedy = (msg("upgrade {name} to {target} or later", name=name, target=target) if target
                  else msg("no fixed {name} release is known: replace it or mitigate", name=name))
        result.append(Finding(level, msg(
                "{name} {version} has 1 known vulnerability" if len(vulns) == 1
                else "{name} {version} has {count} known vulnerabilities",
                name=name, version=version, count=len(vulns),
            ),
                              msg(
                                  "{ids}. Source: {source}. {join}",
                                  ids=ids, source=vulns[0].source,
                                  join="; ".join(f"{v.id}: {v.summary}"
                                                                                 for v in vulns[:5]),
                              ), remedy))
    if report.unpinned:
        result.append(Finding("info", msg("{count} requirements are not pinned", count=len(report.unpinned)),
                              ", ".join(report.unpinned[:20]), "pin exact versions (==) or scan the lock file"))
    return result
