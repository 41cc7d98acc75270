"""Builds a demo workspace: init, then every domain's demo share in its declared order, with a progress bar."""

from __future__ import annotations

import random
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from eduops.core import plugins
from eduops.core.demo import DemoContext
from eduops.core.runs import run_task
from eduops.core.workspace import Workspace, init_workspace
from eduops.db import utcnow
from eduops.errors import UsageError

DEMO_ADMIN_PASSWORD = "eduops-demo-2026!"
FINAL_RUNS = ("weekly-performance", "daily-inspection")
DEFAULT_FOLDER = "eduops-demo"  # under the current folder; `make demo` keeps it in the repository (gitignored)
MARKER = ".eduops-demo"  # a folder holding this was made by the demo and may be rebuilt


def demo_folder(directory: Path | None) -> Path:
    """Where the demo workspace goes: the folder given, else ./eduops-demo (never the system temp folder).
    A folder from an earlier demo is emptied first; any other non-empty folder is refused."""
    folder = (directory or Path.cwd() / DEFAULT_FOLDER).expanduser().resolve()
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise UsageError(f"{folder} is not empty and not an earlier demo; give an empty or new folder with --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `eduops demo`; rebuilt by the next demo\n")
    return folder


def console_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def set_base_url(ws: Workspace, url: str) -> None:
    """The links in alerts and reports point at the port the demo serves on (settings and eduops.toml)."""
    ws.settings.base_url = url
    config = ws.settings.config_file
    if config and config.exists():
        text = config.read_text(encoding="utf-8")
        config.write_text(re.sub(r'(?m)^base_url = ".*"$', f'base_url = "{url}"', text), encoding="utf-8")


def _domain_progress(progress: Callable[[str, float], None], domain: str, index: int,
                     count: int) -> Callable[[str, float], None]:
    def report(message: str, fraction: float) -> None:
        progress(f"{domain}: {message}", (index + min(max(fraction, 0.0), 1.0)) / count)

    return report


def build(directory: Path | None = None, progress: Callable[[str, float], None] = lambda message, fraction: None,
          seed: int = 2026, only: list[str] | None = None, port: int = 8080, host: str = "127.0.0.1") -> DemoContext:
    """The demo workspace, its console at ``host:port`` (base_url) and the demo platform on ``port + 1``."""
    ws, password = init_workspace(demo_folder(directory), force=True, admin_password=DEMO_ADMIN_PASSWORD)
    set_base_url(ws, console_url(host, port))
    demo = DemoContext(ws=ws, now=utcnow(), rng=random.Random(seed), admin_password=password or DEMO_ADMIN_PASSWORD,
                       platform_port=port + 1 if 0 < port < 65535 else 0)
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
