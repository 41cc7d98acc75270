"""What the HTTP benches share: a free port and a real `eduops serve` to post to."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

EDUOPS = str(Path(sys.executable).parent / "eduops")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, port: int, timeout_s: float = 90.0, workers: int = 1) -> subprocess.Popen[bytes]:
    """`eduops serve --no-scheduler --workers N` on the workspace in ``home``, once /healthz answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env["EDUOPS_CONFIG"] = str(home / "eduops.toml")
    proc = subprocess.Popen([EDUOPS, "serve", "--port", str(port), "--no-scheduler", "--workers", str(workers)],
                            cwd=home, env=env,
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("eduops serve did not start")
