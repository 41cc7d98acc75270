"""The feedback share of the demo: a month of Chinese feedback with clear themes, answers, a new
cluster in the last day (quiz submissions failing after release 5.3.1), last evening's 卡顿 complaints from the
students whose calls in the worst province / ISP really were poor (the call-quality demo's own data), SLA
breaches and work items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from eduops.core.demo import DemoContext
from eduops.core.places import place_name
from eduops.core.runs import run_task
from eduops.db import as_utc, session_scope
from eduops.feedback import workitems
from eduops.feedback.analysis import ranking, recluster
from eduops.feedback.models import FeedbackItem
from eduops.feedback.samples import sample_feedback
from eduops.feedback.service import FeedbackIn, Upload, reply, store

QUIZ_BREAK = [
    "做完测验点提交没反应，提交不了",
    "测验提交失败，提示服务器错误",
    "更新5.3.1以后测验交不上去",
    "提交测验一直失败，孩子白做了",
    "测验提交的时候报错500",
    "测验交卷失败，重试好几次都不行",
]
CALL_BREAK = [
    "晚上上课视频一直卡顿，老师声音断断续续",
    "昨晚直播课画面卡住不动，声音也卡顿",
    "晚上八点的课卡顿严重，孩子根本没法听课",
    "直播课经常卡顿黑屏，要退出重进",
    "晚上上课画面一卡一卡的，声音也断",
    "课堂视频卡顿，音画不同步",
]
CALL_COMPLAINTS = 15
REPLAY_OFFLINE = [
    "希望课程回放可以离线下载，地铁上没网也能看",
    "建议支持回放离线下载",
    "回放能不能下载到手机离线看",
    "希望增加回放离线缓存功能",
]
REPLAY_REQUESTERS = 12
ANSWERS = [
    "您好，已经记录，技术同事正在排查。",
    "抱歉给您带来不便，我们已经处理，请再试一次。",
    "感谢反馈，已转给课程老师。",
    "您好，退款已经提交，1-3个工作日到账。",
]


def populate(demo: DemoContext) -> None:
    ws, rng, now = demo.ws, demo.rng, demo.now
    batch: list[tuple[FeedbackIn, list[Upload]]] = []
    for n, (_, text) in enumerate(sample_feedback(360, rng)):
        at = now - timedelta(minutes=rng.randint(90, 28 * 24 * 60))
        batch.append(
            (
                FeedbackIn(
                    text=text,
                    user=f"u-{rng.randint(1, 900)}",
                    channel=rng.choice(["app", "app", "web", "widget", "wechat"]),
                    app_version=rng.choice(["5.2.1", "5.3.0"]),
                    received_at=at,
                    external_id=f"demo-{n}",
                ),
                [],
            )
        )
    stored = store(ws.engine, ws.settings, batch, now)
    demo.progress(f"{len(stored)} feedback texts", 0.3)
    # support answered most complaints; a few waited too long, the newest still wait
    for item in stored:
        received = datetime.fromisoformat(item["received_at"])
        if not item["complaint"] or (now - received < timedelta(hours=8) and rng.random() < 0.6):
            continue
        late = rng.random() < 0.12
        answered = received + timedelta(minutes=rng.randint(150, 400) if late else rng.randint(5, 110))
        if answered < now:
            reply(
                ws.engine,
                item["id"],
                rng.choice(["sam", "lily", "kevin"]),
                rng.choice(ANSWERS),
                close=rng.random() < 0.7,
                now=answered,
            )
    demo.progress("support answers", 0.5)
    # one feature many learners ask for (offline replays): a P2 the team evaluates, whatever else clusters near it
    wanted: list[tuple[FeedbackIn, list[Upload]]] = [
        (FeedbackIn(text=rng.choice(REPLAY_OFFLINE), user=f"u-{900 + n}", channel="app", app_version="5.3.0",
                    received_at=now - timedelta(days=rng.randint(1, 13), minutes=rng.randint(0, 600))), [])
        for n in range(REPLAY_REQUESTERS)
    ]
    store(ws.engine, ws.settings, wanted, now)
    recluster(ws.engine, ws.settings, now - timedelta(days=1))
    # the broken release: quiz submissions fail since yesterday (a new cluster for the digest)
    burst: list[tuple[FeedbackIn, list[Upload]]] = [
        (
            FeedbackIn(
                text=rng.choice(QUIZ_BREAK),
                user=f"u-{rng.randint(1, 900)}",
                channel="app",
                app_version="5.3.1",
                # from a few minutes after 5.3.1 went out (a day ago) until it was rolled back, ~5 hours later
                received_at=now - timedelta(minutes=rng.randint(19 * 60, 23 * 60 + 40)),
            ),
            [],
        )
        for _ in range(14)
    ]
    store(ws.engine, ws.settings, burst, now)
    segment = call_complaints(demo)
    run_task(ws.engine, ws.settings, "feedback-digest", actor="demo")
    demo.progress("daily digest", 0.8)
    clusters = ranking(ws.engine, now)
    by_category: dict[str, dict[str, Any]] = {}
    for c in clusters:
        by_category.setdefault(c["category"], c)
    made = []
    for category in ("audio_video", "login", "payment", "feature_request"):
        if category in by_category:
            made.append(
                workitems.from_cluster(
                    ws.engine,
                    ws.settings,
                    int(by_category[category]["id"]),
                    "support-lead",
                )
            )
    if made:
        workitems.update(ws.engine, made[1]["id"] if len(made) > 1 else made[0]["id"], status="done", release="5.3.0")
    workitems.create(
        ws.engine,
        ws.settings,
        workitems.WorkItemIn(title="课程表支持导出到手机日历", kind="nice-to-have", function="other", requesters=6),
        "pm",
    )
    share = f" {segment['poor_pct']:.0f}%" if segment.get("poor_pct") is not None else ""
    workitems.from_alert(
        ws.engine,
        ws.settings,
        "RtcPoorCallRateHigh",
        {"severity": "crit", "province": segment["region"], "isp": segment["isp"]},
        f"poor calls{share} on {place_name(segment['isp'], 'zh-CN')} in {place_name(segment['region'], 'zh-CN')} "
        "in the evening peak",
        "ops-oncall",
        "demo-alert-1",
    )
    demo.progress("work items", 1.0)
    demo.notes["feedback"] = (
        f"{len(stored) + len(burst)} feedback texts in {len(clusters)} clusters; "
        "a new cluster about quiz submissions since release 5.3.1; evening 卡顿 complaints from "
        f"{segment['region']} / {segment['isp']}, where the call-quality data is worst"
    )


def worst_call_segment(demo: DemoContext) -> dict[str, Any]:
    """The province / ISP pair the call-quality demo made worst (from its data when it ran, else the
    constants it was generated with), so the complaints and the work item tell the call-quality story."""
    from eduops.rtc.synthetic import BAD_ISP, BAD_PROVINCE

    fallback: dict[str, Any] = {"region": BAD_PROVINCE, "isp": BAD_ISP, "poor_pct": None}
    store = _rtc_store(demo)
    if store is None:
        return fallback
    from eduops.rtc.breakdowns import Window, worst_segments

    ranked = worst_segments(store, Window(as_utc(demo.now - timedelta(days=7)), as_utc(demo.now)),
                            dimensions=("province_isp",), limit=1)
    if not ranked:
        return fallback
    region, _, isp = ranked[0]["segment"].partition(" / ")
    return {"region": region, "isp": isp, "poor_pct": ranked[0]["poor_pct"]}


def _rtc_store(demo: DemoContext) -> Any:
    try:
        from eduops.rtc.service import open_store
        from eduops.rtc.store import store_path
    except ImportError:
        return None
    return open_store(demo.ws.settings) if store_path(demo.ws.settings.home).exists() else None


def _poor_students(demo: DemoContext, segment: dict[str, Any]) -> list[dict[str, Any]]:
    """Students of the segment whose session in the last day and a half was in the poor band, worst first."""
    store = _rtc_store(demo)
    if store is None:
        return []
    from eduops.rtc.qoe import band_sql, media_share_sql

    mos, poor = "sum(r.mos_sum) / nullif(sum(r.mos_n), 0)", media_share_sql("r.poor_ms", "r.media_ms")
    return list(store.query(
        f"""SELECT s.user_id, s.app_version, s.left_at FROM sessions s JOIN sample_rollup r ON r.sid = s.sid
            WHERE s.role = 'student' AND s.province = ? AND s.isp = ? AND s.left_at >= ? AND s.left_at < ?
            GROUP BY s.sid, s.user_id, s.app_version, s.left_at HAVING {band_sql(mos, poor)} = 'poor'
            ORDER BY {poor} DESC, s.left_at DESC LIMIT {CALL_COMPLAINTS}""",
        [segment["region"], segment["isp"], as_utc(demo.now - timedelta(hours=36)),
         as_utc(demo.now - timedelta(minutes=20))]))


def _last_evening(demo: DemoContext, n: int) -> datetime:
    """A moment of the last evening peak (19:00–22:00 in the workspace's clock) before now."""
    local = demo.now.astimezone(demo.ws.settings.tz)
    evening = local.replace(hour=19, minute=0, second=0, microsecond=0)
    if evening + timedelta(hours=3) > local:
        evening -= timedelta(days=1)
    return (evening + timedelta(minutes=(n * 13) % 180)).astimezone(UTC)


def call_complaints(demo: DemoContext) -> dict[str, Any]:
    """卡顿 complaints from the students whose evening calls in the worst segment really were poor; each
    carries the region and ISP of its call (``meta``), as the call-quality page shows them."""
    segment = worst_call_segment(demo)
    students = _poor_students(demo, segment)
    rows: list[dict[str, Any]] = [
        {"user": str(r["user_id"]), "app_version": str(r["app_version"] or ""),
         "at": as_utc(r["left_at"]) + timedelta(minutes=demo.rng.randint(2, 15))}
        for r in students
    ] or [
        {"user": f"u-{demo.rng.randint(1, 900)}", "app_version": "5.3.0", "at": _last_evening(demo, n)}
        for n in range(CALL_COMPLAINTS)
    ]
    batch: list[tuple[FeedbackIn, list[Upload]]] = [
        (FeedbackIn(text=demo.rng.choice(CALL_BREAK), user=r["user"], channel="app", app_version=r["app_version"],
                    received_at=min(r["at"], demo.now)), [])
        for r in rows
    ]
    stored = store(demo.ws.engine, demo.ws.settings, batch, demo.now)
    meta = {"region": segment["region"], "isp": segment["isp"]}
    with session_scope(demo.ws.engine) as session:
        session.execute(sa.update(FeedbackItem).where(FeedbackItem.id.in_([i["id"] for i in stored]))
                        .values(meta=meta))
    return segment
