"""Core commands: init, serve, calendar, run, runs, report, db."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from eduops.core import calendar as cal
from eduops.core.console import (
    cli_actor,
    exit_for,
    local_time,
    out,
    plain,
    print_json,
    progress_bar,
    styled_status,
    table,
    workspace,
)
from eduops.core.reports import render_run
from eduops.core.runs import run_task
from eduops.core.service import get_run, list_runs, sign_off
from eduops.errors import UsageError

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]

calendar_app = typer.Typer(help="The maintenance calendar.", no_args_is_help=True)
runs_app = typer.Typer(help="Runs of calendar tasks.", no_args_is_help=True)
db_app = typer.Typer(help="The state database.", no_args_is_help=True)


def _local(value: str | None) -> str:
    return local_time(value)


@calendar_app.command("list")
def calendar_list(as_json: JSON = False) -> None:
    """The plan: each task with its cadence, owner, next due time, last result and whether it is overdue."""
    ws = workspace()
    cal.sync_tasks(ws.engine, ws.settings)
    entries = cal.calendar(ws.engine, ws.settings)
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    table(
        ["task", "cadence", "owner", "next due", "last", "overdue"],
        [[e.key, e.cadence, e.owner, _local(e.next_due.isoformat() if e.next_due else None),
          styled_status(e.last_status), "[bold red]OVERDUE[/]" if e.overdue else ""] for e in entries],
        title=f"Maintenance calendar ({ws.settings.timezone})",
    )


def run_command(task: Annotated[str, typer.Argument(help="task key, e.g. daily-inspection")],
                as_json: JSON = False) -> None:
    """Run a calendar task now and show its result. Exit 1 when it finds problems at warn or crit."""
    ws = workspace()
    cal.task_spec(task)
    with progress_bar(task, enabled=not as_json) as progress:
        run_id = run_task(ws.engine, ws.settings, task, trigger="manual", actor=cli_actor(), progress=progress)
    run = get_run(ws.engine, run_id)
    if as_json:
        print_json(run)
    else:
        out.print(f"run [bold]#{run['id']}[/] {plain(task)}: {styled_status(run['status'])} — {plain(run['summary'])}")
        for c in run["checks"]:
            out.print(f"  {styled_status(c['status'])} {plain(c['name'])}: {plain(c['summary'])}")
            for f in c["findings"]:
                out.print(plain(f"      [{f['severity']}] {f['title']}" + (f" → {f['remedy']}" if f["remedy"] else "")))
        out.print(f"report: eduops report {run['id']} --format md")
    exit_for(run["status"])


@runs_app.command("list")
def runs_list(
    task: Annotated[str | None, typer.Option(help="only this task")] = None,
    status: Annotated[str | None, typer.Option(help="only runs with this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 30,
    as_json: JSON = False,
) -> None:
    """Recent runs, newest first."""
    runs = list_runs(workspace().engine, task=task, status=status, limit=limit)
    if as_json:
        print_json(runs)
        return
    table(["id", "task", "trigger", "status", "started", "summary"],
          [[r["id"], r["task"], r["trigger"], styled_status(r["status"]), _local(r["started_at"]), r["summary"]]
           for r in runs])


@runs_app.command("show")
def runs_show(run_id: int, as_json: JSON = False) -> None:
    """One run with its checks, findings and measurements."""
    run = get_run(workspace().engine, run_id)
    if as_json:
        print_json(run)
    else:
        ws = workspace()
        out.print(render_run(ws.engine, run_id, "md", ws.settings.language, ws.settings.timezone))


@runs_app.command("sign-off")
def runs_sign_off(run_id: int, user: Annotated[str, typer.Option(help="the owner signing off")],
                  comment: Annotated[str, typer.Option()] = "", as_json: JSON = False) -> None:
    """Record the owner's sign-off of a drill run."""
    run = sign_off(workspace().engine, run_id, user, comment)
    print_json(run) if as_json else out.print(f"run #{run_id} signed off by {user}")


def report_command(
    run_id: Annotated[int, typer.Argument(help="the run id")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="html, md or json")] = "md",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to this file")] = None,
) -> None:
    """Render a run's report."""
    ws = workspace()
    text = render_run(ws.engine, run_id, fmt, ws.settings.language, ws.settings.timezone)
    if output:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")
    else:
        sys.stdout.write(text + ("\n" if not text.endswith("\n") else ""))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the state database."""
    from eduops.db import current_heads

    ws = workspace()
    out.print(f"state database at {ws.engine.url.render_as_string(hide_password=True)}: "
              f"{', '.join(sorted(current_heads(ws.settings.state_url)))}")


def init_command(
    directory: Annotated[Path, typer.Argument(help="the workspace folder")] = Path("."),
    timezone: Annotated[str, typer.Option(help="IANA timezone of the team")] = "Asia/Shanghai",
    admin: Annotated[str, typer.Option(help="name of the first admin")] = "admin",
    force: Annotated[bool, typer.Option(help="overwrite an existing eduops.toml")] = False,
) -> None:
    """Create a workspace: a commented eduops.toml, a secret key (0600), the database, the first admin."""
    from eduops.config import check_timezone
    from eduops.core.workspace import init_workspace

    try:
        check_timezone(timezone)
    except ValueError as exc:
        raise UsageError(f"--timezone: {exc}") from None
    ws, password = init_workspace(directory, timezone=timezone, admin=admin, force=force)
    out.print(f"workspace ready in [bold]{ws.settings.home}[/]")
    out.print(f"  configuration: {ws.settings.config_file}")
    out.print(f"  secret key:    {ws.settings.key_file} (mode 0600; back it up, secrets cannot be read without it)")
    if password:
        out.print(f"  admin login:   [bold]{admin}[/] / [bold]{password}[/]  (shown once; change it after login)")
    out.print(f"next: cd {ws.settings.home} && eduops serve")


def upgrade_command(as_json: JSON = False) -> None:
    """Upgrade this workspace in place to this release: a copy of the state database, the DuckDB stores,
    eduops.toml and secret.key first, then the migrations. Refused while `eduops serve` runs on it."""
    from eduops.config import load_settings
    from eduops.core.i18n import render_text
    from eduops.core.local_access import server_process
    from eduops.core.plugins import domains, load
    from eduops.core.upgrade import migrate
    from eduops.errors import Conflict

    settings = load_settings()
    running = server_process(settings.home)  # one that does not answer may still hold the files: refused too
    if running is not None:
        raise Conflict(f"eduops serve (pid {running[0].pid}) is running on {settings.home}: stop it first "
                       "(systemctl stop eduops), upgrade, then start it again")
    result = migrate(settings, full_backup=True)
    done: list[Any] = []  # what each domain's upgrade step did (messages, English in --json)
    for d in domains():
        if d.upgrade:
            with progress_bar(d.name, enabled=not as_json) as progress:
                done += load(d.upgrade)(settings, progress)
    if as_json:
        print_json({**result.to_dict(), "stores": [str(line) for line in done]})
        return
    out.print(f"copied {', '.join(result.copied) or 'nothing'} to {result.backup}")
    if result.changed:
        out.print(f"state database upgraded: {', '.join(result.revisions_before) or '(empty)'} → "
                  f"{', '.join(result.revisions_after)}")
    else:
        out.print(f"state database already at this release's schema ({', '.join(result.revisions_after)})")
    for line in done:
        out.print(render_text(line, settings.language))
    out.print(f"workspace {settings.home} is at eduops {result.version_after}"
              + (f" (was {result.version_before})" if result.version_before else ""))
