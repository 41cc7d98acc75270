"""Retention and verification rotation are pure functions: tables of inputs and expected outputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eduops.backup.retention import Plan, Policy, guard, is_stale, next_slice, plan


def at(day: str, hour: int = 2) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


DAILY_FOR_TEN_DAYS = [(f"s{d:02d}", at(f"2026-03-{d:02d}")) for d in range(1, 11)]


@pytest.mark.parametrize(
    ("snapshots", "policy", "kept"),
    [
        ([], Policy(), []),
        (
            [("a", at("2026-03-01"))],
            Policy(keep_last=1, keep_daily=0, keep_weekly=0, keep_monthly=0, keep_yearly=0),
            ["a"],
        ),
        # keep_last only: the newest N
        (
            DAILY_FOR_TEN_DAYS,
            Policy(keep_last=2, keep_daily=0, keep_weekly=0, keep_monthly=0, keep_yearly=0),
            ["s10", "s09"],
        ),
        # daily: the newest of each of the last N days; several a day keep only the newest of that day
        (
            [("a", at("2026-03-01", 1)), ("b", at("2026-03-01", 5)), ("c", at("2026-03-02", 1))],
            Policy(keep_last=1, keep_daily=2, keep_weekly=0, keep_monthly=0, keep_yearly=0),
            ["c", "b"],
        ),
        # weekly: 2026-03-01 is a Sunday (ISO week 9), 03-02..03-08 week 10, 03-09..03-10 week 11
        (
            DAILY_FOR_TEN_DAYS,
            Policy(keep_last=1, keep_daily=0, keep_weekly=3, keep_monthly=0, keep_yearly=0),
            ["s10", "s08", "s01"],
        ),
        # monthly and yearly across a year boundary
        (
            [("dec", at("2025-12-31")), ("nov", at("2025-11-30")), ("jan", at("2026-01-15"))],
            Policy(keep_last=1, keep_daily=0, keep_weekly=0, keep_monthly=2, keep_yearly=2),
            ["jan", "dec"],
        ),
        # keep_last 0 still keeps the newest: a policy can never empty a target
        (DAILY_FOR_TEN_DAYS, Policy(keep_last=0, keep_daily=0, keep_weekly=0, keep_monthly=0, keep_yearly=0), ["s10"]),
    ],
)
def test_plan_keeps_what_the_policy_says(snapshots, policy, kept) -> None:
    result = plan(snapshots, policy)
    assert list(result.keep) == kept
    assert set(result.forget) == {s for s, _ in snapshots} - set(kept)


def test_plan_gives_each_kept_snapshot_its_reasons() -> None:
    result = plan(DAILY_FOR_TEN_DAYS, Policy(keep_last=1, keep_daily=2, keep_weekly=1, keep_monthly=1, keep_yearly=1))
    assert result.reasons["s10"] == ("last", "daily", "weekly", "monthly", "yearly")
    assert result.reasons["s09"] == ("daily",)


P = Plan(keep=("aaaaaaaa1", "bbbbbbbb1"), forget=("cccccccc1",), reasons={})


@pytest.mark.parametrize(
    ("present", "expected", "newest", "safe", "says"),
    [
        (["aaaaaaaa1", "bbbbbbbb1", "cccccccc1"], ["aaaaaaaa1"], ["aaaaaaaa1"], True, "all 1 recent"),
        (["aaaaaaaa1", "bbbbbbbb1", "cccccccc1"], [], [], True, "all 0 recent"),
        # a tampered or broken client lists fewer snapshots than eduops recorded: refuse to delete anything
        (["cccccccc1"], ["aaaaaaaa1", "bbbbbbbb1"], ["bbbbbbbb1"], False, "2 recently recorded snapshot(s) missing"),
        # short ids (8 characters) match full ids
        (["aaaaaaaa1", "cccccccc1"], ["aaaaaaaa"], [], True, "all 1 recent"),
        # the policy would drop the newest recorded snapshot
        (["aaaaaaaa1", "bbbbbbbb1", "cccccccc1"], ["cccccccc1"], ["cccccccc1"], False, "forget the newest"),
    ],
)
def test_guard_refuses_to_forget_when_recent_snapshots_are_missing(present, expected, newest, safe, says) -> None:
    verdict = guard(present, expected, P, newest=newest)
    assert verdict.safe is safe
    assert says in verdict.reason


@pytest.mark.parametrize(
    ("previous", "parts", "expected"),
    [
        (None, 7, "1/7"),
        ("1/7", 7, "2/7"),
        ("6/7", 7, "7/7"),
        ("7/7", 7, "1/7"),
        ("3/5", 7, "1/7"),  # the period changed: start a new round
        ("full", 7, "1/7"),
        ("", 1, "1/1"),
        ("1/1", 1, "1/1"),
    ],
)
def test_next_slice_rotates_so_every_byte_is_read_within_the_period(previous, parts, expected) -> None:
    assert next_slice(previous, parts) == expected


def test_a_full_round_of_slices_reads_every_part_once() -> None:
    seen, last = [], None
    for _ in range(5):
        last = next_slice(last, 5)
        seen.append(last)
    assert sorted(seen) == [f"{n}/5" for n in range(1, 6)]


NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "stale"),
    [
        (None, True),
        (NOW - timedelta(hours=1), False),
        (NOW - timedelta(hours=30), False),
        (NOW - timedelta(hours=30, minutes=1), True),
    ],
)
def test_stale_after_cadence_plus_grace(last, stale) -> None:
    assert is_stale(last, NOW, timedelta(hours=24), timedelta(hours=6)) is stale
