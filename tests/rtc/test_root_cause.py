"""The root-cause rule, table-driven: most far-reaching cause first."""

from __future__ import annotations

import pytest

from eduops.rtc.calls import Participant, RegionLoad, root_cause

GOOD_TEACHER = Participant("t1", "teacher", rtt_ms=60, jitter_ms=5)
BAD_WIFI_TEACHER = Participant("t1", "teacher", network="wifi", loss_up_pct=7, jitter_ms=55)
HENAN_TEACHER = Participant("t2", "teacher", province="Henan", isp="China Unicom", loss_up_pct=6)
FROZEN_STUDENT = Participant("s1", "student", poor_pct=40)
OK_STUDENT = Participant("s2", "student", poor_pct=2)
CPU_STUDENT = Participant("s3", "student", device="Redmi 9A", cpu_share=0.6, poor_pct=30)
LOSSY_STUDENT = Participant("s4", "student", network="4g", loss_down_pct=8, poor_pct=50)
BUSY_REGION = RegionLoad("Henan", "China Unicom", users=20, poor_users=14)
CALM_REGION = RegionLoad("Henan", "China Mobile", users=20, poor_users=2)
FEW_USERS = RegionLoad("Henan", "China Telecom", users=2, poor_users=2)  # all poor, but too few to say


@pytest.mark.parametrize(
    ("participants", "regions", "cause", "who"),
    [
        ([GOOD_TEACHER, FROZEN_STUDENT], [BUSY_REGION], "service_side", None),
        ([BAD_WIFI_TEACHER, FROZEN_STUDENT], [BUSY_REGION], "teacher_network", "t1"),  # the teacher explains it
        ([HENAN_TEACHER, FROZEN_STUDENT], [BUSY_REGION], "service_side", None),  # ...unless she is in the region
        ([BAD_WIFI_TEACHER, FROZEN_STUDENT, OK_STUDENT], [CALM_REGION], "teacher_network", "t1"),
        ([GOOD_TEACHER, CPU_STUDENT, OK_STUDENT], [CALM_REGION], "device", "s3"),
        ([GOOD_TEACHER, OK_STUDENT, LOSSY_STUDENT], [FEW_USERS], "student_network", "s4"),
        ([GOOD_TEACHER, OK_STUDENT], [CALM_REGION], "none", None),
        ([BAD_WIFI_TEACHER, OK_STUDENT], [], "none", None),  # a bad teacher network no student noticed
    ],
)
def test_root_cause(participants: list[Participant], regions: list[RegionLoad], cause: str, who: str | None) -> None:
    hint = root_cause(participants, regions)
    assert (hint.cause, hint.user_id) == (cause, who)
    assert hint.evidence


def test_regional_hint_names_the_province_and_isp() -> None:
    hint = root_cause([OK_STUDENT], [CALM_REGION, BUSY_REGION])
    assert "Henan / China Unicom" in hint.summary
    assert "14 of 20 users of other calls on Henan / China Unicom" in hint.evidence[0]
