"""Gather the traffic anomaly signal: access logs and the console's login attempts → measurements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.core.checks import Finding, Measurement
from eduops.core.i18n import msg
from eduops.security import anomaly
from eduops.security.settings import SecuritySettings

TAIL_BYTES = 64 * 1024 * 1024


@dataclass
class TrafficSignal:
    measurements: list[Measurement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    evidence: dict[str, object] = field(default_factory=dict)


def read_tail(path: Path, limit: int = TAIL_BYTES) -> list[str]:
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - limit))
        return fh.read().decode("utf-8", errors="replace").splitlines()


def failed_logins(engine: Engine, since: datetime) -> list[tuple[datetime, str, str]]:
    if "login_attempts" not in sa.inspect(engine).get_table_names():
        return []
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT at, username, source_ip FROM login_attempts "
                                    "WHERE outcome = 'failed' AND at >= :since"), {"since": since}).all()
    from eduops.security.access import _aware

    return [(_aware(at) or since, user, ip) for at, user, ip in rows]


def record_signal(sec: SecuritySettings, engine: Engine, now: datetime) -> TrafficSignal:
    """Compute the signal and store its measurements as time series for the alert rules."""
    from eduops.alerting import metrics
    from eduops.db import session_scope

    found = signal(sec, engine, now)
    with session_scope(engine) as session:
        metrics.record(session, found.measurements, now)
    return found


def signal(sec: SecuritySettings, engine: Engine, now: datetime, requests: list[anomaly.RequestLine] | None = None,
           logins: list[tuple[datetime, str, str]] | None = None) -> TrafficSignal:
    """Measurements and findings for the last full hour (rates) and the last hour (login bursts)."""
    out = TrafficSignal()
    if requests is None:
        requests = [r for p in sec.access_logs if p.exists() for r in anomaly.parse_access_log(read_tail(p))]
    if logins is None:
        logins = failed_logins(engine, now - timedelta(hours=1))
    term_starts = [date.fromisoformat(d) for d in sec.term_starts]
    expected = anomaly.in_term_start(now.date(), term_starts)
    out.measurements.append(Measurement("security_expected_surge", 1.0 if expected else 0.0))
    hour = anomaly.hour_of(now) - timedelta(hours=1)
    counts = anomaly.hourly_counts(requests)
    observed = {route: n for (route, h), n in counts.items() if h == hour}
    usual = anomaly.baseline(counts, hour)
    for route, n in observed.items():
        out.measurements.append(Measurement("security_route_requests", float(n), "requests/h", {"route": route}))
        if usual.get(route):
            ratio = n / usual[route]
            out.measurements.append(Measurement("security_route_rate_ratio", round(ratio, 2), "", {"route": route}))
            out.measurements.append(Measurement("security_route_unexpected_surge_ratio",
                                                0.0 if expected else round(ratio, 2), "", {"route": route}))
    for a in anomaly.rate_anomalies(observed, usual, sec.surge_ratio, expected_surge=expected):
        note = " (start of term: expected)" if a.expected_surge else ""
        out.findings.append(Finding("info" if a.expected_surge else "warn",
                                    msg(
                                        "{route}: {observed} requests in an hour, {ratio}× usual{note}",
                                        route=a.route, observed=a.observed, ratio=a.ratio, note=note,
                                    ),
                                    msg("usual for this hour of the week: {expected}", expected=a.expected),
                                    "" if a.expected_surge else "check the top talkers; rate-limit at the edge"))
    last_hour = [r for r in requests if r.ts >= hour]
    for by in ("ip", "account"):
        for who, n in anomaly.top_talkers(last_hour, by, 5):
            out.measurements.append(Measurement("security_top_talker_requests", float(n), "requests/h",
                                                {"by": by, "who": who}))
    bursts = anomaly.failed_login_bursts(logins, threshold=sec.failed_login_burst)
    for kind in ("ip", "account"):
        worst = max((b.failures for b in bursts if b.kind == kind), default=0)
        out.measurements.append(Measurement("security_failed_logins_burst", float(worst), "", {"kind": kind}))
    for b in bursts:
        what = (f"{b.failures} failed logins from {b.who} on {b.distinct} accounts" if b.kind == "ip"
                else f"{b.failures} failed logins on account {b.who} from {b.distinct} addresses")
        out.findings.append(Finding("crit" if b.kind == "ip" and b.distinct > 3 else "warn",
                                    msg(
                                        "{what} within 5 minutes",
                                        what=what,
                                    ), msg(
                                            "from {started_at} UTC",
                                            started_at=f'{b.started_at:%Y-%m-%d %H:%M}',
                                        ),
                                    "block the source, check the accounts tried, require TOTP"))
    out.evidence = {"requests": len(requests), "hour": hour.isoformat(), "expected_surge": expected,
                    "failed_logins": len(logins)}
    return out
