"""A technical complaint shows the user's recent calls from the call-quality domain, or why not."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime

import pytest

from eduops.feedback.evidence import call_quality

RECEIVED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CALL = {
    "type": "call",
    "call_id": "c1",
    "scenario": "one_on_one",
    "channel": "room-1",
    "start": "2026-11-30T11:00:00Z",
    "end": "2026-11-30T11:25:00Z",
}
SESSION = {
    "type": "session",
    "call_id": "c1",
    "user_id": "u1",
    "role": "student",
    "province": "Henan",
    "isp": "China Unicom",
    "network": "wifi",
    "platform": "web",
    "join_ok": True,
    "join_ms": 850,
    "joined_at": "2026-11-30T11:00:05Z",
}
SAMPLE = {
    "type": "sample",
    "call_id": "c1",
    "user_id": "u1",
    "ts": "2026-11-30T11:00:10Z",
    "interval_s": 5,
    "rtt_ms": 600,
    "jitter_ms": 80,
    "loss_down_pct": 12,
}


def test_technical_complaint_shows_recent_calls(sqlite_ws) -> None:
    rtc = pytest.importorskip("eduops.rtc.service")
    rtc.ingest_items(rtc.open_store(sqlite_ws.settings), [CALL, SESSION, SAMPLE])
    found = call_quality(sqlite_ws.settings, "u1", "audio_video", RECEIVED)
    assert found is not None and found["available"] is True
    assert found["calls"][0]["call_id"] == "c1"
    nobody = call_quality(sqlite_ws.settings, "u2", "audio_video", RECEIVED)
    assert nobody == {"available": False, "reason": "no calls of u2 in the 7 days before the complaint"}


@pytest.mark.parametrize(
    ("user", "category", "expected"),
    [
        ("u1", "payment", None),
        ("", "audio_video", {"available": False, "reason": "the feedback names no user"}),
    ],
)
def test_only_technical_complaints_with_a_user_get_evidence(
    sqlite_ws, user: str, category: str, expected: object
) -> None:
    assert call_quality(sqlite_ws.settings, user, category, RECEIVED) == expected


def test_without_the_call_quality_domain_it_says_so(sqlite_ws, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_rtc(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("eduops.rtc"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    import importlib

    monkeypatch.setattr(importlib, "import_module", lambda name, package=None: no_rtc(name))
    assert call_quality(sqlite_ws.settings, "u1", "performance", RECEIVED) == {
        "available": False,
        "reason": "the call-quality domain is not installed",
    }
