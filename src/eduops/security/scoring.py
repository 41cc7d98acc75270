"""Scores per area (0–100), the overall score, and the trend week over week. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from eduops.core.checks import Finding
from eduops.core.i18n import msg

AREAS = ("dependencies", "tls", "headers", "ports", "patches", "config", "access")
AREA_TITLES = {"dependencies": "Vulnerable dependencies", "tls": "TLS", "headers": "HTTP security headers",
               "ports": "Open ports", "patches": "Pending patches", "config": "Weak configuration",
               "access": "Access review"}
PENALTY = {"crit": 25, "warn": 10, "info": 0}
SCORE_HELP = msg("Each area scores 100 less {crit} per critical and {warn} per warning finding (never below 0); the "
                 "headers area takes the worst Mozilla Observatory score of its URLs. The overall score is the mean "
                 "of the areas scanned; the change compares with the latest scan at least six days older.",
                 crit=PENALTY["crit"], warn=PENALTY["warn"])


def area_score(findings: Iterable[Finding]) -> float:
    """100 less 25 per critical and 10 per warning finding, never below 0."""
    return float(max(0, 100 - sum(PENALTY.get(f.severity, 0) for f in findings)))


def overall_score(scores: dict[str, float]) -> float:
    """The mean of the areas that were scanned; no area scanned means nothing is known (100)."""
    return round(sum(scores.values()) / len(scores), 1) if scores else 100.0


@dataclass(frozen=True)
class Point:
    at: datetime
    score: float
    areas: dict[str, float]


def week_over_week(points: list[Point], now: datetime) -> dict[str, float | None]:
    """Change of each area (and 'overall') between the latest scan and the latest one a week or more older.

    "A week" allows a day of slack (six days), so a weekly task that ran a little early still compares.
    """
    past = sorted((p for p in points if p.at <= now), key=lambda p: p.at)
    if not past:
        return {}
    current = past[-1]
    previous = next((p for p in reversed(past[:-1]) if p.at <= current.at - timedelta(days=6)), None)
    if previous is None:
        empty: dict[str, float | None] = {"overall": None}
        return empty | {a: None for a in current.areas}
    delta: dict[str, float | None] = {"overall": round(current.score - previous.score, 1)}
    for area, score in current.areas.items():
        delta[area] = round(score - previous.areas[area], 1) if area in previous.areas else None
    return delta
