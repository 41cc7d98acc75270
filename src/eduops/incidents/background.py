"""The incidents step of the one loop: every poll interval, ask the sources for signals strong enough
to open an incident and join or open; hand waiting notifications to alerting's delivery."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from eduops.alerting.notify import Delivery, load_queues
from eduops.core.leader import run_while_leading
from eduops.incidents import notices, review, service, sources
from eduops.incidents.settings import incident_settings

log = logging.getLogger(__name__)


def poll(ws: Any, now: datetime) -> dict[str, list[int]]:
    """One poll: the openers of the last ``lookback`` joined to open incidents or opening new ones, and a
    review for every quarterly drill that finished since."""
    own = incident_settings(ws.settings)
    signals = sources.openers(ws, now - timedelta(seconds=own.lookback), now)
    done = service.take_signals(ws.engine, ws.settings, signals, now=now)
    done["drills"] = review.review_finished_drills(ws.engine, ws.settings)
    return done


class IncidentWork:
    def __init__(self, ws: Any, delivery: Delivery | None = None) -> None:
        self.ws, self.delivery = ws, delivery
        self.interval = incident_settings(ws.settings).poll_interval
        self.next_poll = 0.0

    def lead(self) -> None:
        if self.delivery is None:
            from eduops.core.workspace import keyring

            self.delivery = Delivery(self.ws.engine, load_queues(self.ws.engine, keyring(self.ws.settings)))
            self.delivery.start()

    def tick(self, now: float) -> None:
        if now >= self.next_poll:
            self.next_poll = now + self.interval
            done = poll(self.ws, datetime.fromtimestamp(now, UTC))
            if done["opened"]:
                log.info("incidents opened: %s", done["opened"])
        if self.delivery is not None:
            notices.hand_over(self.ws.engine, self.delivery)

    def stop(self) -> None:
        if self.delivery is not None:
            self.delivery.stop()


def start_background(ws: Any, period: float = 1.0) -> Callable[[], None]:
    """Poll the openers and deliver notifications in the process leading "incidents" until stop()."""
    return run_while_leading(ws.engine, ws.settings.home, "incidents", IncidentWork(ws), period)
