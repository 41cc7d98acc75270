"""Shared CLI plumbing: one workspace per command, --json output, errors as exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from eduops.core.workspace import Workspace, open_workspace

out = Console()
err = Console(stderr=True)
_workspace: Workspace | None = None


def workspace() -> Workspace:
    """The workspace for this command (settings, migrated state database)."""
    global _workspace
    if _workspace is None:
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


def table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    out.print(t)


STATUS_STYLE = {"ok": "green", "warn": "yellow", "crit": "bold red", "error": "red", "skipped": "dim",
                "interrupted": "magenta", "running": "cyan"}


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
