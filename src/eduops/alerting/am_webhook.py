"""Alertmanager's webhook, version 4, both ways.

Out: eduops's generic webhook channel (``webhook://host/path``, ``webhooks://`` for HTTPS) posts
the body Alertmanager's ``webhook_configs`` post, so whatever reads Alertmanager webhooks (ticket
bridges, on-call tools, Grafana OnCall, another eduops) reads eduops's notifications.
In: ``parse_webhook`` checks such a body (from the team's own Alertmanager) and returns its alerts.

https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from eduops.alerting.alertmanager import AMAlert, Notification
from eduops.errors import UsageError

WEBHOOK_SCHEMES = {"webhook": "http", "webhooks": "https"}
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt for an alert with no end yet
MAX_WEBHOOK_ALERTS = 1000
TIMEOUT = 10.0


def rfc3339(ts: float | None) -> str:
    if ts is None:
        return ZERO_TIME
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any, what: str) -> float | None:
    """An RFC 3339 time as epoch seconds; Alertmanager's zero time (and empty) is None."""
    if value in (None, "") or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    if not isinstance(value, str):
        raise UsageError(f"{what}: an RFC 3339 time such as 2026-01-02T03:04:05Z, not {value!r}")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # Go writes nanoseconds; Python takes at most microseconds
        head, _, tail = text.partition(".")
        digits = tail[: len(tail) - len(tail.lstrip("0123456789"))]
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not an RFC 3339 time such as 2026-01-02T03:04:05Z") from None
    if when.tzinfo is None:
        raise UsageError(f"{what}: {value!r} has no time zone; write Z or +08:00")
    return when.timestamp()


def common(dicts: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every dict has (Alertmanager's commonLabels / commonAnnotations)."""
    if not dicts:
        return {}
    first, rest = dicts[0], dicts[1:]
    return {k: v for k, v in sorted(first.items()) if all(d.get(k) == v for d in rest)}


def alert_body(a: AMAlert, status: str, base_url: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "startsAt": rfc3339(a.starts_at),
        "endsAt": rfc3339(a.ends_at if status == "resolved" else None),
        "generatorURL": f"{base_url.rstrip('/')}/alerts/{a.fingerprint}",
        "fingerprint": a.fingerprint,
    }


def webhook_body(note: Notification, base_url: str, max_alerts: int = 0) -> dict[str, Any]:
    """The version 4 body Alertmanager posts for one notification of one group to one receiver."""
    alerts = [alert_body(a, "firing", base_url) for a in note.firing]
    alerts += [alert_body(a, "resolved", base_url) for a in note.resolved]
    every = note.firing + note.resolved
    truncated = max(len(alerts) - max_alerts, 0) if max_alerts > 0 else 0
    return {
        "version": "4",
        "groupKey": note.am_group_key or note.group_key,
        "truncatedAlerts": truncated,
        "status": "firing" if note.firing else "resolved",
        "receiver": note.receiver,
        "groupLabels": dict(note.group_labels),
        "commonLabels": common([a.labels for a in every]),
        "commonAnnotations": common([a.annotations for a in every]),
        "externalURL": base_url.rstrip("/"),
        "alerts": alerts[: len(alerts) - truncated],
    }


def http_url(url: str) -> str:
    """``webhook://host/path`` → ``http://host/path``; ``webhooks://`` → ``https://``."""
    parts = urlsplit(url)
    scheme = WEBHOOK_SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise UsageError(f"{url[:12]!r}… is not a webhook URL: write webhook://host/path or webhooks://host/path")
    return urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))


def post_webhook(url: str, payloads: list[dict[str, Any]]) -> tuple[bool, str]:
    """POST each body as JSON; any answer but 2xx is a failure (Delivery retries the whole batch)."""
    import requests

    target = http_url(url)
    for payload in payloads:
        try:
            answer = requests.post(target, json=payload, timeout=TIMEOUT)
        except requests.RequestException as exc:
            return False, f"{type(exc).__name__}: cannot reach the webhook"
        if not 200 <= answer.status_code < 300:
            return False, f"webhook answered HTTP {answer.status_code}: {answer.text[:200]}"
    return True, ""


# -- in: Alertmanager's webhook posted to eduops


def _str_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise UsageError(f"{what}: an object of string values, as Alertmanager sends")
    return dict(value)


def parse_webhook(body: Any) -> tuple[dict[str, Any], list[AMAlert]]:
    """The group fields and alerts of a version 4 body; what is wrong is named in a UsageError."""
    if not isinstance(body, dict):
        raise UsageError("send Alertmanager's webhook body: a JSON object with version, status and alerts")
    version = str(body.get("version", ""))
    if version != "4":
        raise UsageError(f"version {version or 'missing'}: eduops takes Alertmanager's webhook version 4")
    raw_alerts = body.get("alerts")
    if not isinstance(raw_alerts, list):
        raise UsageError("alerts: a list of alerts, each with status, labels, annotations, startsAt and endsAt")
    if len(raw_alerts) > MAX_WEBHOOK_ALERTS:
        raise UsageError(f"{len(raw_alerts)} alerts in one body; at most {MAX_WEBHOOK_ALERTS} (set max_alerts)")
    alerts: list[AMAlert] = []
    for i, raw in enumerate(raw_alerts):
        where = f"alerts[{i}]"
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: an object with status, labels, annotations, startsAt and endsAt")
        status = raw.get("status")
        if status not in ("firing", "resolved"):
            raise UsageError(f"{where}.status: firing or resolved, not {status!r}")
        labels = _str_map(raw.get("labels"), f"{where}.labels")
        if not labels.get("alertname"):
            raise UsageError(f"{where}.labels: an alertname label is required")
        annotations = _str_map(raw.get("annotations"), f"{where}.annotations")
        starts = parse_time(raw.get("startsAt"), f"{where}.startsAt")
        ends = parse_time(raw.get("endsAt"), f"{where}.endsAt")
        if starts is None:
            raise UsageError(f"{where}.startsAt: required (RFC 3339)")
        if status == "resolved" and ends is None:
            raise UsageError(f"{where}.endsAt: a resolved alert needs its end time")
        fp = raw.get("fingerprint")
        alerts.append(
            AMAlert(
                str(fp) if isinstance(fp, str) and fp else "",
                labels,
                annotations,
                starts,
                ends if status == "resolved" else None,
            )
        )
    group = {
        "receiver": str(body.get("receiver", "")),
        "status": str(body.get("status", "")),
        "groupKey": str(body.get("groupKey", "")),
        "externalURL": str(body.get("externalURL", "")),
    }
    return group, alerts
