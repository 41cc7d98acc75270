"""The daily inspection's checks: host status, processes, error logs and certificate expiry."""

from __future__ import annotations

import socket
from collections import Counter

import psutil

from eduops.core.checks import (
    CheckContext,
    CheckResult,
    Finding,
    Measurement,
    Severity,
    check,
    status_from_findings,
)
from eduops.core.i18n import msg
from eduops.monitoring.host import HostThresholds, collect_host, judge_host
from eduops.monitoring.logscan import OffsetStore, compile_patterns, expand, scan_file
from eduops.monitoring.tlscert import cert_severity, fetch_certificate

HOST = socket.gethostname()


@check("host.status", area="performance", title="Host status")
def host_status(ctx: CheckContext) -> CheckResult:
    """CPU, load, memory, swap, disk and inodes per mount, network per interface, uptime."""
    ins = ctx.settings.inspection
    limits = HostThresholds(
        cpu_warn_pct=ins.cpu_warn_pct,
        memory_warn_pct=ins.memory_warn_pct,
        disk_warn_pct=ins.disk_warn_pct,
        disk_crit_pct=ins.disk_crit_pct,
    )
    measurements = collect_host(float(ctx.params.get("sample_seconds", 0.5)), host=HOST)
    findings = judge_host(measurements, limits)
    by_name = {m.name: m for m in measurements}
    disks = {m.labels["mount"]: round(m.value, 1) for m in measurements if m.name == "disk_used_pct"}
    summary = (
        msg(
            "CPU {value:.0f}%, memory {value2:.0f}%, load {value3:.2f}, disks {join}",
            value=by_name['cpu_used_pct'].value, value2=by_name['memory_used_pct'].value,
            value3=by_name['load1'].value, join=", ".join(f"{k} {v:.0f}%" for k, v in disks.items()),
        )
    )
    return CheckResult(
        status_from_findings(findings),
        summary,
        measurements,
        findings,
        evidence={
            "host": HOST,
            "disk_used_pct": disks,
            "uptime_days": round(by_name["uptime_seconds"].value / 86400, 2),
        },
    )


def running_processes() -> Counter[str]:
    """How many processes run under each name (process name and the program of its command line)."""
    counts: Counter[str] = Counter()
    for proc in psutil.process_iter(["name", "cmdline"]):
        names = {proc.info.get("name") or ""}
        cmdline = proc.info.get("cmdline") or []
        if cmdline:
            names.add(cmdline[0].rsplit("/", 1)[-1])
        for name in names - {""}:
            counts[name] += 1
    return counts


@check("host.processes", area="performance", title="Required processes")
def host_processes(ctx: CheckContext) -> CheckResult:
    """The processes named in [inspection] processes are running."""
    wanted = ctx.settings.inspection.processes
    if not wanted:
        return CheckResult("skipped", "no processes configured; list them in [inspection] processes")
    counts = running_processes()
    measurements, findings = [], []
    for name in wanted:
        n = counts.get(name, 0)
        measurements.append(Measurement("process_running", 1.0 if n else 0.0, "", {"host": HOST, "process": name}))
        measurements.append(Measurement("process_count", float(n), "", {"host": HOST, "process": name}))
        if not n:
            findings.append(
                Finding(
                    "crit",
                    msg("process {name} is not running", name=name),
                    msg("no process named {name} on {host}", name=name, host=HOST),
                    msg(
                        "start it (e.g. `systemctl start {name}`) and look at why it stopped: "
                        "`journalctl -u {name} -n 100`",
                        name=name,
                    ),
                )
            )
    up = len(wanted) - len(findings)
    return CheckResult(
        status_from_findings(findings),
        msg("{up} of {count} required processes running", up=up, count=len(wanted)),
        measurements,
        findings,
        evidence={"running": {n: counts.get(n, 0) for n in wanted}},
    )


@check("logs.errors", area="performance", title="Error-log scan")
def logs_errors(ctx: CheckContext) -> CheckResult:
    """Lines matching [inspection] log_patterns in log_files since the previous scan."""
    ins = ctx.settings.inspection
    if not ins.log_files:
        return CheckResult("skipped", "no log files configured; list them in [inspection] log_files")
    patterns = compile_patterns(ins.log_patterns)
    offsets = OffsetStore(ctx.settings.home / "monitoring" / "log_offsets.json")
    files = expand(ins.log_files)
    measurements, findings = [], []
    total = 0
    top: Counter[str] = Counter()
    examples: dict[str, str] = {}
    per_file: dict[str, dict[str, object]] = {}
    for path in files:
        try:
            scan = scan_file(path, patterns, offsets, ctx.last_run_at)
        except OSError as exc:
            findings.append(
                Finding(
                    "warn",
                    msg("cannot read {path}", path=path),
                    str(exc),
                    "check the path in [inspection] log_files and that eduops may read it",
                )
            )
            continue
        total += scan.matched
        top.update(scan.messages)
        for k, v in scan.examples.items():
            examples.setdefault(k, v)
        measurements.append(Measurement("log_error_lines", float(scan.matched), "lines", {"host": HOST, "file": path}))
        per_file[path] = {
            "lines_read": scan.lines_read,
            "matched": scan.matched,
            "per_pattern": scan.per_pattern,
            "rotated": scan.rotated,
        }
    offsets.save()
    if not files:
        findings.append(
            Finding(
                "warn",
                "no log file matched",
                ", ".join(ins.log_files),
                "fix the globs in [inspection] log_files",
            )
        )
    if total >= ins.log_warn_lines:
        severity: Severity = "crit" if total >= ins.log_crit_lines else "warn"
        worst_msg, worst_n = top.most_common(1)[0]
        findings.append(
            Finding(
                severity,
                msg("{total} error lines in the logs since the last inspection", total=total),
                msg("most repeated ({worst_n}×): {value}", worst_n=worst_n, value=examples[worst_msg]),
                "read the top messages below; fix the most repeated first",
            )
        )
    top_messages = [{"count": n, "message": examples[k]} for k, n in top.most_common(10)]
    return CheckResult(
        status_from_findings(findings),
        msg("{total} error lines in {count} files", total=total, count=len(per_file)),
        measurements,
        findings,
        evidence={"files": per_file, "top_messages": top_messages},
    )


@check("tls.cert_expiry", area="security", title="Certificate expiry")
def tls_cert_expiry(ctx: CheckContext) -> CheckResult:
    """Days until the certificates of [inspection] endpoints expire."""
    ins = ctx.settings.inspection
    if not ins.endpoints:
        return CheckResult("skipped", "no endpoints configured; list them in [inspection] endpoints")
    measurements, findings, evidence = [], [], {}
    for endpoint in ins.endpoints:
        try:
            info = fetch_certificate(endpoint, ctx.now, ca_file=ctx.params.get("ca_file"))
        except (OSError, ValueError) as exc:
            findings.append(
                Finding(
                    "crit",
                    msg("cannot read the certificate of {endpoint}", endpoint=endpoint),
                    msg("{name}: {exc}", name=type(exc).__name__, exc=exc),
                    "check that the endpoint is up and serves TLS on that port",
                )
            )
            continue
        measurements.append(Measurement("cert_days_left", round(info.days_left, 2), "days", {"endpoint": endpoint}))
        evidence[endpoint] = {
            "not_after": info.not_after.isoformat(),
            "days_left": round(info.days_left, 1),
            "subject": info.subject,
            "issuer": info.issuer,
            "trusted": info.trusted,
        }
        severity = cert_severity(info.days_left, ins.cert_warn_days, ins.cert_crit_days)
        if severity != "ok":
            what = "expired" if info.days_left < 0 else f"expires in {info.days_left:.0f} days"
            findings.append(
                Finding(
                    severity,  # type: ignore[arg-type]
                    msg("certificate of {endpoint} {what}", endpoint=endpoint, what=what),
                    msg(
                        "not after {not_after} UTC; issuer {issuer}",
                        not_after=f'{info.not_after:%Y-%m-%d %H:%M}', issuer=info.issuer,
                    ),
                    "renew it (e.g. `certbot renew`) and reload the web server",
                )
            )
        if not info.trusted:
            findings.append(
                Finding(
                    "crit",
                    msg("certificate of {endpoint} is not trusted", endpoint=endpoint),
                    info.verify_error,
                    "install the full chain from a public CA; check the host name matches",
                )
            )
    n = len(measurements)
    soonest = min((m.value for m in measurements), default=None)
    summary = (
        msg("{n} certificates read; soonest expiry in {days:.0f} days", n=n, days=soonest)
        if soonest is not None else msg("{n} certificates read", n=n)
    )
    return CheckResult(status_from_findings(findings), summary, measurements, findings, evidence=evidence)


@check("monitoring.performance_trends", area="performance", title="Performance trends")
def performance_trends(ctx: CheckContext) -> CheckResult:
    """p95 endpoint and database latency and host CPU, this week against last week; slowest endpoints."""
    from eduops.monitoring.trends import judge_trend, weekly_trends

    trends = weekly_trends(ctx.engine, ctx.now)
    if not trends:
        return CheckResult("skipped", "no endpoint, database or host metrics yet; configure [monitoring] collectors")
    measurements, findings = [], []
    for t in trends:
        key = {"http_total_ms": "endpoint", "db_query_ms": "db", "cpu_used_pct": "host"}[t.metric]
        measurements.append(Measurement(f"{t.metric}_p95_week", round(t.this_week, 3), "", {key: t.subject}))
        if judge_trend(t) == "worse":
            findings.append(
                Finding(
                    "warn",
                    msg(
                        "{metric} p95 of {subject} up {change_pct:.0f}% on last week",
                        metric=t.metric, subject=t.subject, change_pct=t.change_pct,
                    ),
                    msg("{last_week:.1f} → {this_week:.1f}", last_week=t.last_week, this_week=t.this_week),
                    "look at what changed this week (releases, traffic, slow queries) on the Metrics page",
                )
            )
    slowest = sorted((t for t in trends if t.metric == "http_total_ms"), key=lambda t: -t.this_week)[:5]
    evidence = {
        "slowest_endpoints": [
            {
                "endpoint": t.subject,
                "p95_ms": round(t.this_week, 1),
                "change_pct": None if t.change_pct is None else round(t.change_pct, 1),
            }
            for t in slowest
        ],
        "trends": [
            {
                "metric": t.metric,
                "subject": t.subject,
                "this_week": round(t.this_week, 3),
                "last_week": None if t.last_week is None else round(t.last_week, 3),
                "verdict": judge_trend(t),
            }
            for t in trends
        ],
    }
    worse = sum(1 for t in trends if judge_trend(t) == "worse")
    return CheckResult(
        status_from_findings(findings),
        msg("{count} trends, {worse} worse than last week", count=len(trends), worse=worse),
        measurements,
        findings,
        evidence=evidence,
    )
