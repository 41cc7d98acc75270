"""Shared CLI plumbing: one workspace per command, --json output, errors as exit codes.

Output that goes to a pipe or a file is never cut or wrapped at 80 columns (tables take the width they
need, lines are not broken inside words or URLs); text that is not Rich markup goes through ``plain()``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from eduops.config import CONFIG_NAME, find_config
from eduops.core.workspace import Workspace, open_workspace
from eduops.errors import UsageError

# soft_wrap: lines are never broken by Rich (a terminal wraps them itself; a pipe gets them whole)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
PIPE_WIDTH = 10_000  # what a table may take when the output is not a terminal
_workspace: Workspace | None = None


def plain(text: object) -> str:
    """Text to print as it is: ``[section]`` names in advice must not be read as Rich markup."""
    return escape(str(text))


def no_workspace_message(cwd: Path) -> str:
    return (f"no eduops workspace here: {cwd} has no {CONFIG_NAME}. Create one with `eduops init` (in this "
            f"folder, or `eduops init PATH`), or use an existing one with `eduops --config PATH/{CONFIG_NAME} ...` "
            "or EDUOPS_HOME=PATH")


def workspace() -> Workspace:
    """The workspace for this command (settings, migrated state database). Outside a workspace (no
    eduops.toml here, no --config/EDUOPS_CONFIG, no EDUOPS_HOME) the command refuses instead of
    silently using some other folder."""
    global _workspace
    if _workspace is None:
        if find_config() is None and not os.environ.get("EDUOPS_HOME"):
            raise UsageError(no_workspace_message(Path.cwd()))
        _workspace = open_workspace()
    return _workspace


def reset_workspace() -> None:
    global _workspace
    _workspace = None


def cli_actor() -> str:
    """Who is acting from the command line, for run records and the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def cell(value: Any) -> str:
    """A table cell as text: a ``styled_status`` keeps its colour, anything else is shown as written."""
    if value is None:
        return ""
    text = str(value)
    return text if STYLED.fullmatch(text) else plain(text)


def table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
    for row in rows:
        t.add_row(*[cell(v) for v in row])
    if out.is_terminal:
        out.print(t)
    else:  # a pipe or a file gets every column whole (Rich would cut at 80 columns)
        Console(file=out.file, width=PIPE_WIDTH, soft_wrap=True).print(t)


STATUS_STYLE = {"ok": "green", "warn": "yellow", "crit": "bold red", "error": "red", "skipped": "dim",
                "interrupted": "magenta", "running": "cyan"}


STYLED = re.compile(r"\[(?:bold )?[a-z]+\][a-z]+\[/\]")


def styled_status(status: str | None) -> str:
    if not status:
        return "—"
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


@contextmanager
def progress_bar(description: str, enabled: bool = True) -> Iterator[Callable[[str, float], None]]:
    """A Rich progress bar fed with (message, fraction done); silent when disabled (e.g. --json)."""
    if not enabled or not err.is_terminal:
        yield lambda message, fraction: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(description, total=1.0)

        def update(message: str, fraction: float) -> None:
            bar.update(task, completed=min(max(fraction, 0.0), 1.0), description=f"{description}: {message}")

        yield update


def confirm_or_refuse(what: str) -> None:
    """Before an action that loads or changes production: ask on a terminal (no: exit 1); without a
    terminal, refuse with exit 2 and say how to go ahead (``--yes``)."""
    if sys.stdin.isatty():
        if not typer.confirm(f"{what} Go ahead?", default=False):
            raise typer.Exit(1)
        return
    raise UsageError(f"{what} Add --yes to go ahead.")


def exit_for(status: str) -> None:
    """The CLI contract for a command that runs a task: exit 1 when it found problems (warn, crit),
    3 when it could not finish (error, interrupted), else return (exit 0)."""
    if status in ("warn", "crit"):
        raise typer.Exit(1)
    if status in ("error", "interrupted"):
        raise typer.Exit(3)


def local_time(value: Any) -> str:
    """A time for the terminal: the workspace's clock, to the second, with the zone (``2026-03-02 09:00:00 UTC+8``)."""
    from eduops.core.clock import format_time

    return format_time(value, workspace().settings.timezone)
