"""A real eduops server in a child process, for tests that measure the server itself (its memory, its
connections): ``python tests/web/live_server.py HOME`` prints the port it listens on (an ephemeral one)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Live:
    host: str
    port: int
    pid: int
    log: Path

    def status(self, field: str) -> int:
        """A memory figure of the server process from /proc (VmRSS, VmHWM), in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)


@contextmanager
def live_server(home: Path, database_url: str = "", **env_extra: str) -> Iterator[Live]:
    log = home / "server.log"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), **env_extra}
    with log.open("wb") as err:
        child = subprocess.Popen([sys.executable, __file__, str(home), database_url],
                                 stdout=subprocess.PIPE, stderr=err, env=env)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # the child prints its port once it listens (or dies: b"")
        if not line:
            raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
        yield Live("127.0.0.1", int(line), child.pid, log)
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_for(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.02)
    return False


def _main(home: str, database_url: str) -> None:
    import uvicorn

    from eduops.config import load_settings
    from eduops.core.workspace import open_workspace
    from eduops.web.app import create_app

    settings = load_settings(None, home=home, database_url=database_url)
    app = create_app(open_workspace(settings))
    if os.environ.get("EDUOPS_TEST_BOOM"):  # a route with a bug, to see what a client gets from one

        @app.get("/api/v1/test-boom")
        def boom() -> None:
            raise RuntimeError("a bug in a route")

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections made before uvicorn accepts wait in the backlog
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "")
