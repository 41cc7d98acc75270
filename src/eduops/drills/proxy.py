"""A user-space TCP/UDP proxy that eduops puts in front of a database or a media path to impair it.

Modes: ``pass``; ``cut`` (existing connections closed, new ones closed at once: the service is gone);
``reset`` (connections aborted with RST); ``delay`` (every chunk or datagram waits ``delay_ms`` ±
``jitter_ms``); ``loss`` (datagrams dropped with ``loss_pct``; on TCP a lost chunk is resent after a
200 ms retransmission timeout, as the kernel would). The kernel here has no netem, hence user space.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any

MODES = ("pass", "cut", "reset", "delay", "loss")
TCP_RTO_S = 0.2


@dataclass
class Impairment:
    mode: str = "pass"
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0

    def wait_s(self, rng: random.Random) -> float:
        if self.mode not in ("delay", "loss"):
            return 0.0
        return max(0.0, self.delay_ms + rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000.0

    def lost(self, rng: random.Random) -> bool:
        return self.mode == "loss" and rng.random() * 100 < self.loss_pct


def split_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{text!r} is not host:port (e.g. 127.0.0.1:15432)")
    return host, int(port)


@dataclass
class Proxy:
    """One proxy: ``listen`` → ``upstream``; ``set(mode, ...)`` changes the impairment at once."""

    name: str
    listen: str
    upstream: str
    protocol: str = "tcp"
    impairment: Impairment = field(default_factory=Impairment)
    rng: random.Random = field(default_factory=random.Random)
    loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: Any = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    bound: tuple[str, int] | None = None

    def start(self) -> Proxy:
        self._thread = threading.Thread(target=self._run, name=f"drill-proxy-{self.name}", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise OSError(f"proxy {self.name} could not listen on {self.listen}: {self._error}")
        return self

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._serve())
            self._ready.set()
            self.loop.run_forever()
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        host, port = split_address(self.listen)
        if self.protocol == "udp":
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _UdpFront(self), local_addr=(host, port))
            self._server = transport
            self.bound = transport.get_extra_info("sockname")[:2]
        else:
            self._server = await asyncio.start_server(self._client, host, port, reuse_address=True)
            self.bound = self._server.sockets[0].getsockname()[:2]

    def set(self, mode: str, delay_ms: float = 0.0, jitter_ms: float = 0.0, loss_pct: float = 0.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}; one of {', '.join(MODES)}")
        self.impairment = Impairment(mode, delay_ms, jitter_ms, loss_pct)
        if mode in ("cut", "reset") and self.loop is not None:
            self.loop.call_soon_threadsafe(self._drop_all, mode == "reset")

    def _drop_all(self, reset: bool) -> None:
        for writer in list(self._writers):
            _close(writer, reset)
        self._writers.clear()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._relay(reader, writer)
        except asyncio.CancelledError:  # the proxy is stopping; end quietly
            _close(writer, False)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.impairment.mode in ("cut", "reset"):
            _close(writer, self.impairment.mode == "reset")
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*split_address(self.upstream))
        except OSError:
            _close(writer, True)
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True)
        for w in (writer, up_writer):
            self._writers.discard(w)
            _close(w, False)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await reader.read(65536)
            if not data or self.impairment.mode in ("cut", "reset"):
                break
            wait = self.impairment.wait_s(self.rng) + (TCP_RTO_S if self.impairment.lost(self.rng) else 0.0)
            if wait:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        _close(writer, self.impairment.mode == "reset")

    def stop(self) -> None:
        if self.loop is None or self._thread is None:
            return

        async def shutdown() -> None:
            self._drop_all(False)
            if self._server is not None:
                self._server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=5)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


def _close(writer: asyncio.StreamWriter, reset: bool) -> None:
    if reset:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
    try:
        writer.close()
    except (OSError, RuntimeError):
        pass


class _UdpFront(asyncio.DatagramProtocol):
    """Datagrams from clients go upstream through one back socket per client, and back again."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.DatagramTransport | None = None
        self.backs: dict[tuple[str, int], asyncio.DatagramTransport] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        asyncio.ensure_future(self._forward(data, addr))

    async def _forward(self, data: bytes, addr: tuple[str, int]) -> None:
        imp = self.proxy.impairment
        if imp.mode in ("cut", "reset") or imp.lost(self.proxy.rng):
            return
        back = self.backs.get(addr)
        if back is None:
            loop = asyncio.get_running_loop()
            back, _ = await loop.create_datagram_endpoint(lambda: _UdpBack(self, addr),
                                                          remote_addr=split_address(self.proxy.upstream))
            self.backs[addr] = back
        wait = imp.wait_s(self.proxy.rng)
        if wait:
            await asyncio.sleep(wait)
        back.sendto(data)


class _UdpBack(asyncio.DatagramProtocol):
    def __init__(self, front: _UdpFront, client: tuple[str, int]) -> None:
        self.front, self.client = front, client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        asyncio.ensure_future(self._reply(data))

    async def _reply(self, data: bytes) -> None:
        imp = self.front.proxy.impairment
        if imp.mode in ("cut", "reset") or imp.lost(self.front.proxy.rng):
            return
        wait = imp.wait_s(self.front.proxy.rng)
        if wait:
            await asyncio.sleep(wait)
        if self.front.transport is not None:
            self.front.transport.sendto(data, self.client)
