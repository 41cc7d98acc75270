"""The user-space proxy: passes traffic, cuts it, delays it, and drops UDP datagrams."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from eduops.drills.probes import probe_udp_echo
from eduops.drills.proxy import Proxy


@pytest.fixture
def tcp_echo() -> Iterator[str]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=lambda c=conn: _echo(c), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data)


def _round_trip_ms(address: tuple[str, int]) -> float:
    with socket.create_connection(address, timeout=3) as c:
        t0 = time.perf_counter()
        c.sendall(b"ping")
        assert c.recv(16) == b"ping"
        return (time.perf_counter() - t0) * 1000


def test_tcp_proxy_passes_delays_and_cuts(tcp_echo: str) -> None:
    proxy = Proxy("db", "127.0.0.1:0", tcp_echo).start()
    try:
        assert proxy.bound is not None
        assert _round_trip_ms(proxy.bound) < 100
        proxy.set("delay", delay_ms=150)
        assert _round_trip_ms(proxy.bound) >= 300  # both directions wait
        proxy.set("pass")
        held = socket.create_connection(proxy.bound, timeout=3)
        held.sendall(b"x")
        assert held.recv(4) == b"x"
        proxy.set("cut")
        held.settimeout(3)
        assert held.recv(4) == b""  # the open connection is closed
        with socket.create_connection(proxy.bound, timeout=3) as fresh:
            fresh.settimeout(3)
            assert fresh.recv(4) == b""  # and new ones are closed at once
        proxy.set("pass")
        assert _round_trip_ms(proxy.bound) < 100
    finally:
        proxy.stop()


def test_udp_proxy_loses_the_share_it_is_told_to(udp_echo: str) -> None:
    proxy = Proxy("media", "127.0.0.1:0", udp_echo, protocol="udp").start()
    try:
        address = f"127.0.0.1:{proxy.bound[1]}"
        clean = probe_udp_echo({"address": address, "count": 20, "timeout": 0.3})
        assert clean.value == 0
        proxy.set("loss", loss_pct=50, delay_ms=20)
        impaired = probe_udp_echo({"address": address, "count": 40, "timeout": 0.1})
        # each datagram crosses the proxy twice: 1 - 0.5² = 75% lost on average
        assert 50 <= impaired.value <= 95
        assert "round trip" in impaired.detail
    finally:
        proxy.stop()


def test_bad_mode_is_refused(tcp_echo: str) -> None:
    proxy = Proxy("db", "127.0.0.1:0", tcp_echo)
    with pytest.raises(ValueError, match="unknown proxy mode"):
        proxy.set("explode")
