"""Small generated data sets whose metric answers are known by construction (see each docstring)."""

from __future__ import annotations

from typing import Any

from .helpers import day, statement

Statements = list[dict[str, Any]]


def activity() -> Statements:
    """A active on days 0, 1, 8; B on days 1, 2; C on day 8 (all at 09:00 UTC)."""
    return [statement("A", "experienced", day(n), obj="course/a/page") for n in (0, 1, 8)] + \
        [statement("B", "experienced", day(n), obj="course/a/page") for n in (1, 2)] + \
        [statement("C", "experienced", day(8), obj="course/a/page")]


def weekly_cohorts() -> Statements:
    """Week 0 (Mon day 0): L0-L9 start; L0-L4 back in week 1, L0-L2 in week 2, L0 and L9 in week 3.
    Week 1 (day 7): M0-M3 start; M0, M1 back in week 1 after it, M3 in week 2 after it."""
    out = [statement(f"L{i}", "launched", day(0)) for i in range(10)]
    out += [statement(f"L{i}", "experienced", day(8), obj="course/a/p") for i in range(5)]
    out += [statement(f"L{i}", "experienced", day(15), obj="course/a/p") for i in range(3)]
    out += [statement(f"L{i}", "experienced", day(22), obj="course/a/p") for i in (0, 9)]
    out += [statement(f"M{i}", "launched", day(7)) for i in range(4)]
    out += [statement(f"M{i}", "experienced", day(15), obj="course/a/p") for i in (0, 1)]
    out += [statement("M3", "experienced", day(22), obj="course/a/p")]
    return out


def funnel_steps() -> Statements:
    """registered → launched → completed → passed, 14-day window.
    10 register (day 0 09:00); 0-7 launch an hour later; 8 launches on day 15 (too late).
    0-3 complete on day 2 09:00 (47 h after launching), 4 on day 1 09:00 (23 h); 5 completes before
    launching (does not count). 0-2 pass on day 3 09:00 (24 h); 4 passes on day 20 (too late)."""
    out = [statement(f"F{i}", "registered", day(0)) for i in range(10)]
    out += [statement(f"F{i}", "launched", day(0, 1)) for i in range(8)]
    out += [statement("F8", "launched", day(15))]
    out += [statement(f"F{i}", "completed", day(2)) for i in range(4)]
    out += [statement("F4", "completed", day(1)), statement("F5", "completed", day(0, 0.5))]
    out += [statement(f"F{i}", "passed", day(3)) for i in range(3)]
    out += [statement("F4", "passed", day(20))]
    return out


def outcomes() -> Statements:
    """course/a: 10 learners: P0-P2 passed (P2 failed first), C0-C1 completed, X0 failed, W0 withdrew,
    I0-I2 in progress (I0 completed a lesson, not the course). course/b: 4 learners, one passed.
    Scores: I1 averages 0.4 (failing); I0 last active day 0, I1 and I2 on day 9; as of day 10."""
    out = [statement(f"P{i}", "passed", day(5), region="east", device="ios") for i in range(3)]
    out += [statement("P2", "failed", day(4), region="east")]
    out += [statement(f"C{i}", "completed", day(5), region="west", device="android") for i in range(2)]
    out += [statement("X0", "failed", day(5), region="west"), statement("W0", "unregistered", day(3))]
    out += [statement("I0", "completed", day(0), obj="course/a/lesson-1"),
            statement("I1", "answered", day(9), obj="course/a/quiz", result={"score": {"scaled": 0.3}}),
            statement("I1", "answered", day(9, 1), obj="course/a/quiz", result={"score": {"scaled": 0.5}}),
            statement("I2", "answered", day(9), obj="course/a/quiz", result={"score": {"scaled": 0.9}})]
    out += [statement(f"B{i}", "launched", day(1), course="course/b") for i in range(4)]
    out += [statement("B0", "passed", day(6), course="course/b")]
    return out


def video() -> Statements:
    """One 100-second video: V0 watched 0-50, V1 watched 0-30 and 20-100 (all of it)."""
    ext = {"https://w3id.org/xapi/video/extensions/length": 100}

    def watched(actor: str, segments: str) -> dict[str, Any]:
        s = statement(actor, "paused", day(1), obj="course/a/video-1",
                      result={"extensions": {"https://w3id.org/xapi/video/extensions/played-segments": segments}})
        s["context"]["extensions"] = ext
        return s

    return [watched("V0", "0[.]50"), watched("V1", "0[.]30[,]20[.]100")]


OU = "https://ou.example/modules/"


def oulad_like() -> Statements:
    """OULAD-shaped: module AAA in presentations 2013J and 2014J (statements on the presentation,
    grouped under the module, one registration per learner and presentation, as OULAD's
    studentRegistration / studentInfo rows become xAPI). S1 fails 2013J and passes 2014J (a retake);
    S2 passes 2013J (Distinction); S3 withdraws from 2013J; S4 fails 2014J; S5 is in 2014J with no
    result yet (a lesson whose parent is the presentation)."""
    import uuid

    module = {"id": OU + "AAA", "definition": {"type": "http://adlnet.gov/expapi/activities/course"}}

    def presentation(code: str) -> dict[str, Any]:
        return {"id": f"{OU}AAA/{code}", "definition": {"type": "http://adlnet.gov/expapi/activities/course"}}

    def row(student: str, code: str, verb: str, n: int, lesson: bool = False) -> dict[str, Any]:
        s = statement(student, verb, day(n - (335 if code == "2014J" else 700)), course=None)
        s["object"] = ({"objectType": "Activity", "id": f"{OU}AAA/{code}/lesson-1"} if lesson
                       else {"objectType": "Activity", **presentation(code)})
        groups: dict[str, Any] = {"grouping": [module]}
        if lesson:
            groups["parent"] = [presentation(code)]
        s["context"] = {"contextActivities": groups,
                        "registration": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{student}/{code}"))}
        return s

    return [row("S1", "2013J", "registered", 0), row("S1", "2013J", "failed", 200),
            row("S1", "2014J", "registered", 0), row("S1", "2014J", "passed", 200),
            row("S2", "2013J", "registered", 0), row("S2", "2013J", "passed", 200),
            row("S3", "2013J", "registered", 0), row("S3", "2013J", "unregistered", 50),
            row("S4", "2014J", "registered", 0), row("S4", "2014J", "failed", 200),
            row("S5", "2014J", "registered", 0), row("S5", "2014J", "experienced", 10, lesson=True)]
