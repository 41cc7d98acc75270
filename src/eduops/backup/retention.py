"""Retention as pure functions: which snapshots a policy keeps, and whether it is safe to forget any.

``plan`` follows restic's bucket rules (the newest snapshot of each of the last N days, ISO weeks,
months, years, plus the newest ``keep_last``); eduops then forgets exactly the other ids, and only
after ``guard`` found every recently recorded snapshot on the target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Policy:
    keep_last: int = 3
    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 6
    keep_yearly: int = 1


@dataclass(frozen=True)
class Plan:
    keep: tuple[str, ...]
    forget: tuple[str, ...]
    reasons: dict[str, tuple[str, ...]]


BUCKETS: tuple[tuple[str, Callable[[datetime], object]], ...] = (
    ("daily", lambda t: t.date()),
    ("weekly", lambda t: t.isocalendar()[:2]),
    ("monthly", lambda t: (t.year, t.month)),
    ("yearly", lambda t: t.year),
)


def plan(snapshots: Sequence[tuple[str, datetime]], policy: Policy) -> Plan:
    """Split (id, time) snapshots into keep and forget; the newest is always kept."""
    ordered = sorted(snapshots, key=lambda s: s[1], reverse=True)
    reasons: dict[str, list[str]] = {}
    for sid, _ in ordered[: max(policy.keep_last, 1)]:
        reasons.setdefault(sid, []).append("last")
    for label, bucket_of in BUCKETS:
        limit = getattr(policy, f"keep_{label}")
        seen: set[object] = set()
        for sid, when in ordered:
            if len(seen) >= limit:
                break
            bucket = bucket_of(when)
            if bucket in seen:
                continue
            seen.add(bucket)
            reasons.setdefault(sid, []).append(label)
    keep = tuple(sid for sid, _ in ordered if sid in reasons)
    forget = tuple(sid for sid, _ in ordered if sid not in reasons)
    return Plan(keep, forget, {k: tuple(v) for k, v in reasons.items()})


@dataclass(frozen=True)
class Guard:
    safe: bool
    reason: str


def guard(present: Iterable[str], expected_recent: Iterable[str], plan_: Plan, newest: Iterable[str] = ()) -> Guard:
    """Safe to forget only when every recently recorded snapshot is on the target and the newest stays.

    A broken or tampered client that lost its snapshots (or lists someone else's) would otherwise make
    the policy delete the good, older ones.
    """
    have = {p[:8] for p in present}
    expected = list(dict.fromkeys(expected_recent))
    missing = [e for e in expected if e[:8] not in have]
    if missing:
        return Guard(
            False,
            f"{len(missing)} recently recorded snapshot(s) missing on the target: " + ", ".join(m[:8] for m in missing),
        )
    doomed = sorted({n[:8] for n in newest} & {f[:8] for f in plan_.forget})
    if doomed:
        return Guard(False, "the policy would forget the newest recorded snapshot: " + ", ".join(doomed))
    return Guard(True, f"all {len(expected)} recent snapshot(s) present")


def next_slice(previous: str | None, parts: int) -> str:
    """The next ``n/N`` slice for ``restic check --read-data-subset``; N slices cover all data once."""
    if previous and "/" in previous:
        head, _, tail = previous.partition("/")
        if head.isdigit() and tail.isdigit() and int(tail) == parts:
            return f"{int(head) % parts + 1}/{parts}"
    return f"1/{parts}"


def is_stale(last_success: datetime | None, now: datetime, cadence: timedelta, grace: timedelta) -> bool:
    """A source is stale when its newest good backup is older than its cadence plus grace."""
    return last_success is None or now - last_success > cadence + grace
