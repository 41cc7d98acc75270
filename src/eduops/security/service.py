"""The security scan: every area scanned, judged and scored; the history kept for the trend.

Usable from Python without the web app or the CLI: ``run_scan(settings, engine)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core.checks import Finding, finding_to_dict, render_finding, status_from_findings
from eduops.core.i18n import msg
from eduops.db import session_scope
from eduops.errors import EduopsError
from eduops.security import access, deps, patches, ports, tls, weakconfig, webscan
from eduops.security.headers import grade
from eduops.security.inventory import installed_debian, installed_python, read_inventory
from eduops.security.models import SecurityScan
from eduops.security.scoring import AREAS, Point, area_score, overall_score, week_over_week
from eduops.security.settings import SecuritySettings, security_settings

log = logging.getLogger(__name__)
Progress = Callable[[str, float], None]


@dataclass
class AreaResult:
    area: str
    findings: list[Finding] = field(default_factory=list)
    score: float | None = None  # None: not scanned (not configured or failed)
    evidence: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""
    error: str = ""
    duration_ms: float = 0.0


@dataclass
class ScanReport:
    started_at: datetime
    areas: dict[str, AreaResult]
    score: float
    trend: dict[str, float | None] = field(default_factory=dict)
    scan_id: int | None = None

    @property
    def findings(self) -> list[Finding]:
        return [f for a in self.areas.values() for f in a.findings]

    @property
    def status(self) -> str:
        return status_from_findings(self.findings)

    def scores(self) -> dict[str, float]:
        return {name: a.score for name, a in self.areas.items() if a.score is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"scan_id": self.scan_id, "started_at": self.started_at.isoformat(), "status": self.status,
                "score": self.score, "scores": self.scores(), "trend": self.trend,
                "areas": {n: {"score": a.score, "skipped": a.skipped, "error": a.error, "evidence": a.evidence,
                              "findings": [finding_to_dict(f, "en")
                                           for f in a.findings]} for n, a in self.areas.items()}}


# --- one function per area -----------------------------------------------------------------------


def scan_dependencies(sec: SecuritySettings, settings: Settings, engine: Engine, now: datetime) -> AreaResult:
    sources = sec.osv_sources()
    if not sources:
        return AreaResult("dependencies", skipped="no OSV database configured ([security] osv_paths)")
    packages = []
    for path in sec.requirement_files:
        packages += read_inventory(path if path.is_absolute() else settings.home / path)
    if sec.scan_installed_python:
        packages += installed_python()
    if sec.scan_dpkg:
        packages += installed_debian()
    if not packages:
        return AreaResult("dependencies", skipped="no dependency files configured")
    db = deps.database(sources)
    report = deps.scan_packages(db, packages)
    found = deps.findings(report)
    return AreaResult("dependencies", found, area_score(found),
                      {"advisories": db.count, "packages": report.packages,
                       "vulnerable": sorted({f"{v.package} {v.version}" for v in report.vulnerabilities}),
                       "ids": sorted({v.id for v in report.vulnerabilities})})


def _host_port(spec: str, default: int) -> tuple[str, int]:
    parsed = urlsplit(spec if "://" in spec else f"//{spec}")
    return parsed.hostname or spec, parsed.port or default


def scan_tls(sec: SecuritySettings, settings: Settings, engine: Engine, now: datetime) -> AreaResult:
    if not sec.hosts:
        return AreaResult("tls", skipped="no hosts configured ([security] hosts)")
    found: list[Finding] = []
    evidence: dict[str, Any] = {}
    for spec in sec.hosts:
        host, port = _host_port(spec, 443)
        try:
            obs = tls.scan_tls(host, port)
        except EduopsError as exc:
            obs = tls.TlsObservation(host, port, error=exc.message)
        found += tls.judge(obs, now, sec.cert_warn_days, sec.cert_crit_days)
        evidence[f"{host}:{port}"] = {"protocols": sorted(obs.protocols), "not_after": obs.not_after,
                                      "days_left": tls.days_left(obs, now), "trusted": obs.trusted,
                                      "self_signed": obs.self_signed, "hostname_matches": obs.hostname_matches,
                                      "mozilla_intermediate_issues": sorted(obs.mozilla_issues)}
    return AreaResult("tls", found, area_score(found), evidence)


def scan_headers(sec: SecuritySettings, settings: Settings, engine: Engine, now: datetime) -> AreaResult:
    sites = sec.all_sites()
    if not sites:
        return AreaResult("headers", skipped="no URLs configured ([security] urls)")
    found: list[Finding] = []
    evidence: dict[str, Any] = {}
    scores = []
    for site in sites:
        try:
            obs = webscan.fetch(site.url, site.http_url, sec.timeout_seconds, site.ca_file)
        except EduopsError as exc:
            found.append(Finding("crit", msg("{url} could not be fetched", url=site.url), exc.message,
                                 "check the URL and the server"))
            scores.append(0)
            continue
        g = grade(obs)
        scores.append(min(g.score, 100))
        found += webscan.findings(g, obs)
        evidence[site.url] = {"score": g.score, "grade": g.grade,
                              "tests": {t.test: {"result": t.result, "modifier": t.modifier} for t in g.tests}}
    return AreaResult("headers", found, float(min(scores)), evidence)


def scan_ports(sec: SecuritySettings, settings: Settings, engine: Engine, now: datetime) -> AreaResult:
    hosts = sec.port_hosts or [_host_port(h, 443)[0] for h in sec.hosts]
    if not hosts:
        return AreaResult("ports", skipped="no hosts configured ([security] port_hosts or hosts)")
    wanted = ports.parse_port_spec(sec.ports)
    open_ports = []
    for host in dict.fromkeys(hosts):
        open_ports += ports.scan_ports(host, wanted, timeout=min(sec.timeout_seconds, 1.0), max_ports=sec.max_ports)
    found = ports.judge(open_ports, set(sec.ports_allowed))
    return AreaResult("ports", found, area_score(found),
                      {"tried": len(wanted), "open": [f"{p.host}:{p.port}" for p in open_ports]})


def scan_patches(sec: SecuritySettings, settings: Settings, engine: Engine, now: datetime) -> AreaResult:
    if not sec.check_patches:
        return AreaResult("patches", skipped="turned off ([security] check_patches)")
    updates = patches.pending_updates()
    age = patches.lists_age_days(time.time())
    found = patches.judge(updates, age)
    return AreaResult("patches", found, area_score(found),
                      {"pending": len(updates), "security": sum(u.security for u in updates),
                       "lists_age_days": None if age is None else round(age, 1)})


def scan_config(sec: SecuritySettings, settings: Settings, engine: Engine, now: datetime) -> AreaResult:
    found: list[Finding] = []
    checked: dict[str, Any] = {"databases": [], "debug_urls": [], "secret_files": []}
    for url in sec.database_urls:
        checked["databases"].append(weakconfig.safe_url(url))
        try:
            found += weakconfig.judge_database(weakconfig.safe_url(url), weakconfig.database_rules(url))
        except sa.exc.SQLAlchemyError as exc:
            found.append(Finding("info", msg("could not review {safe_url}", safe_url=weakconfig.safe_url(url)),
                                 str(getattr(exc, "orig", exc)).splitlines()[0][:200],
                                 "grant the scan a login that can read pg_hba_file_rules / mysql.user"))
    found += weakconfig.default_credentials(engine)
    for url in sec.debug_urls or [s.url for s in sec.all_sites()]:
        probe = url.rstrip("/") + "/eduops-security-probe-404"
        checked["debug_urls"].append(probe)
        try:
            body = httpx.get(probe, verify=False, timeout=sec.timeout_seconds).text[:200_000]  # noqa: S501
        except httpx.HTTPError:
            continue
        found += weakconfig.judge_debug(url, body)
    files = [settings.key_file, *sec.secret_files]
    configs = (settings.config_file,) if settings.config_file else ()
    checked["secret_files"] = [str(p) for p in [*files, *configs]]
    found += weakconfig.check_secret_files(files, configs)
    return AreaResult("config", found, area_score(found), checked)


def scan_access(sec: SecuritySettings, settings: Settings, engine: Engine, now: datetime) -> AreaResult:
    facts = access.gather(engine, now)
    found = access.review(facts, now, sec.inactive_days, sec.api_key_max_age_days, sec.api_key_unused_days,
                          tuple(sec.require_second_factor))
    return AreaResult("access", found, area_score(found), access.summary(facts, now, sec.inactive_days))


SCANNERS = {"dependencies": scan_dependencies, "tls": scan_tls, "headers": scan_headers, "ports": scan_ports,
            "patches": scan_patches, "config": scan_config, "access": scan_access}


# --- the scan ------------------------------------------------------------------------------------


def run_scan(settings: Settings, engine: Engine, now: datetime | None = None, areas: list[str] | None = None,
             progress: Progress = lambda m, f: None, store: bool = True, trigger: str = "manual",
             run_id: int | None = None) -> ScanReport:
    """Scan every area (or ``areas``); an area that fails is reported, the others still run."""
    now = now or datetime.now(UTC)
    sec = security_settings(settings)
    chosen = areas or list(AREAS)
    results: dict[str, AreaResult] = {}
    for i, name in enumerate(chosen):
        progress(name, i / len(chosen))
        began = time.perf_counter()
        try:
            result = SCANNERS[name](sec, settings, engine, now)
        except EduopsError as exc:
            result = AreaResult(name, error=exc.message)
        except Exception as exc:  # noqa: BLE001 - one broken area must not hide the others
            log.exception("security area %s failed", name)
            result = AreaResult(name, error=f"{type(exc).__name__}: {exc}")
        result.duration_ms = (time.perf_counter() - began) * 1000
        results[name] = result
    progress("done", 1.0)
    report = ScanReport(now, results, overall_score({n: a.score for n, a in results.items() if a.score is not None}))
    if store:
        report.scan_id = save(engine, report, trigger, run_id)
    report.trend = week_over_week(history(engine), now)
    return report


def save(engine: Engine, report: ScanReport, trigger: str = "manual", run_id: int | None = None) -> int:
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in ("crit", "warn", "info")}
    evidence = {n: {"evidence": a.evidence, "skipped": a.skipped, "error": a.error, "duration_ms": round(a.duration_ms)}
                for n, a in report.areas.items()}
    with session_scope(engine) as session:
        row = SecurityScan(started_at=report.started_at, finished_at=datetime.now(UTC), run_id=run_id, trigger=trigger,
                           status=report.status, score=report.score, area_scores=report.scores(), counts=counts,
                           findings=[finding_to_dict(f) | {"area": n}
                                     for n, a in report.areas.items() for f in a.findings],
                           evidence=evidence)
        session.add(row)
        session.flush()
        return row.id


def history(engine: Engine, limit: int = 200) -> list[Point]:
    with session_scope(engine) as session:
        rows = session.execute(sa.select(SecurityScan.started_at, SecurityScan.score, SecurityScan.area_scores)
                               .order_by(SecurityScan.started_at.desc()).limit(limit)).all()
    return [Point(at, score, dict(areas or {})) for at, score, areas in reversed(rows)]


def latest(engine: Engine, lang: str = "en") -> dict[str, Any] | None:
    """The newest scan; its findings in ``lang``."""
    with session_scope(engine) as session:
        row = session.scalar(sa.select(SecurityScan).order_by(SecurityScan.started_at.desc()).limit(1))
        if row is None:
            return None
        return {"id": row.id, "started_at": row.started_at.isoformat(), "status": row.status, "score": row.score,
                "scores": row.area_scores, "counts": row.counts, "evidence": row.evidence,
                "findings": [render_finding(f, lang) for f in row.findings or []]}
