"""`eduops release ...`: record releases and run their regression journeys."""

from __future__ import annotations

from typing import Annotated

import typer

from eduops.core import values
from eduops.core.console import exit_for, out, plain, print_json, progress_bar, styled_status, table, workspace
from eduops.release import service

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
app = typer.Typer(help="Releases and their regression checks before and after a deploy.", no_args_is_help=True)


@app.command("add")
def add_command(
    version: Annotated[str, typer.Argument(help="e.g. 5.3.1")],
    change: Annotated[list[str] | None, typer.Option("--change", "-m", help="a change (repeatable)")] = None,
    deployed_at: Annotated[str | None, typer.Option(help="ISO time it was deployed")] = None,
    base_url: Annotated[str, typer.Option(help="the platform to check, if not [release] base_url")] = "",
    who: Annotated[str, typer.Option()] = "cli",
    as_json: JSON = False,
) -> None:
    """Record a release: version, time and changes."""
    at = values.parse_time(deployed_at, "--deployed-at", tz=workspace().settings.tz)
    rel = service.create_release(workspace().engine, version, change or [], who, deployed_at=at, base_url=base_url)
    print_json(rel) if as_json else out.print(f"release {version} recorded ({rel['status']})")


@app.command("deployed")
def deployed_command(
    version: str,
    check: Annotated[bool, typer.Option(help="run the post-deploy journeys now (when a platform is set)")] = True,
    as_json: JSON = False,
) -> None:
    """Mark a release as deployed now and run its post-deploy journeys. Exit 1 when one fails."""
    ws = workspace()
    rel = service.mark_deployed(ws.engine, version)
    if not check or not service.target_of(ws.settings, rel["base_url"]):
        print_json(rel) if as_json else out.print(f"release {version} deployed at {rel['deployed_at']}")
        return
    if not as_json:
        out.print(f"release {version} deployed at {rel['deployed_at']}; running the post-deploy journeys")
    check_command(version, "post", as_json)


@app.command("check")
def check_command(
    version: Annotated[str, typer.Argument(help="the release to check")],
    phase: Annotated[str, typer.Option(help="pre (before the deploy) or post (after it)")] = "post",
    as_json: JSON = False,
) -> None:
    """Run the regression journeys for a release now. Exit 1 when a journey fails."""
    ws = workspace()
    with progress_bar(f"release {version} {phase}", enabled=not as_json) as progress:
        run = service.check_release(ws.engine, ws.settings, version, phase, "cli", progress)
    if as_json:
        print_json(run)
    else:
        out.print(f"run #{run['id']}: {styled_status(run['status'])} — {plain(run['summary'])}")
        for c in run["checks"]:
            for j in c["evidence"].get("journeys", []):
                mark = "[green]ok[/]" if j["ok"] else f"[bold red]FAILED[/] {j['error']}"
                out.print(f"  {plain(j['title'])}: {mark}  {plain(j['screenshot'])}")
    exit_for(run["status"])


@app.command("list")
def list_command(as_json: JSON = False) -> None:
    """Releases with their pre- and post-deploy check results."""
    rows = service.list_releases(workspace().engine)
    if as_json:
        print_json(rows)
        return
    table(
        ["version", "status", "deployed", "changes", "pre", "post"],
        [
            [
                r["version"],
                r["status"],
                r["deployed_at"] or "—",
                len(r["changes"]),
                styled_status(r["pre_status"]),
                styled_status(r["post_status"]),
            ]
            for r in rows
        ],
    )


@app.command("show")
def show_command(version: str, as_json: JSON = False) -> None:
    """One release: its changes, checks and the work items it ships."""
    rel = service.get_release(workspace().engine, version)
    if as_json:
        print_json(rel)
        return
    out.print(f"release {rel['version']} ({rel['status']}), deployed {rel['deployed_at'] or '—'}")
    for c in rel["changes"]:
        out.print(f"  - {c}")
    for phase in service.PHASES:
        run = rel[f"{phase}_run"]
        out.print(
            f"{phase}-deploy check: "
            + (f"run #{run['id']} {styled_status(run['status'])} {run['summary']}" if run else "not run")
        )
    for w in rel["work_items"]:
        out.print(plain(f"  ships #{w['id']} {w['priority']} {w['title']}"))
