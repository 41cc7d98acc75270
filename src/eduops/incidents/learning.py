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
    """The event store (ClickHouse, or the DuckDB file when it exists: reading must not create it)."""
    from eduops.analytics.store import events_settings, open_store, store_path

    if events_settings(settings).backend == "duckdb" and not store_path(settings).exists():
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


def _hourly(store: Any, start: datetime, end: datetime) -> dict[str | None, list[tuple[datetime, int, int]]]:
    """Course (None: all courses) → (hour, attempts, answers), UTC hours."""
    out: dict[str | None, list[tuple[datetime, int, int]]] = {}
    totals: dict[datetime, list[int]] = {}
    for c, h, a, b in _counts(store, start, end, hourly=True):
        hour = h.replace(tzinfo=UTC)
        out.setdefault(str(c), []).append((hour, int(a), int(b)))
        total = totals.setdefault(hour, [0, 0])
        total[0], total[1] = total[0] + int(a), total[1] + int(b)
    out[None] = [(h, a, b) for h, (a, b) in totals.items()]
    return out


def _drop_signal(course: str | None, attempts: int, answers: int, base_pct: float | None, courses: list[str],
                 hours: list[tuple[datetime, int, int]], start: datetime, cfg: EvidenceSettings) -> Signal:
    now_pct = unsubmitted_pct(attempts, answers)
    series = tuple(sorted((h, pct) for h, a, b in hours if (pct := unsubmitted_pct(a, b)) is not None))
    first_bad = next((h for h, a, b in sorted(hours)
                      if jumped(unsubmitted_pct(a, b), base_pct, a, cfg, min_volume=1)), start)
    baseline = base_pct if base_pct is not None else 0
    if course is None:
        title = msg("quiz attempts not submitted in {count} courses: {share}% (baseline {baseline}%)",
                    count=len(courses), share=now_pct, baseline=baseline)
    else:
        title = msg("quiz attempts not submitted in {course}: {share}% (baseline {baseline}%)",
                    course=course_id(course), share=now_pct, baseline=baseline)
    return Signal(
        "analytics", f"analytics:quiz-submission:{course_id(course) if course else 'all'}", first_bad, title,
        "warning", dims={"course": course_id(course)} if course else {},
        link="/analytics/course?" + urlencode({"course": course}) if course else "/analytics",
        value=now_pct, unit="%", series=series,
        detail={"count": max(0, attempts - answers), "attempts": attempts, "answers": answers,
                "baseline_pct": base_pct, "courses": [course_id(c) for c in courses]},
    )


def platform_wide(courses_dropped: int, total_pct: float | None, total_base_pct: float | None, attempts: int,
                  cfg: EvidenceSettings) -> bool:
    """One platform-wide signal instead of one per course: two or more courses dropped and so did the total."""
    return courses_dropped >= 2 and jumped(total_pct, total_base_pct, attempts, cfg, min_volume=cfg.jump_min_learners)


def step_drops(settings: Settings, start: datetime, end: datetime, cfg: EvidenceSettings) -> list[Signal]:
    """Courses whose unsubmitted share in the window jumped against their baseline: one signal per course,
    or one for the whole platform when several courses and their total jumped together (one cause)."""
    store = _store(settings)
    if store is None:
        return []
    recent = {str(c): (int(a), int(b)) for c, a, b in _counts(store, start, end)}
    base = {str(c): (int(a), int(b)) for c, a, b in
            _counts(store, start - timedelta(days=cfg.baseline_days), start)}

    def base_pct(course: str | None) -> float | None:
        if course is None:
            return unsubmitted_pct(sum(a for a, _ in base.values()), sum(b for _, b in base.values()))
        return unsubmitted_pct(*base.get(course, (0, 0)))

    dropped = [c for c, (a, b) in sorted(recent.items())
               if jumped(unsubmitted_pct(a, b), base_pct(c), a, cfg, min_volume=cfg.jump_min_learners)]
    if not dropped:
        return []
    hourly = _hourly(store, start, end)
    attempts, answers = sum(a for a, _ in recent.values()), sum(b for _, b in recent.values())
    if platform_wide(len(dropped), unsubmitted_pct(attempts, answers), base_pct(None), attempts, cfg):
        return [_drop_signal(None, attempts, answers, base_pct(None), dropped, hourly[None], start, cfg)]
    return [_drop_signal(c, *recent[c], base_pct(c), [c], hourly.get(c, []), start, cfg) for c in dropped]


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
