"""Learning signals from the xAPI event store: quiz attempts that are never submitted, per course.

A course's *unsubmitted share* is the share of its ``attempted`` statements in a window without a
matching ``answered`` one (attempts − answers, floored at 0). It jumping against the same course's share
over the baseline days is what "a course step's completion falling" means here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from eduops.config import Settings
from eduops.core.i18n import msg
from eduops.incidents.jumps import EvidenceSettings, jumped
from eduops.incidents.signals import Signal

ADL = "http://adlnet.gov/expapi/verbs/"
ATTEMPTED, ANSWERED, FAILED = ADL + "attempted", ADL + "answered", ADL + "failed"


def unsubmitted_pct(attempts: int, answers: int) -> float | None:
    return None if attempts <= 0 else round(100.0 * max(0, attempts - answers) / attempts, 1)


def course_id(course: str) -> str:
    """The course's own id: the last part of its IRI (``https://lms/course/math-101`` → ``math-101``)."""
    return course.rstrip("/").rsplit("/", 1)[-1]


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None)


def _store(settings: Settings) -> Any:
    from eduops.analytics.store import open_store, store_path

    if not store_path(settings).exists():
        return None
    return open_store(settings)


def _counts(store: Any, start: datetime, end: datetime, hourly: bool = False) -> list[tuple[Any, ...]]:
    d = store.dialect
    hour = ", date_trunc('hour', timestamp) AS h" if hourly else ""
    return list(store.query(
        f"SELECT course{hour}, sum(CASE WHEN verb_id = {d.quote(ATTEMPTED)} THEN 1 ELSE 0 END) AS attempts, "
        f"sum(CASE WHEN verb_id = {d.quote(ANSWERED)} THEN 1 ELSE 0 END) AS answers FROM statements "
        f"WHERE NOT voided AND voids IS NULL AND course IS NOT NULL AND timestamp >= {d.timestamp(_naive(start))} "
        f"AND timestamp < {d.timestamp(_naive(end))} AND verb_id IN ({d.quote(ATTEMPTED)}, {d.quote(ANSWERED)}) "
        f"GROUP BY course{', h' if hourly else ''}"))


def step_drops(settings: Settings, start: datetime, end: datetime, cfg: EvidenceSettings) -> list[Signal]:
    """One signal per course whose unsubmitted share in the window jumped against its baseline."""
    store = _store(settings)
    if store is None:
        return []
    recent = {str(c): (int(a), int(b)) for c, a, b in _counts(store, start, end)}
    base = {str(c): (int(a), int(b)) for c, a, b in
            _counts(store, start - timedelta(days=cfg.baseline_days), start)}
    out = []
    hourly: dict[str, list[tuple[datetime, float]]] | None = None
    for course, (attempts, answers) in sorted(recent.items()):
        now_pct = unsubmitted_pct(attempts, answers)
        base_pct = unsubmitted_pct(*base.get(course, (0, 0)))
        if not jumped(now_pct, base_pct, attempts, cfg, min_volume=cfg.jump_min_learners):
            continue
        if hourly is None:
            hourly = {}
            for c, h, a, b in _counts(store, start, end, hourly=True):
                pct = unsubmitted_pct(int(a), int(b))
                if pct is not None:
                    hourly.setdefault(str(c), []).append((h.replace(tzinfo=UTC), pct))
        series = tuple(sorted(hourly.get(course, [])))
        first_bad = next((t for t, v in series if jumped(v, base_pct, cfg.jump_min_learners, cfg,
                                                         min_volume=cfg.jump_min_learners)), start)
        out.append(Signal(
            "analytics", f"analytics:quiz-submission:{course}", first_bad,
            msg("quiz attempts not submitted in {course}: {share}% (baseline {baseline}%)", course=course,
                share=now_pct, baseline=base_pct if base_pct is not None else 0),
            "warning", dims={"course": course_id(course)}, link="/analytics/course?" + urlencode({"course": course}),
            value=now_pct, unit="%", series=series,
            detail={"count": max(0, attempts - answers), "attempts": attempts, "answers": answers,
                    "baseline_pct": base_pct},
            opens=False,
        ))
    return out


def failed_learners(settings: Settings, start: datetime, end: datetime, course: str | None = None) -> dict[str, int]:
    """Learners with a failed step in the window: an xAPI ``failed`` statement, or a quiz attempted and
    never answered."""
    store = _store(settings)
    if store is None:
        return {"failed": 0, "unsubmitted": 0, "learners": 0}
    d = store.dialect
    where = (f"NOT voided AND voids IS NULL AND timestamp >= {d.timestamp(_naive(start))} "
             f"AND timestamp < {d.timestamp(_naive(end))}" + (f" AND course = {d.quote(course)}" if course else ""))
    rows = store.query(
        f"WITH a AS (SELECT actor_id, object_id, "
        f"max(CASE WHEN verb_id = {d.quote(FAILED)} THEN 1 ELSE 0 END) AS failed, "
        f"max(CASE WHEN verb_id = {d.quote(ATTEMPTED)} THEN 1 ELSE 0 END) AS attempted, "
        f"max(CASE WHEN verb_id = {d.quote(ANSWERED)} THEN 1 ELSE 0 END) AS answered "
        f"FROM statements WHERE {where} GROUP BY actor_id, object_id) "
        "SELECT count(DISTINCT CASE WHEN failed = 1 THEN actor_id END), "
        "count(DISTINCT CASE WHEN attempted = 1 AND answered = 0 THEN actor_id END), "
        "count(DISTINCT CASE WHEN failed = 1 OR (attempted = 1 AND answered = 0) THEN actor_id END) FROM a")
    failed, unsubmitted, learners = rows[0] if rows else (0, 0, 0)
    return {"failed": int(failed or 0), "unsubmitted": int(unsubmitted or 0), "learners": int(learners or 0)}
