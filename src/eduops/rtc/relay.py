"""A user-space UDP relay between two WebRTC peers that delays, jitters and drops packets.

The kernel here has no netem, so the probe rewrites each peer's ICE candidate to a relay port:
peer A talks to ``port_b`` (standing in for B), peer B talks to ``port_a`` (standing in for A), and
every packet crosses ``Impairment`` on its way. Loss applies to RTP media only (RTCP, STUN and DTLS
are delayed but never dropped) and is spread evenly: in every run of 100 packets of one stream
exactly ``loss_pct`` are dropped, at random places, so a few seconds of audio measure the set rate.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

Address = tuple[str, int]


@dataclass
class Impairment:
    delay_ms: float = 0.0  # one way, each direction
    jitter_ms: float = 0.0  # each packet's delay varies uniformly by ± this
    loss_pct: float = 0.0  # RTP packets dropped, per stream
    seed: int | None = None
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        if self.delay_ms < 0 or self.jitter_ms < 0 or not 0 <= self.loss_pct <= 100:
            raise ValueError("delay and jitter must be ≥ 0 and loss within 0..100 %")
        self.rng = random.Random(self.seed)

    def delay_s(self) -> float:
        spread = self.rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(self.delay_ms + spread, 0.0) / 1000


def is_rtp(data: bytes) -> bool:
    """RTP, not RTCP (RFC 5761/7983: first byte 128..191, payload type outside 192..223)."""
    return len(data) >= 12 and 128 <= data[0] <= 191 and not 192 <= data[1] <= 223


class _LossBags:
    """Per-stream drop schedule: each block of 100 packets drops ``loss_pct`` at random positions."""

    BLOCK = 100

    def __init__(self, impairment: Impairment) -> None:
        self.imp = impairment
        self.bags: dict[bytes, list[bool]] = {}

    def drop(self, data: bytes) -> bool:
        if self.imp.loss_pct <= 0 or not is_rtp(data):
            return False
        ssrc = data[8:12]
        bag = self.bags.get(ssrc)
        if not bag:
            whole = int(self.imp.loss_pct * self.BLOCK / 100)
            extra = 1 if self.imp.rng.random() < self.imp.loss_pct * self.BLOCK / 100 - whole else 0
            bag = [True] * (whole + extra) + [False] * (self.BLOCK - whole - extra)
            self.imp.rng.shuffle(bag)
            self.bags[ssrc] = bag
        return bag.pop()


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: UdpRelay, name: str) -> None:
        self.relay = relay
        self.name = name
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.relay.forward(self.name, data, addr)


class UdpRelay:
    """Relay between peer A (real address ``a``) and peer B (real address ``b``)."""

    def __init__(self, impairment: Impairment) -> None:
        self.imp = impairment
        self.loss = _LossBags(impairment)
        self.a: Address | None = None
        self.b: Address | None = None
        self.side_a: _Side | None = None  # B sends here: it stands in for A
        self.side_b: _Side | None = None  # A sends here: it stands in for B
        self.forwarded = 0
        self.dropped = 0

    async def start(self, host: str) -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        _, self.side_a = await loop.create_datagram_endpoint(lambda: _Side(self, "a"), local_addr=(host, 0))
        _, self.side_b = await loop.create_datagram_endpoint(lambda: _Side(self, "b"), local_addr=(host, 0))
        return self.port("a"), self.port("b")

    def port(self, side: str) -> int:
        proto = self.side_a if side == "a" else self.side_b
        assert proto and proto.transport
        sockname: Any = proto.transport.get_extra_info("sockname")
        return int(sockname[1])

    def forward(self, arrived_on: str, data: bytes, source: Address) -> None:
        # arrived on side "b" means A sent it (towards B): learn A's address, send from side "a" to B
        if arrived_on == "b":
            self.a, out, target = source, self.side_a, self.b
        else:
            self.b, out, target = source, self.side_b, self.a
        if target is None or out is None or out.transport is None:
            return
        if self.loss.drop(data):
            self.dropped += 1
            return
        self.forwarded += 1
        delay = self.imp.delay_s()
        transport = out.transport
        if delay <= 0:
            transport.sendto(data, target)
        else:
            asyncio.get_running_loop().call_later(delay, transport.sendto, data, target)

    def close(self) -> None:
        for side in (self.side_a, self.side_b):
            if side and side.transport:
                side.transport.close()
