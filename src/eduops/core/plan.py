"""The default maintenance plan every online-education team needs (DESIGN.md's table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ON_DEMAND = "on-demand"


@dataclass(frozen=True)
class CheckStep:
    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskSpec:
    key: str
    title: str
    description: str
    cron: str  # five-field cron, or "on-demand" for tasks an event triggers
    owner: str
    area: str
    checks: tuple[CheckStep, ...]
    evidence: tuple[str, ...]
    grace_minutes: float = 120
    needs_signoff: bool = False
    impact: str = ""  # what starting it does to production (a msgid); the console asks before it starts


def _steps(*names: str) -> tuple[CheckStep, ...]:
    return tuple(CheckStep(n) for n in names)


DEFAULT_PLAN: tuple[TaskSpec, ...] = (
    TaskSpec(
        "daily-inspection", "Daily inspection",
        "Server status, metrics, error logs, certificate expiry and backup freshness.",
        "0 8 * * *", "ops-oncall", "performance",
        _steps("host.status", "host.processes", "logs.errors", "tls.cert_expiry", "backup.freshness",
               "calendar.overdue", "incidents.follow_up"),
        ("host measurements", "error-log excerpt", "certificate expiry dates"),
    ),
    TaskSpec(
        "weekly-performance", "Weekly performance analysis",
        "Performance trends, slowest endpoints and queries, call-quality trend, bottlenecks.",
        "0 9 * * 1", "ops-oncall", "performance",
        _steps(
            "monitoring.performance_trends", "rtc.quality_trend", "rtc.ai_tutor_latency", "analytics.learning_summary"
        ),
        ("week-over-week trend", "slowest endpoints"),
        grace_minutes=360,
    ),
    TaskSpec(
        "weekly-security", "Weekly security scan",
        "Vulnerable dependencies, TLS, HTTP headers, open ports, pending patches, access review.",
        "0 3 * * 1", "security", "security",
        _steps("security.scan"),
        ("findings with remedies", "score per area"),
        grace_minutes=360,
    ),
    TaskSpec(
        "backup", "Daily backup",
        "Consistent dumps of every source to the primary target, copied to every other target, verified.",
        "0 2 * * *", "ops-oncall", "backups",
        (CheckStep("backup.run", {"mode": "incremental"}), CheckStep("backup.verify")),
        ("snapshot ids per target", "verification result"),
    ),
    TaskSpec(
        "backup-full", "Weekly full backup",
        "A fresh snapshot of every source with a full read of the repository data.",
        "0 3 * * 0", "ops-oncall", "backups",
        (CheckStep("backup.run", {"mode": "full"}), CheckStep("backup.verify", {"read_data": "full"})),
        ("snapshot ids per target", "full verification result"),
        grace_minutes=360,
    ),
    TaskSpec(
        "restore-drill", "Weekly restore drill",
        "Restore the latest backup into a scratch place and prove it is usable; measure RPO and RTO.",
        "0 4 * * 3", "ops-oncall", "backups",
        _steps("backup.restore_drill"),
        ("row counts and checksums compared", "RTO", "RPO"),
        grace_minutes=360,
    ),
    TaskSpec(
        "release-check", "Release regression check",
        "Regression and smoke journeys before and after a deploy.",
        ON_DEMAND, "release-manager", "content",
        _steps("release.regression"),
        ("journey results", "screenshots"),
    ),
    TaskSpec(
        "quarterly-drill", "Quarterly emergency drill",
        "Inject a fault, measure time to detect and time to recover; the owner signs off.",
        "0 10 1 1,4,7,10 *", "ops-lead", "drills",
        _steps("drills.quarterly"),
        ("drill journal", "time to detect", "time to recover", "owner sign-off"),
        grace_minutes=7 * 24 * 60,
        needs_signoff=True,
        impact="This drill injects a real fault (a stopped service, a broken certificate, a slow network) to "
               "measure detection and recovery: the platform may be degraded and alerts will fire until it recovers.",
    ),
    TaskSpec(
        "load-test", "Pre-term load test",
        "Stress test against capacity targets before the start of term.",
        "0 22 20 2,8 *", "ops-lead", "performance",
        _steps("loadtest.capacity"),
        ("requests per second", "latency percentiles", "capacity knee"),
        grace_minutes=3 * 24 * 60,
        impact="This load test sends heavy traffic to the platform under test for its configured duration: "
               "real users on that platform may see slow pages or errors while it runs.",
    ),
    TaskSpec(
        "content-audit", "Weekly content audit",
        "Stale syllabus content, question-bank gaps, licences missing or expiring.",
        "0 9 * * 2", "content-lead", "content",
        _steps("content.audit"),
        ("assets needing review", "licence problems", "question-bank gaps"),
        grace_minutes=360,
    ),
    TaskSpec(
        "feedback-digest", "Daily feedback digest",
        "Top complaints, first-response SLA breaches, new clusters.",
        "30 9 * * *", "support-lead", "feedback",
        _steps("feedback.digest"),
        ("top clusters", "SLA breaches"),
    ),
)

PLAN_BY_KEY = {spec.key: spec for spec in DEFAULT_PLAN}
