"""Delivery through Apprise with what Apprise lacks: per-channel rate limits that batch instead of
dropping, retries with exponential backoff, isolation between channels and a delivery log.

Channels are Apprise URLs stored encrypted (``notify_channels``). ``Delivery.enqueue`` queues a
message for a channel; ``Delivery.tick(now)`` sends what is due (tests drive it on an injected
clock); ``Delivery.start()`` runs one worker thread per channel so a slow or failing channel never
delays another.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.alerting.am_webhook import WEBHOOK_SCHEMES, http_url, post_webhook
from eduops.alerting.models import Channel
from eduops.alerting.models import Delivery as DeliveryRow
from eduops.core.crypto import Keyring, decrypt, encrypt, mask
from eduops.db import session_scope
from eduops.errors import Conflict, NotFound, UsageError

log = logging.getLogger(__name__)

# robots that refuse more than this many messages a minute (DingTalk and WeCom: 20)
SCHEME_RATE = {"dingtalk": 20, "wecombot": 20, "feishu": 100, "lark": 100}
DEFAULT_RATE = 60
MAX_ATTEMPTS = 6
BACKOFF_BASE, BACKOFF_MAX = 2.0, 300.0

Sender = Callable[[str, str, str], tuple[bool, str]]  # (url, title, body) → (ok, error)
WebhookSender = Callable[[str, list[dict[str, Any]]], tuple[bool, str]]  # (url, v4 bodies) → (ok, error)


def apprise_send(url: str, title: str, body: str) -> tuple[bool, str]:
    """Send one Markdown message through Apprise; the error text never contains the URL's secrets."""
    import apprise

    from eduops.alerting.notify_robots import install

    install()
    ap = apprise.Apprise()
    if not ap.add(url):
        return False, f"{scheme_of(url)}:// URL is not valid for Apprise"
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = ap.notify(body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN)
    text = captured.getvalue().strip().replace(url, mask(url))
    return bool(ok), "" if ok else (text.splitlines()[-1] if text else "delivery failed")


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): 2, 4, 8 … capped at 5 minutes."""
    return min(BACKOFF_BASE * 2 ** (attempt - 1), BACKOFF_MAX)


@dataclass
class Message:
    title: str
    body: str
    receiver: str = ""
    group_key: str = ""
    alerts: int = 0
    queued_at: float = 0.0
    payloads: list[dict[str, Any]] = field(default_factory=list)  # Alertmanager v4 bodies, for webhook://


def merge(messages: list[Message]) -> Message:
    """Several queued messages as one (what a rate-limited channel sends instead of dropping)."""
    if len(messages) == 1:
        return messages[0]
    body = "\n\n---\n\n".join(f"**{m.title}**\n\n{m.body}" for m in messages)
    return Message(
        f"{messages[0].title} (+{len(messages) - 1})",
        body,
        messages[0].receiver,
        messages[0].group_key,
        sum(m.alerts for m in messages),
        messages[0].queued_at,
        [p for m in messages for p in m.payloads],
    )


@dataclass
class ChannelQueue:
    name: str
    url: str
    rate_per_minute: int
    pending: list[Message] = field(default_factory=list)
    in_flight: list[Message] = field(default_factory=list)
    sent_at: deque[float] = field(default_factory=deque)
    attempts: int = 0
    retry_at: float = 0.0
    wake: threading.Condition = field(default_factory=threading.Condition)

    def next_due(self, now: float) -> float | None:
        """When this channel may send next, or None when it has nothing to send."""
        if not self.pending and not self.in_flight:
            return None
        while self.sent_at and self.sent_at[0] <= now - 60:
            self.sent_at.popleft()
        due = self.retry_at if self.in_flight else now
        if len(self.sent_at) >= self.rate_per_minute:
            due = max(due, self.sent_at[0] + 60)
        return due


class Delivery:
    def __init__(
        self,
        engine: Engine | None,
        channels: dict[str, ChannelQueue],
        sender: Sender = apprise_send,
        clock: Callable[[], float] = time.time,
        webhook_sender: WebhookSender = post_webhook,
    ) -> None:
        self.engine, self.channels, self.sender, self.clock = engine, channels, sender, clock
        self.webhook_sender = webhook_sender
        self.log: list[dict[str, object]] = []  # the same rows as the delivery log, for tests and the bench
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def enqueue(self, channel: str, message: Message) -> None:
        queue = self.channels.get(channel)
        if queue is None:
            self._record(
                channel,
                message,
                "failed",
                0,
                f"no channel {channel!r}; add it with `eduops alerts channel add`",
                self.clock(),
                1,
            )
            return
        message.queued_at = message.queued_at or self.clock()
        with queue.wake:
            queue.pending.append(message)
            queue.wake.notify()

    def tick(self, now: float) -> int:
        """Send every channel's due message once (synchronously); returns how many sends were tried."""
        tried = 0
        for queue in self.channels.values():
            due = queue.next_due(now)
            if due is not None and due <= now:
                self._send(queue, now)
                tried += 1
        return tried

    def _send(self, queue: ChannelQueue, now: float) -> None:
        with queue.wake:
            if not queue.in_flight:
                queue.in_flight, queue.pending = queue.pending, []
            batch = list(queue.in_flight)
        if not batch:
            return
        message = merge(batch)
        queue.sent_at.append(now)
        try:
            if scheme_of(queue.url) in WEBHOOK_SCHEMES:
                ok, error = self.webhook_sender(queue.url, message.payloads)
            else:
                ok, error = self.sender(queue.url, message.title, message.body)
        except Exception as exc:  # a broken plugin is a failed attempt, not a dead worker
            ok, error = False, f"{type(exc).__name__}: {exc}"
        error = error.replace(queue.url, mask(queue.url))
        queue.attempts += 1
        if ok or queue.attempts >= MAX_ATTEMPTS:
            self._record(
                queue.name, message, "sent" if ok else "failed", queue.attempts, error, self.clock(), len(batch)
            )
            with queue.wake:
                queue.in_flight, queue.attempts, queue.retry_at = [], 0, 0.0
        else:
            queue.retry_at = now + backoff(queue.attempts)
            log.warning(
                "delivery to %s failed (attempt %d), retrying in %.0f s: %s",
                queue.name,
                queue.attempts,
                backoff(queue.attempts),
                error,
            )

    def _record(
        self, channel: str, message: Message, status: str, attempts: int, error: str, at: float, batched: int
    ) -> None:
        row = {
            "channel": channel,
            "receiver": message.receiver,
            "group_key": message.group_key,
            "status": status,
            "attempts": attempts,
            "alerts": message.alerts,
            "batched": batched,
            "title": message.title,
            "body": message.body,
            "error": error,
            "queued_at": datetime.fromtimestamp(message.queued_at, UTC),
            "sent_at": datetime.fromtimestamp(at, UTC) if status == "sent" else None,
            "extra": {},
        }
        self.log.append(row)
        if self.engine is not None:
            try:
                with session_scope(self.engine) as session:
                    session.add(DeliveryRow(**row))
            except Exception:  # the log must never stop delivery
                log.exception("could not write the delivery log")

    # -- background mode: one worker per channel
    def start(self) -> None:
        for queue in self.channels.values():
            thread = threading.Thread(target=self._worker, args=(queue,), daemon=True, name=f"notify-{queue.name}")
            thread.start()
            self._threads.append(thread)

    def _worker(self, queue: ChannelQueue) -> None:
        while not self._stop.is_set():
            now = self.clock()
            due = queue.next_due(now)
            if due is not None and due <= now:
                self._send(queue, now)
                continue
            with queue.wake:
                queue.wake.wait(timeout=1.0 if due is None else min(max(due - now, 0.01), 1.0))

    def stop(self) -> None:
        self._stop.set()
        for queue in self.channels.values():
            with queue.wake:
                queue.wake.notify_all()
        for thread in self._threads:
            thread.join(timeout=2)


# -- channels in the state database


def add_channel(engine: Engine, ring: Keyring, name: str, url: str, rate_per_minute: int = 0) -> dict[str, object]:
    scheme = scheme_of(url)
    if not scheme or "://" not in url:
        raise UsageError(
            f"{url[:12]!r}… is not a channel URL such as dingtalk://SECRET@TOKEN, mailto://… or webhook://host/path"
        )
    if scheme in WEBHOOK_SCHEMES:
        http_url(url)  # names what is wrong
    else:
        import apprise

        from eduops.alerting.notify_robots import install

        install()
        if not apprise.Apprise().add(url):
            raise UsageError(f"Apprise does not accept this {scheme}:// URL; see https://appriseit.com/services/")
    with session_scope(engine) as session:
        if session.scalar(sa.select(Channel).where(Channel.name == name)):
            raise Conflict(f"channel {name!r} exists already")
        session.add(
            Channel(
                name=name,
                url_encrypted=encrypt(ring, url, f"channel:{name}"),
                scheme=scheme,
                rate_per_minute=rate_per_minute,
            )
        )
    return {"name": name, "scheme": scheme, "rate_per_minute": rate_per_minute or SCHEME_RATE.get(scheme, DEFAULT_RATE)}


def remove_channel(engine: Engine, name: str) -> None:
    with session_scope(engine) as session:
        row = session.scalar(sa.select(Channel).where(Channel.name == name))
        if row is None:
            raise NotFound(f"no channel {name!r}")
        session.delete(row)


def list_channels(engine: Engine) -> list[dict[str, object]]:
    with session_scope(engine) as session:
        return [
            {
                "name": c.name,
                "scheme": c.scheme,
                "enabled": c.enabled,
                "rate_per_minute": c.rate_per_minute or SCHEME_RATE.get(c.scheme, DEFAULT_RATE),
            }
            for c in session.scalars(sa.select(Channel).order_by(Channel.name))
        ]


def load_queues(engine: Engine, ring: Keyring) -> dict[str, ChannelQueue]:
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(Channel).where(Channel.enabled.is_(True))).all()
        return {
            c.name: ChannelQueue(
                c.name,
                decrypt(ring, c.url_encrypted, f"channel:{c.name}"),
                c.rate_per_minute or SCHEME_RATE.get(c.scheme, DEFAULT_RATE),
            )
            for c in rows
        }
