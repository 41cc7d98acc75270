"""From injected signals to a resolved incident with its review: joining, the owner told through
alerting's delivery, ack/notes/resolve audited, a review pre-filled with durations and the release as
the likely cause, action items as work items; and a quarterly drill reviewed the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from eduops.alerting.notify import Delivery, add_channel, load_queues
from eduops.core.i18n import msg
from eduops.core.models import AuditEntry, CheckRun, Run
from eduops.core.workspace import keyring
from eduops.db import session_scope
from eduops.feedback.workitems import list_items
from eduops.incidents import review, service
from eduops.incidents.background import IncidentWork
from eduops.incidents.signals import Signal

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


SIGNALS = [
    Signal("release", "release:5.3.1", at(0), msg("release {version} failed its post-deploy check", version="5.3.1"),
           "critical", dims={"app_version": "5.3.1", "service": "quiz"}, opens=True, link="/releases/5.3.1"),
    Signal("feedback", "feedback:cluster:7", at(20), "测验·提交", dims={"app_version": "5.3.1"}, value=14,
           unit="1/h", link="/feedback/clusters/7"),
    Signal("analytics", "analytics:quiz-submit", at(30), "quiz submission completion fell",
           dims={"service": "quiz"}, link="/analytics"),
    Signal("rtc", "rtc:Henan/China Unicom", at(10), "poor share jumped", "critical",
           dims={"region": "Henan", "isp": "China Unicom"}, opens=True, link="/rtc"),
    Signal("run", "run:88", at(15), "disk 91 % on db1", dims={"host": "db1"}),  # nothing to join, too weak
]


def test_signals_to_a_reviewed_incident(ws) -> None:
    ws.settings.model_extra["incidents"] = {"default_owner": "lihua"}
    add_channel(ws.engine, keyring(ws.settings), "lihua", "json://127.0.0.1:9/hook")
    done = service.take_signals(ws.engine, ws.settings, SIGNALS)
    assert len(done["opened"]) == 2 and len(done["attached"]) == 2
    incidents = {i["id"]: i for i in service.list_incidents(ws.engine)}
    quiz = next(i for i in incidents.values() if i["dims"].get("app_version"))
    calls = next(i for i in incidents.values() if i["dims"].get("isp"))
    assert sorted(s["kind"] for s in quiz["signals"]) == ["analytics", "feedback", "release"]
    assert [s["kind"] for s in calls["signals"]] == ["rtc"]
    assert quiz["owner"] == "lihua" and quiz["severity"] == "critical" and quiz["opened_by"] == "signal:release:5.3.1"
    # the same signals again change nothing
    assert service.take_signals(ws.engine, ws.settings, SIGNALS[:3]) == {"opened": [], "attached": []}

    sent: list[tuple[str, str, str]] = []
    delivery = Delivery(ws.engine, load_queues(ws.engine, keyring(ws.settings)),
                        sender=lambda url, title, body: (sent.append((url, title, body)) or True, ""))
    work = IncidentWork(ws, delivery)
    work.tick(datetime.now(UTC).timestamp())  # polls the (empty) sources and hands the notices over
    delivery.tick(datetime.now(UTC).timestamp())
    assert len(sent) == 1 and "已创建" in sent[0][1] and f"/incidents/{quiz['id']}" in sent[0][2]  # merged batch

    iid = quiz["id"]
    service.acknowledge(ws.engine, iid, "lihua", at=at(12))
    service.add_note(ws.engine, iid, "lihua", "回滚到 5.3.0")
    service.resolve(ws.engine, ws.settings, iid, "lihua", at=at(70))
    # the release check stays "failed" for a day: the next polls must not open the handled occurrence again
    assert service.take_signals(ws.engine, ws.settings, SIGNALS[:3]) == {"opened": [], "attached": []}
    data = review.get_review(ws.engine, ws.settings, iid)
    durations = data["durations"]  # found three hours after its first signal, by this poll
    assert 180 <= durations["detect_min"] < 200 and (durations["acknowledge_min"], durations["resolve_min"]) == (
        12.0, 70.0)
    assert data["causes"] and data["causes"][0]["kind"] == "release"
    assert data["causes"][0]["confidence"] in ("likely", "possible")
    assert data["impact"] is not None and "complaints" in data["impact"]
    review.save_review(ws.engine, iid, "lihua", went_well="回归检查先于投诉发现", went_badly="检查失败仍上线")
    for title, owner in (("检查失败时阻止部署", "wangfang"), ("提交接口契约测试", "lihua")):
        review.add_action(ws.engine, ws.settings, iid, "lihua", title, owner)
    final = service.get_incident(ws.engine, iid)
    assert final["review"]["went_badly"] == "检查失败仍上线" and len(final["action_items"]) == 2
    refs = {w["source_ref"] for w in list_items(ws.engine)}
    assert f"incident:{iid}" in refs
    with session_scope(ws.engine) as session:
        actions = set(session.scalars(sa.select(AuditEntry.action).where(AuditEntry.target == f"incident:{iid}")))
    assert {"incident.open", "incident.attach", "incident.ack", "incident.note", "incident.resolve",
            "incident.review", "incident.action"} <= actions
    work.tick(datetime.now(UTC).timestamp() + 3600)
    delivery.tick(datetime.now(UTC).timestamp() + 3600)
    assert any("已恢复" in title for _, title, _ in sent)


def test_a_drill_run_gets_the_same_review(sqlite_ws) -> None:
    ws = sqlite_ws
    with session_scope(ws.engine) as session:
        run = Run(task_key="quarterly-drill", trigger="manual", triggered_by="test", status="ok",
                  started_at=at(0), finished_at=at(5))
        session.add(run)
        session.flush()
        session.add(CheckRun(run_id=run.id, name="drills.quarterly", area="drills", status="ok", summary="",
                             started_at=at(0), evidence={"injected_at": at(1).isoformat(), "ttd_s": 90.0,
                                                         "ttr_s": 240.0, "title": "database down",
                                                         "experiment": "database-down"}))
        run_id = run.id
        idle = Run(task_key="quarterly-drill", trigger="manual", triggered_by="test", status="error",
                   started_at=at(6), finished_at=at(7))  # injected nothing: nothing to review
        session.add(idle)
        session.flush()
        session.add(CheckRun(run_id=idle.id, name="drills.quarterly", area="drills", status="error", summary="",
                             started_at=at(6), evidence={}))
    # the loop reviews every finished drill once, without anyone asking
    (made_id,) = review.review_finished_drills(ws.engine, ws.settings)
    assert review.review_finished_drills(ws.engine, ws.settings) == []
    made = review.review_drill(ws.engine, ws.settings, run_id, "olga")
    assert made["id"] == made_id
    assert (made["kind"], made["status"], made["drill_run_id"]) == ("drill", "resolved", run_id)
    data = review.get_review(ws.engine, ws.settings, made["id"])
    assert data["durations"] == {"detect_min": 1.5, "acknowledge_min": 1.5, "resolve_min": 4.0}
    assert service.list_incidents(ws.engine, "open") == []  # a rehearsal never shows as an open incident
