"""The audit's rules: which licences and which assets are a problem, decided without a database."""

from __future__ import annotations

from datetime import date

import pytest

from eduops.content.audit import (
    CoverageRules,
    ItemFacts,
    LicenceFacts,
    freshness_problems,
    licence_problems,
    question_bank_coverage,
)

TODAY = date(2026, 11, 30)
FULL = dict(
    source="某出版社",
    licence_type="exclusive",
    holder="某出版社",
    scope=("web", "app"),
    start=date(2026, 1, 1),
    expiry=date(2027, 6, 30),
    proof="contracts/2026-01.pdf",
    used_in=("web",),
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),
        ({"source": "in-house", "licence_type": "", "holder": ""}, []),
        ({"licence_type": "own", "holder": ""}, []),
        ({"licence_type": "", "holder": ""}, ["no_licence"]),
        ({"proof": ""}, ["no_proof"]),
        ({"expiry": date(2026, 12, 10)}, ["expiring"]),
        ({"expiry": date(2026, 12, 30)}, ["expiring"]),
        ({"expiry": date(2026, 12, 31)}, []),
        ({"expiry": date(2026, 11, 29)}, ["expired"]),
        ({"expiry": None}, ["no_expiry"]),
        ({"licence_type": "cc-by", "expiry": None}, []),
        ({"start": date(2027, 1, 1)}, ["not_started"]),
        ({"used_in": ("web", "offline")}, ["out_of_scope"]),
        (
            {"proof": "", "expiry": date(2026, 1, 1), "used_in": ("tv",)},
            ["no_proof", "expired", "out_of_scope"],
        ),
    ],
)
def test_licence_problems(change: dict[str, object], expected: list[str]) -> None:
    facts = LicenceFacts(**{**FULL, **change})  # type: ignore[arg-type]
    assert [p.kind for p in licence_problems(facts, TODAY, warn_days=30)] == expected


def test_a_licence_expiring_in_10_days_says_so() -> None:
    [problem] = licence_problems(LicenceFacts(**{**FULL, "expiry": date(2026, 12, 10)}), TODAY)  # type: ignore[arg-type]
    assert problem.severity == "warn" and "in 10 days" in problem.detail


@pytest.mark.parametrize(
    ("version", "current", "reviewed", "status", "expected"),
    [
        ("2025", "2025", date(2026, 6, 1), "ok", []),
        ("2024", "2025", date(2026, 6, 1), "ok", ["superseded_syllabus"]),
        ("2025", "2025", date(2026, 6, 1), "needs_review", ["needs_review"]),
        ("2025", None, date(2026, 6, 1), "ok", []),
        ("2025", "2025", None, "ok", ["never_reviewed"]),
        ("2025", "2025", date(2025, 11, 29), "ok", ["review_overdue"]),
        ("2024", "2025", date(2024, 1, 1), "needs_review", ["superseded_syllabus", "review_overdue"]),
    ],
)
def test_freshness_problems(
    version: str, current: str | None, reviewed: date | None, status: str, expected: list[str]
) -> None:
    assert [p.kind for p in freshness_problems(version, current, reviewed, status, TODAY, 365)] == expected


def test_question_bank_coverage() -> None:
    items = [
        ItemFacts("q1", "p1", times_used=3, attempts=100, correct_rate=0.6),
        ItemFacts("q2", "p1", times_used=1, attempts=50, correct_rate=0.1),
        ItemFacts("q3", "p1", times_used=1, attempts=50, correct_rate=0.99),
        ItemFacts("q4", "p2", times_used=0, attempts=0),
        ItemFacts("q5", "p2", times_used=2, attempts=5, correct_rate=0.0),  # too few attempts to judge
    ]
    cov = question_bank_coverage(["p1", "p2", "p3"], items, CoverageRules(min_items_per_point=3, min_attempts=20))
    assert cov.items_per_point == {"p1": 3, "p2": 2, "p3": 0}
    assert cov.thin_points == ["p2", "p3"]
    assert cov.never_used == ["q4"]
    assert cov.too_hard == ["q2"]
    assert cov.too_easy == ["q3"]
