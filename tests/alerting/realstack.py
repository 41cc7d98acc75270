"""The real Prometheus and Alertmanager from Debian (packages prometheus, prometheus-alertmanager),
started on free local ports with temporary data directories and polled for readiness."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
PROMTOOL = "/usr/bin/promtool"
READY_SECONDS = 60.0  # two busy cores: start-up can be slow


def need(binary: str) -> None:
    if not Path(binary).exists():
        from tests.conftest import service_missing

        service_missing(binary, "install the Debian packages prometheus and prometheus-alertmanager")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def poll(check: Callable[[], Any], what: str, seconds: float = 30.0, every: float = 0.1) -> Any:
    """``check()``'s first truthy answer; fails with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (requests.RequestException, OSError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not within {seconds:.0f} s (last: {last!r})")


@dataclass
class Service:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    config: Path

    def get(self, path: str, **params: Any) -> Any:
        answer = requests.get(self.url + path, params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()


@contextmanager
def started(args: list[str], url: str, ready: str, workdir: Path, config: Path) -> Iterator[Service]:
    log = workdir / "output.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    service = Service(url, process, log, config)
    try:

        def is_ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{args[0]} exited: {log.read_text()[-2000:]}")
            return requests.get(url + ready, timeout=2).status_code == 200

        poll(is_ready, f"{args[0]} ready at {url}", READY_SECONDS)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def alertmanager(workdir: Path, config_yaml: str) -> Iterator[Service]:
    need(ALERTMANAGER)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(config_yaml)
    port = free_port()
    args = [
        ALERTMANAGER,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip: one instance
        "--log.level=warn",
    ]
    with started(args, f"http://127.0.0.1:{port}", "/-/ready", workdir, config) as service:
        yield service


@contextmanager
def prometheus(workdir: Path, config_yaml: str, *extra: str) -> Iterator[Service]:
    need(PROMETHEUS)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(config_yaml)
    port = free_port()
    args = [
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
        *extra,
    ]
    with started(args, f"http://127.0.0.1:{port}", "/-/ready", workdir, config) as service:
        yield service


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn on an ephemeral port; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    poll(lambda: server.started or not thread.is_alive(), "uvicorn started", 30)
    assert thread.is_alive(), "uvicorn stopped"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


VICTORIAMETRICS = "/usr/bin/victoria-metrics"


@contextmanager
def victoriametrics(workdir: Path) -> Iterator[Service]:
    """Debian's victoria-metrics (single node) with a temporary data directory."""
    need(VICTORIAMETRICS)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = [
        VICTORIAMETRICS,
        f"-storageDataPath={workdir / 'data'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y",
        "-search.disableCache",
        "-loggerLevel=ERROR",
    ]
    with started(args, f"http://127.0.0.1:{port}", "/health", workdir, workdir) as service:
        yield service
