"""The incidents share of the demo: the sources read the other domains' demo data, and the incidents
that open are the story's two — release 5.3.1 breaking quiz submission and the Henan / China Unicom
evening call degradation. The release one is worked, resolved and reviewed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from eduops.core.demo import DemoContext
from eduops.db import session_scope
from eduops.feedback.models import FeedbackItem
from eduops.incidents import review, service, sources
from eduops.incidents.settings import incident_settings

RESPONDER = "lihua"  # the demo's on-call engineer (owner of the release incident)
REPLAY = timedelta(days=2)


def populate(demo: DemoContext) -> None:
    ws = demo.ws
    # The loop, replayed: what the sources call strong over the last two days, each signal taken one
    # poll interval after it began (as `eduops serve` would have found it).
    demo.progress("joining the demo's signals into incidents", 0.1)
    delay = timedelta(seconds=incident_settings(ws.settings).poll_interval)
    for signal in sources.openers(ws, demo.now - REPLAY, demo.now):
        service.take_signals(ws.engine, ws.settings, [signal], who="incidents", now=min(signal.at + delay, demo.now))
    found = service.list_incidents(ws.engine)
    release = next((i for i in found if any(s["kind"] == "release" for s in i["signals"])), None)
    calls = next((i for i in found if any(s["kind"] == "rtc" and s["dims"].get("isp") for s in i["signals"])), None)
    demo.shared["incidents"] = {"release": release["id"] if release else None, "calls": calls["id"] if calls else None}
    if release is not None:
        demo.progress("working and reviewing the release incident", 0.6)
        work_release_incident(demo, release)
    demo.progress("reviews of the quarterly drills", 0.9)
    review.review_finished_drills(ws.engine, ws.settings, who="demo")


def last_complaints(demo: DemoContext, incident: dict[str, Any]) -> list[datetime]:
    """When the last complaint of each cluster on the incident came (the rollback stopped them)."""
    clusters = [int(s["ref"].split(":", 1)[1]) for s in incident["signals"]
                if s["kind"] == "feedback" and s["ref"].split(":", 1)[1].isdigit()]
    if not clusters:
        return []
    with session_scope(demo.ws.engine) as session:
        latest = session.scalar(sa.select(sa.func.max(FeedbackItem.received_at))
                                .where(FeedbackItem.cluster_id.in_(clusters)))
    return [latest.replace(tzinfo=UTC) if latest.tzinfo is None else latest] if latest else []


def work_release_incident(demo: DemoContext, incident: dict[str, Any]) -> None:
    """What the on-call engineer did, on the incident's own clock: ack, find, roll back, watch, resolve."""
    ws, iid = demo.ws, incident["id"]
    opened = datetime.fromisoformat(incident["opened_at"])
    last = max([datetime.fromisoformat(s["ended_at"] or s["at"]) for s in incident["signals"]]
               + last_complaints(demo, incident))
    resolved = min(max(last, opened + timedelta(minutes=40)) + timedelta(minutes=45), demo.now)
    service.set_owner(ws.engine, ws.settings, iid, RESPONDER, "demo")
    service.acknowledge(ws.engine, iid, RESPONDER, at=opened + timedelta(minutes=9))
    service.add_note(ws.engine, iid, RESPONDER, "测验提交接口 5xx，与 5.3.1 的提交接口重构时间吻合；准备回滚。",
                     at=opened + timedelta(minutes=21))
    service.set_status(ws.engine, ws.settings, iid, "identified", RESPONDER)
    service.add_note(ws.engine, iid, RESPONDER, "已回滚到 5.3.0，提交成功率恢复，观察 30 分钟。",
                     at=resolved - timedelta(minutes=35))
    service.resolve(ws.engine, ws.settings, iid, RESPONDER, at=resolved)
    review.save_review(
        ws.engine, iid, RESPONDER,
        went_well="发布后回归检查在投诉之前就发现了测验提交失败；回滚步骤清楚，十几分钟完成。",
        went_badly="5.3.1 在发布前检查失败的情况下仍然上线；从确认到回滚用了 5 个多小时，期间测验·提交投诉一直在增加。",
        summary="5.3.1 重构的测验提交接口拒绝了旧版客户端的请求，回滚后恢复。",
    )
    review.add_action(ws.engine, ws.settings, iid, RESPONDER, "发布前检查失败时阻止部署（release-check 设为必过）",
                      "wangfang")
    review.add_action(ws.engine, ws.settings, iid, RESPONDER, "测验提交接口加上兼容旧客户端的契约测试", RESPONDER)
