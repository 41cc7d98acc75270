"""Traffic anomaly signal (DDoS, scraping, credential stuffing): per-route request rates against the
same hour of the week in earlier weeks, top talkers by IP and by account, failed-login bursts.
Start-of-term surges are annotated as expected. All pure functions over parsed requests."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_COMBINED = re.compile(r'^(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<ts>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+)[^"]*" '
                       r'(?P<status>\d{3}) ')
_ID_SEGMENT = re.compile(r"^(\d+|[0-9a-fA-F-]{16,}|[0-9a-fA-F]{24})$")


@dataclass(frozen=True)
class RequestLine:
    ts: datetime
    ip: str
    account: str
    method: str
    route: str
    status: int


def route_of(path: str) -> str:
    """/courses/42/lessons/7?x=1 → /courses/:id/lessons/:id (ids would make every route unique)."""
    path = path.split("?", 1)[0]
    return "/".join(":id" if _ID_SEGMENT.match(seg) else seg for seg in path.split("/")) or "/"


def parse_access_log(lines: Iterable[str]) -> list[RequestLine]:
    """nginx/Apache combined format; unreadable lines are skipped."""
    parsed = []
    for line in lines:
        m = _COMBINED.match(line)
        if not m:
            continue
        try:
            ts = datetime.strptime(m["ts"], "%d/%b/%Y:%H:%M:%S %z")
        except ValueError:
            continue
        parsed.append(RequestLine(ts, m["ip"], "" if m["user"] == "-" else m["user"], m["method"],
                                  route_of(m["path"]), int(m["status"])))
    return parsed


def hour_of(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def hourly_counts(requests: Iterable[RequestLine]) -> dict[tuple[str, datetime], int]:
    counts: Counter[tuple[str, datetime]] = Counter()
    for r in requests:
        counts[(r.route, hour_of(r.ts))] += 1
    return dict(counts)


def baseline(counts: dict[tuple[str, datetime], int], hour: datetime, weeks: int = 4) -> dict[str, float]:
    """Mean requests per route in the same hour of the week over the ``weeks`` before ``hour``.

    A week with no request on a route counts as zero once the route has been seen at all.
    """
    routes = {route for route, _ in counts}
    earlier = [hour - timedelta(weeks=k) for k in range(1, weeks + 1)]
    seen_weeks = [h for h in earlier if any(t == h for _, t in counts)]
    if not seen_weeks:
        return {}
    return {route: sum(counts.get((route, h), 0) for h in seen_weeks) / len(seen_weeks) for route in routes}


@dataclass(frozen=True)
class RateAnomaly:
    route: str
    observed: int
    expected: float
    ratio: float
    expected_surge: bool  # start of term: annotated, not alerted


def rate_anomalies(observed: dict[str, int], usual: dict[str, float], surge_ratio: float = 3.0,
                   min_requests: int = 100, expected_surge: bool = False) -> list[RateAnomaly]:
    """Routes whose hourly count is at least ``surge_ratio`` times the baseline (and busy enough to matter)."""
    found = []
    for route, count in observed.items():
        if count < min_requests:
            continue
        base = usual.get(route, 0.0)
        ratio = count / base if base > 0 else float("inf")
        if ratio >= surge_ratio:
            found.append(RateAnomaly(route, count, round(base, 1), round(ratio, 2) if base else ratio, expected_surge))
    return sorted(found, key=lambda a: -a.observed)


def top_talkers(requests: Iterable[RequestLine], by: str = "ip", n: int = 10) -> list[tuple[str, int]]:
    counts = Counter((r.ip if by == "ip" else r.account) for r in requests)
    counts.pop("", None)
    return counts.most_common(n)


@dataclass(frozen=True)
class Burst:
    kind: str  # ip: one address tries many accounts (credential stuffing); account: many tries on one account
    who: str
    failures: int
    distinct: int  # accounts tried (kind ip) or addresses used (kind account)
    started_at: datetime


def failed_login_bursts(attempts: Iterable[tuple[datetime, str, str]], window: timedelta = timedelta(minutes=5),
                        threshold: int = 20) -> list[Burst]:
    """Failed logins (at, username, ip) clustering within ``window``: the worst window per IP and per account."""
    by: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for at, username, ip in attempts:
        by[("ip", ip)].append((at, username))
        by[("account", username)].append((at, ip))
    bursts = []
    for (kind, who), events in by.items():
        events.sort()
        best, start, best_at = 0, 0, events[0][0]
        for end in range(len(events)):
            while events[end][0] - events[start][0] > window:
                start += 1
            if end - start + 1 > best:
                best, best_at = end - start + 1, events[start][0]
        if best >= threshold:
            inside = [e for e in events if best_at <= e[0] <= best_at + window]
            bursts.append(Burst(kind, who, best, len({other for _, other in inside}), best_at))
    return sorted(bursts, key=lambda b: -b.failures)


def in_term_start(day: date, term_starts: Iterable[date], days: int = 7) -> bool:
    """Within ``days`` after a term starts, surges are expected (everyone logs in at once)."""
    return any(timedelta(0) <= day - start <= timedelta(days=days) for start in term_starts)
