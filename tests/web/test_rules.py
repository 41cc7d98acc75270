"""The console's pure rules, table by table: throttle delays, session expiry, tiles, redirects, the agenda."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from eduops.core.areas import tile_status
from eduops.core.principal import key_from_header
from eduops.web.agenda import occurrences, period, shift
from eduops.web.models import WebSession
from eduops.web.sessions import expiry_reason
from eduops.web.throttle import ACCOUNT_POLICY, blocked_until
from eduops.web.views import safe_next

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _at(*seconds: float) -> list[datetime]:
    return [T0 + timedelta(seconds=s) for s in seconds]


@pytest.mark.parametrize(
    ("failures", "now_s", "expected_s"),
    [
        ([], 0, None),
        (list(range(4)), 4, None),  # the first few failures cost nothing
        (list(range(5)), 4.5, 5),  # from the fifth on, each one asks for a wait that doubles
        (list(range(5)), 6, None),
        (list(range(8)), 8, 15),  # 8 failures: 2**3 s after the last
        (list(range(30)), 30, 29 + 15 * 60),  # capped at 15 minutes
        ([0] * 5, 15 * 60 + 1, None),  # outside the 15-minute window nothing counts
    ],
)
def test_account_delays_grow_with_failures(failures: list[float], now_s: float, expected_s: float | None) -> None:
    until = blocked_until(_at(*failures), T0 + timedelta(seconds=now_s), ACCOUNT_POLICY)
    assert until == (None if expected_s is None else T0 + timedelta(seconds=expected_s))


def test_at_most_100_failures_an_hour_per_account() -> None:
    failures = [T0 + timedelta(seconds=36 * i) for i in range(100)]  # spread so delays alone never bite
    now = T0 + timedelta(seconds=3600 - 1)
    assert blocked_until(failures, now, ACCOUNT_POLICY) == T0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("created_min", "seen_min", "now_min", "ended", "expected"),
    [
        (0, 0, 29, False, None),
        (0, 0, 30, False, "idle timeout"),
        (0, 700, 719, False, None),
        (0, 710, 720, False, "absolute timeout"),
        (0, 0, 1, True, "logout"),
    ],
)
def test_session_expiry(created_min: int, seen_min: int, now_min: int, ended: bool, expected: str | None) -> None:
    row = WebSession(created_at=T0 + timedelta(minutes=created_min), last_seen_at=T0 + timedelta(minutes=seen_min),
                     expires_at=T0 + timedelta(hours=12), ended_at=T0 if ended else None,
                     end_reason="logout" if ended else "")
    assert expiry_reason(row, T0 + timedelta(minutes=now_min)) == expected


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [([], None), (["skipped"], "skipped"), (["ok", "skipped"], "ok"), (["ok", "warn"], "warn"),
     (["error", "ok"], "error"), (["crit", "error"], "crit")],
)
def test_tile_status(statuses: list[str], expected: str | None) -> None:
    assert tile_status(statuses) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [(None, "/"), ("/runs?status=ok", "/runs?status=ok"), ("//evil.example", "/"), ("https://evil.example", "/"),
     ("/\\evil.example", "/"), ("runs", "/"), ("javascript:alert(1)", "/")],
)
def test_redirects_stay_on_the_console(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer eduk_abc123_s3cr_et", ("abc123", "s3cr_et")),
        ("bearer eduk_abc123_secret", ("abc123", "secret")),
        ("Bearer not-a-key", None),
        (_basic("abc123", "secret"), ("abc123", "secret")),
        (_basic("eduk_abc123", "secret"), ("abc123", "secret")),
        (_basic("eduk_abc123_secret", ""), ("abc123", "secret")),
        (_basic("lrs", "eduk_abc123_secret"), ("abc123", "secret")),
        (_basic("abc123", ""), None),
        ("Basic !!!", None),
        ("Digest x", None),
    ],
)
def test_api_key_headers(header: str, expected: tuple[str, str] | None) -> None:
    assert key_from_header(header) == expected


def test_agenda_periods_and_occurrences() -> None:
    assert period("week", date(2026, 3, 4))[:2] == (date(2026, 3, 2), date(2026, 3, 9))
    grid_start, grid_end, first, following = period("month", date(2026, 3, 18))
    assert (first, following) == (date(2026, 3, 1), date(2026, 4, 1))
    assert grid_start.weekday() == 0 and grid_end.weekday() == 0 and grid_start <= first
    assert shift("month", date(2026, 12, 5), 1) == date(2027, 1, 1)
    assert shift("week", date(2026, 3, 4), -1) == date(2026, 2, 25)
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 3, 2, tzinfo=shanghai)
    daily = occurrences("0 8 * * *", "Asia/Shanghai", start, start + timedelta(days=7))
    assert len(daily) == 7 and daily[0] == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert occurrences("on-demand", "UTC", start, start + timedelta(days=7)) == []
