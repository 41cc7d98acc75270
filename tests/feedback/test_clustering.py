"""Contract: 500 mixed Chinese feedback texts become readable clusters, the biggest ranked first."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from eduops.feedback.analysis import ranking, recluster
from eduops.feedback.service import import_csv

DATA = Path(__file__).parent / "data" / "feedback_500.csv"
# a reader recognises a theme when one of these words is among the cluster's top three terms
THEME_WORDS = {
    "audio_video": {"卡顿", "声音", "画面", "视频", "直播课", "回音", "杂音", "audio", "video"},
    "login": {"登录", "验证码", "密码", "账号", "log", "code", "verification"},
    "payment": {"支付", "退款", "扣款", "付款", "扣费", "charged", "refund"},
    "content_error": {"答案", "解析", "错误", "有误", "公式", "错别字", "课件", "讲义"},
    "performance": {"慢", "很慢", "闪退", "加载", "app", "转圈", "发热", "slow", "crashes"},
    "feature_request": {"增加", "支持", "功能", "下载", "回放", "错题本", "夜间模式", "倍速", "add", "download"},
    "praise": {"满意", "谢谢", "耐心", "喜欢", "很棒", "好评", "讲得", "great", "thanks", "loves"},
}
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_500_chinese_texts_cluster_into_readable_themes_biggest_first(sqlite_ws) -> None:
    data = DATA.read_bytes()
    theme_of = {row["id"]: row["theme"] for row in csv.DictReader(DATA.open(encoding="utf-8"))}
    assert import_csv(sqlite_ws.engine, sqlite_ws.settings, data, NOW) == {
        "rows": 500,
        "imported": 500,
        "duplicates": 0,
    }
    result = recluster(sqlite_ws.engine, sqlite_ws.settings, NOW)
    assert 7 <= result["clusters"] <= 21
    ranked = ranking(sqlite_ws.engine, NOW)
    sizes = [c["size"] for c in ranked]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(sizes) >= 0.95 * 500

    import sqlalchemy as sa

    from eduops.db import session_scope
    from eduops.feedback.models import FeedbackItem

    with session_scope(sqlite_ws.engine) as session:
        members = session.execute(sa.select(FeedbackItem.cluster_id, FeedbackItem.external_id)).tuples().all()
    themes_in: dict[int, Counter[str]] = {}
    for cid, ext in members:
        if cid is not None:
            themes_in.setdefault(cid, Counter())[theme_of[ext]] += 1
    for c in ranked:
        theme, count = themes_in[c["id"]].most_common(1)[0]
        assert count / c["size"] >= 0.9, (c["label"], themes_in[c["id"]])
        assert set(c["top_terms"][:3]) & THEME_WORDS[theme], (theme, c["top_terms"])
        assert len(c["examples"]) >= 1
    # every theme has a cluster, and the most frequent theme (audio/video stutter) is ranked first
    assert {themes_in[c["id"]].most_common(1)[0][0] for c in ranked} == set(THEME_WORDS)
    assert themes_in[ranked[0]["id"]].most_common(1)[0][0] == "audio_video"


def test_reclustering_keeps_cluster_ids_and_first_seen(sqlite_ws) -> None:
    import_csv(sqlite_ws.engine, sqlite_ws.settings, DATA.read_bytes(), NOW)
    first = recluster(sqlite_ws.engine, sqlite_ws.settings, NOW)
    assert len(first["new"]) == first["clusters"]
    again = recluster(sqlite_ws.engine, sqlite_ws.settings, NOW)
    assert again["new"] == []
    assert import_csv(sqlite_ws.engine, sqlite_ws.settings, DATA.read_bytes(), NOW)["duplicates"] == 500
