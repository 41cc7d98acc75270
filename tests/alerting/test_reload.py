"""Reloading without a restart: eduops.toml and rule files re-read on POST /-/reload or SIGHUP; a broken
file keeps the running configuration and says what is wrong."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from tests.alerting.realstack import poll
from tests.web.conftest import make_console

from eduops.alerting.pipeline import AlertingWork
from eduops.alerting.reload import install_sighup, last_reload, register, reload
from eduops.config import load_settings
from eduops.core.workspace import Workspace
from eduops.errors import UsageError

BASE = """
[alerting]
rule_files = ["rules/*.yml"]
disabled_groups = ["anomalies"]
[alerting.route]
receiver = "ops"
[[alerting.receivers]]
name = "ops"
"""
RULE = "groups: [{name: team, rules: [{alert: QueueLong, expr: 'queue_length > 100', for: 1m}]}]\n"


@pytest.fixture
def configured(sqlite_ws) -> Workspace:  # type: ignore[no-untyped-def]
    home = sqlite_ws.settings.home
    (home / "rules").mkdir()
    (home / "eduops.toml").write_text(BASE)
    settings = load_settings(home / "eduops.toml", home=str(home))
    return Workspace(settings, sqlite_ws.engine)


def rule_names(work: AlertingWork) -> set[str]:
    assert work.monitor is not None
    return {r.name for g in work.monitor.evaluator.groups for r in g.rules}


def leading(ws: Workspace) -> tuple[AlertingWork, object]:
    work = AlertingWork(ws)
    work.lead()
    return work, register(ws, "alerting", work.prepare_reload)


def test_reload_applies_new_rules_routes_and_disabled_groups(configured: Workspace) -> None:
    work, unregister = leading(configured)
    try:
        assert "QueueLong" not in rule_names(work) and "AnomalyDetected" not in rule_names(work)
        home = configured.settings.home
        (home / "rules" / "team.yml").write_text(RULE)
        (home / "eduops.toml").write_text(BASE.replace('receiver = "ops"', 'receiver = "oncall"')
                                          .replace('name = "ops"', 'name = "oncall"')
                                          .replace('["anomalies"]', '["anomalies", "host"]'))  # fmt: skip
        done = reload(configured)
        assert done["ok"] is True and done["reloaded"] == ["alerting"]
        names = rule_names(work)
        assert "QueueLong" in names and "HostHighCPU" not in names
        assert work.monitor is not None and work.monitor.dispatcher.root.receiver == "oncall"
        assert configured.settings.config_file == home / "eduops.toml"
    finally:
        unregister()  # type: ignore[operator]
        if work.monitor:
            work.monitor.delivery.stop()


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ("rule", "topk() is not supported"),
        ("toml", "eduops.toml"),
        ("section", "alerting.evaluation_interval"),
    ],
)
def test_a_broken_file_keeps_the_running_configuration(configured: Workspace, broken: str, reason: str) -> None:
    work, unregister = leading(configured)
    try:
        home = configured.settings.home
        (home / "rules" / "team.yml").write_text(RULE)
        reload(configured)
        before = rule_names(work)
        if broken == "rule":
            (home / "rules" / "bad.yml").write_text("groups: [{name: b, rules: [{alert: B, expr: 'topk(1, x)'}]}]")
        elif broken == "toml":
            (home / "eduops.toml").write_text(BASE + "\n[alerting\n")
        else:
            (home / "eduops.toml").write_text(BASE.replace("[alerting]", '[alerting]\nevaluation_interval = "soon"'))
        with pytest.raises(UsageError, match="the running configuration stays") as info:
            reload(configured)
        assert reason in info.value.message
        assert rule_names(work) == before and last_reload(configured)["ok"] is False
    finally:
        unregister()  # type: ignore[operator]
        if work.monitor:
            work.monitor.delivery.stop()


def test_reload_endpoint_is_for_admins_and_answers_400_on_a_broken_file(configured: Workspace) -> None:
    from tests.web.conftest import csrf_of

    console = make_console(configured)
    from eduops.web.app import create_app

    console.app = create_app(configured, domains=("core", "web", "alerting"))
    console.app.state.clock = console.clock
    ops = console.login("ops")
    assert ops.post("/-/reload", headers={"X-CSRF-Token": csrf_of(ops.get("/alerts").text)}).status_code == 403
    admin = console.login("admin")
    token = csrf_of(admin.get("/alerts").text)
    done = admin.post("/-/reload", headers={"X-CSRF-Token": token})
    assert done.status_code == 200 and done.json()["ok"] is True, done.text
    (configured.settings.home / "rules" / "bad.yml").write_text("groups: [{name: b}, {name: b}]")
    refused = admin.post("/-/reload", headers={"X-CSRF-Token": token})
    assert refused.status_code == 400 and "appears twice" in refused.text


def test_sighup_reloads(configured: Workspace) -> None:
    previous = signal.getsignal(signal.SIGHUP)
    work, unregister = leading(configured)
    try:
        assert install_sighup(configured)
        (configured.settings.home / "rules" / "team.yml").write_text(RULE)
        os.kill(os.getpid(), signal.SIGHUP)
        poll(lambda: "QueueLong" in rule_names(work), "SIGHUP reloaded the rules", 30)
        assert last_reload(configured)["ok"] is True
    finally:
        signal.signal(signal.SIGHUP, previous)
        unregister()  # type: ignore[operator]
        if work.monitor:
            work.monitor.delivery.stop()


def test_scrape_targets_are_reloaded(configured: Workspace) -> None:
    from eduops.monitoring.service import Collectors, jobs_for
    from eduops.monitoring.settings import monitoring_settings

    collectors = Collectors(configured.engine, jobs_for(configured.settings, monitoring_settings(configured.settings)))
    unregister = register(
        configured,
        "monitoring",
        lambda new: (lambda jobs: lambda: collectors.replace_jobs(jobs))(jobs_for(new, monitoring_settings(new))),
    )
    try:
        host = [j for j in collectors.jobs if j.kind == "host"][0]
        host.next_at = 12345.0
        text = BASE + '\n[[monitoring.scrape]]\nname = "node"\ntargets = ["10.0.0.1:9100", "10.0.0.2:9100"]\n'
        (configured.settings.home / "eduops.toml").write_text(text)
        reload(configured)
        [scrape] = [j for j in collectors.jobs if j.kind == "scrape"]
        assert [t.labels["instance"] for t in scrape.run.targets()] == ["10.0.0.1:9100", "10.0.0.2:9100"]  # type: ignore[attr-defined]
        assert [j for j in collectors.jobs if j.kind == "host"][0].next_at == 12345.0  # kept its schedule
        (configured.settings.home / "eduops.toml").write_text(
            text.replace('name = "node"', 'name = "node"\nscheme = "ftp"')
        )
        with pytest.raises(UsageError, match="monitoring.scrape"):
            reload(configured)
        assert len([j for j in collectors.jobs if j.kind == "scrape"]) == 1
    finally:
        unregister()
        collectors.stop()


def test_the_home_and_state_database_stay(configured: Workspace, tmp_path: Path) -> None:
    (configured.settings.home / "eduops.toml").write_text(f'home = "{tmp_path}"\n' + BASE)
    reload(configured)
    assert configured.settings.home != tmp_path


def test_sighup_reaches_a_running_eduops_serve(tmp_path: Path) -> None:
    """The real process: `eduops serve`, then `kill -HUP`; its rules API follows the new eduops.toml."""
    import json
    import subprocess
    import sys

    import requests
    from tests.alerting.realstack import free_port

    home = tmp_path / "home"
    (home / "rules").mkdir(parents=True)
    (home / "eduops.toml").write_text(BASE)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}, "EDUOPS_HOME": str(home)}
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    cli = [sys.executable, "-c", "from eduops.cli import main; main()"]
    made = subprocess.run([*cli, "keys", "create", "--scope", "read", "--json"], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url, auth = f"http://127.0.0.1:{port}/api/v1/rules", {"Authorization": f"Bearer {key}"}

    def names() -> set[str]:
        answer = requests.get(url, headers=auth, timeout=5)
        return {r["name"] for r in answer.json()} if answer.status_code == 200 else set()

    try:
        poll(lambda: proc.poll() is None and names(), "eduops serve answering", 60)
        assert "HostHighCPU" in names()
        (home / "eduops.toml").write_text(BASE.replace('["anomalies"]', '["anomalies", "host"]'))
        assert "HostHighCPU" in names()  # eduops.toml is read at start and on reload, not per request
        proc.send_signal(signal.SIGHUP)
        poll(lambda: "HostHighCPU" not in names(), "the host group switched off after SIGHUP", 30)
        assert proc.poll() is None  # SIGHUP reloads; it does not stop the server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
