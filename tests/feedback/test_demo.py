"""The demo tells its story: stale and unlicensed content, themed feedback with a new cluster, work
items, and two releases of which 5.3.1 broke a journey."""

from __future__ import annotations

import pytest

from eduops.content.service import audit
from eduops.core.demo import DemoContext
from eduops.db import utcnow
from eduops.feedback.analysis import ranking
from eduops.feedback.workitems import list_items
from eduops.release.service import list_releases


@pytest.mark.slow
def test_demo_story(full_demo: DemoContext) -> None:
    ws = full_demo.ws
    report = audit(ws.engine, ws.settings, utcnow().astimezone(ws.settings.tz).date())
    problems = {r["problem"] for r in report["licences"]}
    assert {"expiring", "expired", "no_licence", "out_of_scope"} <= problems
    assert any(r["problem"] == "superseded_syllabus" for r in report["freshness"])

    clusters = ranking(ws.engine)
    assert len(clusters) >= 7 and clusters[0]["category"] == "audio_video"
    assert any(c["new"] and "测验" in c["top_terms"] for c in clusters)
    assert {w["priority"] for w in list_items(ws.engine)} >= {"P0", "P2", "P3"}

    releases = {r["version"]: r for r in list_releases(ws.engine)}
    assert (releases["5.3.0"]["post_status"], releases["5.3.1"]["post_status"]) == ("ok", "crit")
