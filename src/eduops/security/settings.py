"""The [security] section of eduops.toml."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eduops.config import Settings

BUNDLED_OSV = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pypa-advisory-db" / "vulns"


class SiteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="an https:// page whose headers are graded")
    http_url: str | None = Field(None, description="where plain HTTP answers (default http://<host>/)")
    ca_file: str | None = Field(None, description="a CA bundle for internal certificates")


class SecuritySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hosts: list[str] = Field(default_factory=list, description="TLS endpoints, host or host:port (default 443)")
    urls: list[str] = Field(default_factory=list, description="pages whose HTTP security headers are graded")
    sites: list[SiteSettings] = Field(default_factory=list, description="like urls, with an explicit HTTP URL")
    port_hosts: list[str] = Field(default_factory=list, description="hosts to port-scan (default: hosts)")
    ports: list[str] = Field(default_factory=lambda: ["21-23", "25", "80", "443", "3306", "5432", "6379", "8080",
                                                      "9200", "11211", "27017"],
                             description="ports and ranges to try, e.g. '8000-8100'")
    ports_allowed: list[int] = Field(default_factory=lambda: [22, 80, 443], description="ports that may be open")
    max_ports: int = Field(4096, ge=1, le=65536, description="upper bound on connection attempts per host")
    osv_paths: list[Path] = Field(default_factory=list, description="OSV dumps: folders of records or all.zip")
    requirement_files: list[Path] = Field(default_factory=list,
                                          description="requirements*.txt, poetry.lock, uv.lock, Pipfile.lock, "
                                                      "package-lock.json")
    scan_installed_python: bool = Field(True, description="also check this Python environment")
    scan_dpkg: bool = Field(False, description="also check Debian packages from dpkg -l")
    check_patches: bool = Field(True, description="look for pending apt security updates")
    database_urls: list[str] = Field(default_factory=list, description="databases checked for password-less access")
    secret_files: list[Path] = Field(default_factory=list, description="files that must not be world-readable")
    debug_urls: list[str] = Field(default_factory=list, description="URLs probed for debug pages (default: urls)")
    inactive_days: int = Field(90, ge=1)
    api_key_max_age_days: int = Field(365, ge=1)
    api_key_unused_days: int = Field(90, ge=1)
    require_second_factor: list[str] = Field(default_factory=lambda: ["admin", "ops"],
                                             description="roles that must use TOTP")
    cert_warn_days: int = Field(30, ge=0)
    cert_crit_days: int = Field(7, ge=0)
    timeout_seconds: float = Field(10.0, gt=0)
    rate_limits: bool = Field(True, description="limit /api/ and /xapi/ requests per API key and per IP")
    rate_limit_per_key: str = "3000/minute"
    rate_limit_per_ip: str = "1200/minute"
    ingest_rate_limit_per_key: str = "30000/minute"
    ingest_rate_limit_per_ip: str = "12000/minute"
    # xAPI State saves (/xapi/activities/state): every learner's content saves every few seconds, usually
    # through one content key, so their key budget is their own (3,000/s: some 9,000 learners at one save
    # per 3 s); each learner's browser has its own address, so the address budget is the ingestion one
    state_rate_limit_per_key: str = "180000/minute"
    state_rate_limit_per_ip: str = "12000/minute"
    trust_forwarded_for: bool = Field(False, description="ignored (believed anyone); use the top-level trusted_proxies")
    access_logs: list[Path] = Field(default_factory=list, description="combined-format access logs for the "
                                                                      "traffic anomaly signal")
    term_starts: list[str] = Field(default_factory=list, description="YYYY-MM-DD: surges within a week after "
                                                                     "are expected")
    surge_ratio: float = Field(3.0, gt=1, description="requests per hour this many times the baseline is a surge")
    failed_login_burst: int = Field(20, ge=2, description="failed logins within 5 minutes that make a burst")

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[str]) -> list[str]:
        from eduops.errors import UsageError
        from eduops.security.ports import parse_port_spec

        try:
            parse_port_spec(value)
        except UsageError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("term_starts")
    @classmethod
    def _dates(cls, value: list[str]) -> list[str]:
        from datetime import date

        for item in value:
            try:
                date.fromisoformat(item)
            except ValueError:
                raise ValueError(f"{item!r} is not a date like 2026-09-01") from None
        return value

    def all_sites(self) -> list[SiteSettings]:
        return [SiteSettings(url=u) for u in self.urls] + list(self.sites)

    def osv_sources(self) -> list[Path]:
        return self.osv_paths or ([BUNDLED_OSV] if BUNDLED_OSV.is_dir() else [])


def security_settings(settings: Settings) -> SecuritySettings:
    return settings.section("security", SecuritySettings)
