"""Every learning metric, defined once as SQL, for DuckDB and ClickHouse.

The queries are written in the SQL both engines share (``date_trunc``, ``date_diff``, window
functions, ``INTERVAL n DAY``). Where the engines differ, the ``Dialect`` below holds the two
spellings side by side (``dialect.py``): literals, median, arg-max, string aggregation, time zones
and column types. A metric
builder returns plain SQL text; ``eduops.analytics.metrics`` runs it and shapes the rows.

Every metric reads the ``statements`` table and counts only live learner activity: statements that
are neither voided nor voiding (``LIVE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from eduops.analytics import vocab
from eduops.analytics.dialect import CLICKHOUSE, COLUMNS, DIALECTS, DUCKDB, Dialect, ddl

__all__ = ["CLICKHOUSE", "COLUMNS", "DIALECTS", "DUCKDB", "Dialect", "ddl"]

LIVE = "NOT voided AND voids IS NULL"


def live(alias: str) -> str:
    return f"NOT {alias}.voided AND {alias}.voids IS NULL"

# The timestamps every metric counts: [EARLIEST, now + AHEAD). A statement may carry any timestamp
# the spec allows (year 0001, 9999, a device clock a day ahead); metrics leave those out and say how many.
EARLIEST = datetime(1970, 1, 1)
AHEAD = timedelta(days=1)
DIMENSION_KEYS = ("course", "region", "teacher", "device", "part")


def counted_range(now: datetime | None = None) -> tuple[datetime, datetime]:
    """[first, end) of the timestamps metrics count, as naive UTC; ``now`` defaults to the current time."""
    from datetime import UTC

    moment = now or datetime.now(UTC)
    if moment.tzinfo:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return EARLIEST, moment.replace(microsecond=0) + AHEAD


@dataclass(frozen=True)
class Filters:
    """Narrow any metric to a course, region, teacher or device; always to the counted time range."""

    course: str | None = None
    region: str | None = None
    teacher: str | None = None
    device: str | None = None
    part: str | None = None  # a presentation, term or class of a course (extract.course_and_part)
    now: datetime | None = None  # where the counted range ends (now + AHEAD); None = the current time

    def dimensions_sql(self, d: Dialect, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        return "".join(f" AND {prefix}{name} = {d.lit(getattr(self, name))}"
                       for name in DIMENSION_KEYS if getattr(self, name))

    def range_sql(self, d: Dialect, alias: str = "") -> str:
        prefix = f"{alias}." if alias else ""
        first, end = counted_range(self.now)
        return f" AND {prefix}timestamp >= {d.lit(first)} AND {prefix}timestamp < {d.lit(end)}"

    def sql(self, d: Dialect, alias: str = "") -> str:
        return self.dimensions_sql(d, alias) + self.range_sql(d, alias)


def out_of_range(d: Dialect, f: Filters) -> str:
    """Live statements the filters' dimensions select whose timestamp is outside the counted range."""
    first, end = counted_range(f.now)
    return (f"SELECT count(*) FROM statements WHERE {LIVE}{f.dimensions_sql(d)} "
            f"AND (timestamp < {d.lit(first)} OR timestamp >= {d.lit(end)})")


def _start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def utc_of(moment: datetime, tz: str) -> datetime:
    """A wall-clock time in ``tz`` as the naive UTC time the statements table holds."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    return moment.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def active_users(d: Dialect, first: date, last: date, f: Filters, tz: str = "UTC") -> str:
    """Daily active learners (dau), first-ever active day (new), and rolling 7/30-day coverage.

    For rolling windows each learner-day covers [day, day+W); only the part not already covered by
    that learner's previous active day is counted, as +1 at its start and -1 at its end, so the
    running sum of ``delta`` over days is the number of distinct learners active in the W days up to
    that day — one pass, no self-join.
    """
    lo, hi = d.lit(utc_of(_start(first - timedelta(days=29)), tz)), d.lit(utc_of(_start(last + timedelta(days=1)), tz))
    n = "CAST(count(*) AS BIGINT)"  # one signed type for every branch (ClickHouse counts are unsigned)
    windows = "\n  UNION ALL\n  ".join(
        f"SELECT '{name}' AS kind, greatest(day, coalesce(prev_day, day - {w}) + {w}) AS day, {n} AS delta "
        f"FROM spans GROUP BY 2\n  UNION ALL SELECT '{name}', day + {w}, -{n} FROM spans GROUP BY 2"
        for name, w in (("wau", 7), ("mau", 30))
    )
    return f"""
WITH daily AS (
  SELECT DISTINCT actor_id, CAST({d.local('timestamp', tz)} AS DATE) AS day FROM statements
  WHERE {LIVE}{f.sql(d)} AND timestamp >= {lo} AND timestamp < {hi}
),
earlier AS (
  SELECT DISTINCT actor_id FROM statements WHERE {LIVE}{f.sql(d)} AND timestamp < {lo}
),
firsts AS (
  SELECT actor_id, min(day) AS first_day FROM daily
  WHERE actor_id NOT IN (SELECT actor_id FROM earlier) GROUP BY actor_id
),
spans AS (
  SELECT actor_id, day,
         max(day) OVER (PARTITION BY actor_id ORDER BY day ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING) AS prev_day
  FROM daily
),
events AS (
  SELECT 'dau' AS kind, day, {n} AS delta FROM daily GROUP BY day
  UNION ALL
  SELECT 'new', first_day, {n} FROM firsts GROUP BY first_day
  UNION ALL
  {windows}
)
SELECT kind, day, sum(delta) AS delta FROM events GROUP BY kind, day ORDER BY kind, day"""


def active_days(d: Dialect, last: date, days: int, f: Filters, tz: str = "UTC") -> str:
    """How many learners were active on exactly n of the ``days`` days up to ``last``."""
    lo = d.lit(utc_of(_start(last - timedelta(days=days - 1)), tz))
    hi = d.lit(utc_of(_start(last + timedelta(days=1)), tz))
    return f"""
SELECT n_days, count(*) AS learners FROM (
  SELECT actor_id, count(DISTINCT CAST({d.local('timestamp', tz)} AS DATE)) AS n_days FROM statements
  WHERE {LIVE}{f.sql(d)} AND timestamp >= {lo} AND timestamp < {hi} GROUP BY actor_id
) per_learner GROUP BY n_days ORDER BY n_days"""


def _on_course(d: Dialect, verbs: Sequence[str], column: str | None = None, value: bool = True) -> str:
    """A course-level statement (its object is the course or the part of it) with one of ``verbs`` or
    ``column`` = ``value``."""
    cond = f"verb_id IN {d.in_list([vocab.VERBS[v] for v in verbs])}"
    if column:
        cond = f"({cond} OR coalesce({column} = {d.lit(value)}, false))"
    return f"(object_id = course OR object_id = part) AND {cond}"


UNITS = ("learners", "registrations")
BY = ("course", "part")


def _course_learners(d: Dialect, f: Filters, until: datetime | None, by: str = "course",
                     unit: str = "learners") -> str:
    """One row per (course, learner) — or per (course, part, learner) ``by`` part, or per registration
    (the statement's registration, else its part) when ``unit`` is registrations: enrolled = any
    counted activity in it. ``retake`` = the learner was enrolled earlier in the same course.

    completed = any course-level completion (completed or passed, or result.completion true);
    verdict = the later of the last pass (passed, result.success true) and the last fail (failed,
    result.success false); a pass and a fail at the same instant is a pass. withdrawn = the last
    unregistered comes after the last registered. ``metrics.tally`` turns these into counts.
    """
    bound = f" AND timestamp < {d.lit(until)}" if until else ""
    keys = ["course"] + (["part"] if by == "part" else []) + (["coalesce(registration, part, '')"]
                                                             if unit == "registrations" else [])
    return f"""course_learners AS (
  SELECT {", ".join(keys)}, {"part" if by == "part" else "NULL"} AS group_part, actor_id,
         max(CASE WHEN {_on_course(d, ("completed", "passed"), "completion")} THEN 1 ELSE 0 END) AS completed,
         max(CASE WHEN {_on_course(d, ("passed",), "success", True)} THEN timestamp END) AS passed_ts,
         max(CASE WHEN {_on_course(d, ("failed",), "success", False)} THEN timestamp END) AS failed_ts,
         max(CASE WHEN {_on_course(d, ("registered",))} THEN timestamp END) AS registered_ts,
         max(CASE WHEN {_on_course(d, ("unregistered",))} THEN timestamp END) AS unregistered_ts,
         min(timestamp) AS first_ts, max(timestamp) AS last_ts, avg(score_scaled) AS avg_score
  FROM statements WHERE {LIVE} AND course IS NOT NULL{f.sql(d)}{bound}
  GROUP BY {", ".join(keys)}, actor_id
),
learner_outcomes AS (
  SELECT course, group_part, actor_id, completed, first_ts, last_ts, avg_score,
         CASE WHEN first_ts > min(first_ts) OVER (PARTITION BY course, actor_id) THEN 1 ELSE 0 END AS retake,
         CASE WHEN passed_ts IS NOT NULL AND (failed_ts IS NULL OR passed_ts >= failed_ts) THEN 'passed'
              WHEN failed_ts IS NOT NULL THEN 'failed' ELSE '' END AS verdict,
         CASE WHEN unregistered_ts IS NOT NULL AND (registered_ts IS NULL OR unregistered_ts > registered_ts)
              THEN 1 ELSE 0 END AS unregistered
  FROM course_learners
)"""


def completion(d: Dialect, f: Filters, until: datetime | None = None, by: str = "course",
               unit: str = "learners") -> str:
    """Learners (or registrations) per course (or part) and combination of (completed, verdict,
    unregistered, retake)."""
    return f"""
WITH {_course_learners(d, f, until, by, unit)}
SELECT course, group_part, completed, verdict, unregistered, retake, count(*) AS learners FROM learner_outcomes
GROUP BY course, group_part, completed, verdict, unregistered, retake
ORDER BY course, group_part, completed, verdict, unregistered, retake"""


def at_risk(d: Dialect, f: Filters, asof: datetime, idle_days: int, failing_below: float) -> str:
    """Learners in progress (no completion, verdict or withdrawal) who are failing or have been idle
    ``idle_days`` days."""
    idle_since = d.lit(asof - timedelta(days=idle_days))
    return f"""
WITH {_course_learners(d, f, asof)}
SELECT course, actor_id, last_ts, avg_score,
       last_ts < {idle_since} AS idle, coalesce(avg_score < {d.lit(failing_below)}, false) AS failing
FROM learner_outcomes
WHERE completed = 0 AND verdict = '' AND unregistered = 0
  AND (last_ts < {idle_since} OR coalesce(avg_score < {d.lit(failing_below)}, false))
ORDER BY course, last_ts, actor_id"""


def _period(unit: str, start: str, end: str) -> str:
    if unit == "week":
        return f"CAST(date_diff('day', {start}, {end}) / 7 AS BIGINT)"
    return f"date_diff('{unit}', {start}, {end})"


def retention(d: Dialect, unit: str, start_verbs: Sequence[str], return_verbs: Sequence[str],
              first: datetime, end: datetime, f: Filters, tz: str = "UTC") -> str:
    """Cohorts by the period of each learner's first start event; returns by period after it.

    A return is any return event in a later period than the cohort's (so always after the start);
    learners' active periods are found first and joined to the cohorts, not every statement.

    Rows: ('size', cohort, 0, learners), ('on', cohort, n, learners returning in period n) and
    ('last', cohort, n, learners whose last return is in period n) — the "on or after" counts are
    the running totals of 'last' from the far end.
    """
    start_cond = f" AND verb_id IN {d.in_list(start_verbs)}" if start_verbs else ""
    return_cond = f" AND verb_id IN {d.in_list(return_verbs)}" if return_verbs else ""
    period = _period(unit, "c.cohort", "a.bucket")
    return f"""
WITH starts AS (
  SELECT actor_id, min(timestamp) AS first_ts FROM statements WHERE {LIVE}{start_cond}{f.sql(d)} GROUP BY actor_id
),
cohorts AS (
  SELECT actor_id, first_ts, date_trunc('{unit}', {d.local('first_ts', tz)}) AS cohort FROM starts
  WHERE first_ts >= {d.lit(first)} AND first_ts < {d.lit(end)}
),
active AS (
  SELECT DISTINCT actor_id, date_trunc('{unit}', {d.local('timestamp', tz)}) AS bucket FROM statements s
  WHERE {LIVE}{return_cond}{f.sql(d)} AND timestamp < {d.lit(end)}
),
returns AS (
  SELECT c.actor_id, c.cohort, {period} AS period
  FROM cohorts c JOIN active a ON a.actor_id = c.actor_id
  WHERE a.bucket > c.cohort
)
SELECT 'size' AS kind, cohort, 0 AS period, count(*) AS learners FROM cohorts GROUP BY cohort
UNION ALL
SELECT 'on', cohort, period, count(*) FROM returns WHERE period >= 1 GROUP BY cohort, period
UNION ALL
SELECT 'last', cohort, last_period, count(*) FROM (
  SELECT actor_id, cohort, max(period) AS last_period FROM returns GROUP BY actor_id, cohort
) lasts WHERE last_period >= 1 GROUP BY cohort, last_period"""


@dataclass(frozen=True)
class Step:
    """A funnel step: a verb, optionally on one object (activity id; ``*`` matches anything)."""

    verb: str
    object_id: str | None = None

    def sql(self, d: Dialect, alias: str = "") -> str:
        p = f"{alias}." if alias else ""
        cond = f"{p}verb_id = {d.lit(self.verb)}"
        if self.object_id and "*" in self.object_id:
            return cond + f" AND {p}object_id {d.like(self.object_id.split('*'))}"
        return cond + (f" AND {p}object_id = {d.lit(self.object_id)}" if self.object_id else "")


def funnel(d: Dialect, steps: Sequence[Step], first: datetime, end: datetime, window_days: int, f: Filters) -> str:
    """Learners reaching each step in order within ``window_days`` of step 1, and the median gap.

    Step k's time is the learner's first step-k event after their step k-1 time; step 1 is their
    first step-1 event in [first, end). Every later step happens in (first, end + window]: that bound
    is implied, and written out so the scans skip the row groups outside it. DuckDB finds each
    learner's next event with an ASOF join (one sorted merge); other engines with a grouped join.
    """
    window = f"INTERVAL {int(window_days)} DAY"
    ctes = [f"""s1 AS (
  SELECT actor_id, min(timestamp) AS t1, min(timestamp) AS prev, min(timestamp) AS t FROM statements
  WHERE {LIVE} AND {steps[0].sql(d)}{f.sql(d)} AND timestamp >= {d.lit(first)} AND timestamp < {d.lit(end)}
  GROUP BY actor_id
)"""]

    def later(p: str = "") -> str:
        return f"{p}timestamp > {d.lit(first)} AND {p}timestamp <= {d.lit(end)} + {window}"

    for k, step in enumerate(steps[1:], start=2):
        if d.name == "duckdb":
            ctes.append(f"""e{k} AS (
  SELECT actor_id, timestamp FROM statements WHERE {LIVE} AND {step.sql(d)}{f.sql(d)} AND {later()}
),
s{k} AS (
  SELECT p.actor_id, p.t1, p.t AS prev, e.timestamp AS t
  FROM s{k - 1} p ASOF JOIN e{k} e ON e.actor_id = p.actor_id AND e.timestamp > p.t
  WHERE e.timestamp <= p.t1 + {window}
)""")
            continue
        ctes.append(f"""s{k} AS (
  SELECT p.actor_id, p.t1, p.t AS prev, min(e.timestamp) AS t
  FROM s{k - 1} p JOIN statements e ON e.actor_id = p.actor_id
  WHERE {live('e')} AND {step.sql(d, 'e')}{f.sql(d, 'e')} AND {later('e.')}
    AND e.timestamp > p.t AND e.timestamp <= p.t1 + {window}
  GROUP BY p.actor_id, p.t1, p.t
)""")
    gap = d.median("date_diff('microsecond', prev, t) / 1000000.0")  # exact, not whole-second boundaries
    summary = "\nUNION ALL\n".join(
        f"SELECT {k} AS step, count(*) AS learners, {gap} AS median_s FROM s{k}"
        for k in range(1, len(steps) + 1)
    )
    return "WITH " + ",\n".join(ctes) + "\n" + summary + "\nORDER BY step"


DIMENSIONS = ("course", "part", "region", "teacher", "device", "day", "week", "month", "hour")


def breakdown(d: Dialect, dimension: str, first: datetime, end: datetime, f: Filters, tz: str = "UTC") -> str:
    """Active learners, statements, completions and mean scaled score per value of one dimension."""
    if dimension in ("day", "week", "month"):
        key = f"CAST(date_trunc('{dimension}', {d.local('timestamp', tz)}) AS DATE)"
    elif dimension == "hour":
        key = f"CAST(extract(hour FROM {d.local('timestamp', tz)}) AS BIGINT)"
    else:
        key = f"coalesce({dimension}, '(none)')"
    done = d.in_list([vocab.VERBS["completed"], vocab.VERBS["passed"]])
    return f"""
SELECT {key} AS key, count(DISTINCT actor_id) AS learners, count(*) AS statements,
       count(DISTINCT CASE WHEN object_id = course AND (verb_id IN {done} OR coalesce(completion, false))
                            THEN actor_id || '|' || course END)
         AS completions,
       avg(score_scaled) AS avg_score
FROM statements WHERE {LIVE}{f.sql(d)} AND timestamp >= {d.lit(first)} AND timestamp < {d.lit(end)}
GROUP BY key ORDER BY key"""


def video_viewers(d: Dialect, first: datetime, end: datetime, f: Filters) -> str:
    """Per video and viewer: the video length, every played-segments string and the best progress."""
    return f"""
SELECT object_id, actor_id, max(video_length_s) AS length_s, {d.string_agg('video_segments', '[,]')} AS segments,
       max(video_progress) AS progress
FROM statements
WHERE {LIVE}{f.sql(d)} AND video_segments IS NOT NULL AND timestamp >= {d.lit(first)} AND timestamp < {d.lit(end)}
GROUP BY object_id, actor_id ORDER BY object_id, actor_id"""


def extent(d: Dialect, f: Filters | None = None) -> str:
    """First and last counted timestamp of live activity, and how many such statements there are."""
    return f"SELECT min(timestamp), max(timestamp), count(*) FROM statements WHERE {LIVE}{(f or Filters()).sql(d)}"


def courses(d: Dialect, f: Filters | None = None) -> str:
    return f"""
SELECT course, count(DISTINCT actor_id) AS learners, count(*) AS statements, max(teacher) AS teacher,
       max(region) AS region
FROM statements WHERE {LIVE} AND course IS NOT NULL{(f or Filters()).sql(d)} GROUP BY course ORDER BY course"""


# Quality × learning (DuckDB only). Student sessions are read from the call-quality store's
# ``session_quality`` view with RTC_STUDENT_SESSIONS and handed to the event store's connection as
# the table ``rtc_sessions`` for the two queries below.
RTC_STUDENT_SESSIONS = """
SELECT user_id, call_id, quality_band AS band, timezone('UTC', coalesce(left_at, call_end, call_start)) AS ended
FROM session_quality WHERE role = 'student' AND quality_band IN ('good', 'fair', 'poor')"""


def _student_sessions() -> str:
    return "sess AS (SELECT user_id, call_id, band, ended FROM rtc_sessions)"


def quality_returns(d: Dialect, days: int = 7) -> str:
    """Per band of a class session: sessions, learners, and how many came back within ``days``
    days (any learning activity after the class ended); only classes at least ``days`` days old."""
    return f"""
WITH {_student_sessions()},
horizon AS (SELECT max(timestamp) - INTERVAL {int(days)} DAY AS until FROM statements WHERE {LIVE}{Filters().sql(d)}),
after AS (
  SELECT s.band, s.user_id,
         EXISTS (SELECT 1 FROM statements e WHERE e.actor_id = s.user_id AND {live('e')}{Filters().range_sql(d, 'e')}
                 AND e.timestamp > s.ended AND e.timestamp <= s.ended + INTERVAL {int(days)} DAY) AS returned
  FROM sess s, horizon h
  WHERE s.ended <= h.until AND s.user_id IN (SELECT DISTINCT actor_id FROM statements)
)
SELECT band, count(*) AS sessions, count(DISTINCT user_id) AS learners,
       sum(CASE WHEN returned THEN 1 ELSE 0 END) AS returned
FROM after GROUP BY band ORDER BY band"""


def quality_completion(d: Dialect) -> str:
    """Per learner's usual band (the band of most of their classes): enrolments and completions."""
    return f"""
WITH {_student_sessions()},
{_course_learners(d, Filters(), None)},
per_band AS (SELECT user_id, band, count(*) AS n FROM sess GROUP BY user_id, band),
learner_band AS (SELECT user_id, {d.arg_max('band', 'n')} AS band FROM per_band GROUP BY user_id)
SELECT lb.band, count(DISTINCT cl.actor_id) AS learners, count(*) AS enrolments,
       sum(cl.completed) AS completed
FROM learner_outcomes cl JOIN learner_band lb ON lb.user_id = cl.actor_id
GROUP BY lb.band ORDER BY lb.band"""
