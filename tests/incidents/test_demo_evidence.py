"""The demo's two stories, read through the incident sources: both open, and the probable causes are
release 5.3.1 and Henan / China Unicom. The feedback work item and the call-quality page agree."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from eduops.core.demo import DemoContext
from eduops.core.places import place_name
from eduops.core.workspace import init_workspace
from eduops.db import utcnow
from eduops.feedback import demo as feedback_demo
from eduops.feedback.workitems import list_items
from eduops.incidents.cause import rank_causes
from eduops.incidents.impact import measure_impact
from eduops.incidents.signals import Signal
from eduops.incidents.sources import openers, timeline
from eduops.release import demo as release_demo
from eduops.rtc.service import open_store
from eduops.rtc.store import insert_arrow
from eduops.rtc.synthetic import BAD_ISP, BAD_PROVINCE, generate

RELEASE = {"app_version": "5.3.1"}
NETWORK = {"region": BAD_PROVINCE, "isp": BAD_ISP}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoContext]:
    """The demo's call-quality, feedback and release shares (a week of calls instead of a month: faster)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in ("EDUOPS_HOME", "EDUOPS_CONFIG", "EDUOPS_DATABASE_URL"):
            mp.delenv(key, raising=False)
        folder: Path = tmp_path_factory.mktemp("incidents-demo")
        mp.setenv("EDUOPS_RELEASE__CHROMIUM_PATH", str(folder / "no-chromium"))  # recorded journeys: fast
        ws, _ = init_workspace(folder / "demo", force=True, admin_password="incidents-demo-pw")
        demo = DemoContext(ws=ws, now=_late_evening(ws.settings.tz), rng=random.Random(2026))
        data = generate(demo.now, days=8, seed=7, interval_s=30, timezone=ws.settings.timezone)
        with open_store(ws.settings).connect() as con:
            insert_arrow(con, data.calls, data.sessions, data.samples)
        feedback_demo.populate(demo)
        release_demo.populate(demo)
        yield demo


def _late_evening(tz: ZoneInfo) -> datetime:
    """The latest 23:30 in the workspace's clock: the stories' windows (the last 36 hours for the first bad 5
    minutes, the last 24 for the openers) then hold two evening peaks whole, whatever the time of day the
    suite runs (at some hours the first bad bucket was the tail of an evening cut by the window's start)."""
    local = utcnow().astimezone(tz)
    evening = local.replace(hour=23, minute=30, second=0, microsecond=0)
    return (evening if evening <= local else evening - timedelta(days=1)).astimezone(UTC)


def _joined(signals: list[Signal], dims: Mapping[str, str]) -> list[Signal]:
    """The test's stand-in for the incidents service's joining: signals sharing a dimension value."""
    return [s for s in signals if any(s.dims.get(k) == v for k, v in dims.items())]


@pytest.mark.slow
def test_the_demo_stories_open_incidents_with_their_probable_causes(demo: DemoContext) -> None:
    ws, now = demo.ws, demo.now
    opened = openers(ws, now - timedelta(hours=36), now)
    refs = {s.ref for s in opened}
    assert "release:5.3.1" in refs
    assert f"rtc:province_isp:{BAD_PROVINCE} / {BAD_ISP}" in refs
    kinds = {(s.kind, tuple(sorted(s.dims.items()))) for s in opened}
    assert ("feedback", (("app_version", "5.3.1"),)) in kinds  # the quiz cluster surged
    assert ("feedback", (("isp", BAD_ISP), ("region", BAD_PROVINCE))) in kinds  # the evening 卡顿 complaints

    for dims, kind in ((RELEASE, "release"), (NETWORK, "region_isp")):
        signals = _joined(timeline(ws, now - timedelta(hours=36), now, dims), dims)
        assert {s.kind for s in signals} >= {"feedback", "release" if kind == "release" else "rtc"}
        top = rank_causes(signals)[0]
        assert (top.kind, dict(top.dims), top.confidence) == (kind, dims, "likely")
        impact = measure_impact(ws, now - timedelta(hours=36), now, dims)
        assert impact["complaints"] >= 10
    rtc = next(s for s in timeline(ws, now - timedelta(hours=36), now, NETWORK) if s.kind == "rtc")
    assert 19 <= rtc.at.astimezone(ws.settings.tz).hour <= 21  # the evening degradation
    assert len(rtc.detail["worst_calls"]) == 5 and rtc.detail["worst_calls"][0]["link"].startswith("/rtc/calls/")
    assert measure_impact(ws, now - timedelta(hours=36), now, NETWORK)["calls_affected"] > 0


def test_the_feedback_work_item_blames_the_segment_the_call_quality_data_shows(demo: DemoContext) -> None:
    titles = [w["title"] for w in list_items(demo.ws.engine)]
    region, isp = place_name(BAD_PROVINCE, "zh-CN"), place_name(BAD_ISP, "zh-CN")
    assert any(region in t and isp in t for t in titles), titles
    assert not any("广东" in t or "移动" in t for t in titles)
