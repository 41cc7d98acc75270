"""A real `eduops serve` in a subprocess on a workspace, and `eduops ...` commands run next to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eduops.core.local_access import Credential, credential_path, read_credential

EDUOPS = Path(sys.executable).with_name("eduops")


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    env.update(EDUOPS_HOME=str(home), COLUMNS="200", **extra)
    return env


def eduops(home: Path, *args: str, timeout: float = 300, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EDUOPS), *args], capture_output=True, text=True, env=env_for(home, **extra_env),
                          timeout=timeout, cwd=home)


def eduops_json(home: Path, *args: str) -> object:
    done = eduops(home, *args, "--json")
    assert done.returncode == 0, f"eduops {' '.join(args)}: exit {done.returncode}\n{done.stderr[-2000:]}"
    return json.loads(done.stdout)


@dataclass
class Server:
    process: subprocess.Popen[str]
    cred: Credential
    log: Path

    @property
    def url(self) -> str:
        return self.cred.url

    def stop(self, timeout: float = 60) -> str:
        """SIGTERM, as systemd stops it; the log (what it said while stopping)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)
        return self.log.read_text()


@contextmanager
def running_server(home: Path, *args: str, deadline_s: float = 120, **extra_env: str) -> Iterator[Server]:
    """`eduops serve --port 0` on ``home`` until its local credential says where it listens."""
    log = home / "serve-test.log"
    credential_path(home).unlink(missing_ok=True)
    with log.open("w") as sink:
        process = subprocess.Popen([str(EDUOPS), "serve", "--port", "0", *args], stdout=sink, stderr=subprocess.STDOUT,
                                   text=True, env=env_for(home, **extra_env), cwd=home)
    server = None
    try:
        deadline = time.monotonic() + deadline_s
        while (cred := read_credential(home)) is None or cred.pid != process.pid:
            assert process.poll() is None, f"eduops serve exited {process.returncode}:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"eduops serve wrote no credential:\n{log.read_text()[-3000:]}"
            time.sleep(0.05)
        server = Server(process, cred, log)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`eduops ...` in this process (no interpreter start-up: a fraction of a subprocess's cost on a busy
    machine), with the exit code a shell would see: an eduops error exits with its code, a traceback with 99."""
    from typer.testing import CliRunner

    from eduops.cli import app
    from eduops.core.console import reset_workspace
    from eduops.errors import EduopsError

    reset_workspace()
    try:
        result = CliRunner().invoke(app, list(args), env={"EDUOPS_HOME": str(home), "COLUMNS": "200"})
    finally:
        reset_workspace()
    code = result.exit_code
    stderr = result.stderr
    if isinstance(result.exception, EduopsError):  # what main() prints as "error: ..." and exits with
        code = result.exception.exit_code
        stderr += f"error: {result.exception.message}\n"
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        code = 99
    stderr += f"\n{result.exception!r}" if code == 99 else ""
    return subprocess.CompletedProcess(list(args), code, result.stdout, stderr)


def cli_json(home: Path, *args: str) -> object:
    done = cli(home, *args, "--json")
    assert done.returncode == 0, f"eduops {' '.join(args)}: exit {done.returncode}\n{done.stderr[-2000:]}"
    return json.loads(done.stdout)
