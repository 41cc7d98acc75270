"""Run reports rendered with Jinja2: HTML for the console and e-mail, Markdown for chat, JSON."""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.engine import Engine

from eduops.core.clock import format_time, zone_label
from eduops.core.i18n import gettext
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


def render(run: dict[str, Any], fmt: str, lang: str = "en", tz: tzinfo | str = "UTC") -> str:
    """The run as a report in ``lang`` with times in ``tz`` (``run`` is ``get_run(..., lang=lang)``)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(run, ensure_ascii=False, indent=2, default=str)
    spec = PLAN_BY_KEY.get(run["task"])
    template = _env.get_template("core/report.html.j2" if fmt == "html" else "core/report.md.j2")
    return template.render(
        run=run, task=spec, mark=STATUS_MARK, lang=lang, _=lambda message: gettext(message, lang),
        fmt_time=lambda value: format_time(value, tz), zone=zone_label(tz),
    )


def render_run(engine: Engine, run_id: int, fmt: str, lang: str = "en", tz: tzinfo | str = "UTC") -> str:
    """A run's report; reports that leave the console (CLI, API, e-mail, chat) use the workspace's language
    and clock: ``render_run(engine, id, fmt, settings.language, settings.timezone)``."""
    return render(get_run(engine, run_id, lang=lang), fmt, lang, tz)
