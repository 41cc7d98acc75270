"""Learning metrics: run the SQL of ``sql.py`` on a store and shape the rows into answers.

The shaping rules (rolling sums, retention tables, funnel conversion, watched video segments) are
pure functions so they can be tested with tables of inputs and expected outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eduops.analytics import sql, vocab
from eduops.analytics.sql import Filters, Step
from eduops.analytics.store import Store
from eduops.core.i18n import msg
from eduops.errors import UsageError

UNITS = ("day", "week", "month")
MODES = ("on", "on_or_after")


def as_date(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value  # type: ignore[no-any-return]


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def running_totals(deltas: dict[date, int], first: date, last: date) -> dict[date, int]:
    """The running sum of day deltas, read on every day from ``first`` to ``last``."""
    total, out = 0, {}
    for day in sorted(deltas):
        if day < first:
            total += deltas[day]
    day = first
    while day <= last:
        total += deltas.get(day, 0)
        out[day] = total
        day += timedelta(days=1)
    return out


def excluded(store: Store, f: Filters) -> dict[str, Any]:
    """How many statements the metric left out because their timestamp is outside the counted range."""
    first, end = sql.counted_range(f.now)
    n = store.query(sql.out_of_range(store.dialect, f))[0][0]
    return {"out_of_range": int(n), "counted_from": first.isoformat(), "counted_until": end.isoformat()}


def active_users(store: Store, first: date, last: date, f: Filters = Filters(), tz: str = "UTC",
                 spread: bool = True) -> dict[str, Any]:
    """DAU, rolling WAU/MAU, new vs returning and stickiness per day, plus (``spread``) how many
    learners were active on 1, 2, … of the last 30 days."""
    if last < first:
        raise UsageError(msg("the last day comes before the first"))
    rows = store.query(sql.active_users(store.dialect, first, last, f, tz))
    deltas: dict[str, dict[date, int]] = {"dau": {}, "new": {}, "wau": {}, "mau": {}}
    for kind, day, delta in rows:
        deltas[kind][as_date(day)] = int(delta)
    wau, mau = running_totals(deltas["wau"], first, last), running_totals(deltas["mau"], first, last)
    days: list[dict[str, Any]] = []
    day = first
    while day <= last:
        dau, new = deltas["dau"].get(day, 0), deltas["new"].get(day, 0)
        days.append({"day": day.isoformat(), "dau": dau, "wau": wau[day], "mau": mau[day], "new": new,
                     "returning": dau - new, "stickiness": round(dau / mau[day], 4) if mau[day] else None})
        day += timedelta(days=1)
    sticky = [d["stickiness"] for d in days if d["stickiness"] is not None]
    days_active = store.query(sql.active_days(store.dialect, last, 30, f, tz)) if spread else []
    return {"first": first.isoformat(), "last": last.isoformat(), "days": days,
            "stickiness": round(sum(sticky) / len(sticky), 4) if sticky else None,
            "active_days_30": [{"days": int(n), "learners": int(c)} for n, c in days_active],
            "excluded": excluded(store, f)}


COUNTS = ("enrolled", "completed", "passed", "failed", "withdrawn", "in_progress")
RATES = ("completion_pct", "pass_pct", "pass_of_graded_pct")
# Each count's and rate's definition, in one place: the API answer, the CLI and the console tooltips.
DEFINITIONS = {
    "enrolled": "Learners with any counted statement in the course up to the end of the range (the course is "
                "the context parent/grouping course, or the course activity itself). A retake counts once.",
    "completed": "Learners with any course-level completion up to the end of the range: completed or passed on "
                 "the course, or result.completion true. Counts even when the learner also failed.",
    "passed": "Learners whose last verdict on the course is a pass (passed, or result.success true). A retake "
              "that passes turns an earlier fail into a pass.",
    "failed": "Learners whose last verdict on the course is a fail (failed, or result.success false). A later "
              "failed attempt turns an earlier pass into a fail.",
    "withdrawn": "Learners whose last registered/unregistered on the course is unregistered and who neither "
                 "completed nor passed.",
    "in_progress": "Enrolled learners with no completion, no verdict and no withdrawal.",
    "completion_pct": "completed ÷ enrolled × 100, cumulative up to the end of the range.",
    "pass_pct": "passed ÷ enrolled × 100, cumulative up to the end of the range.",
    "pass_of_graded_pct": "passed ÷ (passed + failed) × 100: learners without a verdict are left out.",
    "retakes": "Counted with registrations or by part: how many of these the learner already had an earlier "
               "registration (or part) of in the same course.",
}


def tally(groups: Sequence[tuple[bool, str, bool, int]]) -> dict[str, int]:
    """Counts from (completed, verdict, unregistered, learners) groups; the definitions of docs/analytics.md.

    A learner counts once in each count that holds: completed (any completion) and failed together is
    possible. passed/failed follow the learner's last verdict, so a retake that passes is a pass.
    withdrawn = unregistered last and neither completed nor passed. in_progress = enrolled with none
    of completed, a verdict or withdrawn.
    """
    out = dict.fromkeys(COUNTS, 0)
    for completed, verdict, unregistered, n in groups:
        if verdict not in ("passed", "failed", ""):
            raise ValueError(f"unknown verdict {verdict!r}")
        out["enrolled"] += n
        out["completed"] += n if completed else 0
        out["passed"] += n if verdict == "passed" else 0
        out["failed"] += n if verdict == "failed" else 0
        withdrawn = unregistered and not completed and verdict != "passed"
        out["withdrawn"] += n if withdrawn else 0
        out["in_progress"] += n if not (completed or verdict or unregistered) else 0
    return out


def rates(counts: dict[str, int]) -> dict[str, float | None]:
    """completion % = completed / enrolled; pass % = passed / enrolled; pass of graded % = passed /
    (passed + failed). None when the denominator is 0."""
    return {"completion_pct": _pct(counts["completed"], counts["enrolled"]),
            "pass_pct": _pct(counts["passed"], counts["enrolled"]),
            "pass_of_graded_pct": _pct(counts["passed"], counts["passed"] + counts["failed"])}


def completion(store: Store, f: Filters = Filters(), until: datetime | None = None, by: str = "course",
               unit: str = "learners") -> dict[str, Any]:
    """Per course (or per part of a course, ``by="part"``): enrolled, completed, passed, failed,
    withdrawn, in progress and the rates (``tally``), counting distinct learners or registrations
    (``unit``); ``retakes`` = how many of them the learner had an earlier one of in the course."""
    if by not in sql.BY:
        raise UsageError(msg("{name} must be one of {choices}", name="by", choices=", ".join(sql.BY)))
    if unit not in sql.UNITS:
        raise UsageError(msg("{name} must be one of {choices}", name="count", choices=", ".join(sql.UNITS)))
    per: dict[tuple[str, str | None], list[tuple[bool, str, bool, int]]] = {}
    retakes: dict[tuple[str, str | None], int] = {}
    query = sql.completion(store.dialect, f, until, by, unit)
    for course, part, completed, verdict, unregistered, retake, n in store.query(query):
        key = (course, part)
        per.setdefault(key, []).append((bool(completed), str(verdict), bool(unregistered), int(n)))
        retakes[key] = retakes.get(key, 0) + (int(n) if retake else 0)
    rows: list[dict[str, Any]] = []
    totals = dict.fromkeys(COUNTS, 0)
    for key in sorted(per, key=lambda k: (k[0], k[1] or "")):
        counts = tally(per[key])
        part = {"part": key[1]} if by == "part" else {}
        rows.append({"course": key[0], **part, **counts, **rates(counts), "retakes": retakes[key]})
        for name in COUNTS:
            totals[name] += counts[name]
    return {"by": by, "count": unit, "courses": rows, "outcomes": totals, **totals, **rates(totals),
            "definitions": DEFINITIONS, "excluded": excluded(store, f)}


def periods_between(unit: str, start: date, end: date) -> int:
    """Whole periods from the period of ``start`` to the period of ``end``."""
    if unit == "day":
        return (end - start).days
    if unit == "week":
        return ((end - timedelta(days=end.weekday())) - (start - timedelta(days=start.weekday()))).days // 7
    return (end.year - start.year) * 12 + end.month - start.month


def retention_table(sizes: dict[date, int], on: dict[tuple[date, int], int], last: dict[tuple[date, int], int],
                    mode: str, periods: int, observable: dict[date, int]) -> dict[str, Any]:
    """Cohort rows of counts and % of period 0, and the average weighted by cohort size.

    ``on`` counts learners returning in period n; ``last`` counts learners whose last return is in
    period n, so "on or after n" is the sum of ``last`` from n on. A period a cohort has not reached
    yet (beyond ``observable[cohort]``) is None and left out of the average.
    """
    if mode not in MODES:
        raise UsageError(msg("{name} must be one of {choices}", name="mode", choices=", ".join(MODES)))
    rows = []
    sums, bases = [0] * (periods + 1), [0] * (periods + 1)
    for cohort in sorted(sizes):
        size = sizes[cohort]
        counts: list[int | None] = []
        for n in range(periods + 1):
            if n > observable.get(cohort, periods):
                counts.append(None)
                continue
            if n == 0:
                value = size
            elif mode == "on":
                value = on.get((cohort, n), 0)
            else:
                value = sum(v for (c, p), v in last.items() if c == cohort and p >= n)
            counts.append(value)
            sums[n] += value
            bases[n] += size
        rows.append({"cohort": cohort.isoformat(), "size": size, "counts": counts,
                     "pct": [None if c is None else _pct(c, size) for c in counts]})
    average = [_pct(sums[n], bases[n]) for n in range(periods + 1)]
    return {"mode": mode, "periods": periods, "cohorts": rows, "average": {"pct": average, "base": bases}}


def retention(store: Store, unit: str = "week", periods: int = 12, mode: str = "on",
              start_verbs: Sequence[str] = (), return_verbs: Sequence[str] = (),
              first: datetime | None = None, end: datetime | None = None, f: Filters = Filters(),
              tz: str = "UTC") -> dict[str, Any]:
    """Retention cohorts; ``first`` and ``end`` are UTC, cohorts and periods are days/weeks/months in ``tz``."""
    if unit not in UNITS:
        raise UsageError(msg("{name} must be one of {choices}", name="unit", choices=", ".join(UNITS)))
    first, end = _bounds(store, first, end, tz, f)
    rows = store.query(sql.retention(store.dialect, unit, start_verbs, return_verbs, first, end, f, tz))
    sizes: dict[date, int] = {}
    on: dict[tuple[date, int], int] = {}
    last: dict[tuple[date, int], int] = {}
    for kind, cohort, period, learners in rows:
        key = as_date(cohort)
        if kind == "size":
            sizes[key] = int(learners)
        else:
            (on if kind == "on" else last)[(key, int(period))] = int(learners)
    final_day = local_date(end - timedelta(microseconds=1), tz)
    observable = {c: periods_between(unit, c, final_day) for c in sizes}
    table = retention_table(sizes, on, last, mode, periods, observable)
    return {"unit": unit, "first": first.isoformat(), "end": end.isoformat(), **table,
            "excluded": excluded(store, f)}


def funnel_summary(steps: Sequence[str], rows: Sequence[tuple[int, int, float | None]]) -> dict[str, Any]:
    """Conversion from step 1 and from the previous step, median time from the previous step,
    and the step where most learners drop out (the first of equals)."""
    by_step = {int(step): (int(n), median) for step, n, median in rows}
    out: list[dict[str, Any]] = []
    first_n: int | None = None
    prev_n: int | None = None
    for k, label in enumerate(steps, start=1):
        n, median = by_step.get(k, (0, None))
        first_n = n if first_n is None else first_n
        median_ok = median is not None and median == median  # ClickHouse gives NaN for no rows
        out.append({"step": k, "label": label, "learners": n, "conversion_pct": _pct(n, first_n),
                    "from_previous_pct": None if prev_n is None else _pct(n, prev_n),
                    "dropped": 0 if prev_n is None else prev_n - n,
                    "median_s_from_previous": float(median) if k > 1 and median_ok and n and median is not None
                    else None})
        prev_n = n
    drops = [s for s in out[1:] if s["dropped"] > 0]
    worst = max(drops, key=lambda s: (s["dropped"], -s["step"]), default=None)
    return {"steps": out, "biggest_drop_step": worst["step"] if worst else None,
            "biggest_drop_label": worst["label"] if worst else None}


def parse_step(text: str) -> Step:
    """``verb`` or ``verb@object-id``; a verb is a short name (completed) or an IRI."""
    verb, _, object_id = text.partition("@")
    return Step(vocab.verb_iri(verb.strip()), object_id.strip() or None)


def funnel(store: Store, steps: Sequence[str], first: datetime | None = None, end: datetime | None = None,
           window_days: int = 14, f: Filters = Filters(), tz: str = "UTC") -> dict[str, Any]:
    if len(steps) < 2:
        raise UsageError(msg("a funnel needs at least two steps"))
    if not 1 <= window_days <= 3650:
        raise UsageError(msg("the conversion window must be between {lo} and {hi} days", lo=1, hi=3650))
    first, end = _bounds(store, first, end, tz, f)
    parsed = [parse_step(s) for s in steps]
    rows = store.query(sql.funnel(store.dialect, parsed, first, end, window_days, f))
    return {"first": first.isoformat(), "end": end.isoformat(), "window_days": window_days,
            **funnel_summary(list(steps), rows), "excluded": excluded(store, f)}


def breakdown(store: Store, dimension: str, first: datetime | None = None, end: datetime | None = None,
              f: Filters = Filters(), tz: str = "UTC") -> dict[str, Any]:
    if dimension not in sql.DIMENSIONS:
        raise UsageError(msg("{name} must be one of {choices}", name="dimension", choices=", ".join(sql.DIMENSIONS)))
    first, end = _bounds(store, first, end, tz, f)
    rows = store.query(sql.breakdown(store.dialect, dimension, first, end, f, tz))
    return {"dimension": dimension, "rows": [
        {"key": k.isoformat() if isinstance(k, date) else k, "learners": int(n), "statements": int(s),
         "completions": int(c), "avg_score": None if a is None or a != a else round(float(a), 4)}
        for k, n, s, c, a in rows], "excluded": excluded(store, f)}


def parse_segments(text: str) -> list[tuple[float, float]]:
    """xAPI video played-segments ("0[.]12.5[,]30[.]45") as (start, end) pairs; bad parts are skipped."""
    out = []
    for part in (text or "").split("[,]"):
        start, sep, end = part.partition("[.]")
        try:
            a, b = float(start), float(end)
        except ValueError:
            continue
        if sep and b > a >= 0:
            out.append((a, b))
    return out


def watched_seconds(segments: Sequence[tuple[float, float]]) -> float:
    """Seconds of a video covered at least once by the segments."""
    total, reach = 0.0, -1.0
    for a, b in sorted(segments):
        if b <= reach:
            continue
        total += b - max(a, reach)
        reach = b
    return total


def decile_coverage(segments: Sequence[tuple[float, float]], length_s: float) -> list[bool]:
    """For each tenth of the video: did the viewer watch at least half of it?"""
    out = []
    for i in range(10):
        lo, hi = length_s * i / 10, length_s * (i + 1) / 10
        clipped = [(max(a, lo), min(b, hi)) for a, b in segments if b > lo and a < hi]
        out.append(watched_seconds(clipped) >= (hi - lo) / 2)
    return out


def video_engagement(store: Store, first: datetime | None = None, end: datetime | None = None,
                     f: Filters = Filters(), tz: str = "UTC") -> dict[str, Any]:
    """Per video: viewers, mean share watched, and the share of viewers who watched each tenth."""
    first, end = _bounds(store, first, end, tz, f)
    videos: dict[str, dict[str, Any]] = {}
    rows = store.query(sql.video_viewers(store.dialect, first, end, f))
    for object_id, _actor, length_s, segments, _progress in rows:
        if not length_s:
            continue
        parts = parse_segments(segments)
        v = videos.setdefault(object_id, {"video": object_id, "length_s": float(length_s), "viewers": 0,
                                          "watched": 0.0, "deciles": [0] * 10})
        v["viewers"] += 1
        v["watched"] += min(watched_seconds(parts) / float(length_s), 1.0)
        for i, seen in enumerate(decile_coverage(parts, float(length_s))):
            v["deciles"][i] += int(seen)
    out = []
    for v in videos.values():
        out.append({"video": v["video"], "length_s": v["length_s"], "viewers": v["viewers"],
                    "mean_watched_pct": _pct(v["watched"], v["viewers"]),
                    "deciles_pct": [_pct(n, v["viewers"]) for n in v["deciles"]]})
    return {"videos": sorted(out, key=lambda v: -v["viewers"]), "excluded": excluded(store, f)}


def at_risk(store: Store, asof: datetime, f: Filters = Filters(), idle_days: int = 7,
            failing_below: float = 0.6) -> dict[str, Any]:
    rows = store.query(sql.at_risk(store.dialect, f, asof, idle_days, failing_below))
    learners = [{"course": c, "learner": a, "last_active": as_iso(t), "avg_score": None if s is None or s != s
                 else round(float(s), 4), "idle": bool(i), "failing": bool(fl)} for c, a, t, s, i, fl in rows]
    per: dict[str, int] = {}
    for row in learners:
        per[row["course"]] = per.get(row["course"], 0) + 1
    return {"asof": asof.isoformat(), "idle_days": idle_days, "failing_below": failing_below,
            "per_course": per, "learners": learners, "excluded": excluded(store, f)}


def as_iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, date | datetime) else None


@dataclass
class Extent:
    first: datetime | None
    last: datetime | None
    statements: int


def extent(store: Store, f: Filters = Filters()) -> Extent:
    """First and last counted timestamp (see ``sql.counted_range``) and how many statements are counted."""
    first, last, n = store.query(sql.extent(store.dialect, f))[0]
    return Extent(first, last, int(n))


def local_date(moment: datetime, tz: str) -> date:
    """The day in ``tz`` of a UTC time (naive or aware)."""
    from zoneinfo import ZoneInfo

    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(tz)).date()


def day_start_utc(day: date, tz: str) -> datetime:
    """Midnight of ``day`` in ``tz``, as naive UTC."""
    return sql.utc_of(datetime(day.year, day.month, day.day), tz)


def _bounds(store: Store, first: datetime | None, end: datetime | None, tz: str = "UTC",
            f: Filters = Filters()) -> tuple[datetime, datetime]:
    """UTC bounds; by default everything counted, from its first local day to the day after its last."""
    if first is None or end is None:
        ext = extent(store, f)
        if first is None:
            first = day_start_utc(local_date(ext.first, tz), tz) if ext.first else datetime(2000, 1, 1)
        if end is None:
            end = day_start_utc(local_date(ext.last, tz) + timedelta(days=1), tz) if ext.last \
                else first + timedelta(days=1)
    first, end = (m.astimezone(UTC).replace(tzinfo=None) if m.tzinfo else m for m in (first, end))
    if end <= first:
        raise UsageError(msg("the end of the range must come after its start"))
    return first, end


def courses(store: Store) -> dict[str, Any]:
    """Every course with its learners and statements, and how many statements were left out (timestamp)."""
    f = Filters()
    return {"courses": [{"course": c, "learners": int(n), "statements": int(s), "teacher": t, "region": r}
                        for c, n, s, t, r in store.query(sql.courses(store.dialect, f))],
            "excluded": excluded(store, f)}
