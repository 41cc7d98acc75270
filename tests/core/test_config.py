"""Configuration: eduops.toml plus EDUOPS_* overrides; a bad value names its key and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from eduops.config import check_timezone, load_settings
from eduops.errors import ConfigError

EDUOPS = Path(sys.executable).with_name("eduops")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("EDUOPS_")]:
        monkeypatch.delenv(key)


@pytest.mark.parametrize("text", ["Mars/Olympus", "America", "Asia", "x" * 300, "a\x00b", "../../etc/passwd",
                                  "/etc/localtime", "", "Asia//Shanghai", "zone.tab"])
def test_check_timezone_refuses_any_text_that_is_not_a_zone_with_a_value_error(text: str) -> None:
    """A directory of the tz database ("America") and a name too long for a file raised OSError: a 500 where a
    user picks a timezone."""
    with pytest.raises(ValueError, match="unknown timezone"):
        check_timezone(text)
    assert check_timezone("Asia/Shanghai") == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("toml", "key", "expected"),
    [
        ('timezone = "Mars/Olympus"', "timezone", "unknown timezone"),
        ('language = "fr"', "language", "should match pattern"),
        ("[scheduler]\ntick_seconds = -1", "scheduler.tick_seconds", "greater than 0"),
        ('[scheduler]\ntick_seconds = "often"', "scheduler.tick_seconds", "valid number"),
        ('[tasks.backup]\ncron = "every day"', "tasks.backup.cron", "not a cron expression"),
        ("[tasks.backup]\ncolour = 1", "tasks.backup.colour", "unknown key; known keys: checks, cron"),
        ('[tasks.backup]\ncronn = "0 2 * * *"', "tasks.backup.cronn", "unknown key; did you mean `cron`?"),
        ("[scheduler]\ntick_second = 3", "scheduler.tick_second", "did you mean `tick_seconds`?"),
        ('[inspection]\nendpoint = ["https://x"]', "inspection.endpoint", "did you mean `endpoints`?"),
        ('timezon = "Asia/Shanghai"', "timezon", "unknown key; did you mean `timezone`?"),
        ('database_url = "localhost"', "database_url", "SQLAlchemy URL"),
        ("[inspection]\ndisk_warn_pct = 150", "inspection.disk_warn_pct", "less than or equal to 100"),
    ],
)
def test_bad_value_names_key_value_and_expectation(tmp_path: Path, toml: str, key: str, expected: str) -> None:
    (tmp_path / "eduops.toml").write_text(toml + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "eduops.toml")
    assert f"`{key}`" in info.value.message
    assert expected in info.value.message
    assert str(tmp_path / "eduops.toml") in info.value.message


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "eduops.toml").write_text('timezone = "Asia/Shanghai"\n[scheduler]\ntick_seconds = 5\n')
    monkeypatch.setenv("EDUOPS_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("EDUOPS_SCHEDULER__TICK_SECONDS", "2.5")
    monkeypatch.setenv("EDUOPS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
    settings = load_settings(tmp_path / "eduops.toml")
    assert settings.timezone == "Europe/Berlin"
    assert settings.scheduler.tick_seconds == 2.5
    assert settings.state_url == "postgresql+psycopg://postgres@127.0.0.1/test"
    assert settings.home == tmp_path.resolve()


def test_home_from_environment_finds_its_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "eduops.toml").write_text('timezone = "Asia/Tokyo"\n')
    monkeypatch.setenv("EDUOPS_HOME", str(tmp_path))
    settings = load_settings()
    assert settings.timezone == "Asia/Tokyo"
    assert settings.state_url == f"sqlite:///{tmp_path.resolve() / 'eduops.db'}"


def test_broken_toml_exits_2_naming_the_key_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "eduops.toml").write_text("[scheduler]\ntick_seconds = \"fast\"\n")
    result = subprocess.run([str(EDUOPS), "calendar", "list"], capture_output=True, text=True,
                            env={**os.environ, "EDUOPS_HOME": str(tmp_path)}, timeout=60)
    assert result.returncode == 2
    assert "scheduler.tick_seconds" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_toml_syntax_error_exits_2(tmp_path: Path) -> None:
    (tmp_path / "eduops.toml").write_text("[scheduler\n")
    result = subprocess.run([str(EDUOPS), "calendar", "list"], capture_output=True, text=True,
                            env={**os.environ, "EDUOPS_HOME": str(tmp_path)}, timeout=60)
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr and "line 1" in result.stderr


def test_domain_section_is_validated_with_its_key(tmp_path: Path) -> None:
    from pydantic import BaseModel, ConfigDict

    class Widgets(BaseModel):
        model_config = ConfigDict(extra="forbid")
        count: int = 1

    (tmp_path / "eduops.toml").write_text('[widgets]\ncount = "many"\n')
    settings = load_settings(tmp_path / "eduops.toml")
    with pytest.raises(ConfigError, match="`widgets.count` = 'many'"):
        settings.section("widgets", Widgets)


@pytest.mark.parametrize(
    ("toml", "hidden"),
    [
        ('[widgets]\npassword = 918273645', "918273645"),
        ('[widgets]\ncount = "postgresql://u:hunter2@db/x"', "hunter2"),
    ],
)
def test_errors_never_echo_what_may_be_a_secret(tmp_path: Path, toml: str, hidden: str) -> None:
    from pydantic import BaseModel, ConfigDict

    class Widgets(BaseModel):
        model_config = ConfigDict(extra="forbid")
        count: int = 1
        password: str = ""

    (tmp_path / "eduops.toml").write_text(toml + "\n")
    settings = load_settings(tmp_path / "eduops.toml")
    with pytest.raises(ConfigError) as info:
        settings.section("widgets", Widgets)
    # The message names the file; only what follows the path may not hold the value.
    message = info.value.message.replace(str(tmp_path), "<dir>")
    assert hidden not in message and "value hidden" in message


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("EDUOPS_TIMEZONE", "Mars/Base", "unknown timezone"),
        ("EDUOPS_SCHEDULER__TICK_SECONDS", "-2", "greater than 0"),
        ("EDUOPS_LANGUAGE", "fr", "should match pattern"),
    ],
)
def test_a_bad_environment_variable_is_named_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          variable: str, value: str, expected: str) -> None:
    (tmp_path / "eduops.toml").write_text('timezone = "Asia/Shanghai"\n')
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "eduops.toml")
    assert f"environment variable {variable} = {value!r}" in info.value.message
    assert expected in info.value.message
    assert "fix or unset it" in info.value.message


def test_a_bad_section_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import BaseModel, ConfigDict

    class Section(BaseModel):
        model_config = ConfigDict(extra="forbid")
        port: int = 1

    (tmp_path / "eduops.toml").write_text("[demo_section]\nport = 2\n")
    monkeypatch.setenv("EDUOPS_DEMO_SECTION__PORT", "many")
    settings = load_settings(tmp_path / "eduops.toml")
    with pytest.raises(ConfigError) as info:
        settings.section("demo_section", Section)
    assert "environment variable EDUOPS_DEMO_SECTION__PORT = 'many'" in info.value.message
