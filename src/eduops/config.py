"""Settings from eduops.toml plus EDUOPS_* environment overrides, validated with pydantic-settings.

Core settings are declared here. A domain keeps its own section model next to its code and reads it
with ``settings.section("backup", BackupSettings)``, so a bad value there names its key too.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from collections.abc import Collection, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from eduops.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

CONFIG_NAME = "eduops.toml"


def check_timezone(value: str) -> str:
    """``value`` when it names an IANA timezone; else ValueError saying so. Any text is safe to pass: a NUL,
    a path, a directory of the tz database ("America") or a name too long for a file are all ValueError."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown timezone {value!r}; use an IANA name such as Asia/Shanghai") from exc
    return value


class SchedulerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    tick_seconds: float = Field(5.0, gt=0, description="how often due tasks are looked for")
    heartbeat_seconds: float = Field(5.0, gt=0, description="how often a running run proves it is alive")
    stale_after_seconds: float = Field(30.0, gt=0, description="a run silent this long is interrupted")
    run_timeout_seconds: float = Field(3600.0, gt=0, description="default per-run time limit")


class WebSettings(BaseModel):
    """How `eduops serve` serves, under [web]."""

    model_config = ConfigDict(extra="forbid")
    workers: int = Field(1, ge=1, le=64, description="serving processes on the one port (`eduops serve --workers`)")


class TaskOverride(BaseModel):
    """Per-task changes to the default plan, under [tasks.<key>]."""

    model_config = ConfigDict(extra="forbid")
    cron: str | None = None
    timezone: str | None = None
    owner: str | None = None
    enabled: bool | None = None
    grace_minutes: float | None = Field(None, ge=0)
    checks: list[str] | None = Field(None, description="replace the checks this task runs")
    timeout_seconds: float | None = Field(None, gt=0)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and value != "on-demand" and not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (five fields, e.g. '0 2 * * *') or 'on-demand'")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


class InspectionSettings(BaseModel):
    """What the daily inspection looks at, under [inspection]."""

    model_config = ConfigDict(extra="forbid")
    processes: list[str] = Field(default_factory=list, description="process names that must be running")
    log_files: list[str] = Field(default_factory=list, description="log files (globs) scanned for errors")
    log_patterns: list[str] = Field(default_factory=lambda: ["ERROR", "CRITICAL", "Traceback"])
    log_warn_lines: int = Field(1, ge=1)
    log_crit_lines: int = Field(100, ge=1)
    endpoints: list[str] = Field(default_factory=list, description="https URLs whose certificates are watched")
    cert_warn_days: int = Field(30, ge=0)
    cert_crit_days: int = Field(7, ge=0)
    disk_warn_pct: float = Field(85, gt=0, le=100)
    disk_crit_pct: float = Field(95, gt=0, le=100)
    memory_warn_pct: float = Field(90, gt=0, le=100)
    cpu_warn_pct: float = Field(85, gt=0, le=100)


class _TomlSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EDUOPS_", env_nested_delimiter="__", extra="allow", validate_default=True
    )

    home: Path = Field(description="the workspace: state database, secret key, artifacts")
    # sections validated already, with the environment and file contents they came from (``section``)
    _sections: dict[tuple[Any, ...], tuple[dict[Any, Any], tuple[dict[str, Any], ...], BaseModel]] = PrivateAttr(
        default_factory=dict)
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite in the workspace")
    timezone: str = "Asia/Shanghai"
    language: str = Field("zh-CN", pattern=r"^(zh-CN|en)$")
    base_url: str = Field("http://127.0.0.1:8080", description="where the console is reachable, for links")
    redis_url: str = ""
    secret_key_file: Path | None = None
    config_file: Path | None = None
    plugins: list[str] = Field(default_factory=list, description="extra modules that register checks")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses/CIDRs of reverse proxies whose X-Forwarded-For/-Proto and Forwarded are believed")
    shutdown_timeout_seconds: float = Field(
        30.0, ge=0, le=3600, description="on SIGTERM: how long in-flight requests and work get to finish")
    scheduler: SchedulerSettings = Field(default_factory=lambda: SchedulerSettings())
    web: WebSettings = Field(default_factory=lambda: WebSettings())
    tasks: dict[str, TaskOverride] = Field(default_factory=dict)
    inspection: InspectionSettings = Field(default_factory=lambda: InspectionSettings())

    _toml: dict[str, Any] = {}

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: Any) -> Any:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        found = []
        for item in (str(i).strip() for i in items):
            if not item:
                continue
            try:
                found.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/24)") from None
        return found

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError("expected a SQLAlchemy URL such as postgresql+psycopg://user@host/db or sqlite:///path")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls, cls._toml))

    @cached_property
    def state_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'eduops.db'}"

    @property
    def key_file(self) -> Path:
        return self.secret_key_file or self.home / "secret.key"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def section(self, name: str, model: type[M], *, moved_from: str = "", ignore: Collection[str] = ()) -> M:
        """Validate the [name] section of eduops.toml (and EDUOPS_NAME__KEY variables) as ``model``.

        ``moved_from``: keys of ``model`` still written in that older section are taken from there
        (configs written before the keys moved keep working). ``ignore``: keys that moved away.
        """
        sources = (moved_from, name) if moved_from else (name,)
        given = tuple(dict((self.model_extra or {}).get(source) or {}) for source in sources)
        environment = _environment()
        memo_key = (name, model, moved_from, tuple(ignore))
        known = self._sections.get(memo_key)
        if known is not None and known[0] == environment and known[1] == given:
            return cast(M, known[2].model_copy())  # validated before, from the same file and environment
        raw: dict[str, Any] = {}
        for source, found in zip(sources, given, strict=True):
            raw.update(found if source == name else {k: v for k, v in found.items() if k in model.model_fields})
            prefix = f"EDUOPS_{source.upper()}__"
            for env_key, env_value in os.environ.items():
                key = env_key[len(prefix):].lower()
                if env_key.startswith(prefix) and (source == name or key in model.model_fields):
                    raw[key] = env_value
        for key in ignore:
            raw.pop(key, None)
        try:
            section = model.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(_explain(exc, self.config_file, section=name, model=model)) from None
        self._sections[memo_key] = (dict(environment), given, section)
        return section.model_copy()


def _environment() -> Mapping[Any, Any]:
    """The process environment as the OS holds it (CPython keeps it encoded: comparing it decodes nothing)."""
    return getattr(os.environ, "_data", os.environ)


SECRET_WORDS = ("password", "secret", "token", "key", "credential", "url", "dsn")


def _shown(key: str, value: object) -> str:
    """A rejected value as the error may show it: never one that may hold a secret."""
    if any(word in key.rsplit(".", 1)[-1].lower() for word in SECRET_WORDS) and key != "database_url":
        return "'****' (value hidden: it may hold a secret)"
    text = repr(value)
    if "://" in text and "@" in text:  # a URL with credentials
        return "'****' (value hidden: it may hold a secret)"
    return text


def _fields_at(model: type[BaseModel] | None, loc: tuple[str | int, ...]) -> list[str]:
    """The keys a model accepts at ``loc`` (through nested models, ``dict[str, Model]`` and lists)."""
    current: Any = model
    parts = list(loc)
    while parts and current is not None:
        part = parts.pop(0)
        fields = getattr(current, "model_fields", None)
        if fields is None or not isinstance(part, str) or part not in fields:
            return []
        annotation = fields[part].annotation
        current = None
        for candidate in (annotation, *get_args(annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
            for inner in get_args(candidate):  # dict[str, Model] / list[Model]: skip the key or index
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
                    if parts and get_origin(candidate) in (dict, list):
                        parts.pop(0)
                    break
            if current is not None:
                break
    return list(getattr(current, "model_fields", {})) if current is not None and not parts else []


def did_you_mean(key: str, known: Collection[str]) -> str:
    """'; did you mean `cron`?' for a typo, with the keys that exist when nothing is close."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if close:
        return f"; did you mean `{close[0]}`?"
    return f"; known keys: {', '.join(sorted(known))}" if known else ""


def env_name(key: str) -> str:
    """The environment variable that sets the dotted key (``tasks.backup.cron`` → EDUOPS_TASKS__BACKUP__CRON)."""
    return "EDUOPS_" + key.upper().replace(".", "__")


def _explain(exc: ValidationError, config_file: Path | None, section: str = "",
             model: type[BaseModel] | None = None) -> str:
    where = str(config_file) if config_file else "the configuration"
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in ((section,) if section else ()) + tuple(err["loc"]))
        value = err.get("input")
        shown = "" if isinstance(value, dict | list) else f" = {_shown(key, value)}"
        env = env_name(key)
        message, hint = err["msg"], f" (or set {env})"
        if err["type"] == "extra_forbidden":
            message = "unknown key" + did_you_mean(str(err["loc"][-1]), _fields_at(model or Settings, err["loc"][:-1]))
            hint = ""
        if env in os.environ:
            lines.append(f"environment variable {env}{shown}: {message} (fix or unset it; it overrides {where})")
        else:
            lines.append(f"{where}: `{key}`{shown}: {message}{hint}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def unknown_top_level(data: dict[str, Any], config_file: Path | None) -> None:
    """A plain key at the top of eduops.toml that eduops does not know is a typo: say which key was meant.
    (Tables are domains' sections, validated when the domain reads them.)"""
    known = [k for k in Settings.model_fields if k not in ("home", "config_file")]
    wrong = [k for k, v in data.items() if not isinstance(v, dict) and k not in Settings.model_fields]
    if wrong:
        where = str(config_file) if config_file else "the configuration"
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(
            f"{where}: `{k}`: unknown key{did_you_mean(k, known)}" for k in wrong))


def find_config(explicit: Path | None = None) -> Path | None:
    if explicit:
        return explicit
    if os.environ.get("EDUOPS_CONFIG"):
        return Path(os.environ["EDUOPS_CONFIG"])
    if os.environ.get("EDUOPS_HOME"):
        candidate = Path(os.environ["EDUOPS_HOME"]) / CONFIG_NAME
        return candidate if candidate.exists() else None
    candidate = Path.cwd() / CONFIG_NAME
    return candidate if candidate.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file; create one with `eduops init`") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read eduops.toml (if any) and EDUOPS_* variables; raise ConfigError naming the bad key."""
    path = find_config(config_file)
    data = read_toml(path) if path else {}
    unknown_top_level(data, path)
    if path:
        data.setdefault("home", str(path.parent))
        data["config_file"] = str(path)
    else:
        data.setdefault("home", str(Path.home() / ".eduops"))
    Settings._toml = data
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path, model=Settings)) from None
    finally:
        Settings._toml = {}
    settings.home = settings.home.expanduser().resolve()
    return settings
