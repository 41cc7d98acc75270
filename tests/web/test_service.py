"""`eduops service install` (a hardened systemd unit, checked by systemd-analyze) and what SIGTERM does to
a running `eduops serve`: runs finish within shutdown_timeout_seconds or are recorded as interrupted, and
the log says which."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests.conftest import make_settings, service_missing
from tests.web.serving import cli, cli_json, running_server

from eduops.core.models import Run
from eduops.db import make_engine
from eduops.web.service_unit import UnitSpec, render_unit

EDUOPS_BIN = Path(shutil.which("eduops") or "/usr/bin/eduops")


def unit_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


@pytest.mark.parametrize(("workspace", "executable", "writable", "protect_home"), [
    (Path("/srv/eduops"), Path("/opt/eduops/bin/eduops"), (), "yes"),
    (Path("/home/ops/eduops"), Path("/opt/eduops/bin/eduops"), (), "read-only"),
    (Path("/srv/eduops"), Path("/root/venv/bin/eduops"), (), "read-only"),
    (Path("/srv/eduops"), Path("/opt/eduops/bin/eduops"), (Path("/var/backups/eduops"),), "yes"),
])
def test_the_unit_restarts_on_failure_and_is_hardened(workspace, executable, writable, protect_home) -> None:
    text = render_unit(UnitSpec(workspace=workspace, executable=executable, user="eduops", group="eduops",
                                stop_timeout_s=45, writable=writable))
    unit = unit_lines(text)
    assert unit["Restart"] == "on-failure" and unit["User"] == "eduops"
    assert unit["NoNewPrivileges"] == "yes" and unit["ProtectSystem"] == "strict" and unit["PrivateTmp"] == "yes"
    assert unit["ProtectHome"] == protect_home
    assert unit["ReadWritePaths"].split() == [str(workspace), *map(str, writable)]
    assert f"Environment=EDUOPS_HOME={workspace}\n" in text
    assert unit["ExecStart"].startswith(f"{executable} serve --host 127.0.0.1 --port 8080")
    assert unit["TimeoutStopSec"] == "75s"  # eduops's own shutdown timeout plus a margin before SIGKILL


@pytest.fixture
def home_outside_tmp(sqlite_template: Path) -> Iterator[Path]:
    """A workspace where a service could keep it: not under /tmp or /var/tmp (PrivateTmp would hide it), even
    when the checkout itself is under /tmp."""
    base = Path.home() / ".cache" / "eduops-tests"
    base.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="srv-eduops-", dir=base))
    shutil.copy(sqlite_template, home / "eduops.db")
    make_settings(home)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_service_install_writes_a_unit_that_systemd_analyze_accepts(home_outside_tmp: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        service_missing("systemd-analyze", "the systemd package is not installed")
    home = home_outside_tmp
    unit = tmp_path / "eduops.service"
    done = cli_json(home, "service", "install", "--user", getpass.getuser(), "--output", str(unit))
    assert done["unit"] == str(unit) and "systemctl daemon-reload" in done["next"]
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stderr
    assert unit.name not in verify.stderr, verify.stderr  # no warning about any line of the unit
    fields = unit_lines(unit.read_text())
    assert fields["ReadWritePaths"] == str(home.resolve()) and fields["WorkingDirectory"] == str(home.resolve())
    again = cli(home, "service", "install", "--user", getpass.getuser(), "--output", str(unit))
    assert again.returncode == 2 and "--force" in again.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--user", "no-such-user-here"), "no such user"),
    (("--writable", "/nonexistent/folder"), "not a folder"),
])
def test_service_install_refuses_what_cannot_work(home_outside_tmp, tmp_path, args, message) -> None:
    home = home_outside_tmp
    if "--user" not in args:
        args = (*args, "--user", getpass.getuser())
    done = cli(home, "service", "install", "--output", str(tmp_path / "x.service"), *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "x.service").exists()


def test_a_workspace_under_tmp_is_refused_because_private_tmp_hides_it(sqlite_ws, tmp_path: Path) -> None:
    done = cli(sqlite_ws.settings.home, "service", "install", "--user", getpass.getuser(),
               "--output", str(tmp_path / "x.service"))
    assert done.returncode == 2 and "PrivateTmp" in done.stderr, done.stderr


SLOW_CHECK = '''
import os
import time
from pathlib import Path

from eduops.core.checks import CheckResult, check


@check("slow.gate", area="learning")
def gate(ctx):
    """Waits until the test opens its gate file (one per task)."""
    gate = Path(os.environ["SLOW_GATES"]) / f"{ctx.task_key}.open"
    Path(os.environ["SLOW_GATES"], f"{ctx.task_key}.started").touch()
    deadline = time.monotonic() + 300
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return CheckResult(status="ok", summary="the gate opened")
'''


def _wait_for(condition, what: str, log: Path, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}; the server said:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)


def test_sigterm_lets_runs_finish_within_the_timeout_and_records_the_rest_as_interrupted(sqlite_ws,
                                                                                         tmp_path: Path) -> None:
    home = sqlite_ws.settings.home
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "slowcheck.py").write_text(SLOW_CHECK)
    gates = tmp_path / "gates"
    gates.mkdir()
    (home / "eduops.toml").write_text('plugins = ["slowcheck"]\nshutdown_timeout_seconds = 4\n'
                                      '[tasks.daily-inspection]\nchecks = ["slow.gate"]\n'
                                      '[tasks.content-audit]\nchecks = ["slow.gate"]\n')
    key = cli_json(home, "keys", "create", "--scope", "admin")["key"]
    pythonpath = os.pathsep.join([str(tmp_path / "mods"), os.environ.get("PYTHONPATH", "")])
    with running_server(home, "--no-scheduler", PYTHONPATH=pythonpath, SLOW_GATES=str(gates)) as server:
        runs = {}
        for task in ("daily-inspection", "content-audit"):
            answer = httpx.post(f"{server.url}/api/v1/calendar/{task}/run", timeout=120,
                                headers={"authorization": f"Bearer {key}"})
            assert answer.status_code == 202, answer.text
            runs[task] = answer.json()["id"]
        _wait_for(lambda: all((gates / f"{t}.started").exists() for t in runs), "both runs to start", server.log)
        server.process.terminate()  # SIGTERM, as systemd stops the service
        _wait_for(lambda: "waiting up to 4 s for 2 run(s)" in server.log.read_text(), "the shutdown to wait for runs",
                  server.log)
        (gates / "daily-inspection.open").touch()  # this one finishes in time; content-audit never does
        server.process.wait(timeout=120)
        log = server.log.read_text()
    assert server.process.returncode == 0, log
    assert f"run #{runs['daily-inspection']} (daily-inspection) finished" in log, log
    assert f"run #{runs['content-audit']} (content-audit) did not finish within 4 s: recorded as interrupted" in log
    assert "stopped in" in log and "Traceback" not in log, log
    engine = make_engine(sqlite_ws.settings.state_url)
    with engine.connect() as conn:
        status = dict(conn.execute(sa.select(Run.id, Run.status).where(Run.id.in_(list(runs.values())))).tuples().all())
        summary = conn.execute(sa.select(Run.summary).where(Run.id == runs["content-audit"])).scalar_one()
    assert status == {runs["daily-inspection"]: "ok", runs["content-audit"]: "interrupted"}
    assert "SIGTERM" in summary and "shutdown_timeout_seconds" in summary
