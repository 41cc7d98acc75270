"""The [backup] section of eduops.toml: sources, targets, retention, verification period.

Secrets (repository passwords, S3 keys, database passwords) are stored as ``enc:v1:`` values made
by ``eduops backup secret``; they are decrypted only to hand them to restic's environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from eduops.backup.restic import Repository
from eduops.config import Settings
from eduops.core.crypto import PREFIX, decrypt, encrypt
from eduops.core.workspace import keyring
from eduops.errors import ConfigError

NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


class Retention(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep_last: int = Field(3, ge=1, description="always keep the newest N snapshots")
    keep_daily: int = Field(7, ge=0)
    keep_weekly: int = Field(4, ge=0)
    keep_monthly: int = Field(6, ge=0)
    keep_yearly: int = Field(1, ge=0)
    guard_days: float = Field(2, gt=0, description="recorded snapshots this recent must be on a target before forget")


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    kind: Literal["sqlite", "postgresql", "mariadb", "files"]
    path: str = Field("", description="sqlite: the database file")
    dsn: str = Field("", description="postgresql/mariadb: URL without password, e.g. postgresql://u@host:5432/db")
    password: str = Field("", description="database password, encrypted (enc:v1:...)")
    paths: list[str] = Field(default_factory=list, description="files: the trees to back up")
    include: list[str] = Field(default_factory=list, description="files: glob patterns to keep (all when empty)")
    exclude: list[str] = Field(default_factory=list, description="files: restic exclude patterns")
    content_digest: bool = Field(False, description="files: also hash every file at backup time (reads it twice)")
    cadence_hours: float = Field(24, gt=0, description="how often a backup is expected")
    grace_hours: float = Field(6, ge=0)
    scratch_dsn: str = Field("", description="server for restore drills (default: the source's server)")
    retention: Retention | None = None

    @model_validator(mode="after")
    def _needs(self) -> SourceSpec:
        need = {"sqlite": self.path, "postgresql": self.dsn, "mariadb": self.dsn, "files": self.paths}
        if not need[self.kind]:
            field_name = {"sqlite": "path", "files": "paths"}.get(self.kind, "dsn")
            raise ValueError(f"source {self.name!r} ({self.kind}) needs `{field_name}`")
        return self


class TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME)
    kind: Literal["local", "sftp", "s3", "rest"]
    path: str = Field("", description="local/sftp/s3: directory, remote path or bucket path")
    password: str = Field(description="repository password, encrypted (enc:v1:...)")
    host: str = ""
    port: int = Field(22, gt=0, lt=65536)
    user: str = ""
    identity_file: str = ""
    known_hosts_file: str = ""
    endpoint: str = Field("", description="s3: http(s)://host:port; rest: http(s)://host:port/")
    access_key_id: str = Field("", description="s3: encrypted access key id")
    secret_access_key: str = Field("", description="s3: encrypted secret key")
    region: str = "us-east-1"
    http_password: str = Field("", description="rest: encrypted HTTP password of `user` on the REST server")
    limit_upload_kib: int = Field(0, ge=0)

    @field_validator("password", "access_key_id", "secret_access_key", "http_password")
    @classmethod
    def _encrypted(cls, value: str) -> str:
        if value and not value.startswith(PREFIX):
            raise ValueError("must be encrypted: store it with `eduops backup secret` and paste the enc:v1: value")
        return value

    @model_validator(mode="after")
    def _needs(self) -> TargetSpec:
        missing = {
            "local": ["path"],
            "sftp": ["host", "path"],
            "s3": ["endpoint", "path"],
            "rest": ["endpoint"],
        }
        for key in missing[self.kind]:
            if not getattr(self, key):
                raise ValueError(f"target {self.name!r} ({self.kind}) needs `{key}`")
        return self


class BackupSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_state: bool = Field(True, description="back up eduops's own state database and configuration")
    sources: list[SourceSpec] = Field(default_factory=list)
    targets: list[TargetSpec] = Field(default_factory=list, description="the first is the primary")
    retention: Retention = Field(default_factory=Retention)
    verify_period_days: int = Field(7, ge=1, le=366, description="every byte is read once within this period")
    drill_target: str = Field("", description="target restore drills read from (default: the primary)")
    cache_dir: str = Field("", description="restic's cache (default: <home>/cache/restic)")

    @model_validator(mode="after")
    def _unique(self) -> BackupSettings:
        for what, items in (("source", self.sources), ("target", self.targets)):
            names = [i.name for i in items]
            dupes = {n for n in names if names.count(n) > 1}
            if dupes:
                raise ValueError(f"{what} names must be unique: {', '.join(sorted(dupes))}")
        if self.drill_target and self.drill_target not in {t.name for t in self.targets}:
            raise ValueError(f"drill_target {self.drill_target!r} is not one of the targets")
        return self


SECRET_FIELDS = ("password", "access_key_id", "secret_access_key", "http_password")


def load(settings: Settings) -> BackupSettings:
    """The validated [backup] section; a rejected plaintext secret is never echoed in the error."""
    try:
        return settings.section("backup", BackupSettings)
    except ConfigError as exc:
        raw = (settings.model_extra or {}).get("backup") or {}
        message = exc.message
        for item in [*raw.get("sources", []), *raw.get("targets", [])] if isinstance(raw, dict) else []:
            for key in SECRET_FIELDS:
                value = item.get(key) if isinstance(item, dict) else None
                if isinstance(value, str) and value:
                    message = message.replace(repr(value), "'****'").replace(value, "****")
        raise ConfigError(message) from None


def secret_context(kind: str, name: str, field_name: str) -> str:
    return f"backup:{kind}:{name}:{field_name}"


def seal(settings: Settings, value: str, kind: str, name: str, field_name: str) -> str:
    """Encrypt a secret for the [backup] section, bound to the place it belongs to."""
    return encrypt(keyring(settings), value, secret_context(kind, name, field_name))


def reveal(settings: Settings, value: str, context: str) -> str:
    if not value:
        return ""
    try:
        return decrypt(keyring(settings), value, context)
    except ConfigError as exc:
        raise ConfigError(
            f"[backup] {context.split(':', 1)[1]}: {exc.message}; re-create it with `eduops backup secret`"
        ) from None


def repository(settings: Settings, target: TargetSpec) -> Repository:
    """The restic repository of a target, its secrets decrypted for restic's environment only."""
    password = reveal(settings, target.password, secret_context("target", target.name, "password"))
    env: dict[str, str] = {}
    options: list[str] = []
    if target.kind == "local":
        location = f"local:{Path(target.path).expanduser()}"
    elif target.kind == "sftp":
        user = f"{target.user}@" if target.user else ""
        location = f"sftp:{user}{target.host}:{target.path}"
        ssh = ["ssh", "-p", str(target.port), "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
        if target.identity_file:
            ssh += ["-i", target.identity_file, "-o", "IdentitiesOnly=yes"]
        if target.known_hosts_file:
            ssh += ["-o", f"UserKnownHostsFile={target.known_hosts_file}", "-o", "StrictHostKeyChecking=yes"]
        ssh += [f"{user}{target.host}", "-s", "sftp"]
        options.append("sftp.command=" + " ".join(ssh))
    elif target.kind == "s3":
        location = f"s3:{target.endpoint.rstrip('/')}/{target.path.strip('/')}"
        env["AWS_ACCESS_KEY_ID"] = reveal(
            settings, target.access_key_id, secret_context("target", target.name, "access_key_id")
        )
        env["AWS_SECRET_ACCESS_KEY"] = reveal(
            settings, target.secret_access_key, secret_context("target", target.name, "secret_access_key")
        )
        env["AWS_DEFAULT_REGION"] = target.region
    else:  # restic 0.14 takes REST credentials only inside the URL, which travels in RESTIC_REPOSITORY
        scheme, _, rest = target.endpoint.rstrip("/").partition("://")
        http = reveal(settings, target.http_password, secret_context("target", target.name, "http_password"))
        auth = f"{quote(target.user, safe='')}:{quote(http, safe='')}@" if target.user and http else ""
        location = f"rest:{scheme}://{auth}{rest}/{target.path.strip('/')}"
        return Repository(
            target.name, location, password, env, options, target.limit_upload_kib, hidden=[http, quote(http, safe="")]
        )
    return Repository(target.name, location, password, env, options, target.limit_upload_kib)


def default_sources(settings: Settings) -> list[SourceSpec]:
    """eduops's own state database and configuration, backed up unless include_state is false."""
    url = settings.state_url
    if url.startswith("sqlite"):
        state = SourceSpec(name="eduops-state", kind="sqlite", path=url.split("///", 1)[-1])
    else:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        if not dsn.startswith("postgresql://"):
            return []
        state = SourceSpec(name="eduops-state", kind="postgresql", dsn=dsn)
    files = [str(p) for p in (settings.config_file, settings.key_file) if p and Path(p).exists()]
    extra = [SourceSpec(name="eduops-config", kind="files", paths=files)] if files else []
    return [state, *extra]


def all_sources(settings: Settings, conf: BackupSettings) -> list[SourceSpec]:
    mine = default_sources(settings) if conf.include_state else []
    names = {s.name for s in conf.sources}
    return [s for s in mine if s.name not in names] + list(conf.sources)


def cache_dir(settings: Settings, conf: BackupSettings) -> Path:
    path = Path(conf.cache_dir).expanduser() if conf.cache_dir else settings.home / "cache" / "restic"
    path.mkdir(parents=True, exist_ok=True)
    return path
