"""Short Markdown messages for chat and e-mail, in the team's language and on its clock, linking to the console."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from eduops.alerting.alertmanager import AMAlert, Notification
from eduops.alerting.localize import localize_annotations
from eduops.core.clock import format_time
from eduops.core.i18n import gettext

MAX_LISTED = 10


def ack_token(secret: bytes, fingerprint: str) -> str:
    """A token that lets a link in a message acknowledge exactly this alert."""
    return hmac.new(secret, f"ack:{fingerprint}".encode(), hashlib.sha256).hexdigest()[:32]


def annotations_in(a: AMAlert, lang: str) -> dict[str, str]:
    labels = {k: v for k, v in a.labels.items() if k != "alertname"}
    return localize_annotations(a.labels.get("alertname", ""), labels, a.annotations, a.value, lang)


def alert_line(a: AMAlert, base_url: str, tz: ZoneInfo, lang: str, resolved: bool) -> str:
    summary = annotations_in(a, lang).get("summary") or a.labels.get("alertname", "")
    when = format_time(datetime.fromtimestamp(a.ends_at if resolved and a.ends_at else a.starts_at, UTC), tz)
    label = gettext("resolved at" if resolved else "since", lang)
    where = ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k not in ("alertname", "severity"))
    link = f"{base_url.rstrip('/')}/alerts/{a.fingerprint}"
    return f"- **{summary}** ({where}) {label} {when} [{gettext('details', lang)}]({link})"


def status_tag(firing: int, resolved: int, lang: str) -> str:
    """``[FIRING:2]``, ``[FIRING:1 RESOLVED:1]`` or ``[RESOLVED]``: counts of what the message lists."""
    if not firing:
        return f"[{gettext('RESOLVED', lang)}]"
    tag = f"{gettext('FIRING', lang)}:{firing}"
    if resolved:
        tag += f" {gettext('RESOLVED', lang)}:{resolved}"
    return f"[{tag}]"


def render(note: Notification, base_url: str, tz: ZoneInfo, lang: str) -> tuple[str, str]:
    """(title, Markdown body) for one notification."""
    name = note.group_labels.get("alertname") or (note.firing or note.resolved)[0].labels.get("alertname", "")
    title = f"{status_tag(len(note.firing), len(note.resolved), lang)} {name}"
    if note.firing:
        severity = note.firing[0].labels.get("severity", "")
        title += f" ({severity})" if severity else ""
    lines: list[str] = []
    if note.firing:
        lines += [alert_line(a, base_url, tz, lang, False) for a in note.firing[:MAX_LISTED]]
        remedy = annotations_in(note.firing[0], lang).get("remedy")
        if remedy:
            lines.append(f"\n{gettext('What to do', lang)}: {remedy}")
    if note.resolved:
        lines.append(f"\n**{gettext('Resolved', lang)}**")
        lines += [alert_line(a, base_url, tz, lang, True) for a in note.resolved[:MAX_LISTED]]
    hidden = max(len(note.firing) - MAX_LISTED, 0) + max(len(note.resolved) - MAX_LISTED, 0)
    if hidden:
        lines.append(gettext("… and {n} more in the console", lang).format(n=hidden))
    return title, "\n".join(lines)


def render_escalation(a: AMAlert, level: int, base_url: str, ack_url: str, tz: ZoneInfo, lang: str) -> tuple[str, str]:
    title = f"[{gettext('ESCALATED', lang)} {level}] {a.labels.get('alertname', '')}"
    body = (
        alert_line(a, base_url, tz, lang, False)
        + "\n\n"
        + gettext("Not acknowledged yet. Acknowledge to stop escalation:", lang)
        + f" [{gettext('acknowledge', lang)}]({ack_url})"
    )
    return title, body
