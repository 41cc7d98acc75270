"""core.kept: a value is answered again while its version holds and it is fresh; the oldest goes first."""

from __future__ import annotations

from eduops.core.kept import Kept


def test_kept_values_follow_version_age_and_room() -> None:
    now, computed = [0.0], []
    kept = Kept(2, clock=lambda: now[0])

    def compute(value: str):  # type: ignore[no-untyped-def]
        return lambda: computed.append(value) or value

    assert kept.get("a", 1, 10, compute("a1")) == "a1"
    assert kept.get("a", 1, 10, compute("again")) == "a1"  # same version, fresh
    assert kept.get("a", 2, 10, compute("a2")) == "a2"  # the data changed
    now[0] = 11
    assert kept.get("a", 2, 10, compute("a3")) == "a3"  # too old
    kept.get("b", 1, 10, compute("b1"))
    now[0] = 12
    kept.get("c", 1, 10, compute("c1"))  # no room: "a" (computed first) goes
    assert kept.get("b", 1, 10, compute("b2")) == "b1"
    assert kept.get("a", 2, 10, compute("a4")) == "a4"
    assert computed == ["a1", "a2", "a3", "b1", "c1", "a4"]
