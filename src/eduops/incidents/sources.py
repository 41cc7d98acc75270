"""Signals from every domain: what can open an incident (``openers``) and what an incident's timeline
shows (``timeline``). Each source reads its domain through that domain's own functions and stores;
incidents never re-measure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa

from eduops.alerting.models import AlertEvent, AlertState
from eduops.core.i18n import decode, msg
from eduops.core.models import FindingRow, Run
from eduops.core.workspace import Workspace
from eduops.db import session_scope
from eduops.feedback.models import FeedbackCluster, FeedbackItem
from eduops.incidents.dims import SEGMENT_FILTER, feedback_dims, normal_dims, rtc_store, segment_where
from eduops.incidents.jumps import EvidenceSettings, evidence_settings, jumped, surged
from eduops.incidents.learning import step_drops
from eduops.incidents.signals import DIMENSIONS, Severity, Signal
from eduops.release.models import Release

log = logging.getLogger(__name__)

# alert labels → signal dimensions (first label found wins)
ALERT_DIMS = {
    "service": ("service", "job", "dependency"), "host": ("host", "instance"), "region": ("region", "province"),
    "isp": ("isp",), "app_version": ("app_version", "version"), "course": ("course", "course_id"),
    "teacher": ("teacher",),
}
CRITICAL = {"critical", "crit", "page"}
RTC_SEGMENTS = ("province_isp", "app_version", "teacher")
FAILED_RUN = ("warn", "crit", "error")
FIVE_MIN = timedelta(minutes=5)
RELEASE_TASK = "release-check"  # its runs are the release signals' journey results


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(value: datetime) -> datetime:
    return _utc(value).replace(tzinfo=None)


# -- alerts


def alert_dims(labels: Mapping[str, str]) -> dict[str, str]:
    return normal_dims({dim: next((labels[k] for k in keys if labels.get(k)), None)
                        for dim, keys in ALERT_DIMS.items()})


def alert_severity(labels: Mapping[str, str]) -> Severity:
    value = str(labels.get("severity", "")).lower()
    return "critical" if value in CRITICAL else "info" if value in ("info", "none") else "warning"


def opens_incident(labels: Mapping[str, str], annotations: Mapping[str, str]) -> bool:
    """A critical alert, or one whose rule says ``incident: true`` in its labels or annotations."""
    flag = str(labels.get("incident") or annotations.get("incident") or "").lower()
    return alert_severity(labels) == "critical" or flag in ("true", "yes", "1")


def _alert_signal(fp: str, name: str, labels: Mapping[str, str], annotations: Mapping[str, str], value: float,
                  events: dict[str, datetime]) -> Signal:
    started = events.get("firing") or events.get("pending") or min(events.values())
    return Signal(
        "alert", f"alert:{fp}", started, annotations.get("summary") or name, alert_severity(labels),
        ended_at=events.get("resolved"), dims=alert_dims(labels), link=f"/alerts/{fp}", value=value,
        detail={"alertname": name, "events": {k: v.isoformat() for k, v in events.items()},
                "labels": dict(labels)},
        opens=opens_incident(labels, annotations),
    )


def alert_signals(ws: Workspace, start: datetime, end: datetime) -> list[Signal]:
    """One signal per alert with history in the window: fired, acknowledged and resolved times."""
    by_fp: dict[str, dict[str, Any]] = {}
    with session_scope(ws.engine) as session:
        rows = session.scalars(sa.select(AlertEvent).where(AlertEvent.at >= start, AlertEvent.at < end)
                               .order_by(AlertEvent.at, AlertEvent.id))
        for e in rows:
            entry = by_fp.setdefault(e.fingerprint, {"name": e.alertname, "labels": e.labels,
                                                      "annotations": e.annotations, "value": e.value, "events": {}})
            entry["events"].setdefault(e.event, _utc(e.at))
            entry["value"] = e.value
    return [_alert_signal(fp, d["name"], d["labels"], d["annotations"], d["value"], d["events"])
            for fp, d in by_fp.items()]


def alert_openers(ws: Workspace, since: datetime, until: datetime) -> list[Signal]:
    """Alerts firing now (or that fired in the window) that are critical or marked ``incident: true``."""
    found = {s.ref: s for s in alert_signals(ws, since, until) if s.opens and "firing" in s.detail["events"]}
    with session_scope(ws.engine) as session:
        for r in session.scalars(sa.select(AlertState).where(AlertState.state == "firing")):
            if f"alert:{r.fingerprint}" in found or not opens_incident(r.labels, r.annotations):
                continue
            events = {"firing": _utc(r.fired_at or r.active_at)}
            if r.acked_at:
                events["acknowledged"] = _utc(r.acked_at)
            s = _alert_signal(r.fingerprint, r.alertname, r.labels, r.annotations, r.value, events)
            found[s.ref] = s
    return list(found.values())


# -- feedback


def _dominant(values: list[str], share: float = 0.6) -> str | None:
    """The value most items carry, when at least ``share`` of those naming one do."""
    named = [v for v in values if v]
    if not named:
        return None
    top = max(set(named), key=named.count)
    return top if named.count(top) >= share * len(named) else None


def _cluster_dims(items: list[FeedbackItem]) -> dict[str, str]:
    """The dimensions most of the cluster's complaints share (the app version they name, the region,
    ISP, course or teacher intake recorded in ``meta``)."""
    named = [feedback_dims(i.app_version, i.meta) for i in items]
    return normal_dims({k: _dominant([d.get(k, "") for d in named]) for k in DIMENSIONS})


def _hourly(stamps: list[datetime], start: datetime, end: datetime) -> tuple[tuple[datetime, float], ...]:
    first = start.replace(minute=0, second=0, microsecond=0)
    hours = max(1, int((end - first).total_seconds() // 3600) + 1)
    counts = [0] * hours
    for t in stamps:
        counts[min(hours - 1, int((t - first).total_seconds() // 3600))] += 1
    return tuple((first + timedelta(hours=h), float(n)) for h, n in enumerate(counts))


def _cluster_signal(c: FeedbackCluster, items: list[FeedbackItem], start: datetime, end: datetime,
                    opens: bool, baseline_per_day: float) -> Signal:
    dims = _cluster_dims(items)
    # the cluster starts with its first complaint that names its dimensions (older ones are background)
    naming = [i for i in items if dims and all(feedback_dims(i.app_version, i.meta).get(k) == v
                                               for k, v in dims.items())]
    stamps = sorted(_utc(i.received_at) for i in items)
    first = min((_utc(i.received_at) for i in naming), default=stamps[0])
    examples = [{"id": i.id, "text": i.text, "received_at": _utc(i.received_at).isoformat(),
                 "link": f"/feedback/items/{i.id}"} for i in sorted(items, key=lambda i: i.received_at)[-3:]]
    return Signal(
        "feedback", f"feedback:{c.id}", first, msg("complaints: {label}", label=c.label),
        "critical" if opens and len(items) >= 10 else "warning", dims=dims,
        link=f"/feedback/clusters/{c.id}", value=float(len(items)), unit="",
        series=_hourly(stamps, start, end),
        detail={"count": len(items), "category": c.category, "examples": examples,
                "baseline_per_day": round(baseline_per_day, 2), "top_terms": list(c.top_terms)[:5]},
        opens=opens,
    )


def _cluster_items(ws: Workspace, start: datetime, end: datetime) -> dict[int, list[FeedbackItem]]:
    out: dict[int, list[FeedbackItem]] = {}
    with session_scope(ws.engine) as session:
        rows = session.scalars(sa.select(FeedbackItem).where(
            FeedbackItem.received_at >= start, FeedbackItem.received_at < end, FeedbackItem.cluster_id.is_not(None),
            FeedbackItem.complaint.is_(True)))
        for i in rows:
            session.expunge(i)
            out.setdefault(int(i.cluster_id or 0), []).append(i)
    return out


def _clusters(ws: Workspace, ids: set[int]) -> dict[int, FeedbackCluster]:
    with session_scope(ws.engine) as session:
        rows = session.scalars(sa.select(FeedbackCluster).where(FeedbackCluster.id.in_(ids))).all()
        for c in rows:
            session.expunge(c)
        return {c.id: c for c in rows}


def feedback_signals(ws: Workspace, start: datetime, end: datetime, opening: bool = False) -> list[Signal]:
    """Complaint clusters with items in the window: hourly counts, three examples; a surge opens."""
    cfg = evidence_settings(ws.settings)
    recent = _cluster_items(ws, start, end)
    if not recent:
        return []
    base_start = start - timedelta(days=cfg.baseline_days)
    baseline = {cid: len(items) for cid, items in _cluster_items(ws, base_start, start).items()}
    clusters = _clusters(ws, set(recent))
    hours = (end - start).total_seconds() / 3600
    out = []
    for cid, items in recent.items():
        if cid not in clusters:
            continue
        surge = surged(len(items), baseline.get(cid, 0), hours, cfg.baseline_days * 24, cfg)
        if opening and not surge:
            continue
        out.append(_cluster_signal(clusters[cid], items, start, end, surge,
                                   baseline.get(cid, 0) / cfg.baseline_days))
    return out


# -- releases


def _journeys(ws: Workspace, run_id: int | None) -> tuple[str | None, list[dict[str, Any]]]:
    if not run_id:
        return None, []
    with session_scope(ws.engine) as session:
        run = session.get(Run, run_id)
        if run is None:
            return None, []
        journeys = [j for c in run.checks for j in (c.evidence or {}).get("journeys", [])]
        return run.status, [{k: j.get(k) for k in ("name", "title", "ok", "error")} for j in journeys]


def release_signals(ws: Workspace, start: datetime, end: datetime, opening: bool = False) -> list[Signal]:
    """Releases deployed in the window with their post-deploy journey results; a failed check opens
    (unless the release was rolled back)."""
    with session_scope(ws.engine) as session:
        rows = [(r.version, _utc(r.deployed_at), r.post_run_id, list(r.changes)) for r in session.scalars(
            sa.select(Release).where(Release.deployed_at >= start, Release.deployed_at < end))
            if r.deployed_at and not (opening and r.status == "rolled_back")]
    out = []
    for version, at, run_id, changes in rows:
        status, journeys = _journeys(ws, run_id)
        failed = [j for j in journeys if not j.get("ok")]
        opens = status in ("crit", "error") or bool(failed)
        if opening and not opens:
            continue
        title = (msg("release {version}: {failed} of {total} journeys failed after deploy", version=version,
                     failed=len(failed), total=len(journeys)) if failed
                 else msg("release {version} deployed", version=version))
        out.append(Signal("release", f"release:{version}", at, title, "critical" if opens else "info",
                          dims={"app_version": version}, link=f"/releases/{quote(version)}",
                          value=float(len(failed)), detail={"post_status": status, "journeys": journeys,
                                                            "changes": changes, "run_id": run_id},
                          opens=opens))
    return out


# -- calendar runs


def run_signals(ws: Workspace, start: datetime, end: datetime) -> list[Signal]:
    """Calendar runs in the window that found something (warn, crit, error), with their findings;
    release checks are left to ``release_signals``."""
    out = []
    with session_scope(ws.engine) as session:
        runs = session.scalars(sa.select(Run).where(Run.started_at >= start, Run.started_at < end,
                                                    Run.status.in_(FAILED_RUN), Run.task_key != RELEASE_TASK))
        for run in runs:
            findings = session.scalars(sa.select(FindingRow).where(FindingRow.run_id == run.id)).all()
            dims: dict[str, str] = {}
            for check in run.checks:
                release = (check.evidence or {}).get("release")
                if release:
                    dims["app_version"] = str(release)
            out.append(Signal(
                "run", f"run:{run.id}", _utc(run.started_at), msg("{task} run: {status}", task=run.task_key,
                                                                   status=run.status),
                "critical" if run.status in ("crit", "error") else "warning",
                ended_at=_utc(run.finished_at) if run.finished_at else None, dims=dims, link=f"/runs/{run.id}",
                value=float(len(findings)),
                detail={"task": run.task_key, "summary": str(decode(run.summary)),
                        "findings": [{"severity": f.severity, "title": str(decode(f.title)), "detail": f.detail}
                                     for f in findings[:10]]},
            ))
    return out


# -- call quality


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

    data = heatmap(store, Window(_naive(start), _naive(end)), "poor_pct", rows_dim=dimension)
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
    ranked = _ranked(store, Window(_naive(since), _naive(until)), rtc_settings(ws.settings).worst_min_sessions)
    base = _ranked(store, Window(_naive(since - timedelta(days=cfg.baseline_days)), _naive(since)), 1)
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
        [_naive(start), _naive(end), *params]))


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
        [_naive(start - timedelta(minutes=15)), _naive(end), *params])
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
        [_naive(start - timedelta(days=days)), _naive(start), *params])
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
        "rtc", "rtc:" + ":".join(f"{k}={v}" for k, v in segment.items()), _utc((bad or points)[0]["t"]),
        msg("call quality in {segment}", segment=label), "critical" if bad else "info",
        ended_at=_utc((bad or points)[-1]["t"]) + FIVE_MIN, dims=segment, link=_segment_link(segment),
        value=None if worst is None else round(worst["poor_pct"], 1), unit="%",
        series=tuple((_utc(p["t"]), round(float(p["poor_pct"]), 2)) for p in poor),
        detail={"mos": [[_utc(p["t"]).isoformat(), round(float(p["mos"]), 2)] for p in points
                        if p["mos"] is not None],
                "baseline_pct": None if baseline is None else round(baseline, 1), "bad_buckets": len(bad),
                "worst_calls": rtc_worst_calls(store, segment, start, end)},
    )]


# -- learning


def learning_signals(ws: Workspace, start: datetime, end: datetime) -> list[Signal]:
    """Courses where the share of quiz attempts never answered jumped against the baseline days before
    (they join an incident; a learning drop alone does not open one)."""
    return step_drops(ws.settings, start, end, evidence_settings(ws.settings))


# -- together

Source = Callable[[Workspace, datetime, datetime], list[Signal]]


def _guarded(name: str, source: Callable[[], list[Signal]]) -> list[Signal]:
    """A domain that is missing or failing leaves its signals out; the rest of the timeline still shows."""
    try:
        return source()
    except ImportError:
        return []
    except Exception as exc:  # evidence is a bonus: one broken source must not hide the others
        log.warning("incident source %s failed: %s", name, exc)
        return []


def openers(ws: Workspace, since: datetime, until: datetime) -> list[Signal]:
    """Everything strong enough to open an incident on its own in [since, until), oldest first."""
    since, until = _utc(since), _utc(until)
    found: list[Signal] = []
    found += _guarded("alerts", lambda: alert_openers(ws, since, until))
    found += _guarded("feedback", lambda: feedback_signals(ws, since, until, opening=True))
    # a failed post-deploy check stays a reason to open while its release is recent (cause_window_h)
    recent = since - timedelta(hours=evidence_settings(ws.settings).cause_window_h)
    found += _guarded("releases", lambda: release_signals(ws, recent, until, opening=True))
    found += _guarded("rtc", lambda: rtc_openers(ws, since, until))
    return sorted(found, key=lambda s: (s.at, s.kind, s.ref))


def timeline(ws: Workspace, start: datetime, end: datetime, dims: Mapping[str, str]) -> list[Signal]:
    """Every signal in [start, end): alerts, complaint clusters, the call-quality segment ``dims`` names,
    releases, calendar runs and learning drops; oldest first. Joining them to an incident is the
    caller's rule (by time and dimensions)."""
    start, end = _utc(start), _utc(end)
    found: list[Signal] = []
    found += _guarded("alerts", lambda: alert_signals(ws, start, end))
    found += _guarded("feedback", lambda: feedback_signals(ws, start, end))
    found += _guarded("rtc", lambda: rtc_signals(ws, start, end, normal_dims(dims)))
    found += _guarded("releases", lambda: release_signals(ws, start, end))
    found += _guarded("runs", lambda: run_signals(ws, start, end))
    found += _guarded("analytics", lambda: learning_signals(ws, start, end))
    return sorted(found, key=lambda s: (s.at, s.kind, s.ref))
