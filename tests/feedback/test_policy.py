"""The feedback rules on their own: categories, the SLA clock, the priority policy, weekly trend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eduops.feedback.analysis import jaccard, trend, weekly_counts
from eduops.feedback.priority import decide_priority
from eduops.feedback.sla import first_response_due, sla_state
from eduops.feedback.text import categorize, is_complaint, words

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("上课视频一直卡顿，老师声音断断续续", "audio_video"),
        ("收不到登录验证码", "login"),
        ("微信支付扣款了课程没开通，请退款", "payment"),
        ("第5题答案错误，解析有误", "content_error"),
        ("APP打开特别慢，一直转圈，还闪退", "performance"),
        ("希望增加倍速播放功能", "feature_request"),
        ("老师讲得很好，非常满意，谢谢", "praise"),
        ("I was charged twice, please refund", "payment"),
        ("The teacher's audio keeps cutting out", "audio_video"),
        ("今天天气不错", "other"),
    ],
)
def test_categories(text: str, category: str) -> None:
    assert categorize(text) == category


@pytest.mark.parametrize(
    ("category", "complaint"), [("login", True), ("other", True), ("praise", False), ("feature_request", False)]
)
def test_only_complaints_get_a_clock(category: str, complaint: bool) -> None:
    assert is_complaint(category) is complaint
    assert (first_response_due(T0, complaint, 120) is not None) is complaint


@pytest.mark.parametrize(
    ("answered_after_min", "now_after_min", "state"),
    [
        (None, 10, "pending"),
        (None, 95, "at_risk"),
        (None, 121, "breached"),
        (60, 500, "met"),
        (120, 500, "met"),
        (121, 500, "breached"),
    ],
)
def test_sla_state(answered_after_min: int | None, now_after_min: int, state: str) -> None:
    due = first_response_due(T0, True, 120)
    answered = T0 + timedelta(minutes=answered_after_min) if answered_after_min is not None else None
    assert sla_state(due, answered, T0 + timedelta(minutes=now_after_min), at_risk_minutes=30) == state


@pytest.mark.parametrize(
    ("kind", "function", "requesters", "priority", "track"),
    [
        ("bug", "classes", 1, "P0", "fix-now"),
        ("bug", "login", 0, "P0", "fix-now"),
        ("bug", "payment", 300, "P0", "fix-now"),
        ("bug", "content", 50, "P1", "next-release"),
        ("bug", "app", 2, "P1", "next-release"),
        ("feature", "other", 20, "P2", "evaluate"),
        ("feature", "classes", 120, "P2", "evaluate"),
        ("feature", "other", 19, "P3", "backlog"),
        ("nice-to-have", "other", 500, "P3", "backlog"),
    ],
)
def test_priority_policy(kind: str, function: str, requesters: int, priority: str, track: str) -> None:
    decision = decide_priority(kind, function, requesters, many_requesters=20)
    assert (decision.priority, decision.track) == (priority, track)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        decide_priority("chore", "other", 0)


def test_weekly_counts_and_trend() -> None:
    stamps = [T0 - timedelta(days=d) for d in (0.5, 1, 2, 3, 4, 8, 9, 15)]
    assert weekly_counts(stamps, T0, weeks=3) == [1, 2, 5]
    assert trend([0, 2, 5]) == "up"
    assert trend([0, 10, 4]) == "down"
    assert trend([0, 10, 11]) == "flat"
    assert trend([5]) == "flat"


def test_words_drop_filler_and_keep_theme_words() -> None:
    got = words("老师好，今天上课视频一直卡顿，希望尽快解决！！")
    assert "卡顿" in got and "视频" in got
    assert not {"老师好", "今天", "一直", "尽快", "！"} & set(got)
    assert jaccard(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)


@pytest.mark.parametrize(("category", "chinese"), [("audio_video", "音视频"), ("content_error", "内容错误"),
                                                   ("feature_request", "功能建议"), ("other", "其他")])
def test_a_digest_names_a_category_in_the_readers_words(category: str, chinese: str) -> None:
    from eduops.core.i18n import render_text
    from eduops.feedback.checks import category_word
    from eduops.feedback.text import CATEGORIES

    assert category in CATEGORIES and render_text(category_word(category), "zh-CN") == chinese
