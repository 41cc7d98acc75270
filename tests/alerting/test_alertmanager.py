"""Alertmanager's delivery semantics, replayed on an injected clock with asserted times."""

from __future__ import annotations

import pytest

from eduops.alerting.alertmanager import (
    AMAlert,
    Dispatcher,
    LogEntry,
    Muting,
    build_route,
    in_maintenance,
    last_tick,
    match_routes,
    needs_update,
    next_tick,
    parse_matcher,
    parse_matchers,
)
from eduops.alerting.settings import Route
from eduops.errors import UsageError


def alert(name: str, start: float = 0.0, end: float | None = None, **labels: str) -> AMAlert:
    full = {"alertname": name, **labels}
    return AMAlert(name + str(sorted(labels.items())), full, {}, start, end)


def timeline(d: Dispatcher, pushes: dict[float, list[AMAlert]], until: float, step: float = 0.1) -> list[tuple]:
    """Tick every ``step`` seconds; returns (time, firing names, resolved names) per notification."""
    sent = []
    t = 0.0
    while t <= until + 1e-9:
        now = round(t, 3)
        for a in pushes.get(now, []):
            d.put([a], now)
        for n in d.tick(now):
            sent.append(
                (
                    now,
                    sorted(a.labels["alertname"] for a in n.firing),
                    sorted(a.labels["alertname"] for a in n.resolved),
                )
            )
        t += step
    return sent


def route(**kw: object) -> Route:
    return Route.model_validate({"receiver": "default", "group_by": [], **kw})


def test_batching_group_wait_interval_and_repeat() -> None:
    d = Dispatcher(build_route(route(group_wait="1s", group_interval="1s", repeat_interval=4.9)))
    pushes = {
        1.1: [alert("test1", 1.1)],
        1.7: [alert("test5", 1.7)],
        3.3: [alert("test2", 3.3), alert("test3", 3.3), alert("test4", 3.3)],
    }
    everything = ["test1", "test2", "test3", "test4", "test5"]
    assert timeline(d, pushes, 10.0) == [
        (2.1, ["test1", "test5"], []),  # group_wait after the first alert, both batched
        (4.1, everything, []),  # the next group_interval tick after new alerts
        (9.1, everything, []),  # nothing new: the repeat, on a group_interval tick ≥ 4.9 s later
    ]


def test_repeat_interval_is_rounded_up_to_group_interval() -> None:
    d = Dispatcher(build_route(route(group_wait="1s", group_interval="2s", repeat_interval="3s")))
    times = [t for t, _, _ in timeline(d, {0.0: [alert("a")]}, 12.0)]
    assert times == [1.0, 5.0, 9.0]  # every 4 s = 3 s rounded up to a multiple of 2 s


def test_resolved_notifications_follow_send_resolved() -> None:
    for send_resolved, expected in ((True, [(1.0, ["a"], []), (3.0, [], ["a"])]), (False, [(1.0, ["a"], [])])):
        d = Dispatcher(
            build_route(route(group_wait="1s", group_interval="1s", repeat_interval="1h")),
            send_resolved=lambda r, s=send_resolved: s,
        )
        a = alert("a")
        resolved = alert("a", 0.0, 2.5)
        assert timeline(d, {0.0: [a], 2.5: [resolved]}, 6.0) == expected
        assert not d.groups  # resolved alerts leave the group once flushed


def test_an_alert_that_fired_and_resolved_between_flushes_is_not_sent() -> None:
    d = Dispatcher(
        build_route(route(group_by=["alertname"], group_wait="1s", group_interval="1s", repeat_interval="1h"))
    )
    assert timeline(d, {0.0: [alert("a")], 1.5: [alert("b", 1.5)], 1.8: [alert("b", 1.5, 1.8)]}, 4.0) == [
        (1.0, ["a"], []),
    ]
    assert list(d.groups) == ["root:[('alertname', 'a')]"]


def test_silence_window_mutes_then_lets_through() -> None:
    muting = Muting(silences=[(parse_matchers(['alertname="a"']), 0.0, 3.5, "silence 1")])
    d = Dispatcher(build_route(route(group_wait="1s", group_interval="1s", repeat_interval="1h")), muting=muting)
    assert timeline(d, {0.0: [alert("a"), alert("b")]}, 6.0) == [(1.0, ["b"], []), (4.0, ["a", "b"], [])]
    assert "a" not in str(d.muted)


def test_inhibition_by_source_with_equal_labels() -> None:
    muting = Muting(
        inhibit=[(parse_matchers(['severity="critical"']), parse_matchers(['severity="warning"']), ["host"])]
    )
    d = Dispatcher(build_route(route(group_wait="1s", group_interval="1s", repeat_interval="1h")), muting=muting)
    pushes = {
        0.0: [
            alert("DiskFull", severity="critical", host="h1"),
            alert("DiskHigh", severity="warning", host="h1"),
            alert("DiskHigh", severity="warning", host="h2"),
        ],
        2.2: [alert("DiskFull", 0.0, 2.2, severity="critical", host="h1")],
    }
    sent = timeline(d, pushes, 5.0)
    assert sent[0] == (1.0, ["DiskFull", "DiskHigh"], [])  # h2's warning only; h1's is inhibited
    assert sent[1] == (3.0, ["DiskHigh", "DiskHigh"], ["DiskFull"])  # the source resolved: h1's warning appears


def test_maintenance_window() -> None:
    # every day 02:00–03:00 Asia/Shanghai = 18:00–19:00 UTC
    day = 1_700_000_000 - 1_700_000_000 % 86400
    assert in_maintenance("0 2 * * *", 3600, "Asia/Shanghai", day + 18 * 3600 + 1800)
    assert not in_maintenance("0 2 * * *", 3600, "Asia/Shanghai", day + 19 * 3600 + 1)


def test_routing_first_match_unless_continue() -> None:
    root = build_route(
        Route.model_validate(
            {
                "receiver": "ops",
                "group_by": ["alertname"],
                "group_wait": "10s",
                "routes": [
                    {"matchers": ['severity="critical"'], "receiver": "pager", "continue": True},
                    {"matchers": ['team="db"'], "receiver": "dba", "group_wait": "1s"},
                    {"matchers": ['team=~"db|web"'], "receiver": "never-for-db"},
                ],
            }
        )
    )
    names = lambda **labels: [r.receiver for r in match_routes(root, labels)]  # noqa: E731
    assert names(severity="critical", team="db") == ["pager", "dba"]
    assert names(team="web") == ["never-for-db"]
    assert names(team="db") == ["dba"]
    assert names(team="other") == ["ops"]
    dba = match_routes(root, {"team": "db"})[0]
    assert (dba.group_by, dba.group_wait, dba.group_interval) == (["alertname"], 1.0, 300.0)


@pytest.mark.parametrize("lateness", [0.0, 0.05, 0.3, 0.7, 0.99])
def test_repeats_land_on_the_group_tick_however_late_the_loop_is(lateness: float) -> None:
    """repeat_interval 20 s, group_interval 5 s: Alertmanager repeats every 20 s; a loop that gets
    to each tick late must not log its late time and slip the repeat to 25 s."""
    d = Dispatcher(build_route(route(group_wait="5s", group_interval="5s", repeat_interval="20s")))
    d.put([alert("a")], 0.0)
    sent, t = [], 0.0
    while t <= 100:
        due = d.next_due()
        assert due is not None
        t = due + lateness  # the loop wakes up `lateness` after each tick
        sent += [round(n.at - lateness, 3) for n in d.tick(t)]
    assert sent[:5] == [5.0, 25.0, 45.0, 65.0, 85.0]


def test_a_loop_late_by_more_than_a_group_interval_keeps_the_grid() -> None:
    d = Dispatcher(build_route(route(group_wait="5s", group_interval="5s", repeat_interval="20s")))
    d.put([alert("a")], 0.0)
    assert [n.at for n in d.tick(5.0)] == [5.0]
    assert d.tick(17.5) == []  # the loop stalled past the ticks at 10 and 15
    assert d.next_due() == 20.0
    assert [n.at for n in d.tick(25.2)] == [25.2]  # tick 25 ≥ 5 + 20
    assert d.nflog[next(iter(d.nflog))].at == 25.0


@pytest.mark.parametrize(
    ("last", "interval", "now", "expected"),
    [(0, 5, 0, 5), (0, 5, 0.4, 5), (0, 5, 5, 10), (0, 5, 12.5, 15), (10, 60, 9, 70), (0, 0, 3, 3)],
)
def test_next_tick(last: float, interval: float, now: float, expected: float) -> None:
    assert next_tick(last, interval, now) == expected


@pytest.mark.parametrize(
    ("due", "interval", "now", "expected"),
    [(5, 5, 5, 5), (5, 5, 5.7, 5), (20, 5, 25.2, 25), (20, 5, 34.9, 30), (3, 0, 4, 3), (9, 5, 8, 8)],
)
def test_last_tick(due: float, interval: float, now: float, expected: float) -> None:
    assert last_tick(due, interval, now) == expected


def test_old_alert_in_a_new_group_flushes_at_once() -> None:
    d = Dispatcher(build_route(route(group_wait="30s", group_interval="1m", repeat_interval="1h")))
    d.put([alert("a", start=0.0)], 100.0)
    assert [n.at for n in d.tick(100.0)] == [100.0]


@pytest.mark.parametrize(
    ("entry", "firing", "resolved", "send_resolved", "now", "expected"),
    [
        (None, {"a"}, set(), True, 0, True),
        (None, set(), {"a"}, True, 0, False),
        (({"a"}, set(), 0), {"a", "b"}, set(), True, 1, True),
        (({"a", "b"}, set(), 0), {"a"}, {"b"}, True, 1, True),
        (({"a", "b"}, set(), 0), {"a"}, {"b"}, False, 1, False),
        (({"a"}, set(), 0), set(), {"a"}, False, 1, True),  # all resolved clears the log even without send_resolved
        ((set(), set(), 0), set(), {"a"}, True, 1, False),
        (({"a"}, set(), 0), {"a"}, set(), True, 9.99, False),
        (({"a"}, set(), 0), {"a"}, set(), True, 10, True),  # due at last + repeat_interval itself
        (({"a"}, set(), 0), {"a"}, set(), True, 11, True),
    ],
)
def test_needs_update(entry, firing, resolved, send_resolved, now, expected) -> None:  # type: ignore[no-untyped-def]
    log = LogEntry(frozenset(entry[0]), frozenset(entry[1]), entry[2]) if entry else None
    assert needs_update(log, frozenset(firing), frozenset(resolved), send_resolved, 10, now) is expected


@pytest.mark.parametrize(
    ("text", "labels", "hit"),
    [
        ('severity="critical"', {"severity": "critical"}, True),
        ("team!=db", {"team": "web"}, True),
        ('host=~"web-.*"', {"host": "web-1"}, True),
        ('host!~"web-.*"', {"host": "web-1"}, False),
        ('missing=""', {}, True),
    ],
)
def test_matchers(text: str, labels: dict[str, str], hit: bool) -> None:
    assert parse_matcher(text).matches(labels) is hit


def test_bad_matcher_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="write name="):
        parse_matcher("just words")
