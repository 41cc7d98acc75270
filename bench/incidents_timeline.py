"""An incident's timeline on the demo's data: every source (alerts, complaint clusters, the call-quality
segment by 5 minutes with its worst calls, releases, runs, learning) for 36 hours, and the openers of
the last day. The workspace is the demo's call-quality (a week), feedback and release shares.

Goal (issue 19): the timeline of either demo story < 1 s by the median (warm: the stores are open).

    .venv/bin/python bench/incidents_timeline.py [--home eduops-demo] [--quick]
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from harness import Goal, finish, parse, parser, report, timed

from eduops.config import load_settings
from eduops.core.demo import DemoContext
from eduops.core.workspace import Workspace, init_workspace
from eduops.db import make_engine, utcnow
from eduops.feedback import demo as feedback_demo
from eduops.incidents.sources import openers, timeline
from eduops.release import demo as release_demo
from eduops.rtc.service import open_store
from eduops.rtc.store import insert_arrow
from eduops.rtc.synthetic import BAD_ISP, BAD_PROVINCE, generate

STORIES = {"release 5.3.1": {"app_version": "5.3.1"}, f"{BAD_PROVINCE} / {BAD_ISP}": {"region": BAD_PROVINCE,
                                                                                      "isp": BAD_ISP}}


def build(folder: Path, days: int) -> Workspace:
    ws, _ = init_workspace(folder, force=True, admin_password="incidents-bench-pw")
    demo = DemoContext(ws=ws, now=utcnow(), rng=random.Random(2026))
    data = generate(demo.now, days=days, seed=7, timezone=ws.settings.timezone)
    with open_store(ws.settings).connect() as con:
        insert_arrow(con, data.calls, data.sessions, data.samples)
    feedback_demo.populate(demo)
    release_demo.populate(demo)
    return ws


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--home", type=Path, default=None, help="an existing demo workspace (eduops demo --no-serve)")
    args = parse(p)
    with tempfile.TemporaryDirectory() as tmp:
        if args.home:
            settings = load_settings(None, home=str(args.home))
            ws = Workspace(settings, make_engine(settings.state_url))
        else:
            ws = build(Path(tmp) / "demo", 8 if args.quick else 30)
        now = utcnow()
        for name, dims in STORIES.items():
            timeline(ws, now - timedelta(hours=36), now, dims)  # warm-up: imports, stores opened
            times = [timed(lambda d=dims: timeline(ws, now - timedelta(hours=36), now, d))
                     for _ in range(max(args.rounds, 3))]
            report(Goal(f"incidents timeline, 36 h, {name}", "< 1 s", "<", 1.0, unit="s"), times)
        times = [timed(lambda: openers(ws, now - timedelta(hours=24), now)) for _ in range(max(args.rounds, 3))]
        report(Goal("incidents openers, last 24 h", "< 2 s", "<", 2.0, unit="s"), times)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
