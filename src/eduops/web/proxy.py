"""Which reverse proxy is believed: ``trusted_proxies`` (eduops.toml, or ``EDUOPS_TRUSTED_PROXIES``).

Only when the connection comes from a trusted address are ``Forwarded`` (RFC 7239, preferred) or
``X-Forwarded-For``/``X-Forwarded-Proto`` read. The chain is walked from the nearest hop outward,
skipping trusted proxies; the first address that is not trusted is the client (a client cannot
forge its way past a proxy that appends what it saw). The ASGI middleware puts that address and
scheme into the request scope, so throttling, rate limits, audit rows, ``Secure`` cookies and links
all see the real client. uvicorn's own proxy handling is off (``eduops.web.server``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(i, strict=False) for i in items]


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address from a forwarded value: ``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:443``, ``2001:db8::1``."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    found = _address(address)
    return found is not None and any(found in net for net in trusted)


@dataclass(frozen=True)
class Hop:
    address: str  # as written (may be "unknown" or an obfuscated name in Forwarded)
    proto: str | None


def parse_forwarded(values: Sequence[str]) -> list[Hop]:
    """``Forwarded`` header values (RFC 7239) as hops, nearest last; elements without ``for`` are skipped."""
    hops = []
    for value in values:
        for element in value.split(","):
            pairs = {}
            for pair in element.split(";"):
                key, _, val = pair.partition("=")
                if key.strip():
                    pairs[key.strip().lower()] = val.strip().strip('"')
            if "for" in pairs:
                hops.append(Hop(pairs["for"], pairs.get("proto", "").lower() or None))
    return hops


def parse_x_forwarded(for_values: Sequence[str], proto_values: Sequence[str]) -> list[Hop]:
    """``X-Forwarded-For`` (with ``X-Forwarded-Proto`` lined up from the right when it has as many entries)."""
    addresses = [a.strip() for v in for_values for a in v.split(",") if a.strip()]
    protos = [p.strip().lower() for v in proto_values for p in v.split(",") if p.strip()]
    if len(protos) == len(addresses):
        return [Hop(a, p) for a, p in zip(addresses, protos, strict=True)]
    last = protos[-1] if protos else None  # one value (the usual case): what the nearest proxy saw
    return [Hop(a, last if i == len(addresses) - 1 else None) for i, a in enumerate(addresses)]


def resolve(peer: str, scheme: str, hops: Sequence[Hop], trusted: Sequence[Network]) -> tuple[str, str]:
    """The client's (address, scheme): ``peer`` and ``scheme`` unless ``peer`` is a trusted proxy."""
    if not hops or not is_trusted(peer, trusted):
        return peer, scheme
    chosen = hops[0]  # every hop trusted: the farthest one
    for hop in reversed(hops):
        chosen = hop
        if not is_trusted(hop.address, trusted):
            break
    found = _address(chosen.address)
    address = str(found) if found is not None else chosen.address
    proto = chosen.proto or next((h.proto for h in reversed(hops) if h.proto), None)
    return address, proto if proto in ("http", "https") else scheme


class ProxyHeaders:
    """ASGI middleware: the real client address and scheme in the scope, from trusted proxies only."""

    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.trusted = parse_networks(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted and scope.get("client"):
            peer, peer_port = scope["client"]
            headers = scope["headers"]
            forwarded = [v.decode("latin-1") for k, v in headers if k == b"forwarded"]
            if forwarded:
                hops = parse_forwarded(forwarded)
            else:
                hops = parse_x_forwarded([v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"],
                                         [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-proto"])
            websocket = scope["type"] == "websocket"
            plain = str(scope.get("scheme") or "http")
            plain = {"ws": "http", "wss": "https"}.get(plain, plain)
            address, scheme = resolve(peer, plain, hops, self.trusted)
            if (address, scheme) != (peer, plain):
                scope = dict(scope)
                scope["client"] = (address, peer_port if address == peer else 0)
                scope["scheme"] = {"http": "ws", "https": "wss"}[scheme] if websocket else scheme
        await self.app(scope, receive, send)
