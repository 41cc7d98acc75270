"""eduops and the real Prometheus (Debian's prometheus 2.42): `eduops rules push` writes rule files
promtool accepts and Prometheus loads on reload."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.alerting.realstack import PROMTOOL, Service, need, poll, prometheus
from typer.testing import CliRunner

from eduops.alerting.pipeline import active_groups
from eduops.alerting.service import push_rule_files
from eduops.alerting.settings import AlertingSettings

PROM_CONFIG = """
global:
  scrape_interval: 1m
  evaluation_interval: 1m
rule_files:
  - {rules}/*.yml
"""


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Path]]:
    work = tmp_path_factory.mktemp("prom")
    rules = work / "rules"
    rules.mkdir()
    with prometheus(work / "server", PROM_CONFIG.format(rules=rules)) as service:
        yield service, rules


def loaded_groups(service: Service) -> dict[str, int]:
    return {g["name"]: len(g["rules"]) for g in service.get("/api/v1/rules")["data"]["groups"]}


def test_pushed_rule_files_pass_promtool_and_prometheus_loads_them(
    prom: tuple[Service, Path],
    sqlite_ws,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from eduops.cli import app
    from eduops.core import console as console_mod

    service, rules_dir = prom
    monkeypatch.setattr(console_mod, "_workspace", sqlite_ws)
    (rules_dir / "eduops_gone.yml").write_text("groups: []\n")  # pushed earlier, no longer a source
    (rules_dir / "team.yml").write_text("groups: []\n")  # the team's own: left alone
    pushed = CliRunner().invoke(app, ["rules", "push", "--dir", str(rules_dir), "--reload", service.url, "--json"])
    assert pushed.exit_code == 0, pushed.output
    report = json.loads(pushed.output)
    files = [Path(f) for f in report["files"]]
    assert report["reloaded"] == service.url + "/-/reload" and report["rules"] >= 34
    assert not (rules_dir / "eduops_gone.yml").exists() and (rules_dir / "team.yml").exists()
    need(PROMTOOL)
    check = subprocess.run([PROMTOOL, "check", "rules", *map(str, files)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    groups = active_groups(sqlite_ws.settings, AlertingSettings())
    expected = {g.name: len(g.rules) for g in groups}
    assert poll(lambda: loaded_groups(service) == expected and loaded_groups(service), "rules loaded", 30)


def test_disabled_groups_are_not_pushed_and_a_refused_reload_says_why(
    prom: tuple[Service, Path],
    sqlite_ws,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from eduops.alerting.service import reload_prometheus
    from eduops.errors import UsageError

    service, rules_dir = prom
    ms = AlertingSettings.model_validate({"disabled_groups": ["anomalies", "calendar"]})
    groups = active_groups(sqlite_ws.settings, ms)
    assert {"anomalies", "calendar"}.isdisjoint(g.name for g in groups) and any(g.name == "host" for g in groups)
    push_rule_files(groups, rules_dir)
    reload_prometheus(service.url)
    poll(lambda: "calendar" not in loaded_groups(service) and "host" in loaded_groups(service), "groups reloaded")
    (rules_dir / "broken.yml").write_text("groups: [{name: x, rules: [{alert: A, expr: 'up =='}]}]\n")
    try:
        with pytest.raises(UsageError, match="Prometheus refused the rule files"):
            reload_prometheus(service.url)
    finally:
        (rules_dir / "broken.yml").unlink()
    assert "host" in loaded_groups(service)  # Prometheus kept the running rules


def test_push_refuses_a_file_as_directory_and_a_bad_reload_url(sqlite_ws, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from eduops.cli import app
    from eduops.core import console as console_mod

    monkeypatch.setattr(console_mod, "_workspace", sqlite_ws)
    (tmp_path / "file").write_text("")
    from eduops.errors import UsageError

    runner = CliRunner()
    not_dir = runner.invoke(app, ["rules", "push", "--dir", str(tmp_path / "file")])
    assert isinstance(not_dir.exception, UsageError) and not_dir.exception.exit_code == 2  # main() exits 2
    bad = runner.invoke(app, ["rules", "push", "--dir", str(tmp_path / "d"), "--reload", "prometheus:9090"])
    assert isinstance(bad.exception, UsageError) and "base URL" in bad.exception.message
