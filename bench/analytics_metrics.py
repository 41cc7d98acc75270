"""MAU, a 12-week retention table and a 5-step funnel over 10 million statements: eduops' metric SQL
(``eduops.analytics.sql``) against a hand-written DuckDB query for the same answer, in the same run.

    .venv/bin/python bench/analytics_metrics.py [--rows 10000000] [--learners 200000]

The data is generated inside DuckDB (generate_series), loaded without the id index (metrics never
use it); each query runs five times and the best time counts. The answers are compared too.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from eduops.analytics import metrics, sql, vocab
from eduops.analytics.store import DuckDBStore

START = datetime(2025, 1, 1)
VERB_BUCKETS = [("registered", 5), ("launched", 30), ("experienced", 25), ("attempted", 15), ("completed", 12),
                ("passed", 5), ("failed", 3), ("answered", 5)]
STEPS = ["registered", "launched", "attempted", "completed", "passed"]


def generate(con: duckdb.DuckDBPyConnection, rows: int, learners: int) -> None:
    """Each learner starts on one of 300 days and is active over the 60 days after it."""
    cases, low = [], 0
    for verb, share in VERB_BUCKETS:
        cases.append(f"WHEN v < {low + share} THEN '{vocab.VERBS[verb]}'")
        low += share
    exprs = {
        "seq": "i", "id": "uuid()", "actor_id": "'u-' || a", "actor_ifi": "'account|https://lms|u-' || a",
        "verb_id": f"CASE {' '.join(cases)} END", "object_id": "'https://lms/course-' || (a % 20) || '/x'",
        "object_type": "'Activity'", "course": "'https://lms/course-' || (a % 20)",
        "timestamp": f"TIMESTAMP '{START:%Y-%m-%d}' + to_days(CAST(a % 300 + (hash(i * 7) % 60) AS INTEGER)) "
                     "+ to_seconds(CAST(hash(i * 3) % 86400 AS BIGINT))",
        "stored": f"TIMESTAMP '{START:%Y-%m-%d}'", "region": "'r' || (a % 5)", "device": "'d' || (a % 4)",
        "voided": "false", "agents": "''", "related_agents": "''", "related_activities": "''", "raw": "'{}'",
    }
    select = ", ".join(f"{exprs.get(name, f'CAST(NULL AS {duck})')} AS \"{name}\"" for name, duck, _ch in sql.COLUMNS)
    # rows arrive in time order, as they do at an LRS (DuckDB's zone maps then skip old data)
    con.execute(f"""CREATE TABLE statements AS SELECT * FROM (SELECT {select} FROM (
        SELECT i, CAST(hash(i) % {learners} AS BIGINT) AS a, CAST(hash(i * 13) % 100 AS BIGINT) AS v
        FROM generate_series(1, {rows}) t(i))) ORDER BY timestamp""")


def best_of(fn: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


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
  FROM statements s JOIN c USING (actor_id) WHERE s.timestamp > c.f AND s.timestamp < TIMESTAMP '{end}'
) r JOIN c USING (actor_id) WHERE w BETWEEN 1 AND 12 GROUP BY ALL ORDER BY ALL""").fetchall()


def hand_funnel(con: duckdb.DuckDBPyConnection, first: datetime, end: datetime) -> list[int]:
    """The idiomatic DuckDB way: ASOF JOIN to each learner's next event of the following step."""
    verbs = [vocab.VERBS[s] for s in STEPS]
    ctes = [f"""s1 AS (SELECT actor_id, min(timestamp) AS t1, min(timestamp) AS t FROM statements
  WHERE verb_id = '{verbs[0]}' AND timestamp >= TIMESTAMP '{first}' AND timestamp < TIMESTAMP '{end}'
  GROUP BY actor_id)"""]
    for k, verb in enumerate(verbs[1:], start=2):
        ctes.append(f"""e{k} AS (SELECT actor_id, timestamp FROM statements WHERE verb_id = '{verb}'),
s{k} AS (SELECT p.actor_id, p.t1, e.timestamp AS t FROM s{k - 1} p ASOF JOIN e{k} e
  ON e.actor_id = p.actor_id AND e.timestamp > p.t WHERE e.timestamp <= p.t1 + INTERVAL 14 DAY)""")
    counts = " UNION ALL ".join(f"SELECT {k}, count(*) FROM s{k}" for k in range(1, len(verbs) + 1))
    return [n for _k, n in con.execute("WITH " + ",\n".join(ctes) + f"\n{counts} ORDER BY 1").fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--learners", type=int, default=200_000)
    parser.add_argument("--data", type=Path, help="keep the generated data in this file and reuse it next time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.data or Path(tmp) / "events.duckdb"
        if not path.exists():
            con = duckdb.connect(str(path))
            started = time.perf_counter()
            generate(con, args.rows, args.learners)
            con.close()
            print(f"generated {args.rows:,} statements for {args.learners:,} learners in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
        store = DuckDBStore(path)
        con = store._con  # the same database, for the hand-written queries
        last = date(2025, 6, 30)
        first = last - timedelta(days=29)
        r_first, r_end = datetime(2025, 3, 3), datetime(2025, 6, 30)
        f_first, f_end = datetime(2025, 3, 1), datetime(2025, 4, 1)
        cases = [
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
             lambda: hand_funnel(con, f_first, f_end),
             lambda ours, hand: [s["learners"] for s in ours["steps"]] == hand),
        ]
        print(f"{'metric':32} {'eduops':>9} {'hand DuckDB':>12} {'ratio':>6}  same answer  (< 1 s target)")
        for label, ours_fn, hand_fn, same in cases:
            ours_s, ours = best_of(ours_fn)
            hand_s, hand = best_of(hand_fn)
            verdict = "yes" if same(ours, hand) else "NO"
            print(f"{label:32} {ours_s:8.3f}s {hand_s:11.3f}s {ours_s / hand_s:6.2f}  {verdict}", flush=True)
        store.close()


if __name__ == "__main__":
    main()
