"""Starting Locust child processes and following them: local, or a master with workers.

The eduops process never imports Locust (gevent would patch it); it reads the children's JSON lines.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from eduops.errors import ServiceUnavailable
from eduops.loadtest.shapes import Shape

OnTick = Callable[[dict[str, Any]], bool]  # returns True to end the test early


@dataclass
class LoadSpec:
    """One Locust test: the user class, the host, the shape and ``config`` for ``locustfile.CONFIG``."""

    user_class: str
    host: str
    shape: Shape
    config: dict[str, Any] = field(default_factory=dict)
    workers: int = 0

    def child_spec(self, mode: str, port: int = 0) -> dict[str, Any]:
        return {"mode": mode, "user_class": self.user_class, "host": self.host, "shape": self.shape.to_dict(),
                "config": self.config, "master_host": "127.0.0.1", "master_port": port,
                "expect_workers": self.workers}


@dataclass
class LoadOutcome:
    ticks: list[dict[str, Any]]
    final: dict[str, Any]
    stopped_early: bool
    log: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(spec: dict[str, Any], workdir: Path, name: str) -> tuple[subprocess.Popen[str], Path]:
    spec_file = workdir / f"{name}.json"
    spec_file.write_text(json.dumps(spec))
    log = workdir / f"{name}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "eduops.loadtest.worker", str(spec_file)],
        stdout=subprocess.PIPE, stderr=log.open("w"), text=True, env=env, start_new_session=True,
    )
    return proc, log


def _reader(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_load(spec: LoadSpec, on_tick: OnTick = lambda tick: False, workdir: Path | None = None,
             grace_s: float = 60.0) -> LoadOutcome:
    """Run the test to its end (or until ``on_tick`` says stop) and return every tick and the final stats."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="eduops-locust-"))
    workdir.mkdir(parents=True, exist_ok=True)
    procs: list[tuple[subprocess.Popen[str], Path]] = []
    try:
        if spec.workers > 0:
            port = _free_port()
            main = _spawn(spec.child_spec("master", port), workdir, "master")
            procs.append(main)
            for i in range(spec.workers):
                procs.append(_spawn(spec.child_spec("worker", port), workdir, f"worker-{i + 1}"))
        else:
            main = _spawn(spec.child_spec("local"), workdir, "locust")
            procs.append(main)
        return _follow(main[0], spec, on_tick, grace_s, procs)
    finally:
        for proc, _ in procs:
            _end(proc)


def _follow(proc: subprocess.Popen[str], spec: LoadSpec, on_tick: OnTick, grace_s: float,
            procs: list[tuple[subprocess.Popen[str], Path]]) -> LoadOutcome:
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + spec.shape.duration_s + grace_s
    ticks: list[dict[str, Any]] = []
    final: dict[str, Any] = {}
    asked_to_stop = False
    while True:
        try:
            line = lines.get(timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except queue.Empty:
            line = ""
        if line is None:
            break
        if time.monotonic() > deadline and not asked_to_stop:
            proc.send_signal(signal.SIGINT)
            asked_to_stop = True
            deadline += 15
        elif time.monotonic() > deadline:
            break
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("type") == "tick":
            ticks.append(message)
            if not asked_to_stop and on_tick(message):
                proc.send_signal(signal.SIGINT)
                asked_to_stop = True
        elif message.get("type") == "final":
            final = message
        elif message.get("type") == "error":
            raise ServiceUnavailable(f"the load test could not start: {message.get('message')}")
    proc.wait(timeout=15)
    log = "\n".join(p.read_text(errors="replace")[-4000:] for _, p in procs if p.exists())
    if not final:
        raise ServiceUnavailable(f"the Locust process ended without results (exit {proc.returncode}):\n{log[-2000:]}")
    return LoadOutcome(ticks, final, bool(final.get("stopped_early")), log)


def _end(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
