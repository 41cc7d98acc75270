"""The incidents tile of the overview: red while a critical incident is open, amber for any other."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eduops.core.areas import Headline
from eduops.incidents import service
from eduops.incidents.wording import incident_title


def incidents_headline(open_incidents: list[dict[str, Any]]) -> Headline:
    if not open_incidents:
        return Headline("ok", "No incident is open.", href="/incidents")
    critical = sum(1 for i in open_incidents if i["severity"] == "critical")
    items = [{"severity": i["severity"], "alertname": i["title"], "since": i["opened_at"],
              "href": f"/incidents/{i['id']}", "status": i["status"]} for i in open_incidents]
    return Headline("crit" if critical else "warn", "{open} open, {critical} critical",
                    {"open": len(open_incidents), "critical": critical}, href=items[0]["href"], items=items)


def headline(ws: Any, now: datetime) -> Headline:
    found = [i for i in service.list_incidents(ws.engine, "open") if i["kind"] == "incident"]
    return incidents_headline([{**i, "title": incident_title(i, ws.settings.language)} for i in found])
