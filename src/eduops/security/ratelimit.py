"""Rate limits on the API and the ingestion endpoints, with ``limits``: per API key and per client IP.

In memory by default; in Redis when ``redis_url`` (EDUOPS_REDIS_URL) is set, so several
``eduops serve`` processes share one budget. In memory with ``[web] workers`` = N, each worker counts
1/N of every limit (``per_process``): a client spread over the workers gets no more than the limit.
The memory window is counted synchronously on the event loop, in constant time per hit
(``memory_window``): ``limits``' memory storage costs more as the window fills and scans on threads.
Over the limit the answer is 429 with Retry-After. If Redis cannot be reached the request goes
through (logged): a limiter outage must not become an API outage.

Requests carrying the server's own local token (``local_access``: a CLI command on this machine, or with
``[web] workers`` above 1 a serving worker relaying what it was sent to the worker that holds the stores) are
not counted: the worker counted the client's request already, and the relays all come from 127.0.0.1, so
counting them against that address refused a busy second worker's statements once the relays passed the
/api/ limit.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, WindowStats, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from eduops.core.local_access import token_matches
from eduops.core.principal import key_from_header
from eduops.errors import ConfigError
from eduops.security.memory_window import MemoryWindow

log = logging.getLogger(__name__)
PROTECTED = ("/api/", "/xapi/")
INGEST = ("/xapi/", "/api/v1/rtc", "/api/v1/feedback")
STATE = "/xapi/activities/state"  # learning content saves a learner's State every few seconds


@dataclass(frozen=True)
class Policy:
    per_key: RateLimitItem
    per_ip: RateLimitItem
    ingest_per_key: RateLimitItem
    ingest_per_ip: RateLimitItem
    state_per_key: RateLimitItem
    state_per_ip: RateLimitItem


def parse_policy(per_key: str, per_ip: str, ingest_per_key: str, ingest_per_ip: str, state_per_key: str = "",
                 state_per_ip: str = "") -> Policy:
    """The limits as configured; the State limits default to the ingestion ones."""
    try:
        return Policy(parse(per_key), parse(per_ip), parse(ingest_per_key), parse(ingest_per_ip),
                      parse(state_per_key or ingest_per_key), parse(state_per_ip or ingest_per_ip))
    except ValueError as exc:
        raise ConfigError(f"[security] rate limit: {exc}; write e.g. '600/minute' or '20/second'") from None


def per_process(policy: Policy, processes: int) -> Policy:
    """The share of each limit one of ``processes`` serving workers counts in its own memory, so that
    together they allow no more than the configured limit (rounded down, at least 1 per window)."""
    if processes <= 1:
        return policy

    def share(item: RateLimitItem) -> RateLimitItem:
        return type(item)(max(1, item.amount // processes), item.multiples, item.namespace)

    return Policy(*(share(item) for item in (policy.per_key, policy.per_ip, policy.ingest_per_key,
                                              policy.ingest_per_ip, policy.state_per_key, policy.state_per_ip)))


def api_key_id(authorization: str | None) -> str | None:
    """The key id of an ``eduk_<id>_<secret>`` key (never the secret), or None."""
    if not authorization:
        return None
    parsed = key_from_header(authorization)
    return parsed[0] if parsed else None


def client_ip(scope: Scope, trust_forwarded: bool) -> str:
    if trust_forwarded:
        for name, value in scope.get("headers") or []:
            if name == b"x-forwarded-for":
                return value.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


def local_caller(scope: Scope, authorization: str | None) -> bool:
    """Whether the request carries this server's local token (checked in constant time, as ``auth`` does)."""
    app = scope.get("app")
    return token_matches(authorization, getattr(getattr(app, "state", None), "local_token", None))


def limits_for(path: str, policy: Policy) -> tuple[RateLimitItem, RateLimitItem]:
    if path == STATE:
        return policy.state_per_key, policy.state_per_ip
    if path.startswith(INGEST):
        return policy.ingest_per_key, policy.ingest_per_ip
    return policy.per_key, policy.per_ip


class RateLimitMiddleware:
    """ASGI middleware: every /api/ and /xapi/ request counts against its API key and its IP."""

    def __init__(self, app: ASGIApp, policy: Policy, storage_url: str = "", trust_forwarded: bool = False,
                 key_prefix: str = "eduops-rl") -> None:
        self.app = app
        self.policy = policy
        self.trust_forwarded = trust_forwarded
        self.limiter: MovingWindowRateLimiter | None = None
        self.memory: MemoryWindow | None = None
        if storage_url:
            url = "async+" + storage_url if not storage_url.startswith("async+") else storage_url
            storage = storage_from_string(url, implementation="redispy", key_prefix=key_prefix)
            self.limiter = MovingWindowRateLimiter(storage)
        else:
            self.memory = MemoryWindow()

    async def hit(self, item: RateLimitItem, kind: str, who: str) -> bool:
        if self.memory is not None:
            return self.memory.hit(item, kind, who)
        assert self.limiter is not None
        return await self.limiter.hit(item, kind, who)

    async def window_stats(self, item: RateLimitItem, kind: str, who: str) -> WindowStats:
        if self.memory is not None:
            return self.memory.stats(item, kind, who)
        assert self.limiter is not None
        return await self.limiter.get_window_stats(item, kind, who)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        if local_caller(scope, headers.get("authorization")):
            await self.app(scope, receive, send)
            return
        key_limit, ip_limit = limits_for(scope["path"], self.policy)
        checks = [(ip_limit, "ip", client_ip(scope, self.trust_forwarded))]
        key_id = api_key_id(headers.get("authorization"))
        if key_id:
            checks.insert(0, (key_limit, "key", key_id))
        for item, kind, who in checks:
            try:
                allowed = await self.hit(item, kind, who)
                if allowed:
                    continue
                stats = await self.window_stats(item, kind, who)
            except Exception as exc:  # noqa: BLE001 - Redis down: let the request through, say so
                log.warning("rate limiter unavailable, not limiting: %s", exc)
                break
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            what = "this API key" if kind == "key" else "this address"
            response = JSONResponse(
                {"error": f"too many requests from {what}: limit {item}; retry in {retry_after}s",
                 "retry_after": retry_after},
                status_code=429, headers={"Retry-After": str(retry_after), "X-RateLimit-Limit": str(item.amount)})
            await response(scope, receive, send)
            log.info("rate limited %s %s on %s", kind, who if kind == "key" else "(ip)", Request(scope).url.path)
            return
        await self.app(scope, receive, send)
