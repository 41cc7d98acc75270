"""Sending eduops's alerts to the team's Alertmanager (``[alerting] alertmanager_url``) the way
Prometheus's notifier does, instead of dispatching them itself.

Each cycle the firing and recently resolved alerts that are due go to ``POST /api/v2/alerts``:
an alert is due when it resolved since it was last sent or when ``resend`` (Prometheus's
``--rules.alert.resend-delay``, 1m) has passed since then. A firing alert carries
``endsAt`` = now + 4 × max(resend, evaluation interval), so Alertmanager resolves it by itself if
eduops goes quiet; a resolved one carries its resolution time. A failed post is retried on the
next cycle after ``RETRY_SECONDS`` and nothing is marked sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from eduops.alerting.alertmanager import AMAlert
from eduops.alerting.am_webhook import rfc3339

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
TIMEOUT = 5.0


def needs_sending(resolved_at: float | None, last_sent: float | None, resend: float, now: float) -> bool:
    """Prometheus's Alert.needsSending: never sent, resolved since last sent, or the resend delay passed."""
    if last_sent is None:
        return True
    if resolved_at is not None and resolved_at > last_sent:
        return True
    return last_sent + resend < now


def valid_until(now: float, resend: float, interval: float) -> float:
    """endsAt of a firing alert: four resend/evaluation periods ahead (Prometheus's ValidUntil)."""
    return now + 4 * max(resend, interval)


def api_alert(a: AMAlert, now: float, resend: float, interval: float, generator: str) -> dict[str, Any]:
    """One element of the body of POST /api/v2/alerts."""
    return {
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "startsAt": rfc3339(a.starts_at),
        "endsAt": rfc3339(a.ends_at if a.ends_at is not None else valid_until(now, resend, interval)),
        "generatorURL": generator,
    }


def post_alerts(url: str, alerts: list[dict[str, Any]]) -> tuple[bool, str]:
    import requests

    target = url.rstrip("/") + "/api/v2/alerts"
    try:
        answer = requests.post(target, json=alerts, timeout=TIMEOUT)
    except requests.RequestException as exc:
        return False, f"cannot reach Alertmanager at {url} ({type(exc).__name__})"
    if answer.status_code != 200:
        return False, f"Alertmanager answered HTTP {answer.status_code}: {answer.text[:200]}"
    return True, ""


@dataclass
class Forwarder:
    url: str
    base_url: str
    resend: float = 60.0
    interval: float = 30.0
    post: Any = post_alerts
    last_sent: dict[str, float] = field(default_factory=dict)
    retry_at: float = 0.0
    last_error: str = ""
    sent: int = 0

    def due(self, alerts: list[AMAlert], now: float) -> list[AMAlert]:
        out = []
        for a in alerts:
            last = self.last_sent.get(a.fingerprint)
            if needs_sending(a.ends_at, last, self.resend, now):
                out.append(a)
        return out

    def forward(self, alerts: list[AMAlert], now: float) -> int:
        """Post what is due; returns how many alerts were sent (0 when nothing was due or the post failed)."""
        if now < self.retry_at:
            return 0
        batch = self.due(alerts, now)
        if not batch:
            return 0
        base = self.base_url.rstrip("/")
        body = [api_alert(a, now, self.resend, self.interval, f"{base}/alerts/{a.fingerprint}") for a in batch]
        ok, error = self.post(self.url, body)
        if not ok:
            self.retry_at, self.last_error = now + RETRY_SECONDS, error
            log.warning("alerts not sent to Alertmanager, retrying in %.0f s: %s", RETRY_SECONDS, error)
            return 0
        self.retry_at, self.last_error = 0.0, ""
        for a in batch:
            self.last_sent[a.fingerprint] = now
        live = {a.fingerprint for a in alerts}
        for key in [k for k in self.last_sent if k not in live]:
            del self.last_sent[key]
        self.sent += len(batch)
        return len(batch)
