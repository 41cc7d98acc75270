"""Evidence for a technical complaint: the user's recent call quality, when the rtc domain offers it.

The call-quality domain is optional: when it is missing, changes its API, or has no calls for the user,
the answer says so instead of failing the support page.
"""

from __future__ import annotations

import importlib
import logging
from datetime import date, datetime, timedelta
from typing import Any

from eduops.config import Settings
from eduops.core.i18n import msg

log = logging.getLogger(__name__)
TECHNICAL = frozenset({"audio_video", "performance"})
SHOWN = ("call_id", "scenario", "start_ts", "participants", "mos", "poor_pct", "video_freeze_rate_pct", "band")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 2)
    return value


def _lookup(settings: Settings, user: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """Calls of ``user`` from the rtc domain: its own helper if it has one, else its call search."""
    service = importlib.import_module("eduops.rtc.service")
    helper = getattr(service, "user_recent_calls", None)
    if helper is not None:
        return list(helper(settings, user, since, until))
    calls = importlib.import_module("eduops.rtc.calls")
    return list(calls.search_calls(service.open_store(settings), user_id=user, start=since, end=until, limit=20))


def call_quality(
    settings: Settings, user: str, category: str, received_at: datetime, days: int = 7
) -> dict[str, Any] | None:
    """The user's calls in the days before the complaint, or why there are none; None when not technical."""
    if category not in TECHNICAL:
        return None
    if not user:
        return {"available": False, "reason": msg("the feedback names no user")}
    try:
        rows = _lookup(settings, user, received_at - timedelta(days=days), received_at + timedelta(hours=1))
    except ImportError:
        return {"available": False, "reason": msg("the call-quality domain is not installed")}
    except Exception as exc:  # evidence is a bonus: a failing lookup must not break the support view
        log.warning("call quality for %s failed: %s", user, exc)
        return {"available": False, "reason": msg("the call-quality lookup failed ({error})", error=type(exc).__name__)}
    if not rows:
        reason = msg("no calls of {user} in the {days} days before the complaint", user=user, days=days)
        return {"available": False, "reason": reason}
    calls = [
        {k: _plain(row.get(k)) for k in SHOWN if k in row} or {k: _plain(v) for k, v in row.items()}
        for row in rows[:20]
    ]
    return {"available": True, "calls": calls}
