"""The security area's headline (overview tile and /security): the newest scan's findings decide, with the
other security checks (certificate expiry) of the calendar; a critical finding never reads as OK."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eduops.core.areas import Headline, checks_headline, combine


def scan_headline(scan: dict[str, Any] | None) -> Headline:
    """A scan's status is its worst finding: crit if one is critical, warn for a warning, else ok."""
    if scan is None:
        return Headline(None)
    severities = [f.get("severity") for f in scan.get("findings", [])]
    crit, warn = severities.count("crit"), severities.count("warn")
    status = "crit" if crit else "warn" if warn else "ok"
    return Headline(status, "Score {score}/100; {crit} critical and {warn} warning findings",
                    {"score": round(float(scan.get("score") or 0)), "crit": crit, "warn": warn}, href="/security",
                    checked_at=datetime.fromisoformat(scan["started_at"]))


def headline(ws: Any, now: datetime) -> Headline:
    from eduops.security.service import latest

    others = checks_headline(ws.engine, "security", exclude=("security.scan",))  # e.g. certificate expiry
    return combine([scan_headline(latest(ws.engine)), others])
