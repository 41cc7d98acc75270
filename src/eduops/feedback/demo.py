"""The feedback share of the demo: a month of Chinese feedback with clear themes, answers, a new
cluster in the last day (quiz submissions failing after release 5.3.1), SLA breaches and work items."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eduops.core.demo import DemoContext
from eduops.core.runs import run_task
from eduops.feedback import workitems
from eduops.feedback.analysis import ranking, recluster
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
    recluster(ws.engine, ws.settings, now - timedelta(days=1))
    # the broken release: quiz submissions fail since yesterday (a new cluster for the digest)
    burst: list[tuple[FeedbackIn, list[Upload]]] = [
        (
            FeedbackIn(
                text=rng.choice(QUIZ_BREAK),
                user=f"u-{rng.randint(1, 900)}",
                channel="app",
                app_version="5.3.1",
                received_at=now - timedelta(minutes=rng.randint(30, 20 * 60)),
            ),
            [],
        )
        for _ in range(14)
    ]
    store(ws.engine, ws.settings, burst, now)
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
    workitems.from_alert(
        ws.engine,
        ws.settings,
        "RtcPoorCallRateHigh",
        {"severity": "crit", "isp": "移动"},
        "poor calls 12% on 移动 in 广东",
        "ops-oncall",
        "demo-alert-1",
    )
    demo.progress("work items", 1.0)
    demo.notes["feedback"] = (
        f"{len(stored) + len(burst)} feedback texts in {len(clusters)} clusters; "
        "a new cluster about quiz submissions since release 5.3.1"
    )
