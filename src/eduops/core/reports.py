"""Run reports rendered with Jinja2: HTML for the console and e-mail, Markdown for chat, JSON."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.engine import Engine

from eduops.core.plan import PLAN_BY_KEY
from eduops.core.service import get_run
from eduops.core.units import humanize
from eduops.errors import UsageError

FORMATS = ("html", "md", "json")
_env = Environment(
    loader=PackageLoader("eduops.core", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["humanize"] = humanize  # values with their unit (21.6 GiB, 2 h 5 min), never 2.323e+10
STATUS_MARK = {
    "ok": "✅", "warn": "⚠️", "crit": "🔴", "error": "❌", "skipped": "⏭️", "interrupted": "⛔", "running": "⏳",
}


def render(run: dict[str, Any], fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(run, ensure_ascii=False, indent=2, default=str)
    spec = PLAN_BY_KEY.get(run["task"])
    template = _env.get_template("core/report.html.j2" if fmt == "html" else "core/report.md.j2")
    return template.render(run=run, task=spec, mark=STATUS_MARK)


def render_run(engine: Engine, run_id: int, fmt: str) -> str:
    return render(get_run(engine, run_id), fmt)
