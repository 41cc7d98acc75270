"""Evidence for a technical complaint: the user's recent call quality, when the rtc domain offers it.

The call-quality domain is optional; when it is missing, or has no calls for the user, the answer
says so instead of failing the page.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime, timedelta
from typing import Any

from eduops.config import Settings

log = logging.getLogger(__name__)
TECHNICAL = frozenset({"audio_video", "performance"})


def call_quality(
    settings: Settings, user: str, category: str, received_at: datetime, days: int = 7
) -> dict[str, Any] | None:
    """The user's calls in the days before the complaint, or why there are none; None when not technical."""
    if category not in TECHNICAL:
        return None
    if not user:
        return {"available": False, "reason": "the feedback names no user"}
    try:
        rtc = importlib.import_module("eduops.rtc.service")
    except ImportError:
        return {"available": False, "reason": "the call-quality domain is not installed"}
    lookup = getattr(rtc, "user_recent_calls", None)
    if lookup is None:
        return {"available": False, "reason": "the call-quality domain offers no per-user call history"}
    try:
        calls = lookup(settings, user, received_at - timedelta(days=days), received_at + timedelta(hours=1))
    except Exception as exc:  # evidence is a bonus: a failing lookup must not break the support view
        log.warning("call quality for %s failed: %s", user, exc)
        return {"available": False, "reason": f"the call-quality lookup failed: {type(exc).__name__}"}
    calls = list(calls or [])
    if not calls:
        return {"available": False, "reason": f"no calls of {user} in the {days} days before the complaint"}
    return {"available": True, "calls": calls[:20]}
