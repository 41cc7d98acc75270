"""The monitoring demo: a week of metrics whose alert history comes from the shipped rules."""

from __future__ import annotations

from collections import Counter

import pytest

from eduops.alerting.alerts import alert_history, current_alerts
from eduops.core.demo import DemoContext


@pytest.mark.slow
def test_demo_week_has_the_stories_it_promises(full_demo: DemoContext) -> None:
    demo = full_demo
    firing = {
        (a["alertname"], a["labels"].get("host", "")) for a in current_alerts(demo.ws.engine) if a["state"] == "firing"
    }
    assert ("DiskFullIn24h", "db-1") in firing  # the disk filling up
    assert ("CalendarTaskOverdue", "") in firing  # the calendar's stalled task
    events = Counter((e["alertname"], e["event"]) for e in alert_history(demo.ws.engine, 5000))
    assert events[("DatabaseSlow", "firing")] >= 1  # slow at the evening peak
    assert events[("EndpointDown", "resolved")] == 1  # the live-class outage, over
    assert events[("ErrorLogSpike", "firing")] == 1
