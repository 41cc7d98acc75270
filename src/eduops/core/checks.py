"""What a check is: a function that measures and judges, returning a CheckResult.

Checks register by name with ``@check("host.status", area="performance")`` in the modules a domain's
plugin names (``Domain.checks``); built-ins and outside plugins alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from eduops.core import plugins
from eduops.core.i18n import Text, encode, render_text

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from eduops.config import Settings

Status = Literal["ok", "warn", "crit", "error", "skipped"]
Severity = Literal["info", "warn", "crit"]
STATUS_ORDER: dict[str, int] = {"ok": 0, "skipped": 1, "warn": 2, "error": 3, "crit": 4}


@dataclass
class Measurement:
    name: str
    value: float
    unit: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Finding:
    severity: Severity
    title: Text
    detail: Text = ""
    remedy: Text = ""


@dataclass
class CheckResult:
    status: Status
    summary: Text
    measurements: list[Measurement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    artifacts: list[Path] = field(default_factory=list)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = render_text(self.summary, lang)
        data["findings"] = [finding_to_dict(f, lang) for f in self.findings]
        data["artifacts"] = [str(p) for p in self.artifacts]
        return data


def finding_to_dict(finding: Finding, lang: str | None = None) -> dict[str, str]:
    """A finding as plain data: to store (``lang=None``: messages encoded, eduops.core.i18n.encode) or to
    show (its texts rendered in ``lang``)."""
    texts = {"title": finding.title, "detail": finding.detail, "remedy": finding.remedy}
    if lang is None:
        return {"severity": finding.severity} | {k: encode(v) for k, v in texts.items()}
    return {"severity": finding.severity} | {k: render_text(v, lang) for k, v in texts.items()}


def render_finding(stored: dict[str, Any], lang: str) -> dict[str, Any]:
    """A stored finding (``finding_to_dict(f)``, or an older plain one) with its texts in ``lang``."""
    return stored | {k: render_text(stored.get(k) or "", lang) for k in ("title", "detail", "remedy")}


def worst(statuses: list[str]) -> Status:
    """The most serious status of several; no statuses means ok."""
    if not statuses:
        return "ok"
    found: Any = max(statuses, key=lambda s: STATUS_ORDER.get(s, 0))
    return found  # type: ignore[no-any-return]


def status_from_findings(findings: list[Finding]) -> Status:
    severities = {f.severity for f in findings}
    return "crit" if "crit" in severities else "warn" if "warn" in severities else "ok"


@dataclass
class CheckContext:
    """What a check may use: settings, the state database, where to put artifacts, its parameters."""

    settings: Settings
    engine: Engine
    now: datetime
    run_id: int | None = None
    task_key: str = ""
    last_run_at: datetime | None = None
    params: dict[str, Any] = field(default_factory=dict)
    artifacts_dir: Path | None = None
    progress: Callable[[str, float], None] = lambda message, fraction: None

    def artifact_path(self, name: str) -> Path:
        base = self.artifacts_dir or (self.settings.artifacts_dir / "adhoc")
        base.mkdir(parents=True, exist_ok=True)
        return base / name


CheckFunc = Callable[[CheckContext], CheckResult]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    func: CheckFunc
    area: str
    title: str
    description: str


REGISTRY: dict[str, CheckSpec] = {}


def check(name: str, *, area: str, title: str = "") -> Callable[[CheckFunc], CheckFunc]:
    """Register a check under ``name`` (``<domain>.<what>``) for the calendar to run, in an overview area
    that some domain declares (eduops.core.hookspecs.Area)."""
    known = [a.key for a in plugins.areas()]
    if area not in known:
        raise ValueError(f"unknown area {area!r}; one of {known}")

    def decorate(func: CheckFunc) -> CheckFunc:
        doc = (func.__doc__ or "").strip()
        REGISTRY[name] = CheckSpec(name, func, area, title or doc.splitlines()[0] if doc else name, doc)
        return func

    return decorate


def get_check(name: str) -> CheckSpec | None:
    plugins.load_checks()
    return REGISTRY.get(name)
