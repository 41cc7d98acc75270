"""Builds a demo workspace: init, then every domain's demo share in its declared order, with a progress bar."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eduops.core import plugins
from eduops.core.demo import DemoContext
from eduops.core.runs import run_task
from eduops.core.workspace import init_workspace
from eduops.db import utcnow

DEMO_ADMIN_PASSWORD = "eduops-demo-2026!"
FINAL_RUNS = ("weekly-performance", "daily-inspection")


def _domain_progress(progress: Callable[[str, float], None], domain: str, index: int,
                     count: int) -> Callable[[str, float], None]:
    def report(message: str, fraction: float) -> None:
        progress(f"{domain}: {message}", (index + min(max(fraction, 0.0), 1.0)) / count)

    return report


def build(directory: Path | None = None, progress: Callable[[str, float], None] = lambda message, fraction: None,
          seed: int = 2026, only: list[str] | None = None) -> DemoContext:
    directory = directory or Path(tempfile.mkdtemp(prefix="eduops-demo-"))
    ws, password = init_workspace(directory, force=True, admin_password=DEMO_ADMIN_PASSWORD)
    demo = DemoContext(ws=ws, now=utcnow(), rng=random.Random(seed), admin_password=password or DEMO_ADMIN_PASSWORD)
    shares = sorted((d for d in plugins.domains() if d.demo and (not only or d.name in only)),
                    key=lambda d: (d.demo_order, d.name))
    for i, share in enumerate(shares):
        started = time.perf_counter()
        demo.progress = _domain_progress(progress, share.name, i, len(shares))
        demo.progress("starting", 0.0)
        plugins.load(share.demo)(demo)
        demo.shared.setdefault("timings", {})[share.name] = round(time.perf_counter() - started, 2)
    if not only:
        # this morning's inspection and this week's performance analysis, run for real on the demo data
        for key in FINAL_RUNS:
            progress(f"running {key} on the demo data", 0.99)
            run_task(ws.engine, ws.settings, key, actor="demo")
    progress("ready", 1.0)
    return demo
