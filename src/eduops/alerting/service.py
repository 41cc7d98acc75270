"""Silences, expected surges, the rules with their state, and exporting rules as a Prometheus file."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from eduops.alerting.alertmanager import parse_matchers
from eduops.alerting.models import AlertState, ExpectedSurge, Silence
from eduops.alerting.pipeline import active_groups, rule_files
from eduops.alerting.rules import AlertingRule, RecordingRule, RuleGroup
from eduops.alerting.settings import alerting_settings
from eduops.core.i18n import msg
from eduops.db import session_scope
from eduops.errors import NotFound, ServiceUnavailable, UsageError


def _silence_dict(s: Silence, now: datetime) -> dict[str, Any]:
    state = "expired" if s.ends_at <= now else "active" if s.starts_at <= now else "pending"
    return {
        "id": s.id,
        "matchers": s.matchers,
        "starts_at": s.starts_at.isoformat(),
        "ends_at": s.ends_at.isoformat(),
        "created_by": s.created_by,
        "comment": s.comment,
        "state": state,
    }


def create_silence(
    engine: Engine,
    matchers: list[str],
    author: str,
    comment: str,
    *,
    duration: float | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A silence for alerts matching every matcher, from ``starts_at`` (now) until ``ends_at`` (or duration)."""
    now = now or datetime.now(UTC)
    if not matchers:
        raise UsageError('a silence needs at least one matcher, e.g. alertname="DiskAlmostFull"')
    parse_matchers(matchers)
    if not comment.strip():
        raise UsageError("say why in the comment; the team reads it when the alert stays quiet")
    start = starts_at or now
    end = ends_at or (start + timedelta(seconds=duration) if duration else None)
    if end is None or end <= start:
        raise UsageError("a silence ends after it starts; give --duration (e.g. 2h) or an end time")
    with session_scope(engine) as session:
        row = Silence(
            matchers=list(matchers), starts_at=start, ends_at=end, created_by=author, comment=comment, created_at=now
        )
        session.add(row)
        session.flush()
        return _silence_dict(row, now)


def list_silences(engine: Engine, include_expired: bool = False, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        query = sa.select(Silence).order_by(Silence.starts_at.desc())
        if not include_expired:
            query = query.where(Silence.ends_at > now)
        return [_silence_dict(s, now) for s in session.scalars(query)]


def expire_silence(engine: Engine, silence_id: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        row = session.get(Silence, silence_id)
        if row is None:
            raise NotFound(msg("no silence {silence_id}", silence_id=silence_id))
        row.ends_at = min(row.ends_at, now)
        return _silence_dict(row, now)


def silence_matchers_for(labels: dict[str, str]) -> list[str]:
    """Matchers that silence exactly one alert (what "silence from an alert" pre-fills)."""
    return [f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "severity"]


def add_surge(
    engine: Engine, title: str, starts_at: datetime, ends_at: datetime, metric: str = "", author: str = ""
) -> dict[str, Any]:
    if ends_at <= starts_at:
        raise UsageError("an expected surge ends after it starts")
    with session_scope(engine) as session:
        row = ExpectedSurge(title=title, starts_at=starts_at, ends_at=ends_at, metric=metric, created_by=author)
        session.add(row)
        session.flush()
        return {
            "id": row.id,
            "title": title,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "metric": metric,
        }


def list_surges(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [
            {
                "id": s.id,
                "title": s.title,
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "metric": s.metric,
            }
            for s in session.scalars(sa.select(ExpectedSurge).order_by(ExpectedSurge.starts_at))
        ]


def rules_overview(ws: Any) -> list[dict[str, Any]]:
    """Every active rule with where it comes from and how many of its alerts pend or fire now."""
    with session_scope(ws.engine) as session:
        states = session.execute(sa.select(AlertState.rule, AlertState.state)).all()
    counts: dict[str, dict[str, int]] = {}
    for rule, state in states:
        counts.setdefault(rule, {}).setdefault(state, 0)
        counts[rule][state] += 1
    out = []
    for row in _rule_rows(ws.settings):
        row = {**row, "labels": dict(row["labels"])}  # the caller's own: the cached rows stay as parsed
        if row["kind"] == "alert":
            c = counts.get(f"{row['group']}/{row['name']}", {})
            row.update(annotations=dict(row["annotations"]), firing=c.get("firing", 0), pending=c.get("pending", 0),
                       state="firing" if c.get("firing") else "pending" if c.get("pending") else "inactive")
        out.append(row)
    return out


# The rule files parsed into rows, per workspace, while the files and the settings that pick the rules are the
# same: parsing the YAML and PromQL of every rule file took most of a console page that shows alerts.
_RULE_ROWS: dict[str, tuple[Hashable, list[dict[str, Any]]]] = {}
_RULE_ROWS_LOCK = threading.Lock()


def _rule_rows(settings: Any) -> list[dict[str, Any]]:
    ms = alerting_settings(settings)
    files = rule_files(settings, ms)
    stamp = (tuple((str(path), *_file_stamp(path)) for path in files), tuple(ms.disabled_groups),
             tuple(ms.disabled_rules))
    key = str(settings.home)
    with _RULE_ROWS_LOCK:
        cached = _RULE_ROWS.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rows = []
    for g in active_groups(settings, ms):
        for r in g.rules:
            if isinstance(r, AlertingRule):
                rows.append({"group": g.name, "name": r.name, "kind": "alert", "expr": r.expr, "for_s": r.hold,
                             "keep_firing_for_s": r.keep_firing_for, "labels": r.labels,
                             "annotations": r.annotations, "source": r.source, "state": "inactive", "firing": 0,
                             "pending": 0})
            else:
                rows.append({"group": g.name, "name": r.record, "kind": "record", "expr": r.expr,
                             "labels": r.labels, "source": r.source, "state": "", "firing": 0, "pending": 0})
    with _RULE_ROWS_LOCK:
        _RULE_ROWS[key] = (stamp, rows)
    return rows


def _file_stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def export_prometheus(groups: list[RuleGroup]) -> str:
    """The rules as one Prometheus rule file (what `promtool check rules` reads)."""
    out: list[dict[str, Any]] = []
    for g in groups:
        group: dict[str, Any] = {"name": g.name}
        if g.interval:
            group["interval"] = _duration(g.interval)
        rules = []
        for r in g.rules:
            if isinstance(r, RecordingRule):
                rule: dict[str, Any] = {"record": r.record, "expr": r.expr}
                if r.labels:
                    rule["labels"] = dict(r.labels)
            else:
                rule = {"alert": r.name, "expr": r.expr}
                if r.hold:
                    rule["for"] = _duration(r.hold)
                if r.keep_firing_for:
                    rule["keep_firing_for"] = _duration(r.keep_firing_for)
                if r.labels:
                    rule["labels"] = dict(r.labels)
                if r.annotations:
                    rule["annotations"] = dict(r.annotations)
            rules.append(rule)
        group["rules"] = rules
        out.append(group)
    return yaml.safe_dump({"groups": out}, sort_keys=False, allow_unicode=True, width=1000)


PUSHED_PREFIX = "eduops_"


def push_rule_files(groups: list[RuleGroup], directory: Path) -> list[Path]:
    """The enabled rules as Prometheus rule files in ``directory``, one per source file
    (``eduops_<name>.yml``); files eduops wrote before that are no longer needed are removed.
    Each file is written whole (temp file + rename), so Prometheus never reads half of one."""
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--dir {directory}: not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    by_source: dict[str, list[RuleGroup]] = {}
    for g in groups:
        if g.rules:
            by_source.setdefault(Path(g.source).stem or "rules", []).append(g)
    written: list[Path] = []
    for stem, members in sorted(by_source.items()):
        path = directory / f"{PUSHED_PREFIX}{stem}.yml"
        tmp = path.with_suffix(".yml.tmp")
        tmp.write_text(export_prometheus(members))
        tmp.replace(path)
        written.append(path)
    for old in directory.glob(f"{PUSHED_PREFIX}*.yml"):
        if old not in written:
            old.unlink()
    return written


def reload_prometheus(url: str, timeout: float = 30.0) -> str:
    """POST <url>/-/reload (Prometheus started with --web.enable-lifecycle); UsageError with the reason."""
    import requests

    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--reload {url!r}: write Prometheus's base URL, e.g. http://prometheus:9090")
    target = url.rstrip("/")
    if not target.endswith("/-/reload"):
        target += "/-/reload"
    try:
        answer = requests.post(target, timeout=timeout)
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"cannot reach Prometheus at {url} ({type(exc).__name__})") from None
    if answer.status_code == 403:
        raise UsageError(f"{target}: 403; start Prometheus with --web.enable-lifecycle to allow reloads")
    if answer.status_code != 200:
        raise UsageError(f"Prometheus refused the rule files (HTTP {answer.status_code}): {answer.text.strip()[:500]}")
    return target
