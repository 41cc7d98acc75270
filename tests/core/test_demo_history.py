"""The core demo's run history leaves out the tasks whose own domain demo runs the real task: a made-up run of
them would be the newest one (a load test without a knee, a drill without a timeline) whenever its slot fell
inside the history window."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from eduops.core.demo import DemoContext, populate
from eduops.core.models import Run
from eduops.core.workspace import Workspace
from eduops.db import session_scope


@pytest.mark.parametrize("now", [
    datetime(2027, 2, 25, 12, tzinfo=UTC),  # five days after the load test's 20 February slot
    datetime(2027, 1, 10, 12, tzinfo=UTC),  # ten days after the quarterly drill's 1 January slot
])
def test_the_calendar_history_has_no_made_up_runs_of_tasks_their_domain_runs(sqlite_ws: Workspace,
                                                                               now: datetime) -> None:
    populate(DemoContext(sqlite_ws, now, random.Random(7)))
    with session_scope(sqlite_ws.engine) as session:
        keys = set(session.scalars(sa.select(Run.task_key).distinct()))
    assert keys, "the history has runs"
    assert "daily-inspection" in keys
    assert not keys & {"load-test", "quarterly-drill", "release-check"}
