"""Judging a load test: latency histograms, per-step statistics, SLO pass/fail and the capacity knee.

Pure functions over the JSON ticks the Locust child process streams (one per second).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

Histogram = dict[int, int]  # bucketed response time in ms → count


def bucket_ms(response_time_ms: float) -> int:
    """Round like Locust does: exact below 100 ms, 2 significant digits above (±5 %)."""
    ms = int(round(response_time_ms))
    if ms < 100:
        return ms
    if ms < 1000:
        return int(round(ms, -1))
    if ms < 10000:
        return int(round(ms, -2))
    return int(round(ms, -3))


def merge(histograms: Iterable[Mapping[Any, int]]) -> Histogram:
    merged: Histogram = {}
    for hist in histograms:
        for key, count in hist.items():
            merged[int(key)] = merged.get(int(key), 0) + int(count)
    return merged


def percentile(hist: Mapping[Any, int], q: float) -> float:
    """The smallest bucket with at least ``q`` (0–1) of the samples at or below it; 0 for no samples."""
    total = sum(hist.values())
    if total == 0:
        return 0.0
    need = q * total
    seen = 0
    for key in sorted(hist, key=int):
        seen += hist[key]
        if seen >= need:
            return float(key)
    return float(max(int(k) for k in hist))


@dataclass(frozen=True)
class SLO:
    p95_ms: float
    error_rate_pct: float


@dataclass
class Window:
    """Statistics of a stretch of the test: a step of the capacity search, or the whole run."""

    users: int
    seconds: float
    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate_pct(self) -> float:
        return 100.0 * self.failures / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(rps=round(self.rps, 2), error_rate_pct=round(self.error_rate_pct, 3))
        return data


def window(ticks: list[dict[str, Any]]) -> Window:
    """Fold ticks (``requests``, ``failures``, ``hist``, ``errors``, ``users``, ``dt``) into one window."""
    hist = merge(t.get("hist", {}) for t in ticks)
    errors: dict[str, int] = {}
    for t in ticks:
        for message, count in (t.get("errors") or {}).items():
            errors[message] = errors.get(message, 0) + int(count)
    return Window(
        users=max((int(t.get("users", 0)) for t in ticks), default=0),
        seconds=sum(float(t.get("dt", 1.0)) for t in ticks),
        requests=sum(int(t.get("requests", 0)) for t in ticks),
        failures=sum(int(t.get("failures", 0)) for t in ticks),
        p50_ms=percentile(hist, 0.50), p95_ms=percentile(hist, 0.95), p99_ms=percentile(hist, 0.99),
        errors=errors,
    )


def judge(w: Window, slo: SLO) -> list[str]:
    """Why the window breaks the SLO; an empty list means it passes. A window without requests fails."""
    if w.requests == 0:
        return ["no requests completed"]
    reasons = []
    if w.p95_ms > slo.p95_ms:
        reasons.append(f"p95 {w.p95_ms:.0f} ms > {slo.p95_ms:.0f} ms")
    if w.error_rate_pct > slo.error_rate_pct:
        reasons.append(f"errors {w.error_rate_pct:.2f}% > {slo.error_rate_pct:.2f}%")
    return reasons


def steps_of(ticks: list[dict[str, Any]], settle_s: float = 1.0) -> list[Window]:
    """One window per step of a capacity search (ticks carry ``step`` and ``t``); the first
    ``settle_s`` seconds of each step are left out, while users are still arriving."""
    by_step: dict[int, list[dict[str, Any]]] = {}
    first_t: dict[int, float] = {}
    for tick in ticks:
        if "step" not in tick:
            continue
        step = int(tick["step"])
        first_t.setdefault(step, float(tick.get("t", 0.0)))
        by_step.setdefault(step, []).append(tick)
    windows = []
    for step in sorted(by_step):
        settled = [t for t in by_step[step] if float(t.get("t", 0.0)) - first_t[step] >= settle_s]
        windows.append(window(settled or by_step[step]))
    return windows


@dataclass
class Knee:
    """Where the platform stops keeping its SLO. ``index`` is None when no step broke it."""

    index: int | None
    users: int | None
    rps: float | None
    reasons: list[str]
    capacity_users: int
    capacity_rps: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_knee(steps: list[Window], slo: SLO) -> Knee:
    """The first step that breaks the SLO is the knee; the step before it is the capacity."""
    capacity_users, capacity_rps = 0, 0.0
    for i, step in enumerate(steps):
        reasons = judge(step, slo)
        if reasons:
            return Knee(i, step.users, round(step.rps, 2), reasons, capacity_users, round(capacity_rps, 2))
        capacity_users, capacity_rps = step.users, step.rps
    return Knee(None, None, None, [], capacity_users, round(capacity_rps, 2))


def broke_at(ticks: list[dict[str, Any]], slo: SLO, settle_s: float = 1.0) -> bool:
    """Whether the last completed step of a running capacity search broke the SLO (stop climbing)."""
    steps = {int(t["step"]) for t in ticks if "step" in t}
    if len(steps) < 2:
        return False
    done = [t for t in ticks if "step" in t and int(t["step"]) < max(steps)]
    completed = steps_of(done, settle_s)
    return bool(completed) and bool(judge(completed[-1], slo))
