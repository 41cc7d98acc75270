"""Builds a demo workspace: init, then every domain's ``populate`` in ORDER, with a progress bar."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from eduops.core.plugins import domain_modules
from eduops.core.workspace import init_workspace
from eduops.db import utcnow
from eduops.demo import DemoContext

DEMO_ADMIN_PASSWORD = "eduops-demo-2026!"


def build(directory: Path | None = None, progress=lambda message, fraction: None, seed: int = 2026,
          only: list[str] | None = None) -> DemoContext:  # type: ignore[no-untyped-def]
    directory = directory or Path(tempfile.mkdtemp(prefix="eduops-demo-"))
    ws, password = init_workspace(directory, force=True, admin_password=DEMO_ADMIN_PASSWORD)
    demo = DemoContext(ws=ws, now=utcnow(), rng=random.Random(seed), admin_password=password or DEMO_ADMIN_PASSWORD)
    modules = sorted(domain_modules("demo"), key=lambda m: getattr(m, "ORDER", 50))
    if only:
        modules = [m for m in modules if m.__name__.split(".")[1] in only]
    for i, module in enumerate(modules):
        domain = module.__name__.split(".")[1]
        started = time.perf_counter()
        demo.progress = lambda message, fraction, _i=i, _d=domain: progress(
            f"{_d}: {message}", (_i + min(max(fraction, 0.0), 1.0)) / len(modules)
        )
        demo.progress("starting", 0.0)
        module.populate(demo)
        demo.shared.setdefault("timings", {})[domain] = round(time.perf_counter() - started, 2)
    progress("ready", 1.0)
    return demo
