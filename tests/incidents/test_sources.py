"""Incident sources over a small workspace whose rows were written through each domain's own functions;
the jump and surge rules; and impact durations."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from eduops.alerting.alerts import acknowledge
from eduops.alerting.intake import ingest_webhook, intake_fingerprint
from eduops.alerting.rules import parse_rule_file
from eduops.analytics import extract
from eduops.analytics.demo import _statement
from eduops.analytics.store import close_store, open_store, require_duckdb
from eduops.core.demo import DemoContext
from eduops.core.models import FindingRow, Run
from eduops.core.workspace import Workspace
from eduops.db import session_scope
from eduops.feedback.analysis import recluster
from eduops.feedback.demo import QUIZ_BREAK
from eduops.feedback.service import FeedbackIn, store
from eduops.incidents.impact import durations, measure_impact
from eduops.incidents.jumps import EvidenceSettings, jumped, surged
from eduops.incidents.learning import platform_wide
from eduops.incidents.sources import alert_dims, openers, opens_incident, timeline
from eduops.release.demo import _recorded
from eduops.release.service import create_release

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
CFG = EvidenceSettings()


@pytest.mark.parametrize(
    ("recent", "baseline", "volume", "expected"),
    [
        (60.0, 20.0, 10, True),     # 3× and +40 points
        (30.0, 20.0, 10, False),    # only 1.5×
        (30.0, 10.0, 10, False),    # 3× but only +20 points
        (40.0, None, 10, True),     # a new segment: its baseline counts as 0 %
        (90.0, 20.0, 3, False),     # too few sessions to judge
        (None, 20.0, 10, False),    # nothing measured
        (50.0, 25.0, 4, True),      # exactly at every threshold
    ],
)
def test_a_share_jumps_against_its_own_baseline(recent: float | None, baseline: float | None, volume: int,
                                                expected: bool) -> None:
    assert jumped(recent, baseline, volume, CFG) is expected


@pytest.mark.parametrize(
    ("recent", "baseline", "hours", "expected"),
    [(15, 21, 24, True), (8, 21, 24, False), (4, 0, 24, False), (5, 0, 24, True), (10, 70, 24, False)],
)
def test_a_complaint_cluster_surges_against_its_baseline_rate(recent: int, baseline: int, hours: float,
                                                              expected: bool) -> None:
    assert surged(recent, baseline, hours, 7 * 24, CFG) is expected


@pytest.mark.parametrize(
    ("courses", "total", "base", "attempts", "expected"),
    [(2, 60.0, 5.0, 40, True), (1, 60.0, 5.0, 40, False), (3, 20.0, 5.0, 40, False), (3, 60.0, 5.0, 5, False)],
)
def test_several_courses_dropping_together_are_one_platform_wide_signal(
        courses: int, total: float, base: float, attempts: int, expected: bool) -> None:
    assert platform_wide(courses, total, base, attempts, CFG) is expected


@pytest.mark.parametrize(
    ("labels", "annotations", "expected"),
    [({"severity": "critical"}, {}, True), ({"severity": "crit"}, {}, True), ({"severity": "warning"}, {}, False),
     ({"severity": "warning", "incident": "true"}, {}, True), ({"severity": "info"}, {"incident": "true"}, True),
     ({"severity": "warning", "incident": "false"}, {}, False)],
)
def test_which_alerts_open_an_incident(labels: dict[str, str], annotations: dict[str, str], expected: bool) -> None:
    assert opens_incident(labels, annotations) is expected


def test_a_rule_file_may_mark_a_rule_incident_true() -> None:
    [group] = parse_rule_file("""groups:
  - name: quiz
    rules:
      - alert: QuizSubmitErrors
        expr: up == 0
        labels: {severity: warning, incident: true, service: quiz-api}
""")
    rule = group.rules[0]
    assert rule.labels["incident"] == "true" and opens_incident(rule.labels, rule.annotations)  # type: ignore[union-attr]
    assert alert_dims({"instance": "web-1:9100", "province": "Henan", "job": "quiz-api"}) == {
        "service": "quiz-api", "host": "web-1:9100", "region": "Henan"}


@pytest.mark.parametrize(
    ("first", "opened", "acked", "resolved", "expected"),
    [
        (0, 10, 15, 70, {"detect_min": 10.0, "acknowledge_min": 15.0, "resolve_min": 70.0}),
        (0, 10, None, None, {"detect_min": 10.0, "acknowledge_min": None, "resolve_min": None}),
        (None, 10, 15, None, {"detect_min": None, "acknowledge_min": 5.0, "resolve_min": None}),
    ],
)
def test_durations(first: int | None, opened: int | None, acked: int | None, resolved: int | None,
                   expected: dict[str, float | None]) -> None:
    def at(minutes: int | None) -> datetime | None:
        return None if minutes is None else NOW + timedelta(minutes=minutes)

    assert durations(at(first), at(opened), at(acked), at(resolved)) == expected


def _webhook(status: str, starts: datetime, ends: datetime | None = None) -> dict[str, object]:
    alert = {"status": status, "labels": {"alertname": "QuizSubmitErrors", "severity": "critical",
                                          "job": "quiz-api", "app_version": "5.3.1"},
             "annotations": {"summary": "quiz submissions failing"},
             "startsAt": starts.isoformat().replace("+00:00", "Z"), "generatorURL": "", "fingerprint": "x"}
    if ends:
        alert["endsAt"] = ends.isoformat().replace("+00:00", "Z")
    return {"version": "4", "groupKey": "g", "status": status, "receiver": "eduops", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "", "alerts": [alert]}


def _learning(ws: Workspace) -> None:
    """A week of quiz attempts that were all submitted, then a day where most were not."""
    ctx = {"teacher": "teacher-wang", "region": "east", "device": "ios"}
    rows = []
    for n in range(30):
        for day, answered in ((3, True), (0, n < 8)):
            when = (NOW - timedelta(days=day, hours=2, minutes=n)).replace(tzinfo=None)
            rows.append(_statement(f"u-{n}", "attempted", when, "lesson-5/quiz", "math-101", ctx))
            if answered:
                rows.append(_statement(f"u-{n}", "answered", when + timedelta(minutes=5), "lesson-5/quiz",
                                       "math-101", ctx, {"success": True}))
    stored = NOW.isoformat()
    authority = {"objectType": "Agent", "account": {"homePage": "https://x", "name": "lms"}}
    require_duckdb(open_store(ws.settings)).bulk_load(
        [extract.to_row({**s, "stored": stored, "authority": authority, "version": "1.0.0"}) for s in rows])


@pytest.fixture
def small(sqlite_ws: Workspace) -> Iterator[Workspace]:
    ws = sqlite_ws
    deployed = NOW - timedelta(hours=6)
    # alerting: a critical alert taken in from Alertmanager, acknowledged, still firing
    ingest_webhook(ws.engine, _webhook("firing", deployed + timedelta(minutes=30)), NOW.timestamp())
    fp = intake_fingerprint({"alertname": "QuizSubmitErrors", "severity": "critical", "job": "quiz-api",
                             "app_version": "5.3.1"})
    acknowledge(ws.engine, fp, "oncall", deployed + timedelta(minutes=40))
    # release: 5.3.1 deployed, its post-deploy journeys recorded with the quiz failing
    create_release(ws.engine, "5.3.1", ["测验提交接口重构"], "rm", deployed_at=deployed)
    _recorded(DemoContext(ws=ws, now=NOW, rng=random.Random(1)), "5.3.1", {"quiz"}, deployed)
    # feedback: a burst of quiz complaints on 5.3.1 after the deploy, clustered
    burst = [(FeedbackIn(text=t, user=f"u-{i}", channel="app", app_version="5.3.1",
                         received_at=deployed + timedelta(minutes=20 + 10 * i)), [])
             for i, t in enumerate([*QUIZ_BREAK, QUIZ_BREAK[0]])]  # one of them reads as a content error
    store(ws.engine, ws.settings, burst, NOW)  # type: ignore[arg-type]
    recluster(ws.engine, ws.settings, NOW)
    # a calendar run that found something
    with session_scope(ws.engine) as session:
        run = Run(task_key="daily-inspection", trigger="scheduled", status="warn",
                  started_at=NOW - timedelta(hours=2), finished_at=NOW - timedelta(hours=2))
        session.add(run)
        session.flush()
        session.add(FindingRow(run_id=run.id, check_name="host.status", severity="warn", title="disk 91% full"))
    _learning(ws)
    yield ws
    close_store(ws.settings)


def test_sources_read_each_domain_and_the_release_explains_them(small: Workspace) -> None:
    opened = openers(small, NOW - timedelta(hours=12), NOW)
    by_kind = {s.kind: s for s in opened}
    assert set(by_kind) == {"alert", "feedback", "release"}
    assert by_kind["release"].link == "/releases/5.3.1" and by_kind["release"].detail["post_status"] == "crit"
    assert by_kind["feedback"].dims == {"app_version": "5.3.1"} and by_kind["feedback"].detail["count"] == 6
    assert by_kind["alert"].dims == {"service": "quiz-api", "app_version": "5.3.1"}

    signals = timeline(small, NOW - timedelta(hours=12), NOW, {"app_version": "5.3.1"})
    kinds = {s.kind for s in signals}
    assert kinds == {"alert", "feedback", "release", "run", "analytics"}
    alert = next(s for s in signals if s.kind == "alert")
    assert set(alert.detail["events"]) == {"firing", "acknowledged"}
    feedback = max((s for s in signals if s.kind == "feedback"), key=lambda s: s.detail["count"])
    assert len(feedback.detail["examples"]) == 3 and sum(v for _, v in feedback.series) == 6
    learning = next(s for s in signals if s.kind == "analytics")
    assert learning.dims == {"course": "math-101"} and learning.value == pytest.approx(73.3, abs=0.1)
    assert all(s.link.startswith("/") for s in signals)

    from eduops.incidents.cause import rank_causes

    top = rank_causes(signals)[0]
    assert (top.kind, top.dims, top.recorded_change) == ("release", {"app_version": "5.3.1"}, True)
    impact = measure_impact(small, NOW - timedelta(hours=12), NOW, {"app_version": "5.3.1"})
    assert impact["complaints"] == 7 and impact["learners_failed"] == 22 and impact["calls_affected"] is None
