"""The learning share of the demo: a 16-week semester of xAPI statements for a few thousand learners.

Six courses with their teachers, five regions, four devices. Known patterns to find in the console:
many learners stop after lesson 4 (the first graded quiz), and physics-101 has low completion.
Since release 5.3.1 (a day ago) most quiz attempts are never answered: submission is broken.
Learner ids are ``u-<n>`` like the call-quality demo's students, so quality × learning joins; a
learner whose class had poor call quality is likelier to stop in the week after it.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from eduops.analytics import extract, vocab
from eduops.analytics.lrs import iso
from eduops.analytics.store import close_store, open_store, require_duckdb
from eduops.core.demo import DemoContext
from eduops.release.demo import RELEASES

LEARNERS = 2500
WEEKS = 16
LESSONS = 12
DROP_LESSON = 4  # the known drop-off: the first graded quiz
LOW_COMPLETION_COURSE = "physics-101"
HOME = "https://lms.demo.eduops.dev"
COURSES = {  # course: (teacher, chance to continue after each lesson)
    "math-101": ("teacher-wang", 0.97), "physics-101": ("teacher-li", 0.85), "english-201": ("teacher-zhang", 0.97),
    "chinese-lit-101": ("teacher-chen", 0.96), "programming-101": ("teacher-liu", 0.95),
    "history-201": ("teacher-zhao", 0.97),
}
REGIONS = (("east", 0.35), ("north", 0.25), ("south", 0.2), ("west", 0.12), ("overseas", 0.08))
DEVICES = (("android", 0.4), ("ios", 0.3), ("web", 0.2), ("windows", 0.1))
VIDEO_S = 600
POOR_CLASS_STAY = 0.4  # chance to come to the next lesson after a poor-quality class
# the release that broke quiz submission (release/demo.py): since its deploy, quizzes are rarely answered
QUIZ_BROKEN_DAYS_AGO = next(days for _, days, broken, _ in RELEASES if "quiz" in broken)


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _statement(actor: str, verb: str, when: datetime, obj: str, course: str, ctx: dict[str, Any],
               result: dict[str, Any] | None = None, ctx_ext: dict[str, Any] | None = None) -> dict[str, Any]:
    course_iri = f"{HOME}/course/{course}"
    s: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": actor}},
        "verb": {"id": vocab.VERBS[verb], "display": {"en-US": verb}},
        "object": {"objectType": "Activity", "id": course_iri if obj == "" else f"{course_iri}/{obj}"},
        "timestamp": iso(when),
        "context": {"instructor": {"objectType": "Agent", "account": {"homePage": HOME, "name": ctx["teacher"]}},
                    "contextActivities": {"parent": [{"id": course_iri, "definition": {"type": vocab.COURSE_TYPE}}]},
                    "extensions": {vocab.REGION_EXT: ctx["region"], vocab.DEVICE_EXT: ctx["device"],
                                   **(ctx_ext or {})}},
    }
    if obj == "":
        s["object"]["definition"] = {"type": vocab.COURSE_TYPE}
        del s["context"]["contextActivities"]
    if result:
        s["result"] = result
    return s


def semester(rng: random.Random, end: datetime, learners: int = LEARNERS,
             poor_classes: dict[str, list[datetime]] | None = None,
             quiz_broken_since: datetime | None = None) -> list[dict[str, Any]]:
    """Every statement of the semester, in no particular order. A learner who sat through a
    poor-quality class (``poor_classes``: user → class end times, UTC) is likelier to stop after it.
    From ``quiz_broken_since`` on, four in five quiz attempts are never answered (submission fails)."""
    start = end - timedelta(weeks=WEEKS)
    poor_classes = poor_classes or {}
    out: list[dict[str, Any]] = []
    for n in range(learners):
        actor = f"u-{n}"
        region, device = _pick(rng, REGIONS), _pick(rng, DEVICES)
        for course in rng.sample(sorted(COURSES), rng.choice((1, 1, 2))):
            teacher, keep_going = COURSES[course]
            ctx = {"teacher": teacher, "region": region, "device": device}
            when = start + timedelta(days=rng.uniform(0, 28), hours=rng.uniform(0, 12))
            out.append(_statement(actor, "registered", when, "", course, ctx))
            skill = rng.uniform(0.35, 1.0)
            finished = True
            for lesson in range(1, LESSONS + 1):
                before = when
                when += timedelta(days=rng.uniform(5, 9))
                if when >= end:
                    finished = False
                    break
                poor = any(before < t <= when for t in poor_classes.get(actor, ()))
                if poor and rng.random() > POOR_CLASS_STAY:
                    finished = False  # a bad class, and this learner does not come back
                    break
                lesson_obj = f"lesson-{lesson}"
                out.append(_statement(actor, "launched", when, lesson_obj, course, ctx))
                watched = rng.uniform(0.3, 1.0)
                out.append(_statement(actor, "paused", when + timedelta(minutes=12), f"{lesson_obj}/video", course, ctx,
                                      {"extensions": {vocab.VIDEO_SEGMENTS_EXT: f"0[.]{VIDEO_S * watched:.0f}",
                                                      vocab.VIDEO_PROGRESS_EXT: round(watched, 2)}},
                                      {vocab.VIDEO_LENGTH_EXT: VIDEO_S}))
                out.append(_statement(actor, "attempted", when + timedelta(minutes=20), f"{lesson_obj}/quiz", course,
                                      ctx))
                score = max(0.0, min(1.0, rng.gauss(skill, 0.15)))
                submitted = (quiz_broken_since is None or when + timedelta(minutes=35) < quiz_broken_since
                             or (n + lesson) % 5 == 0)  # no draw from rng: the rest of the semester stays the same
                if submitted:
                    out.append(_statement(actor, "answered", when + timedelta(minutes=35), f"{lesson_obj}/quiz",
                                          course, ctx, {"score": {"scaled": round(score, 3)}, "success": score >= 0.6,
                                                        "duration": "PT15M"}))
                out.append(_statement(actor, "completed", when + timedelta(minutes=40), lesson_obj, course, ctx,
                                      {"completion": True}))
                stay = keep_going * (0.6 if lesson == DROP_LESSON else 1.0)
                if rng.random() > stay:
                    finished = False
                    if rng.random() < 0.3:
                        out.append(_statement(actor, "unregistered", when + timedelta(days=2), "", course, ctx))
                    break
            if finished:
                final = max(0.0, min(1.0, rng.gauss(skill, 0.1)))
                verb = "passed" if final >= 0.6 else "failed"
                out.append(_statement(actor, verb, when + timedelta(days=3), "", course, ctx,
                                      {"score": {"scaled": round(final, 3)}, "success": verb == "passed"}))
    return out


def _poor_classes(demo: DemoContext) -> dict[str, list[datetime]]:
    """End times of each student's poor-quality classes, from the call-quality demo if it ran."""
    from eduops.analytics.quality import rtc_path, student_sessions

    if not rtc_path(demo.ws.settings).exists():
        return {}
    out: dict[str, list[datetime]] = {}
    for row in student_sessions(demo.ws.settings).to_pylist():
        if row["band"] == "poor" and row["ended"] is not None:
            out.setdefault(row["user_id"], []).append(row["ended"])
    return out


def populate(demo: DemoContext) -> None:
    rng = random.Random(demo.rng.randint(0, 2**31))
    end = demo.now.replace(tzinfo=None)
    demo.progress("generating a semester of learner events", 0.05)
    statements = semester(rng, end, poor_classes=_poor_classes(demo),
                          quiz_broken_since=end - timedelta(days=QUIZ_BROKEN_DAYS_AGO))
    store = require_duckdb(open_store(demo.ws.settings))
    stored = iso(demo.now)
    authority = {"objectType": "Agent", "account": {"homePage": demo.ws.settings.base_url, "name": "demo-lms"}}
    chunk = 50_000
    for i in range(0, len(statements), chunk):
        rows = []
        for s in statements[i:i + chunk]:
            rows.append(extract.to_row({**s, "stored": stored, "authority": authority, "version": "1.0.0"}))
        store.bulk_load(rows)
        demo.progress(f"{i + len(rows):,} statements", 0.1 + 0.85 * (i + len(rows)) / len(statements))
    close_store(demo.ws.settings)  # the console opens it again in its own process
    steps = ",".join(f"launched@*/lesson-{n}" for n in range(DROP_LESSON - 1, DROP_LESSON + 3))
    demo.notes["analytics"] = (f"{len(statements):,} xAPI statements from {LEARNERS:,} learners; low completion of "
                               f"{LOW_COMPLETION_COURSE} at /analytics, the drop after lesson {DROP_LESSON} at "
                               f"/analytics/funnel?steps={steps}&window_days=60 and in /analytics/retention")
    demo.progress("done", 1.0)
