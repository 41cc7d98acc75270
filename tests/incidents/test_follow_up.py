"""incidents.follow_up: what each incident still owes, as a table; and the check over real rows."""

from datetime import UTC, datetime, timedelta

import pytest

from eduops.core.checks import CheckContext
from eduops.incidents import service
from eduops.incidents.checks import follow_ups, incident_follow_up

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ACK, REVIEW = timedelta(minutes=30), timedelta(days=3)


def row(kind="incident", status="investigating", owner="lihua", opened=60, acked=None, resolved=None, reviewed=None):
    ago = lambda m: None if m is None else NOW - timedelta(minutes=m)  # noqa: E731
    return {"id": 7, "kind": kind, "status": status, "owner": owner, "opened_at": ago(opened),
            "acknowledged_at": ago(acked), "resolved_at": ago(resolved), "reviewed_at": ago(reviewed)}


@pytest.mark.parametrize("incident, owed", [
    (row(acked=50), []),                                           # owned, acknowledged: nothing owed
    (row(owner="", acked=50), [("warn", "unowned")]),
    (row(opened=20), []),                                          # 20 min unacknowledged: still within 30
    (row(opened=31), [("crit", "unacknowledged")]),
    (row(owner="", opened=45), [("warn", "unowned"), ("crit", "unacknowledged")]),
    (row(status="resolved", acked=50, resolved=60 * 24), []),       # resolved a day ago: review not yet due
    (row(status="resolved", acked=50, resolved=60 * 80), [("warn", "unreviewed")]),
    (row(status="resolved", acked=50, resolved=60 * 80, reviewed=60), []),
    (row(status="resolved", owner="", resolved=60 * 80, reviewed=60), []),  # a closed one owes no owner
    (row(kind="drill", owner="", opened=600), []),                 # rehearsals are reviewed as they are made
])
def test_follow_ups(incident, owed) -> None:
    found = follow_ups([incident], NOW, acknowledge_within=ACK, review_within=REVIEW)
    assert [(f.severity, f.what) for f in found] == owed


def test_the_check_reads_real_incidents(sqlite_ws) -> None:
    ws = sqlite_ws
    made = service.open_incident(ws.engine, ws.settings, title="测验提交失败", who="olga",
                                 at=NOW - timedelta(hours=2))
    result = incident_follow_up(CheckContext(ws.settings, ws.engine, NOW))
    assert result.status == "crit"
    assert {"incident": made["id"], "what": "unacknowledged"} in result.evidence["follow_ups"]
    service.acknowledge(ws.engine, made["id"], "olga", at=NOW - timedelta(hours=1))
    service.set_owner(ws.engine, ws.settings, made["id"], "olga", "olga")
    assert incident_follow_up(CheckContext(ws.settings, ws.engine, NOW)).status == "ok"
