"""The in-memory moving window: the rule of ``limits``' moving window, in constant time per hit."""

from __future__ import annotations

import pytest
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from eduops.security.memory_window import SWEEP_S, MemoryWindow


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# (limit, seconds at which a hit comes, whether each is allowed)
CASES = [
    ("3/minute", [0, 1, 2, 3], [True, True, True, False]),
    ("3/minute", [0, 1, 2, 59.5, 60.5], [True, True, True, False, True]),  # the first hit left the window
    ("3/minute", [0, 1, 2, 60], [True, True, True, False]),  # a hit exactly 60 s old still counts
    ("2/second", [0, 0.5, 0.9, 1.01, 1.2, 1.6], [True, True, False, True, False, True]),
    ("1/hour", [0, 1800, 3601], [True, False, True]),
]


@pytest.mark.parametrize(("limit", "at", "allowed"), CASES)
def test_hits_allowed_within_the_limit(limit: str, at: list[float], allowed: list[bool]) -> None:
    clock = Clock()
    window = MemoryWindow(clock)
    item = parse(limit)
    found = []
    for offset in at:
        clock.now = 1000.0 + offset
        found.append(window.hit(item, "key", "k1"))
    assert found == allowed


def test_the_same_answers_as_the_limits_library() -> None:
    """Fed the same hits as ``limits``' memory moving window, it allows and refuses the same ones."""
    item = parse("5/second")
    theirs = MovingWindowRateLimiter(MemoryStorage())
    ours = MemoryWindow()
    answers = []
    for _ in range(12):
        answers.append((ours.hit(item, "ip", "a"), theirs.hit(item, "ip", "a")))
    assert [o for o, _t in answers] == [t for _o, t in answers] == [True] * 5 + [False] * 7


def test_callers_and_limits_are_counted_apart() -> None:
    clock = Clock()
    window = MemoryWindow(clock)
    one, other = parse("1/minute"), parse("2/minute")
    assert window.hit(one, "key", "a") and not window.hit(one, "key", "a")
    assert window.hit(one, "key", "b") and window.hit(one, "ip", "a") and window.hit(other, "key", "a")


def test_stats_say_when_a_hit_is_allowed_again() -> None:
    clock = Clock()
    window = MemoryWindow(clock)
    item = parse("2/minute")
    window.hit(item, "key", "a")
    clock.now += 10
    window.hit(item, "key", "a")
    assert not window.hit(item, "key", "a")
    stats = window.stats(item, "key", "a")
    assert stats.reset_time == pytest.approx(1060.0) and stats.remaining == 0
    clock.now = 1060.5
    assert window.stats(item, "key", "a").remaining == 1


def test_quiet_callers_are_swept() -> None:
    clock = Clock()
    window = MemoryWindow(clock)
    item = parse("10/second")
    window.hit(item, "ip", "gone")
    clock.now += SWEEP_S + 1
    window.hit(item, "ip", "here")
    assert [k[3] for k in window.windows] == ["here"]
