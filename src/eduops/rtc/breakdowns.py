"""Quality by segment: breakdowns by dimension, the province × hour heat map, the worst segments,
and the week-over-week trend. All of it is SQL over the store's samples joined to their sessions.

A sample is *poor* when its MOS is below the fair floor or video or audio froze for 10 % or more of
its interval; ``poor_pct`` is the share of media time in poor samples. Every figure's SQL is rendered
by its rule in ``qoe.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eduops.core.i18n import msg
from eduops.errors import UsageError
from eduops.rtc.qoe import (
    av_sync_sql,
    freeze_rate_sql,
    join_success_sql,
    join_within_sql,
    media_share_sql,
    mos_weighted_sql,
    percentile_sql,
    poor_pct_sql,
    sample_loss_sql,
)
from eduops.rtc.store import ROLLUP_MINUTES, ROLLUP_ORIGIN, Store

DIMENSIONS: dict[str, str] = {
    "country": "s.country",
    "province": "s.province",
    "isp": "s.isp",
    "province_isp": "s.province || ' / ' || s.isp",
    "network": "s.network",
    "os": "s.os",
    "device": "s.device",
    "app_version": "s.app_version",
    "scenario": "c.scenario",
    "teacher": "t.teacher_id",
    "hour": "hour(x.ts)",  # local hour: the store sets the workspace's TimeZone
    "role": "s.role",
}
RANKED = ("province", "province_isp", "isp", "network", "os", "device", "app_version", "teacher", "hour")
METRICS_SQL = f"""count(*) AS samples, count(DISTINCT x.sid) AS sessions,
    round(sum(x.interval_ms) / 60000, 1) AS media_min,
    {freeze_rate_sql("x.video_freeze_ms", "x.interval_ms")} AS video_freeze_rate_pct,
    {freeze_rate_sql("x.audio_freeze_ms", "x.interval_ms")} AS audio_freeze_rate_pct,
    {poor_pct_sql("x")} AS poor_pct,
    {mos_weighted_sql("x")} AS mos,
    {percentile_sql("x.rtt_ms", 50)} AS rtt_p50_ms, {percentile_sql("x.rtt_ms", 90)} AS rtt_p90_ms,
    {percentile_sql("x.jitter_ms", 90)} AS jitter_p90_ms, avg({sample_loss_sql("x")}) AS loss_pct"""
# from the rollup (per session and 15-minute bucket): each figure from the sums it adds up
ROLLUP_FIGURES: dict[str, tuple[tuple[str, ...], str]] = {
    "video_freeze_rate_pct": (("video_freeze_ms", "media_ms"), freeze_rate_sql("r.video_freeze_ms", "r.media_ms")),
    "audio_freeze_rate_pct": (("audio_freeze_ms", "media_ms"), freeze_rate_sql("r.audio_freeze_ms", "r.media_ms")),
    "poor_pct": (("poor_ms", "media_ms"), media_share_sql("r.poor_ms", "r.media_ms")),
    "mos": (("mos_sum", "mos_n"), "sum(r.mos_sum) / nullif(sum(r.mos_n), 0)"),
    "rtt_avg_ms": (("rtt_sum", "rtt_n"), "sum(r.rtt_sum) / nullif(sum(r.rtt_n), 0)"),
    "jitter_avg_ms": (("jitter_sum", "jitter_n"), "sum(r.jitter_sum) / nullif(sum(r.jitter_n), 0)"),
    "loss_pct": (("loss_sum", "loss_n"), "sum(r.loss_sum) / nullif(sum(r.loss_n), 0)"),
}
HEATMAP_METRICS = ("poor_pct", "video_freeze_rate_pct", "audio_freeze_rate_pct", "mos", "rtt_avg_ms", "loss_pct")
ROLLUP_METRICS_SQL = (
    "sum(r.samples) AS samples, count(DISTINCT r.sid) AS sessions, round(sum(r.media_ms) / 60000, 1) AS media_min, "
    + ", ".join(f"{sql} AS {name}" for name, (_sums, sql) in ROLLUP_FIGURES.items())
)

def _joins(exprs: list[str], rollup: bool, table: str = "sample_rollup") -> str:
    """FROM samples (or the rollup, or ``table`` in its shape) joined to sessions, and to calls and teachers
    only when asked for."""
    head = (
        f"FROM {table} r JOIN sessions s ON s.sid = r.sid"
        if rollup
        else "FROM samples x JOIN sessions s ON s.sid = x.sid"
    )
    text = " ".join(exprs)
    if "c." in text:
        head += " LEFT JOIN calls c ON c.call_id = s.call_id"
    if "t." in text:
        head += " LEFT JOIN call_teachers t ON t.call_id = s.call_id"
    return head


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise UsageError(msg("the time range is empty: its end must come after its start"))


def _dimension(name: str, rollup: bool = False) -> str:
    if name not in DIMENSIONS:
        raise UsageError(msg("unknown dimension {name!r}; one of {known}", name=name, known=", ".join(DIMENSIONS)))
    return DIMENSIONS[name].replace("x.ts", "r.bucket") if rollup else DIMENSIONS[name]


def _round(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float):
                row[key] = round(value, 3)
    return rows


def breakdown(store: Store, dimension: str, window: Window, limit: int = 100) -> list[dict[str, Any]]:
    """Quality per value of one dimension, with join success from the sessions that started in the window."""
    expr = _dimension(dimension)
    rows = store.query(
        f"SELECT {expr} AS segment, {METRICS_SQL} {_joins([expr], False)} WHERE x.ts >= ? AND x.ts < ? "
        f"GROUP BY ALL ORDER BY samples DESC LIMIT {int(limit)}",
        [window.start, window.end],
    )
    if dimension != "hour":
        joins = store.query(
            f"SELECT {expr.replace('x.ts', 's.joined_at')} AS segment, count(*) AS attempts, "
            f"{join_success_sql('s.join_ok')} AS join_success_pct, "
            f"{join_within_sql('s.join_ok', 's.join_ms')} AS join_within_5s_pct, "
            f"{percentile_sql('s.join_ms', 90)} AS join_p90_ms "
            "FROM sessions s LEFT JOIN calls c USING (call_id) LEFT JOIN call_teachers t USING (call_id) "
            "WHERE s.joined_at >= ? AND s.joined_at < ? GROUP BY ALL",
            [window.start, window.end],
        )
        by_segment = {r["segment"]: r for r in joins}
        for row in rows:
            extra = by_segment.get(row["segment"], {})
            row["join_success_pct"] = extra.get("join_success_pct")
            row["join_within_5s_pct"] = extra.get("join_within_5s_pct")
            row["join_p90_ms"] = extra.get("join_p90_ms")
    return _round(rows)


def heatmap_sql(metric: str, rows_dim: str) -> str:
    """The heat map's query (parameters: window start, end, start, end). It adds the rollup up per session and
    local hour first, so a cell's sessions are a count of rows rather than a DISTINCT over the rollup, and it
    turns each 15-minute bucket of the window into its local hour once rather than once per rollup row."""
    sums, figure = ROLLUP_FIGURES[metric]
    expr = _dimension(rows_dim, rollup=True).replace("hour(r.bucket)", "r.hour")
    per_session = ", ".join(f"sum(r.{c}) AS {c}" for c in ("samples", *sums))
    return (
        "WITH hours AS (SELECT b AS bucket, hour(b) AS hour FROM generate_series("
        f"time_bucket(INTERVAL {ROLLUP_MINUTES} MINUTE, ?::TIMESTAMPTZ, TIMESTAMPTZ '{ROLLUP_ORIGIN}'), "
        f"?::TIMESTAMPTZ, INTERVAL {ROLLUP_MINUTES} MINUTE) AS g(b)), "
        f"cells AS (SELECT r.sid, h.hour, {per_session} FROM sample_rollup r JOIN hours h ON h.bucket = r.bucket "
        "WHERE r.bucket >= ? AND r.bucket < ? GROUP BY r.sid, h.hour) "
        f"SELECT {expr} AS segment, r.hour AS hour, sum(r.samples) AS samples, count(*) AS sessions, "
        f"{figure} AS value {_joins([expr], True, 'cells')} GROUP BY ALL"
    )


def heatmap(store: Store, window: Window, metric: str = "poor_pct", rows_dim: str = "province") -> dict[str, Any]:
    """``metric`` per (``rows_dim`` value, local hour) from the 15-minute rollup: rows, 24 columns, sample counts
    and session counts (the calls behind a cell)."""
    if metric not in HEATMAP_METRICS:
        raise UsageError(msg("unknown heat-map metric {metric!r}; one of {known}", metric=metric,
                                known=", ".join(HEATMAP_METRICS)))
    data = store.query(heatmap_sql(metric, rows_dim), [window.start, window.end, window.start, window.end])
    segments = sorted({str(r["segment"]) for r in data})
    values: list[list[float | None]] = [[None] * 24 for _ in segments]
    counts: list[list[int]] = [[0] * 24 for _ in segments]
    sessions: list[list[int]] = [[0] * 24 for _ in segments]
    index = {s: i for i, s in enumerate(segments)}
    for r in data:
        i, hour = index[str(r["segment"])], int(r["hour"])
        values[i][hour] = None if r["value"] is None else round(float(r["value"]), 3)
        counts[i][hour] = int(r["samples"])
        sessions[i][hour] = int(r["sessions"])
    return {"metric": metric, "rows": segments, "hours": list(range(24)), "values": values, "samples": counts,
            "sessions": sessions}


def worst_segments(
    store: Store,
    window: Window,
    min_sessions: int = 20,
    min_share_pct: float = 0.5,
    limit: int = 20,
    dimensions: tuple[str, ...] = RANKED,
) -> list[dict[str, Any]]:
    """Segments ranked by poor share of media time, among those with enough volume to matter:
    at least ``min_sessions`` sessions and ``min_share_pct`` % of all samples in the window."""
    exprs = [_dimension(d, rollup=True) for d in dimensions]
    sets = ", ".join(f"({d})" for d in dimensions)
    cols = ", ".join(f"{e} AS {d}" for d, e in zip(dimensions, exprs, strict=True))
    grouping = ", ".join(f"grouping({d}) AS g_{d}" for d in dimensions)
    data = store.query(
        f"WITH base AS (SELECT r.*, {cols} {_joins(exprs, True)} WHERE r.bucket >= ? AND r.bucket < ?) "
        f"SELECT {', '.join(dimensions)}, {grouping}, {ROLLUP_METRICS_SQL} "
        f"FROM base r GROUP BY GROUPING SETS ({sets}, ())",
        [window.start, window.end],
    )
    total = next((r for r in data if all(r[f"g_{d}"] for d in dimensions)), None)
    if not total or not total["samples"]:
        return []
    overall_poor = total["poor_pct"] or 0.0
    ranked = []
    for r in data:
        dims = [d for d in dimensions if not r[f"g_{d}"]]
        if len(dims) != 1 or r[dims[0]] is None:
            continue
        if r["sessions"] < min_sessions or 100 * r["samples"] / total["samples"] < min_share_pct:
            continue
        ranked.append(
            {
                "dimension": dims[0],
                "segment": str(r[dims[0]]),
                "poor_pct": r["poor_pct"],
                "lift": (r["poor_pct"] / overall_poor) if overall_poor else None,
                "sessions": r["sessions"],
                "samples": r["samples"],
                "media_min": r["media_min"],
                "video_freeze_rate_pct": r["video_freeze_rate_pct"],
                "mos": r["mos"],
                "rtt_avg_ms": r["rtt_avg_ms"],
                "loss_pct": r["loss_pct"],
                "jitter_avg_ms": r["jitter_avg_ms"],
            }
        )
    ranked.sort(key=lambda r: -(r["poor_pct"] or 0))
    return _round(_without_explained_parents(ranked)[:limit])


def _without_explained_parents(ranked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out a province or an ISP when one of its province / ISP pairs ranks worse: the pair is where
    to look, and the parent is only bad because of it (the breakdown tables still show every parent)."""
    pairs = [r for r in ranked if r["dimension"] == "province_isp"]
    kept = []
    for r in ranked:
        if r["dimension"] in ("province", "isp"):
            side = 0 if r["dimension"] == "province" else 1
            if any(p["segment"].split(" / ")[side] == r["segment"] and p["poor_pct"] > r["poor_pct"] for p in pairs):
                continue
        kept.append(r)
    return kept


def overall(store: Store, window: Window) -> dict[str, Any]:
    """The window's figures over all its samples, and join figures over the sessions that started in it."""
    row = store.query(
        f"SELECT {METRICS_SQL}, {av_sync_sql('x.av_sync_ms')} AS av_sync_ms "
        "FROM samples x WHERE x.ts >= ? AND x.ts < ?",
        [window.start, window.end],
    )[0]
    joins = store.query(
        f"SELECT count(*) AS attempts, {join_success_sql('join_ok')} AS join_success_pct, "
        f"{join_within_sql('join_ok', 'join_ms')} AS join_within_5s_pct, "
        f"{percentile_sql('join_ms', 90)} AS join_p90_ms FROM sessions WHERE joined_at >= ? AND joined_at < ?",
        [window.start, window.end],
    )[0]
    row.update(joins)
    return _round([row])[0]


TREND_METRICS = (
    "poor_pct",
    "video_freeze_rate_pct",
    "audio_freeze_rate_pct",
    "mos",
    "rtt_p50_ms",
    "loss_pct",
    "join_success_pct",
)
HIGHER_IS_BETTER = {"mos", "join_success_pct"}


def week_over_week(store: Store, end: datetime) -> dict[str, Any]:
    """This week (7 days to ``end``) against the week before, metric by metric, with what got worse."""
    this = overall(store, Window(end - timedelta(days=7), end))
    last = overall(store, Window(end - timedelta(days=14), end - timedelta(days=7)))
    rows = []
    for metric in TREND_METRICS:
        now, before = this.get(metric), last.get(metric)
        change = None if now is None or before is None else round(now - before, 3)
        worse = None if change is None else (change < 0 if metric in HIGHER_IS_BETTER else change > 0)
        rows.append({"metric": metric, "this_week": now, "last_week": before, "change": change, "worse": worse})
    return {"end": end.isoformat(), "this_week": this, "last_week": last, "metrics": rows}
