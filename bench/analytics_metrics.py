"""MAU, a 12-week retention table and a 5-step funnel over 10 million statements: eduops' metric SQL
(``eduops.analytics.sql``) against a hand-written DuckDB query for the same answer with the same time
bounds, in interleaved rounds (one warm-up of each first; the answers are compared).

    .venv/bin/python bench/analytics_metrics.py [--rows 10000000] [--learners 200000] [--quick]

The data is generated inside DuckDB (generate_series), loaded without the id index (metrics never
use it). ``--quick``: 1 M statements, 20,000 learners. Goals (issue 18), in every round: each
metric ≤ 1.5× the hand query and < 1 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from harness import Goal, finish, interleaved, parse, parser, report, timed

from eduops.analytics import metrics, sql, vocab
from eduops.analytics.store import DuckDBStore

START = datetime(2025, 1, 1)
VERB_BUCKETS = [("registered", 5), ("launched", 30), ("experienced", 25), ("attempted", 15), ("completed", 12),
                ("passed", 5), ("failed", 3), ("answered", 5)]
STEPS = ["registered", "launched", "attempted", "completed", "passed"]


def expressions() -> dict[str, str]:
    """Each column of a generated statement as SQL over ``i`` (row), ``a`` (learner) and ``v`` (0-99, the verb)."""
    cases, low = [], 0
    for verb, share in VERB_BUCKETS:
        cases.append(f"WHEN v < {low + share} THEN '{vocab.VERBS[verb]}'")
        low += share
    return {
        "seq": "i", "id": "uuid()", "actor_id": "'u-' || a", "actor_ifi": "'account|https://lms|u-' || a",
        "verb_id": f"CASE {' '.join(cases)} END", "object_id": "'https://lms/course-' || (a % 20) || '/x'",
        "object_type": "'Activity'", "course": "'https://lms/course-' || (a % 20)",
        "timestamp": f"TIMESTAMP '{START:%Y-%m-%d}' + to_days(CAST(a % 300 + (hash(i * 7) % 60) AS INTEGER)) "
                     "+ to_seconds(CAST(hash(i * 3) % 86400 AS BIGINT))",
        "stored": f"TIMESTAMP '{START:%Y-%m-%d}'", "region": "'r' || (a % 5)", "device": "'d' || (a % 4)",
        "voided": "false", "agents": "''", "related_agents": "''", "related_activities": "''", "raw": "'{}'",
    }


def generate(con: duckdb.DuckDBPyConnection, rows: int, learners: int, exprs: dict[str, str] | None = None) -> None:
    """Each learner starts on one of 300 days and is active over the 60 days after it."""
    exprs = exprs or expressions()
    select = ", ".join(f"{exprs.get(name, f'CAST(NULL AS {duck})')} AS \"{name}\"" for name, duck, _ch in sql.COLUMNS)
    # rows arrive in time order, as they do at an LRS (DuckDB's zone maps then skip old data)
    con.execute(f"""CREATE TABLE statements AS SELECT * FROM (SELECT {select} FROM (
        SELECT i, CAST(hash(i) % {learners} AS BIGINT) AS a, CAST(hash(i * 13) % 100 AS BIGINT) AS v
        FROM generate_series(1, {rows}) t(i))) ORDER BY timestamp""")


def hand_mau(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[tuple[Any, ...]]:
    return con.execute(f"""
WITH days AS (SELECT CAST(d AS DATE) AS day FROM generate_series(DATE '{first}', DATE '{last}', INTERVAL 1 DAY) t(d)),
daily AS (SELECT DISTINCT actor_id, CAST(timestamp AS DATE) AS day FROM statements
          WHERE timestamp >= DATE '{first}' - INTERVAL 29 DAY AND timestamp < DATE '{last}' + INTERVAL 1 DAY)
SELECT days.day, count(DISTINCT CASE WHEN daily.day = days.day THEN actor_id END),
       count(DISTINCT CASE WHEN daily.day > days.day - 7 THEN actor_id END), count(DISTINCT actor_id)
FROM days JOIN daily ON daily.day BETWEEN days.day - 29 AND days.day GROUP BY days.day ORDER BY days.day""").fetchall()


def hand_retention(con: duckdb.DuckDBPyConnection, first: datetime, end: datetime) -> list[tuple[Any, ...]]:
    return con.execute(f"""
WITH c AS (SELECT actor_id, min(timestamp) AS f FROM statements GROUP BY actor_id
           HAVING min(timestamp) >= TIMESTAMP '{first}' AND min(timestamp) < TIMESTAMP '{end}')
SELECT CAST(date_trunc('week', c.f) AS DATE) AS cohort, w, count(*) FROM (
  SELECT DISTINCT s.actor_id, c.f,
         (CAST(date_trunc('week', s.timestamp) AS DATE) - CAST(date_trunc('week', c.f) AS DATE)) // 7 AS w
  FROM statements s JOIN c USING (actor_id)
  WHERE s.timestamp > c.f AND s.timestamp >= TIMESTAMP '{first}' AND s.timestamp < TIMESTAMP '{end}'
) r JOIN c USING (actor_id) WHERE w BETWEEN 1 AND 12 GROUP BY ALL ORDER BY ALL""").fetchall()


def hand_funnel(con: duckdb.DuckDBPyConnection, first: datetime, end: datetime, window: int = 14) -> list[int]:
    """The idiomatic DuckDB way: ASOF JOIN to each learner's next event of the following step, each step's
    events bounded in time as eduops bounds them (after ``first``, at most ``end`` + the window)."""
    verbs = [vocab.VERBS[s] for s in STEPS]
    ctes = [f"""s1 AS (SELECT actor_id, min(timestamp) AS t1, min(timestamp) AS t FROM statements
  WHERE verb_id = '{verbs[0]}' AND timestamp >= TIMESTAMP '{first}' AND timestamp < TIMESTAMP '{end}'
  GROUP BY actor_id)"""]
    for k, verb in enumerate(verbs[1:], start=2):
        ctes.append(f"""e{k} AS (SELECT actor_id, timestamp FROM statements WHERE verb_id = '{verb}'
  AND timestamp > TIMESTAMP '{first}' AND timestamp <= TIMESTAMP '{end}' + INTERVAL {window} DAY),
s{k} AS (SELECT p.actor_id, p.t1, e.timestamp AS t FROM s{k - 1} p ASOF JOIN e{k} e
  ON e.actor_id = p.actor_id AND e.timestamp > p.t WHERE e.timestamp <= p.t1 + INTERVAL {window} DAY)""")
    counts = " UNION ALL ".join(f"SELECT {k}, count(*) FROM s{k}" for k in range(1, len(verbs) + 1))
    return [n for _k, n in con.execute("WITH " + ",\n".join(ctes) + f"\n{counts} ORDER BY 1").fetchall()]


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--rows", type=int, default=None, help="statements (default 10,000,000; --quick 1,000,000)")
    p.add_argument("--learners", type=int, default=None, help="default 200,000; --quick 20,000")
    p.add_argument("--data", type=Path, help="keep the generated data in this file and reuse it next time")
    args = parse(p)
    rows = args.rows or (1_000_000 if args.quick else 10_000_000)
    learners = args.learners or (20_000 if args.quick else 200_000)
    size = f"{rows / 1e6:g}M"
    with tempfile.TemporaryDirectory() as tmp:
        path = args.data or Path(tmp) / "events.duckdb"
        if not path.exists():
            con = duckdb.connect(str(path))
            started = time.perf_counter()
            generate(con, rows, learners)
            con.close()
            print(f"generated {rows:,} statements for {learners:,} learners in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
        store = DuckDBStore(path)
        store.post_keys()  # not measured here; done before the rounds rather than beside them in the background
        con = store._con  # the same database, for the hand-written queries
        last = date(2025, 6, 30)
        first = last - timedelta(days=29)
        r_first, r_end = datetime(2025, 3, 3), datetime(2025, 6, 30)
        f_first, f_end = datetime(2025, 3, 1), datetime(2025, 4, 1)
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[Any, Any], bool]]] = [
            ("MAU (30 days of DAU/WAU/MAU)", lambda: metrics.active_users(store, first, last, spread=False),
             lambda: hand_mau(con, first, last),
             lambda ours, hand: [(date.fromisoformat(d["day"]), d["dau"], d["wau"], d["mau"]) for d in ours["days"]]
             == [tuple(r) for r in hand]),
            ("12-week retention", lambda: metrics.retention(store, "week", 12, "on", first=r_first, end=r_end),
             lambda: hand_retention(con, r_first, r_end),
             lambda ours, hand: {(row["cohort"], n): c for row in ours["cohorts"]
                                 for n, c in enumerate(row["counts"]) if n and c}
             == {(cohort.isoformat(), w): c for cohort, w, c in hand}),
            ("5-step funnel", lambda: metrics.funnel(store, STEPS, f_first, f_end, 14),
             lambda: hand_funnel(con, f_first, f_end, 14),
             lambda ours, hand: [s["learners"] for s in ours["steps"]] == hand),
        ]
        for label, ours_fn, hand_fn, same in cases:
            if not same(ours_fn(), hand_fn()):  # also the warm-up of both
                raise SystemExit(f"{label}: eduops and the hand-written query disagree")
            pairs = interleaved(args.rounds, lambda _n, f=ours_fn: timed(f), lambda _n, f=hand_fn: timed(f),
                                label=f"{label} seconds")
            report(Goal(f"{label}, {size} statements / hand query (same bounds)", "≤ 1.5× the hand query",
                        "<=", 1.5, every_round=True), [mine / hand for mine, hand in pairs])
            report(Goal(f"{label}, {size} statements", "< 1 s", "<", 1.0, every_round=True, unit="s"),
                   [mine for mine, _ in pairs])
        store.close()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
