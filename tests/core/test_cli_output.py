"""What the CLI tells a person: it refuses outside a workspace and says how to make one; a bad environment
variable is named; `[section]` names survive in advice; piped tables are never cut; choices are listed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EDUOPS = Path(sys.executable).with_name("eduops")


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EDUOPS_")}
    clean.update(HOME=str(cwd / "user-home"), COLUMNS="80", **env)
    return subprocess.run([str(EDUOPS), *args], capture_output=True, text=True, env=clean, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("ws")
    assert run(home, "init", str(home)).returncode == 0
    return home


def test_outside_a_workspace_the_cli_refuses_and_says_how_to_make_one(tmp_path: Path) -> None:
    result = run(tmp_path, "runs", "list")
    assert result.returncode == 2
    assert "no eduops workspace here" in result.stderr and str(tmp_path) in result.stderr
    assert "eduops init" in result.stderr and "EDUOPS_HOME" in result.stderr and "--config" in result.stderr
    assert not (tmp_path / "user-home" / ".eduops").exists()  # nothing made behind the user's back


def test_a_workspace_is_found_from_eduops_home_or_config(home: Path, tmp_path: Path) -> None:
    assert run(tmp_path, "runs", "list", EDUOPS_HOME=str(home)).returncode == 0
    assert run(tmp_path, "--config", str(home / "eduops.toml"), "runs", "list").returncode == 0
    assert run(home, "runs", "list").returncode == 0  # inside the folder


def test_a_bad_environment_variable_is_blamed_not_the_file(home: Path) -> None:
    result = run(home, "runs", "list", EDUOPS_TIMEZONE="Mars/Base")
    assert result.returncode == 2
    assert "environment variable EDUOPS_TIMEZONE = 'Mars/Base'" in result.stderr


def test_section_names_survive_in_advice(home: Path) -> None:
    # the release check has no platform in a fresh workspace and says which [section] to set
    result = run(home, "run", "release-check")
    assert "set [release] base_url" in result.stdout, result.stdout


def test_piped_tables_are_not_cut_at_80_columns(home: Path) -> None:
    result = run(home, "calendar", "list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) > 80
    assert "…" not in result.stdout
    assert "daily-inspection" in result.stdout and "feedback-digest" in result.stdout


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (("rtc", "breakdown"), ("province", "isp", "app_version", "teacher")),
        (("analytics", "breakdown"), ("course", "region", "week")),
        (("users", "set-role", "someone"), ("admin", "ops", "viewer")),
        (("backup", "secret"), ("target", "source")),
    ],
)
def test_a_missing_choice_lists_the_choices(home: Path, args: tuple[str, ...], choices: tuple[str, ...]) -> None:
    result = run(home, *args)
    assert result.returncode == 2
    assert all(c in result.stderr for c in choices), result.stderr
