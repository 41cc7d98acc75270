"""Alertmanager's dispatch semantics, driven by an injected clock: routes, groups, dedup, muting.

``Dispatcher.put`` takes firing and resolved alerts; ``Dispatcher.tick(now)`` flushes the groups that
are due and returns the notifications to deliver. Routing is first match unless ``continue``;
a new group waits ``group_wait``, then flushes every ``group_interval``; a flush notifies when the
firing set grew, when (with send_resolved) something resolved, when everything resolved, or when
``repeat_interval`` has passed. The notification log records the group's tick (when the flush was
due), not the possibly later time the loop got to it, so a repeat lands on the first tick at or
after the last notification + ``repeat_interval`` — as in Alertmanager, never one tick later.
Silenced, inhibited and maintenance-window alerts are left out of notifications.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from eduops.core.i18n import msg
from eduops.errors import UsageError

DEFAULT_GROUP_WAIT, DEFAULT_GROUP_INTERVAL, DEFAULT_REPEAT = 30.0, 300.0, 4 * 3600.0
REPEAT_TOLERANCE = 1e-3
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(.*?))\s*$')


@dataclass(frozen=True)
class LabelMatcher:
    name: str
    op: str
    value: str
    regex: re.Pattern[str] | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        v = labels.get(self.name, "")
        if self.op == "=":
            return v == self.value
        if self.op == "!=":
            return v != self.value
        assert self.regex is not None
        hit = self.regex.fullmatch(v) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matcher(text: str) -> LabelMatcher:
    """``severity="critical"``, ``host=~"web-.*"``, ``team!=db`` (quotes optional)."""
    m = _MATCHER.match(text)
    if not m:
        raise UsageError(msg('matcher {text!r}: write name="value", name!="value", name=~"regex" or name!~"regex"',
                             text=text))
    name, op, quoted, bare = m.groups()
    value = quoted.replace('\\"', '"') if quoted is not None else (bare or "")
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise UsageError(f"matcher {text!r}: bad regular expression: {exc}") from None
    return LabelMatcher(name, op, value, regex)


def parse_matchers(texts: list[str]) -> list[LabelMatcher]:
    return [parse_matcher(t) for t in texts]


def matches_all(matchers: list[LabelMatcher], labels: dict[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


@dataclass
class AMAlert:
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None = None  # set when resolved
    value: float = 0.0

    def resolved(self, now: float) -> bool:
        return self.ends_at is not None and self.ends_at <= now


@dataclass
class RouteNode:
    id: str
    receiver: str
    matchers: list[LabelMatcher]
    group_by: list[str]
    group_wait: float
    group_interval: float
    repeat_interval: float
    continue_: bool = False
    children: list[RouteNode] = field(default_factory=list)
    key: str = "{}"  # Alertmanager's route key: matchers from the root down, e.g. {}/{severity="critical"}


def build_route(cfg: object, parent: RouteNode | None = None, rid: str = "root") -> RouteNode:
    """A RouteNode tree from a settings Route (children inherit what they do not set)."""
    get = lambda name: getattr(cfg, name, None)  # noqa: E731
    node = RouteNode(
        id=rid,
        receiver=get("receiver") or (parent.receiver if parent else "default"),
        matchers=parse_matchers(get("matchers") or []),
        group_by=list(get("group_by") or []) if get("group_by") is not None else (parent.group_by if parent else []),
        group_wait=_pick(get("group_wait"), parent.group_wait if parent else DEFAULT_GROUP_WAIT),
        group_interval=_pick(get("group_interval"), parent.group_interval if parent else DEFAULT_GROUP_INTERVAL),
        repeat_interval=_pick(get("repeat_interval"), parent.repeat_interval if parent else DEFAULT_REPEAT),
        continue_=bool(get("continue_")),
    )
    if parent is not None:
        node.key = parent.key + "/{" + ",".join(str(m) for m in node.matchers) + "}"
    node.children = [build_route(c, node, f"{rid}/{i}") for i, c in enumerate(get("routes") or [])]
    return node


def _pick(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def match_routes(node: RouteNode, labels: dict[str, str]) -> list[RouteNode]:
    """The routes an alert goes to: the deepest matching ones, first match unless ``continue``."""
    if not matches_all(node.matchers, labels):
        return []
    found: list[RouteNode] = []
    for child in node.children:
        hit = match_routes(child, labels)
        if hit:
            found.extend(hit)
            if not child.continue_:
                break
    return found or [node]


def am_group_key(route: RouteNode, glabels: dict[str, str]) -> str:
    """``{}/{severity="critical"}:{alertname="DiskFull"}``: the groupKey Alertmanager's webhook carries."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(glabels.items()))
    return f"{route.key}:{{{inner}}}"


def group_labels(route: RouteNode, labels: dict[str, str]) -> dict[str, str]:
    if "..." in route.group_by:
        return dict(labels)
    return {k: labels[k] for k in route.group_by if k in labels}


def in_maintenance(cron: str, duration: float, tz: str, now: float) -> bool:
    """Whether ``now`` falls in a window that opens on ``cron`` (in ``tz``) and lasts ``duration``."""
    local = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(tz))
    start = croniter(cron, local + timedelta(microseconds=1)).get_prev(datetime)
    return now < start.timestamp() + duration


@dataclass
class Muting:
    """What keeps an alert out of notifications, as plain data for ``mute_reason``."""

    silences: list[tuple[list[LabelMatcher], float, float, str]] = field(default_factory=list)
    windows: list[tuple[str, float, str, list[LabelMatcher], str]] = field(default_factory=list)
    inhibit: list[tuple[list[LabelMatcher], list[LabelMatcher], list[str]]] = field(default_factory=list)


def mute_reason(alert: AMAlert, firing: list[AMAlert], muting: Muting, now: float) -> str | None:
    """Why ``alert`` is muted at ``now`` (silence, maintenance window, inhibition), or None."""
    for matchers, starts, ends, sid in muting.silences:
        if starts <= now < ends and matches_all(matchers, alert.labels):
            return f"silenced by {sid}"
    for cron, duration, tz, matchers, name in muting.windows:
        if matches_all(matchers, alert.labels) and in_maintenance(cron, duration, tz, now):
            return f"maintenance window {name}"
    for source, target, equal in muting.inhibit:
        if not matches_all(target, alert.labels):
            continue
        for other in firing:
            if other.fingerprint == alert.fingerprint or other.resolved(now):
                continue
            if matches_all(source, other.labels) and all(
                other.labels.get(k, "") == alert.labels.get(k, "") for k in equal
            ):
                return f"inhibited by {other.labels.get('alertname', other.fingerprint)}"
    return None


@dataclass
class Notification:
    receiver: str
    route: str
    group_key: str
    group_labels: dict[str, str]
    firing: list[AMAlert]
    resolved: list[AMAlert]
    at: float
    am_group_key: str = ""  # as Alertmanager writes it: route key:{group labels}


@dataclass
class LogEntry:
    firing: frozenset[str]
    resolved: frozenset[str]
    at: float


@dataclass
class Group:
    route: RouteNode
    key: str
    labels: dict[str, str]
    alerts: dict[str, AMAlert] = field(default_factory=dict)
    next_flush: float = 0.0
    flushed: bool = False


class Dispatcher:
    def __init__(
        self,
        root: RouteNode,
        send_resolved: Callable[[str], bool] = lambda receiver: True,
        muting: Muting | None = None,
    ) -> None:
        self.root = root
        self.send_resolved = send_resolved
        self.muting = muting or Muting()
        self.groups: dict[str, Group] = {}
        self.nflog: dict[tuple[str, str], LogEntry] = {}
        self.muted: dict[str, str] = {}  # fingerprint → why, as of the last flush

    def put(self, alerts: list[AMAlert], now: float) -> None:
        for alert in alerts:
            for route in match_routes(self.root, alert.labels):
                glabels = group_labels(route, alert.labels)
                key = f"{route.id}:{sorted(glabels.items())}"
                group = self.groups.get(key)
                if group is None:
                    if alert.resolved(now):
                        continue  # a resolved alert alone never opens a group
                    group = Group(route, key, glabels, next_flush=now + route.group_wait)
                    self.groups[key] = group
                group.alerts[alert.fingerprint] = alert
                if not group.flushed and alert.starts_at + route.group_wait < now:
                    group.next_flush = min(group.next_flush, now)

    def next_due(self) -> float | None:
        return min((g.next_flush for g in self.groups.values()), default=None)

    def tick(self, now: float) -> list[Notification]:
        out: list[Notification] = []
        firing_all = [a for g in self.groups.values() for a in g.alerts.values() if not a.resolved(now)]
        for key, group in list(self.groups.items()):
            if group.next_flush > now:
                continue
            note = self.flush(group, firing_all, now, tick=last_tick(group.next_flush, group.route.group_interval, now))
            if note:
                out.append(note)
            group.flushed = True
            group.next_flush = next_tick(group.next_flush, group.route.group_interval, now)
            for fp, alert in list(group.alerts.items()):
                if alert.resolved(now):
                    del group.alerts[fp]
            if not group.alerts:
                del self.groups[key]
        return out

    def flush(
        self, group: Group, firing_all: list[AMAlert], now: float, tick: float | None = None
    ) -> Notification | None:
        """Notify what changed; ``tick`` is when this flush was due (the log's time), ``now`` the loop's."""
        tick = now if tick is None else min(tick, now)
        alerts = []
        for alert in group.alerts.values():
            reason = mute_reason(alert, firing_all, self.muting, now)
            if reason:
                self.muted[alert.fingerprint] = reason
            else:
                self.muted.pop(alert.fingerprint, None)
                alerts.append(alert)
        firing = frozenset(a.fingerprint for a in alerts if not a.resolved(now))
        resolved = frozenset(a.fingerprint for a in alerts if a.resolved(now))
        receiver = group.route.receiver
        entry = self.nflog.get((group.key, receiver))
        send_resolved = self.send_resolved(receiver)
        if not needs_update(entry, firing, resolved, send_resolved, group.route.repeat_interval, tick):
            return None
        self.nflog[(group.key, receiver)] = LogEntry(firing, resolved, tick)
        sent_resolved = [a for a in alerts if a.fingerprint in resolved] if send_resolved else []
        sent_firing = [a for a in alerts if a.fingerprint in firing]
        if not sent_firing and not sent_resolved:
            return None
        return Notification(
            receiver,
            group.route.id,
            group.key,
            group.labels,
            sent_firing,
            sent_resolved,
            now,
            am_group_key(group.route, group.labels),
        )


def last_tick(due: float, interval: float, now: float) -> float:
    """The latest tick of the grid ``due`` + k·``interval`` at or before ``now`` (``due`` ≤ ``now``)."""
    if interval <= 0 or now <= due:
        return min(due, now)
    return due + ((now - due) // interval) * interval


def next_tick(last: float, interval: float, now: float) -> float:
    """The group's next tick after ``now`` on its own grid (``last`` + k·``interval``), however late the loop was."""
    if interval <= 0:
        return now
    skipped = max(int((now - last) // interval), 0)
    following = last + (skipped + 1) * interval
    return following if following > now else following + interval


def needs_update(
    entry: LogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    send_resolved: bool,
    repeat: float,
    now: float,
) -> bool:
    """Alertmanager's DedupStage.needsUpdate; ``now`` is the group tick, and a repeat is due at
    ``entry.at + repeat`` itself (a tolerance of 1 ms absorbs float sums of intervals)."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        return bool(entry.firing)
    if send_resolved and not resolved <= entry.resolved:
        return True
    return entry.at + repeat <= now + REPEAT_TOLERANCE
