"""Call-quality signals: segments (region × ISP, app version, teacher) whose poor share jumped, and an
incident's own segment by 5 minutes with its worst calls. Read from rtc's store with rtc's QoE SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from eduops.core.i18n import msg
from eduops.core.workspace import Workspace
from eduops.db import as_utc
from eduops.incidents.dims import SEGMENT_FILTER, rtc_store, segment_where
from eduops.incidents.jumps import EvidenceSettings, evidence_settings, jumped
from eduops.incidents.signals import Signal

RTC_SEGMENTS = ("province_isp", "app_version", "teacher")
FIVE_MIN = timedelta(minutes=5)


def _segment_dims(dimension: str, segment: str) -> dict[str, str]:
    if dimension == "province_isp":
        region, _, isp = segment.partition(" / ")
        return {"region": region, "isp": isp}
    return {dimension: segment}


def _segment_link(dims: Mapping[str, str]) -> str:
    return "/rtc?" + urlencode({k: v for k, v in dims.items()})


def _hour_starts(start: datetime, end: datetime, tz: Any) -> dict[int, datetime]:
    """Local hour of day → the UTC start of that hour inside [start, end) (the window's last day wins)."""
    out: dict[int, datetime] = {}
    t = start.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    while t < end:
        out[t.hour] = t.astimezone(UTC)
        t = (t + timedelta(hours=1)).astimezone(tz)
    return out


def _jumping_hours(store: Any, dimension: str, start: datetime, end: datetime, baseline: dict[str, float | None],
                   cfg: EvidenceSettings, tz: Any) -> dict[str, list[tuple[datetime, float]]]:
    from eduops.rtc.breakdowns import Window, heatmap

    data = heatmap(store, Window(as_utc(start), as_utc(end)), "poor_pct", rows_dim=dimension)
    starts = _hour_starts(start, end, tz)
    out: dict[str, list[tuple[datetime, float]]] = {}
    for i, segment in enumerate(data["rows"]):
        if segment in ("None", ""):
            continue
        for hour, value in enumerate(data["values"][i]):
            if hour in starts and jumped(value, baseline.get(segment), data["sessions"][i][hour], cfg):
                out.setdefault(segment, []).append((starts[hour], float(value or 0)))
    return out


def _ranked(store: Any, window: Any, min_sessions: int) -> dict[tuple[str, str], float | None]:
    """(dimension, segment) → poor share, for the segments rtc ranks (enough volume to matter)."""
    from eduops.rtc.breakdowns import worst_segments

    rows = worst_segments(store, window, min_sessions=min_sessions, min_share_pct=0 if min_sessions <= 1 else 0.5,
                          limit=100_000, dimensions=RTC_SEGMENTS)
    return {(r["dimension"], r["segment"]): r["poor_pct"] for r in rows}


def rtc_openers(ws: Workspace, since: datetime, until: datetime) -> list[Signal]:
    """Segments (region × ISP, app version, teacher) with the volume rtc ranks them at whose poor share
    jumped, in at least ``jump_min_hours`` local hours of the window, against the segment's own share over
    the ``baseline_days`` before the window."""
    from eduops.rtc.breakdowns import Window
    from eduops.rtc.settings import rtc_settings

    store = rtc_store(ws)
    if store is None:
        return []
    cfg = evidence_settings(ws.settings)
    since = max(since, until - timedelta(hours=24))  # hours of day must not repeat inside the window
    ranked = _ranked(store, Window(as_utc(since), as_utc(until)), rtc_settings(ws.settings).worst_min_sessions)
    base = _ranked(store, Window(as_utc(since - timedelta(days=cfg.baseline_days)), as_utc(since)), 1)
    out = []
    for dimension in RTC_SEGMENTS:
        baseline = {seg: pct for (dim, seg), pct in base.items() if dim == dimension}
        jumping = _jumping_hours(store, dimension, since, until, baseline, cfg, ws.settings.tz)
        for segment, hours in jumping.items():
            if (dimension, segment) not in ranked or len(hours) < cfg.jump_min_hours:
                continue
            hours.sort()
            dims = _segment_dims(dimension, segment)
            peak = max(v for _, v in hours)
            out.append(Signal(
                "rtc", f"rtc:{dimension}:{segment}", hours[0][0],
                msg("poor calls {share}% in {segment} (baseline {baseline}%)", share=round(peak, 1), segment=segment,
                    baseline=round(baseline.get(segment) or 0.0, 1)),
                "critical", ended_at=hours[-1][0] + timedelta(hours=1), dims=dims, link=_segment_link(dims),
                value=round(peak, 1), unit="%",
                detail={"dimension": dimension, "segment": segment, "baseline_pct": baseline.get(segment),
                        "hours": [[t.isoformat(), round(v, 1)] for t, v in hours]},
                opens=True,
            ))
    return out


def rtc_segment_series(store: Any, dims: Mapping[str, str], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The segment's poor share and MOS by 5 minutes (UTC bucket starts)."""
    from eduops.rtc.qoe import mos_weighted_sql, poor_pct_sql

    where, params = segment_where(dims)
    return list(store.query(
        f"SELECT time_bucket(INTERVAL 5 MINUTE, x.ts, TIMESTAMP '2000-01-01') AS t, {poor_pct_sql('x')} AS poor_pct, "
        f"{mos_weighted_sql('x')} AS mos, count(DISTINCT x.sid) AS sessions FROM samples x "
        f"JOIN sessions s ON s.sid = x.sid WHERE x.ts >= ? AND x.ts < ? AND {where} GROUP BY 1 ORDER BY 1",
        [as_utc(start), as_utc(end), *params]))


def rtc_worst_calls(store: Any, dims: Mapping[str, str], start: datetime, end: datetime,
                    limit: int = 5) -> list[dict[str, Any]]:
    """The segment's calls in the window with the most poor media time, worst first."""
    from eduops.rtc.qoe import media_share_sql

    where, params = segment_where(dims)
    rows = store.query(
        f"SELECT s.call_id, {media_share_sql('r.poor_ms', 'r.media_ms')} AS poor_pct, "
        "sum(r.mos_sum) / nullif(sum(r.mos_n), 0) AS mos, count(DISTINCT s.sid) AS sessions "
        f"FROM sample_rollup r JOIN sessions s ON s.sid = r.sid WHERE r.bucket >= ? AND r.bucket < ? AND {where} "
        f"GROUP BY s.call_id ORDER BY poor_pct DESC NULLS LAST, s.call_id LIMIT {int(limit)}",
        [as_utc(start - timedelta(minutes=15)), as_utc(end), *params])
    return [{"call_id": r["call_id"], "poor_pct": None if r["poor_pct"] is None else round(r["poor_pct"], 1),
             "mos": None if r["mos"] is None else round(r["mos"], 2), "sessions": r["sessions"],
             "link": f"/rtc/calls/{quote(str(r['call_id']))}"} for r in rows]


def rtc_segment_baseline(store: Any, dims: Mapping[str, str], start: datetime, days: float) -> float | None:
    """The segment's poor share over the ``days`` before ``start`` (from the 15-minute rollup)."""
    from eduops.rtc.qoe import media_share_sql

    where, params = segment_where(dims)
    rows = store.query(
        f"SELECT {media_share_sql('r.poor_ms', 'r.media_ms')} AS poor_pct FROM sample_rollup r "
        f"JOIN sessions s ON s.sid = r.sid WHERE r.bucket >= ? AND r.bucket < ? AND {where}",
        [as_utc(start - timedelta(days=days)), as_utc(start), *params])
    return rows[0]["poor_pct"] if rows else None


def rtc_signals(ws: Workspace, start: datetime, end: datetime, dims: Mapping[str, str]) -> list[Signal]:
    """The incident's own segment (its region/ISP, app version or teacher), when it names one: poor share
    and MOS by 5 minutes, starting at the first 5 minutes whose poor share jumped against its baseline."""
    store = rtc_store(ws)
    segment = {k: dims[k] for k in SEGMENT_FILTER if dims.get(k)}
    if store is None or not segment:
        return []
    points = rtc_segment_series(store, segment, start, end)
    if not points:
        return []
    cfg = evidence_settings(ws.settings)
    baseline = rtc_segment_baseline(store, segment, start, cfg.baseline_days)
    poor = [p for p in points if p["poor_pct"] is not None]
    bad = [p for p in poor if jumped(p["poor_pct"], baseline, p["sessions"], cfg, min_volume=1)]
    worst = max(poor, key=lambda p: p["poor_pct"], default=None)
    label = " / ".join(segment.values())
    return [Signal(
        "rtc", "rtc:" + ":".join(f"{k}={v}" for k, v in segment.items()), as_utc((bad or points)[0]["t"]),
        msg("call quality in {segment}", segment=label), "critical" if bad else "info",
        ended_at=as_utc((bad or points)[-1]["t"]) + FIVE_MIN, dims=segment, link=_segment_link(segment),
        value=None if worst is None else round(worst["poor_pct"], 1), unit="%",
        series=tuple((as_utc(p["t"]), round(float(p["poor_pct"]), 2)) for p in poor),
        detail={"mos": [[as_utc(p["t"]).isoformat(), round(float(p["mos"]), 2)] for p in points
                        if p["mos"] is not None],
                "baseline_pct": None if baseline is None else round(baseline, 1), "bad_buckets": len(bad),
                "worst_calls": rtc_worst_calls(store, segment, start, end)},
    )]
