"""The [loadtest] section of eduops.toml: where the platform is, its test accounts, SLOs, capacity search."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_PATHS = {
    "login": "/api/login",
    "timetable": "/api/timetable",
    "join": "/api/classes/{class_id}/join",
    "heartbeat": "/api/classes/{class_id}/heartbeat",
    "bookings": "/api/bookings",
    "courses": "/api/courses",
    "course": "/api/courses/{course_id}",
    "video": "/api/videos/{video_id}",
    "quiz_submit": "/api/quizzes/{quiz_id}/submit",
}


class SLOSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p95_ms: float = Field(gt=0, description="95th percentile latency limit")
    error_rate_pct: float = Field(ge=0, le=100, description="share of failed requests allowed")


class CapacitySettings(BaseModel):
    """The staircase the `load-test` task climbs to find the knee."""

    model_config = ConfigDict(extra="forbid")
    scenario: str = "term-rush"
    start_users: int = Field(10, ge=1)
    step_users: int = Field(10, ge=1)
    max_users: int = Field(200, ge=1)
    step_seconds: float = Field(10.0, gt=0)
    target_users: int = Field(100, ge=1, description="the capacity the platform must reach (crit below)")


class LoadtestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field("http://127.0.0.1:8081", description="base URL of the platform under test")
    paths: dict[str, str] = Field(default_factory=dict, description="API paths, when they differ from the demo's")
    username_prefix: str = "student"
    password: str = Field("demo", description="password of the test students")
    users: int = Field(50, ge=1, description="default peak users of `eduops loadtest run`")
    spawn_rate: float = Field(10.0, gt=0)
    duration_seconds: float = Field(60.0, gt=0)
    max_local_users: int = Field(1000, ge=1, description="nominal scenario sizes are scaled down to this")
    think_min_seconds: float = Field(1.0, ge=0)
    think_max_seconds: float = Field(3.0, ge=0)
    workers: int = Field(0, ge=0, le=64, description="Locust worker processes; 0 runs one local process")
    slo: dict[str, SLOSettings] = Field(default_factory=dict, description="per-scenario SLO overrides")
    capacity: CapacitySettings = Field(default_factory=lambda: CapacitySettings.model_validate({}))

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL such as http://127.0.0.1:8081")
        return value.rstrip("/")

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(DEFAULT_PATHS)
        if unknown:
            raise ValueError(f"unknown path names {sorted(unknown)}; known: {', '.join(DEFAULT_PATHS)}")
        return value

    def all_paths(self) -> dict[str, str]:
        return {**DEFAULT_PATHS, **self.paths}
