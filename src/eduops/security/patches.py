"""Pending OS security updates from apt (``apt list --upgradable``), without changing anything."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from eduops.core.checks import Finding
from eduops.core.i18n import msg
from eduops.errors import ServiceUnavailable

_LINE = re.compile(r"^(?P<name>[^/\s]+)/(?P<suites>\S+)\s+(?P<new>\S+)\s+(?P<arch>\S+)\s+"
                   r"\[upgradable from: (?P<old>[^\]]+)\]")


@dataclass(frozen=True)
class PendingUpdate:
    name: str
    new_version: str
    current_version: str
    suites: tuple[str, ...]

    @property
    def security(self) -> bool:
        return any("security" in s for s in self.suites)


def parse_apt_upgradable(text: str) -> list[PendingUpdate]:
    updates = []
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if m:
            updates.append(PendingUpdate(m["name"], m["new"], m["old"], tuple(m["suites"].split(","))))
    return updates


def pending_updates() -> list[PendingUpdate]:
    if not shutil.which("apt"):
        raise ServiceUnavailable("apt is not available on this host")
    done = subprocess.run(["apt", "list", "--upgradable"], capture_output=True, text=True, timeout=120,
                          env={"LANG": "C", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
    if done.returncode != 0:
        raise ServiceUnavailable(f"apt list --upgradable failed: {done.stderr.strip()[:200]}")
    return parse_apt_upgradable(done.stdout)


def lists_age_days(now_ts: float, lists_dir: Path = Path("/var/lib/apt/lists")) -> float | None:
    """How old the package lists are: updates published since then cannot be seen."""
    try:
        newest = max((p.stat().st_mtime for p in lists_dir.iterdir() if p.is_file()), default=None)
    except OSError:
        return None
    return None if newest is None else (now_ts - newest) / 86400


def judge(updates: list[PendingUpdate], lists_age: float | None) -> list[Finding]:
    security = [u for u in updates if u.security]
    found = []
    if security:
        names = ", ".join(f"{u.name} {u.current_version} → {u.new_version}" for u in security[:15])
        found.append(Finding("crit" if len(security) >= 10 else "warn",
                             msg("{count} security updates are pending", count=len(security)), names,
                             "apt-get update && apt-get upgrade (or enable unattended-upgrades)"))
    others = len(updates) - len(security)
    if others:
        found.append(Finding("info", msg(
                "{others} other package updates are pending",
                others=others,
            ), "", "plan a maintenance window"))
    if lists_age is not None and lists_age > 7:
        found.append(Finding("warn", msg("apt package lists are {lists_age:.0f} days old", lists_age=lists_age),
                             "pending updates published since then are not visible",
                             "run apt-get update daily (apt-daily.timer)"))
    return found
