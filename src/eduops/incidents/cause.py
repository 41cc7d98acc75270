"""Probable cause: rank what could explain an incident's signals by timing and shared dimensions.

Pure: signals in, ranked causes out. A cause is never stated as a fact; its confidence is worded
"likely", "possible" or "weak". docs/incidents.md ("Probable cause") gives the scoring precisely.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eduops.core.i18n import Msg, msg
from eduops.incidents.signals import Signal

# What can be a cause: a candidate is one value (or the region/ISP pair) of these dimensions.
CANDIDATE_KEYS: tuple[tuple[str, ...], ...] = (
    ("app_version",), ("region", "isp"), ("host",), ("service",), ("teacher",),
)
SEVERITY_WEIGHT = {"info": 1.0, "warning": 2.0, "critical": 3.0}
INFERRED_ONSET = 0.5   # timing counts half when the change time is only the first symptom's
LIKELY_SCORE, POSSIBLE_SCORE, LIKELY_MARGIN = 0.6, 0.35, 0.15
DEFAULT_WINDOW = timedelta(hours=24)

CONFIDENCE_TEXT = {
    "likely": msg("likely cause"),
    "possible": msg("possible cause"),
    "weak": msg("weak evidence"),
}


@dataclass(frozen=True)
class Cause:
    """One candidate with its score (0..1), worded confidence and the signals for and against it."""

    kind: str                     # release, region_isp, host, service, teacher
    dims: Mapping[str, str]
    title: Msg
    score: float
    confidence: str               # likely, possible, weak
    changed_at: datetime | None   # the release's deploy, else the first matching signal's start
    recorded_change: bool         # True when changed_at is a recorded change (a release), not inferred
    timing: float
    coverage: float
    supports: tuple[str, ...] = ()
    contradicts: tuple[str, ...] = ()
    unexplained: tuple[str, ...] = ()
    late: tuple[str, ...] = field(default=())  # signals that started before the change or after the window

    @property
    def confidence_text(self) -> Msg:
        return CONFIDENCE_TEXT[self.confidence]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "dims": dict(self.dims), "title": str(self.title), "score": self.score,
            "confidence": self.confidence, "confidence_text": str(self.confidence_text),
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
            "recorded_change": self.recorded_change, "timing": self.timing, "coverage": self.coverage,
            "supports": list(self.supports), "contradicts": list(self.contradicts),
            "unexplained": list(self.unexplained), "late": list(self.late),
        }


def weight(signal: Signal) -> float:
    """Severity weight × volume factor (1..2 from ``detail["count"]``: complaints, calls, learners)."""
    count = signal.detail.get("count") if signal.detail else None
    volume = 1.0 + min(1.0, math.log10(1 + float(count)) / 3) if isinstance(count, int | float) and count > 0 else 1.0
    return SEVERITY_WEIGHT.get(signal.severity, 2.0) * volume


def _kind_of(keys: tuple[str, ...]) -> str:
    return {"app_version": "release", "region": "region_isp"}.get(keys[0], keys[0])


def _title(kind: str, dims: Mapping[str, str]) -> Msg:
    if kind == "release":
        return msg("release {version}", version=dims["app_version"])
    if kind == "region_isp":
        return msg("{region} / {isp} network", region=dims["region"], isp=dims["isp"])
    if kind == "host":
        return msg("host {host}", host=dims["host"])
    if kind == "service":
        return msg("dependency {service}", service=dims["service"])
    return msg("teacher {teacher}", teacher=dims["teacher"])


def candidates(signals: Iterable[Signal]) -> dict[tuple[tuple[str, str], ...], str]:
    """Every (dims → kind) a signal names: its app version, its region/ISP pair, host, service, teacher."""
    found: dict[tuple[tuple[str, str], ...], str] = {}
    for s in signals:
        for keys in CANDIDATE_KEYS:
            if all(s.dims.get(k) for k in keys):
                found.setdefault(tuple((k, s.dims[k]) for k in keys), _kind_of(keys))
    return found


def match(signal: Signal, dims: Mapping[str, str]) -> float | None:
    """1 when the signal names every candidate value, the share named when it names some and none differ,
    None (contradicts) when it names a different value for one of them, 0 when it names none. Another
    release is a rival change, not a symptom: it neither supports nor contradicts a release."""
    if signal.kind == "release" and "app_version" in dims and signal.dims.get("app_version") != dims["app_version"]:
        return 0.0
    named = [k for k in dims if signal.dims.get(k)]
    if any(signal.dims[k] != dims[k] for k in named):
        return None
    return len(named) / len(dims)


def _is_origin(signal: Signal, kind: str, dims: Mapping[str, str]) -> bool:
    """The release signal is the change itself, not something the change has to explain."""
    return kind == "release" and signal.kind == "release" and signal.dims.get("app_version") == dims["app_version"]


def score_candidate(
    signals: Sequence[Signal], kind: str, dims: Mapping[str, str], window: timedelta = DEFAULT_WINDOW
) -> Cause:
    origins = [s for s in signals if _is_origin(s, kind, dims)]
    others = [s for s in signals if s not in origins]
    matched = [s for s in others if (match(s, dims) or 0) > 0]
    recorded = bool(origins)
    if origins:
        changed_at: datetime | None = min(s.at for s in origins)
    else:
        changed_at = min((s.at for s in matched), default=None)
    total = sum(weight(s) for s in others)
    supports, contradicts, unexplained, late = [], [], [], []
    covered = against = timely = 0.0
    for s in others:
        m = match(s, dims)
        if m is None:
            contradicts.append(s.ref)
            against += weight(s)
        elif m > 0:
            supports.append(s.ref)
            covered += weight(s) * m
        else:
            unexplained.append(s.ref)
        if changed_at is not None and m is not None and changed_at <= s.at <= changed_at + window:
            timely += weight(s)
        elif m is not None:
            late.append(s.ref)
    coverage = max(0.0, (covered - against) / total) if total else 0.0
    timing = (timely / total if total else 0.0) * (1.0 if recorded else INFERRED_ONSET)
    score = round(min(1.0, 0.5 * timing + 0.5 * coverage), 3)
    return Cause(kind, dict(dims), _title(kind, dims), score, "weak", changed_at, recorded, round(timing, 3),
                 round(coverage, 3), tuple(supports), tuple(contradicts), tuple(unexplained), tuple(late))


def confidence(score: float, runner_up: float | None) -> str:
    """likely: score ≥ 0.6 and ahead of the next candidate by ≥ 0.15; possible: ≥ 0.35 (or likely but
    not clearly ahead); weak otherwise."""
    ahead = runner_up is None or score - runner_up >= LIKELY_MARGIN
    if score >= LIKELY_SCORE and ahead:
        return "likely"
    return "possible" if score >= POSSIBLE_SCORE else "weak"


def rank_causes(signals: Sequence[Signal], window: timedelta = DEFAULT_WINDOW, limit: int = 5) -> list[Cause]:
    """Candidates from the signals' dimensions, best first; ties broken by kind and name for stable output."""
    scored = [score_candidate(signals, kind, dict(dims), window) for dims, kind in candidates(signals).items()]
    scored = [c for c in scored if c.supports or c.kind == "release"]
    scored.sort(key=lambda c: (-c.score, c.kind, sorted(c.dims.items())))
    ranked = []
    for i, c in enumerate(scored[:limit]):
        others = [o.score for j, o in enumerate(scored) if j != i]
        level = confidence(c.score, max(others, default=None))
        ranked.append(Cause(**{**c.__dict__, "confidence": level}))
    return ranked
