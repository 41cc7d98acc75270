"""The store's SQL and the QoE rules agree on the same rows: each ``*_sql`` renderer against its pure function,
then the production queries (breakdowns, session_quality, call search and page, live series) over a small store."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from eduops.rtc import qoe
from eduops.rtc.breakdowns import Window, overall
from eduops.rtc.calls import call_detail, search_calls
from eduops.rtc.live import window_measurements
from eduops.rtc.store import Store, insert_rows

# (group, mos, video_freeze_ms, audio_freeze_ms, interval_ms, rtt_ms, av_sync_ms)
SAMPLES = [
    ("clean", 4.4, 0.0, 0.0, 10_000.0, 40.0, 10.0),
    ("clean", 4.3, 150.0, 0.0, 10_000.0, 60.0, -20.0),
    ("boundary", 3.6, 999.0, 0.0, 10_000.0, 100.0, 80.0),  # just not poor
    ("boundary", 3.59, 0.0, 0.0, 10_000.0, 300.0, -81.0),  # MOS under the fair floor
    ("boundary", 4.2, 1000.0, 0.0, 10_000.0, 120.0, None),  # video froze 10 %
    ("boundary", 4.2, 0.0, 2000.0, 20_000.0, 80.0, 5.0),  # audio froze 10 %
    ("gaps", None, 0.0, 0.0, 5_000.0, None, None),  # no MOS, no RTT
    ("gaps", None, 4000.0, 0.0, 5_000.0, None, 200.0),  # poor by its freezes alone
    ("gaps", 2.0, None, None, 5_000.0, 900.0, None),
    ("no media", 4.4, 0.0, 0.0, 0.0, 50.0, None),
]
# (group, join_ok, join_ms)
SESSIONS = [
    ("fast", True, 800.0),
    ("fast", True, 5000.0),
    ("mixed", True, 5000.1),
    ("mixed", False, None),
    ("mixed", None, 1200.0),  # no outcome reported: not a success
    ("mixed", True, None),
    ("mixed", True, 2400.0),
]
BANDS = [(4.4, None), (4.0, 0.0), (3.99, 0.0), (3.6, 0.0), (3.59, 0.0), (4.4, 10.0), (4.4, 9.99), (4.4, 25.0),
         (3.7, 30.0), (None, 0.0), (None, None)]


def _same(sql: Any, rule: Any) -> bool:
    """Equal up to float rounding (DuckDB may sum in another order); None only where the rule has None."""
    if isinstance(rule, dict):
        return sql.keys() == rule.keys() and all(_same(sql[k], rule[k]) for k in rule)
    if sql is None or rule is None:
        return sql is rule
    return math.isclose(sql, rule, rel_tol=1e-12, abs_tol=1e-12)


def _groups(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row[1:])
    return out


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE x (g VARCHAR, mos DOUBLE, video_freeze_ms DOUBLE, audio_freeze_ms DOUBLE, "
                "interval_ms DOUBLE, rtt_ms DOUBLE, av_sync_ms DOUBLE)")
    con.executemany("INSERT INTO x VALUES (?, ?, ?, ?, ?, ?, ?)", SAMPLES)
    con.execute("CREATE TABLE s (g VARCHAR, join_ok BOOLEAN, join_ms DOUBLE)")
    con.executemany("INSERT INTO s VALUES (?, ?, ?)", SESSIONS)
    return con


def _per_group(con: duckdb.DuckDBPyConnection, table: str, expr: str) -> dict[str, Any]:
    return dict(con.execute(f"SELECT g, {expr} FROM {table} x GROUP BY g").fetchall())


def test_band_sql_matches_quality_band(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE b (i INTEGER, mos DOUBLE, poor_pct DOUBLE)")
    con.executemany("INSERT INTO b VALUES (?, ?, ?)", [(i, *row) for i, row in enumerate(BANDS)])
    got = [band for _, band in con.execute(f"SELECT i, {qoe.band_sql('mos', 'poor_pct')} FROM b ORDER BY i").fetchall()]
    assert got == [qoe.quality_band(*row) for row in BANDS]
    assert set(got) == {"good", "fair", "poor", "unknown"}


def test_poor_sample_sql_matches_poor_sample(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(f"SELECT mos, video_freeze_ms, audio_freeze_ms, interval_ms, {qoe.poor_ms_sql('x')} FROM x")
    checked = [(row[4], row[3] if qoe.poor_sample(*row[:4]) else 0.0) for row in rows.fetchall()]
    assert [sql for sql, _ in checked] == [py for _, py in checked]
    assert sum(1 for sql, _ in checked if sql) == 5  # the table has poor and good samples


def test_poor_pct_sql_matches_poor_pct(con: duckdb.DuckDBPyConnection) -> None:
    sql = _per_group(con, "x", qoe.poor_pct_sql("x"))
    expected = {g: qoe.poor_pct([r[:4] for r in rows]) for g, rows in _groups(SAMPLES).items()}
    assert _same(sql, expected)
    assert expected["no media"] is None and expected["clean"] == 0.0 and expected["gaps"] == pytest.approx(200 / 3)


@pytest.mark.parametrize(("column", "index"), [("video_freeze_ms", 1), ("audio_freeze_ms", 2)])
def test_freeze_rate_sql_matches_freeze_rate(con: duckdb.DuckDBPyConnection, column: str, index: int) -> None:
    sql = _per_group(con, "x", qoe.freeze_rate_sql(f"x.{column}", "x.interval_ms"))
    groups = _groups(SAMPLES)
    expected = {g: qoe.freeze_rate([r[index] for r in rows], [r[3] for r in rows]).value for g, rows in groups.items()}
    assert _same(sql, expected)
    assert expected["no media"] is None


def test_join_sql_matches_join_rates(con: duckdb.DuckDBPyConnection) -> None:
    groups = _groups(SESSIONS)
    success = _per_group(con, "s", qoe.join_success_sql("x.join_ok"))
    assert _same(success, {g: qoe.join_success_rate([ok for ok, _ in r]).value for g, r in groups.items()})
    within = _per_group(con, "s", qoe.join_within_sql("x.join_ok", "x.join_ms"))
    assert _same(within, {g: qoe.join_within_rate(r).value for g, r in groups.items()})
    assert (success["mixed"], within["mixed"]) == (pytest.approx(60.0), pytest.approx(20.0))


@pytest.mark.parametrize("pct", [50, 90, 99, 10])
def test_percentile_sql_matches_percentile(con: duckdb.DuckDBPyConnection, pct: float) -> None:
    sql = _per_group(con, "x", qoe.percentile_sql("x.rtt_ms", pct))
    expected = {g: qoe.percentile([r[4] for r in rows], pct).value for g, rows in _groups(SAMPLES).items()}
    assert _same(sql, expected)


def test_av_sync_sql_matches_av_sync(con: duckdb.DuckDBPyConnection) -> None:
    sql = _per_group(con, "x", qoe.av_sync_sql("x.av_sync_ms"))
    expected = {g: qoe.av_sync([r[5] for r in rows]).value for g, rows in _groups(SAMPLES).items()}
    assert _same(sql, expected)
    assert expected["no media"] is None and expected["boundary"] == 5.0


# the production queries over a small store: one call, one participant per sample group
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def small_store(store: Store) -> Store:
    users = {g: f"u-{i}" for i, g in enumerate(_groups(SAMPLES))}
    sessions = [
        {"call_id": "c-1", "user_id": user, "role": "teacher" if i == 0 else "student", "province": "Henan",
         "platform": "native", "joined_at": START, "join_ok": ok, "join_ms": ms}
        for i, (user, (_, ok, ms)) in enumerate(zip(users.values(), SESSIONS, strict=False))
    ]
    samples = []
    for i, (g, mos, video, audio, interval, rtt, sync) in enumerate(SAMPLES):
        samples.append({"call_id": "c-1", "user_id": users[g], "ts": START + timedelta(seconds=10 * (i + 1)),
                        "interval_ms": interval, "mos": mos, "video_freeze_ms": video, "audio_freeze_ms": audio,
                        "rtt_ms": rtt, "av_sync_ms": sync})
    with store.connect() as con:
        insert_rows(con, [{"call_id": "c-1", "scenario": "small_class", "start_ts": START}], sessions, samples)
    return store


def test_production_figures_match_the_rules_on_the_same_rows(small_store: Store) -> None:
    rows = [r[1:] for r in SAMPLES]
    joins = [(ok, ms) for _, ok, ms in SESSIONS[: len(_groups(SAMPLES))]]
    figures = overall(small_store, Window(START, START + timedelta(hours=1)))
    expected = {
        "poor_pct": qoe.poor_pct([r[:4] for r in rows]),
        "video_freeze_rate_pct": qoe.freeze_rate([r[1] for r in rows], [r[3] for r in rows]).value,
        "audio_freeze_rate_pct": qoe.freeze_rate([r[2] for r in rows], [r[3] for r in rows]).value,
        "rtt_p90_ms": qoe.percentile([r[4] for r in rows], 90).value,
        "av_sync_ms": qoe.av_sync([r[5] for r in rows]).value,
        "join_success_pct": qoe.join_success_rate([ok for ok, _ in joins]).value,
        "join_within_5s_pct": qoe.join_within_rate(joins).value,
        "join_p90_ms": qoe.percentile([ms for _, ms in joins], 90).value,
    }
    rounded = {k: None if v is None else round(v, 3) for k, v in expected.items()}  # overall() rounds to 3 places
    assert _same({k: figures[k] for k in expected}, rounded)


def test_session_and_call_figures_match_the_rules(small_store: Store) -> None:
    by_user = {r["user_id"]: r for r in small_store.query("SELECT * FROM session_quality")}
    for i, (g, rows) in enumerate(_groups(SAMPLES).items()):
        session = by_user[f"u-{i}"]
        poor = qoe.poor_pct([r[:4] for r in rows])
        assert _same(session["poor_pct"], poor), g
        mos = qoe.weighted_mos([(r[0], r[3]) for r in rows])  # by media time
        assert _same(session["mos"], mos), g
        assert session["quality_band"] == qoe.quality_band(mos, poor), g
    # the call page and the call list show the same figures and band for a call: over all its users' samples
    listed = search_calls(small_store)[0]
    detail = call_detail(small_store, "c-1")["call"]
    rows = [r[1:] for r in SAMPLES]
    assert _same(listed["poor_pct"], detail["poor_pct"]) and _same(listed["mos"], detail["mos"])
    assert _same(detail["poor_pct"], qoe.poor_pct([r[:4] for r in rows]))
    assert _same(detail["mos"], qoe.weighted_mos([(r[0], r[3]) for r in rows]))
    assert listed["band"] == detail["band"] == qoe.quality_band(detail["mos"], detail["poor_pct"])


def test_live_series_match_the_rules(small_store: Store) -> None:
    found = {m.name: m.value for m in window_measurements(small_store, START + timedelta(hours=1), 7200)}
    rows = [r[1:] for r in SAMPLES]
    joins = [ok for _, ok, _ in SESSIONS[: len(_groups(SAMPLES))]]
    assert found["rtc_video_freeze_rate_pct"] == pytest.approx(
        round(qoe.freeze_rate([r[1] for r in rows], [r[3] for r in rows]).value or 0, 3))
    assert found["rtc_join_success_pct"] == pytest.approx(round(qoe.join_success_rate(joins).value or 0, 3))
