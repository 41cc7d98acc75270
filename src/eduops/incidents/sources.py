"""Signals from every domain: what can open an incident (``openers``) and what an incident's timeline
shows (``timeline``). Each source reads its domain through that domain's own functions and stores;
incidents never re-measure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from eduops.alerting.models import AlertEvent, AlertState
from eduops.core.i18n import decode, msg
from eduops.core.models import FindingRow, Run
from eduops.core.workspace import Workspace
from eduops.db import as_utc, session_scope
from eduops.feedback.models import FeedbackCluster, FeedbackItem
from eduops.incidents.call_signals import rtc_openers, rtc_signals
from eduops.incidents.dims import feedback_dims, normal_dims
from eduops.incidents.jumps import evidence_settings, surged
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
FAILED_RUN = ("warn", "crit", "error")
RELEASE_TASK = "release-check"  # its runs are the release signals' journey results


def _naive(value: datetime) -> datetime:
    return as_utc(value).replace(tzinfo=None)


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
            entry["events"].setdefault(e.event, as_utc(e.at))
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
            events = {"firing": as_utc(r.fired_at or r.active_at)}
            if r.acked_at:
                events["acknowledged"] = as_utc(r.acked_at)
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
    stamps = sorted(as_utc(i.received_at) for i in items)
    first = min((as_utc(i.received_at) for i in naming), default=stamps[0])
    examples = [{"id": i.id, "text": i.text, "received_at": as_utc(i.received_at).isoformat(),
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
        rows = [(r.version, as_utc(r.deployed_at), r.post_run_id, list(r.changes)) for r in session.scalars(
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
                "run", f"run:{run.id}", as_utc(run.started_at), msg("{task} run: {status}", task=run.task_key,
                                                                   status=run.status),
                "critical" if run.status in ("crit", "error") else "warning",
                ended_at=as_utc(run.finished_at) if run.finished_at else None, dims=dims, link=f"/runs/{run.id}",
                value=float(len(findings)),
                detail={"task": run.task_key, "summary": str(decode(run.summary)),
                        "findings": [{"severity": f.severity, "title": str(decode(f.title)), "detail": f.detail}
                                     for f in findings[:10]]},
            ))
    return out


# -- learning


def learning_signals(ws: Workspace, start: datetime, end: datetime) -> list[Signal]:
    """Courses where the share of quiz attempts never answered jumped against the baseline days before
    (they join an incident; a learning drop alone does not open one)."""
    return step_drops(ws.settings, start, end, evidence_settings(ws.settings))


# -- together


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
    since, until = as_utc(since), as_utc(until)
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
    start, end = as_utc(start), as_utc(end)
    found: list[Signal] = []
    found += _guarded("alerts", lambda: alert_signals(ws, start, end))
    found += _guarded("feedback", lambda: feedback_signals(ws, start, end))
    found += _guarded("rtc", lambda: rtc_signals(ws, start, end, normal_dims(dims)))
    found += _guarded("releases", lambda: release_signals(ws, start, end))
    found += _guarded("runs", lambda: run_signals(ws, start, end))
    found += _guarded("analytics", lambda: learning_signals(ws, start, end))
    return sorted(found, key=lambda s: (s.at, s.kind, s.ref))
