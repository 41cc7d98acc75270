"""Fixtures the drill tests share."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest


@pytest.fixture
def udp_echo() -> Iterator[str]:
    """A UDP echo server on 127.0.0.1: the far end of a media path."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(2048)
            except (TimeoutError, OSError):
                continue
            sock.sendto(data, addr)

    threading.Thread(target=serve, daemon=True).start()
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    sock.close()
