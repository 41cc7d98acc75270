"""The content audit's rules as pure functions: licences, syllabus freshness, question-bank coverage.

Each rule takes plain facts and a date and returns problems; the service feeds it rows and the
check turns problems into findings, so the policy reads (and is tested) on its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from eduops.core.i18n import msg

Severity = Literal["info", "warn", "crit"]

# material the team made itself needs no licence
OWNED_SOURCES = frozenset({"in-house", "own", "original", "自制", "原创"})
# open licences have no end date; their proof is the link to the licence terms
OPEN_LICENCES = frozenset({"public-domain", "cc0", "cc-by", "cc-by-sa", "cc-by-nc", "cc-by-nc-sa"})


@dataclass(frozen=True)
class Problem:
    kind: str
    severity: Severity
    detail: str


@dataclass(frozen=True)
class LicenceFacts:
    source: str = ""
    licence_type: str = ""
    holder: str = ""
    scope: tuple[str, ...] = ()
    start: date | None = None
    expiry: date | None = None
    proof: str = ""
    used_in: tuple[str, ...] = ()


def is_owned(facts: LicenceFacts) -> bool:
    return facts.source.strip().lower() in OWNED_SOURCES or facts.licence_type.strip().lower() == "own"


def licence_problems(facts: LicenceFacts, today: date, warn_days: int = 30) -> list[Problem]:
    """Problems with the terms an asset is used on: missing, unproven, expired, expiring, out of scope."""
    if is_owned(facts):
        return []
    kind = facts.licence_type.strip().lower()
    if not kind or not facts.holder.strip():
        return [
            Problem(
                "no_licence",
                "crit",
                msg(
                    "third-party material from {value} has no licence on record",
                    value=facts.source or 'an unknown source',
                ),
            )
        ]
    problems: list[Problem] = []
    if not facts.proof.strip():
        problems.append(Problem("no_proof", "warn", msg(
                "{kind} licence from {holder} has no proof document",
                kind=kind, holder=facts.holder,
            )))
    if facts.start and facts.start > today:
        problems.append(Problem("not_started", "crit", msg(
                "licence starts on {isoformat}",
                isoformat=facts.start.isoformat(),
            )))
    if kind not in OPEN_LICENCES:
        if facts.expiry is None:
            problems.append(Problem("no_expiry", "warn", msg(
                    "{kind} licence from {holder} has no end date",
                    kind=kind, holder=facts.holder,
                )))
        elif facts.expiry < today:
            problems.append(
                Problem(
                    "expired",
                    "crit",
                    msg(
                        "licence expired on {isoformat} ({days} days ago)",
                        isoformat=facts.expiry.isoformat(), days=(today - facts.expiry).days,
                    ),
                )
            )
        elif (facts.expiry - today).days <= warn_days:
            problems.append(
                Problem(
                    "expiring",
                    "warn",
                    msg(
                        "licence expires on {isoformat} (in {days} days)",
                        isoformat=facts.expiry.isoformat(), days=(facts.expiry - today).days,
                    ),
                )
            )
    outside = sorted(set(facts.used_in) - set(facts.scope)) if facts.scope else []
    if outside:
        problems.append(
            Problem(
                "out_of_scope",
                "crit",
                msg(
                    "used in {join} but licensed only for {join2}",
                    join=', '.join(outside), join2=', '.join(facts.scope),
                ),
            )
        )
    return problems


def freshness_problems(
    asset_version: str,
    current_version: str | None,
    last_reviewed: date | None,
    review_status: str,
    today: date,
    max_age_days: int = 365,
) -> list[Problem]:
    """Stale: its syllabus was superseded, it was flagged, or nobody reviewed it for too long."""
    problems: list[Problem] = []
    if current_version and asset_version and asset_version != current_version:
        problems.append(
            Problem(
                "superseded_syllabus",
                "warn",
                msg(
                    "follows syllabus {asset_version}, current is {current_version}",
                    asset_version=asset_version, current_version=current_version,
                ),
            )
        )
    elif review_status == "needs_review":
        problems.append(Problem("needs_review", "warn", "flagged for review"))
    if last_reviewed is None:
        problems.append(Problem("never_reviewed", "info", "no review on record"))
    elif (today - last_reviewed).days > max_age_days:
        problems.append(
            Problem(
                "review_overdue",
                "info",
                msg(
                    "last reviewed {isoformat} ({days} days ago)",
                    isoformat=last_reviewed.isoformat(), days=(today - last_reviewed).days,
                ),
            )
        )
    return problems


@dataclass(frozen=True)
class ItemFacts:
    code: str
    point: str
    times_used: int = 0
    attempts: int = 0
    correct_rate: float | None = None


@dataclass(frozen=True)
class CoverageRules:
    min_items_per_point: int = 5
    min_attempts: int = 20
    too_hard_below: float = 0.2
    too_easy_above: float = 0.95


@dataclass
class Coverage:
    items_per_point: dict[str, int] = field(default_factory=dict)
    thin_points: list[str] = field(default_factory=list)
    never_used: list[str] = field(default_factory=list)
    too_hard: list[str] = field(default_factory=list)
    too_easy: list[str] = field(default_factory=list)


def question_bank_coverage(points: list[str], items: list[ItemFacts], rules: CoverageRules) -> Coverage:
    """Per syllabus point: how many items, which points are thin, which items are unused or extreme."""
    counts = Counter(i.point for i in items)
    result = Coverage(items_per_point={p: counts.get(p, 0) for p in points})
    result.thin_points = [p for p in points if counts.get(p, 0) < rules.min_items_per_point]
    for item in items:
        if item.times_used == 0 and item.attempts == 0:
            result.never_used.append(item.code)
        if item.correct_rate is None or item.attempts < rules.min_attempts:
            continue
        if item.correct_rate < rules.too_hard_below:
            result.too_hard.append(item.code)
        elif item.correct_rate > rules.too_easy_above:
            result.too_easy.append(item.code)
    return result
