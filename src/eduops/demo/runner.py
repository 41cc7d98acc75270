"""Builds a demo workspace: init, then every domain's ``populate`` in ORDER, with a progress bar."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from eduops.core.plugins import domain_modules
from eduops.core.runs import run_task
from eduops.core.workspace import init_workspace
from eduops.db import utcnow
from eduops.demo import DemoContext

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
    modules = sorted(domain_modules("demo"), key=lambda m: getattr(m, "ORDER", 50))
    if only:
        modules = [m for m in modules if m.__name__.split(".")[1] in only]
    for i, module in enumerate(modules):
        domain = module.__name__.split(".")[1]
        started = time.perf_counter()
        demo.progress = _domain_progress(progress, domain, i, len(modules))
        demo.progress("starting", 0.0)
        module.populate(demo)
        demo.shared.setdefault("timings", {})[domain] = round(time.perf_counter() - started, 2)
    if not only:
        # this morning's inspection and this week's performance analysis, run for real on the demo data
        for key in FINAL_RUNS:
            progress(f"running {key} on the demo data", 0.99)
            run_task(ws.engine, ws.settings, key, actor="demo")
    progress("ready", 1.0)
    return demo
