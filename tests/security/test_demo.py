"""The demo's security history: real judgements, a few findings, an improving trend."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from eduops.core.demo import DemoContext
from eduops.core.workspace import Workspace, create_user
from eduops.security import demo
from eduops.security.service import history, latest


def test_demo_scans_improve_week_over_week(sqlite_ws: Workspace) -> None:
    create_user(sqlite_ws.engine, "admin", "admin", "Correct-Horse-Battery-9")
    ctx = DemoContext(sqlite_ws, datetime(2026, 11, 30, 9, 0, tzinfo=UTC), random.Random(7))
    demo.populate(ctx)
    points = history(sqlite_ws.engine)
    assert len(points) == demo.WEEKS
    scores = [p.score for p in points]
    assert scores == sorted(scores) and scores[-1] - scores[0] >= 20
    first = [f["title"] for f in latest(sqlite_ws.engine)["findings"]]
    assert "account admin (admin) has no second factor" in first  # a real finding that remains
    assert points[0].areas["headers"] < points[-1].areas["headers"]
    assert "security" in ctx.notes
