"""Probable cause ranking: timing and dimension coverage, worded confidence, evidence lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eduops.incidents.cause import confidence, match, rank_causes, weight
from eduops.incidents.signals import Signal

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def sig(kind: str, ref: str, minutes: float, severity: str = "warning", **dims: str) -> Signal:
    return Signal(kind, ref, T0 + timedelta(minutes=minutes), ref, severity, dims=dims)  # type: ignore[arg-type]


RELEASE = sig("release", "release:5.3.1", 0, "critical", app_version="5.3.1")


@pytest.mark.parametrize(
    ("dims", "candidate", "expected"),
    [
        ({"region": "Henan", "isp": "China Unicom"}, {"region": "Henan", "isp": "China Unicom"}, 1.0),
        ({"region": "Henan"}, {"region": "Henan", "isp": "China Unicom"}, 0.5),
        ({"region": "Henan", "isp": "China Mobile"}, {"region": "Henan", "isp": "China Unicom"}, None),
        ({"host": "web-1"}, {"region": "Henan", "isp": "China Unicom"}, 0.0),
        ({"app_version": "5.3.0"}, {"app_version": "5.3.1"}, None),
    ],
)
def test_match(dims: dict[str, str], candidate: dict[str, str], expected: float | None) -> None:
    assert match(sig("alert", "a", 0, **dims), candidate) == expected


def test_another_release_is_a_rival_change_not_a_contradiction() -> None:
    assert match(sig("release", "release:5.3.0", 0, app_version="5.3.0"), {"app_version": "5.3.1"}) == 0.0


@pytest.mark.parametrize(
    ("score", "runner_up", "expected"),
    [(0.9, None, "likely"), (0.9, 0.7, "likely"), (0.9, 0.8, "possible"), (0.6, 0.6, "possible"),
     (0.5, None, "possible"), (0.35, 0.1, "possible"), (0.34, None, "weak"), (0.0, None, "weak")],
)
def test_confidence_words(score: float, runner_up: float | None, expected: str) -> None:
    assert confidence(score, runner_up) == expected


def test_a_release_that_precedes_everything_beats_a_region_that_explains_half() -> None:
    signals = [
        RELEASE,
        sig("feedback", "feedback:7", 60, app_version="5.3.1", region="Henan", isp="China Unicom"),
        sig("analytics", "analytics:quiz", 90, app_version="5.3.1"),
        sig("alert", "alert:submit", 30, "critical", app_version="5.3.1", region="Henan", isp="China Unicom"),
        sig("rtc", "rtc:x", 120, app_version="5.3.1"),
    ]
    causes = rank_causes(signals)
    top, second = causes[0], causes[1]
    assert (top.kind, dict(top.dims), top.confidence) == ("release", {"app_version": "5.3.1"}, "likely")
    assert top.recorded_change and top.changed_at == RELEASE.at
    assert set(top.supports) == {"feedback:7", "analytics:quiz", "alert:submit", "rtc:x"}
    assert not top.contradicts
    assert second.kind == "region_isp" and second.score < top.score
    assert "release:5.3.1" in second.unexplained and "rtc:x" in second.unexplained


def test_two_equally_good_candidates_are_both_possible_never_likely() -> None:
    signals = [
        sig("rtc", "rtc:a", 0, region="Henan", isp="China Unicom", host="edge-7"),
        sig("alert", "alert:b", 10, "critical", region="Henan", isp="China Unicom", host="edge-7"),
        sig("feedback", "feedback:c", 20, region="Henan", isp="China Unicom", host="edge-7"),
    ]
    causes = rank_causes(signals)
    assert [c.kind for c in causes] == ["host", "region_isp"]
    assert causes[0].score == causes[1].score > 0.6
    assert [c.confidence for c in causes] == ["possible", "possible"]


def test_signals_naming_another_value_count_against_a_candidate() -> None:
    signals = [
        sig("rtc", "rtc:a", 0, region="Henan", isp="China Unicom"),
        sig("rtc", "rtc:b", 5, region="Guangdong", isp="China Mobile"),
        sig("feedback", "feedback:c", 20, region="Henan", isp="China Unicom"),
    ]
    henan = next(c for c in rank_causes(signals) if c.dims.get("region") == "Henan")
    assert henan.contradicts == ("rtc:b",)
    # coverage: (weight of a + c − weight of b) / all three = 1/3
    assert henan.coverage == pytest.approx(1 / 3, abs=0.001)


def test_a_symptom_before_the_release_does_not_count_as_timely() -> None:
    early = sig("alert", "alert:early", -120, app_version="5.3.1")
    later = sig("feedback", "feedback:later", 30, app_version="5.3.1")
    cause = rank_causes([RELEASE, early, later])[0]
    assert cause.late == ("alert:early",) and cause.timing == pytest.approx(0.5)
    assert 0 <= cause.score <= 1


def test_weight_grows_with_severity_and_volume_and_stays_bounded() -> None:
    base = sig("feedback", "f", 0)
    loud = Signal("feedback", "g", T0, "g", "critical", detail={"count": 10**6})
    assert weight(base) == 2.0 and weight(loud) == 6.0
    assert rank_causes([]) == []
