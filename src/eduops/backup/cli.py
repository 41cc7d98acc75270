"""`eduops backup`: run, list, verify, restore, drill, targets, secret."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from eduops.alerting import metrics
from eduops.backup import drills, service, verification
from eduops.backup.settings import SECRET_FIELDS, seal
from eduops.core.checks import Measurement
from eduops.core.console import (
    cli_actor,
    local_time,
    out,
    plain,
    print_json,
    progress_bar,
    styled_status,
    table,
    workspace,
)
from eduops.core.runs import RunParams, run_task
from eduops.core.service import get_run
from eduops.db import session_scope, utcnow
from eduops.errors import EduopsError, UsageError

if TYPE_CHECKING:
    SecretField = str
    SecretKind = str
else:  # Typer lists the choices in help and errors
    SecretField = Literal[tuple(SECRET_FIELDS)]
    SecretKind = Literal["target", "source"]

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
app = typer.Typer(help="Backups: restic to several targets, verification, restore drills.", no_args_is_help=True)


def _size(n: int | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _record(extra: list[Measurement]) -> None:
    ws = workspace()
    with session_scope(ws.engine) as session:
        metrics.record(session, verification.measurements(ws.engine, ws.settings) + extra, utcnow())


@app.command("run")
def run_cmd(
    source: Annotated[str | None, typer.Argument(help="one source (default: all)")] = None,
    mode: Annotated[str, typer.Option(help="incremental or full")] = "incremental",
    as_json: JSON = False,
) -> None:
    """Back up sources to the primary target, copy them to every other target and verify: the backup task, now."""
    ws = workspace()
    service.check_request(ws.settings, source, mode)
    task = "backup-full" if mode == "full" else "backup"
    params: RunParams = {"backup.run": {"source": source}} if source else {}
    with progress_bar(task, enabled=not as_json) as progress:
        run_id = run_task(ws.engine, ws.settings, task, actor=cli_actor(), params=params, progress=progress)
    run = get_run(ws.engine, run_id)
    steps = {c["name"]: c for c in run["checks"]}
    results = service.list_backups(ws.engine, limit=1000, run_id=run_id)
    if as_json:
        print_json(results)
    else:
        table(
            ["id", "source", "status", "snapshot", "size", "added", "copies", "error"],
            [
                [
                    r["id"],
                    r["source"],
                    styled_status(r["status"]),
                    (r["snapshot_id"] or "")[:8],
                    _size(r["size_bytes"]),
                    _size(r["added_bytes"]),
                    " ".join(f"{c['target']}:{c['status']}" for c in r["copies"]),
                    r["error"],
                ]
                for r in results
            ],
        )
        for step in steps.values():
            out.print(f"  {styled_status(step['status'])} {plain(step['name'])}: {plain(step['summary'])}")
        out.print(f"run [bold]#{run_id}[/] {task}: {styled_status(run['status'])}; report: eduops report {run_id}")
    backed_up = steps.get("backup.run")
    if backed_up is None or backed_up["status"] == "error" or "error" in backed_up["evidence"]:
        # the backup stopped as a whole (the primary unusable, a crash, the time limit): say why, as before
        evidence = backed_up["evidence"] if backed_up else {}
        stopped = EduopsError(str(evidence.get("error") or (backed_up or run)["summary"]))
        stopped.exit_code = int(evidence.get("exit_code", 3))
        raise stopped
    if any(r["status"] != "ok" for r in results):
        raise typer.Exit(3)
    if any(c["status"] != "ok" for r in results for c in r["copies"]):
        raise typer.Exit(1)
    verified = steps.get("backup.verify")
    if verified is not None and verified["status"] in ("crit", "error"):
        raise typer.Exit(1)


@app.command("list")
def list_cmd(
    source: Annotated[str | None, typer.Option(help="only this source")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 30,
    as_json: JSON = False,
) -> None:
    """Recent backups, newest first, with their copies per target."""
    ws = workspace()
    rows = service.list_backups(ws.engine, source, limit, settings=ws.settings)
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "source", "status", "started", "snapshot", "size", "copies"],
        [
            [
                r["id"],
                r["source"],
                styled_status(r["status"]),
                local_time(r["started_at"]),
                (r["snapshot_id"] or "")[:8],
                _size(r["size_bytes"]),
                " ".join(f"{c['target']}:{c['status']}" for c in r["copies"]),
            ]
            for r in rows
        ],
    )


@app.command("verify")
def verify_cmd(
    target: Annotated[str | None, typer.Option(help="one target (default: all)")] = None,
    read_data: Annotated[str, typer.Option(help="rotate (next n/N slice), full or none")] = "rotate",
    as_json: JSON = False,
) -> None:
    """restic check on the targets, reading the next slice of the data."""
    ws = workspace()
    with progress_bar("verify", enabled=not as_json) as progress:
        progress("checking", 0.1)
        results = verification.verify(ws.engine, ws.settings, read_data=read_data, target=target)
    _record([])
    if as_json:
        print_json(results)
    else:
        table(
            ["target", "read", "status", "restic says"],
            [
                [r["target"], r["subset"], styled_status("ok" if r["status"] == "ok" else "crit"), r["output"]]
                for r in results
            ],
        )
    if any(r["status"] != "ok" for r in results):
        raise typer.Exit(1)


@app.command("restore")
def restore_cmd(
    snapshot: Annotated[str, typer.Argument(help="snapshot id (or 'latest')")],
    to: Annotated[str, typer.Option("--to", help="a new path, or the DSN of a new database")],
    target: Annotated[str | None, typer.Option(help="read from this target (default: primary)")] = None,
    verify: Annotated[bool, typer.Option("--verify", help="files: verify every restored byte")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="restore into a place that is not scratch without asking")] = False,
    as_json: JSON = False,
) -> None:
    """Restore a snapshot into a new database or an empty path, and measure what came back."""
    import tempfile
    from pathlib import Path

    from eduops.core.console import confirm_or_refuse

    if not yes and not drills.is_scratch(to, workspace().settings.home, Path(tempfile.gettempdir())):
        confirm_or_refuse(f"--to {to} is not a scratch place: the restore writes a full copy of snapshot {snapshot} "
                          "there, which loads that server and fills its disk.")
    with progress_bar("restore", enabled=not as_json) as progress:
        progress(snapshot, 0.1)
        result = drills.restore(workspace().settings, snapshot, to, target, verify, workspace().engine)
    if as_json:
        print_json(result)
    else:
        out.print(
            f"restored {result['source']} snapshot {result['snapshot']} from {result['target']} "
            f"to {result['to']} in {result['seconds']:.1f} s"
        )
        for name, t in result["restored"].get("tables", {}).items():
            out.print(f"  {name}: {t['rows']} rows")


@app.command("drill")
def drill_cmd(
    source: Annotated[str | None, typer.Option(help="one source (default: all)")] = None,
    target: Annotated[str | None, typer.Option(help="restore from this target")] = None,
    as_json: JSON = False,
) -> None:
    """Restore drill: restore the latest backup into a scratch place, compare, measure RTO and RPO, clean up."""
    ws = workspace()
    with progress_bar("drill", enabled=not as_json) as progress:
        results = drills.drill(ws.engine, ws.settings, source, target, progress=progress)
    _record(
        [
            Measurement("backup_drill_rto_seconds", d["rto_seconds"], "s", {"source": d["source"]})
            for d in results
            if d["rto_seconds"] is not None
        ]
    )
    if as_json:
        print_json(results)
    else:
        table(
            ["source", "target", "snapshot", "status", "RTO", "RPO", "problem"],
            [
                [
                    d["source"],
                    d["target"],
                    (d["snapshot_id"] or "")[:8],
                    styled_status("ok" if d["status"] == "ok" else "crit"),
                    f"{d['rto_seconds']:.1f} s" if d["rto_seconds"] is not None else "—",
                    f"{d['rpo_seconds'] / 3600:.1f} h" if d["rpo_seconds"] is not None else "—",
                    d["error"],
                ]
                for d in results
            ],
        )
    if any(d["status"] != "ok" for d in results):
        raise typer.Exit(1)


@app.command("targets")
def targets_cmd(
    init: Annotated[bool, typer.Option("--init", help="create missing repositories")] = False, as_json: JSON = False
) -> None:
    """Each target: reachable, initialised, snapshots and stored size."""
    rows = verification.targets_status(workspace().settings, init=init)
    if as_json:
        print_json(rows)
    else:
        table(
            ["target", "kind", "primary", "reachable", "initialised", "snapshots", "size", "error"],
            [
                [
                    r["target"],
                    r["kind"],
                    "yes" if r["primary"] else "",
                    "yes" if r["reachable"] else "[red]no[/]",
                    "yes" if r["initialised"] else "no",
                    r["snapshots"],
                    _size(r["size_bytes"]),
                    r["error"],
                ]
                for r in rows
            ],
        )
    if any(r["error"] for r in rows):
        raise typer.Exit(1)


@app.command("secret")
def secret_cmd(
    kind: Annotated[SecretKind, typer.Argument(help="a target or a source")],
    name: Annotated[str, typer.Argument(help="its name in [backup]")],
    field: Annotated[
        SecretField, typer.Argument(help="which secret")
    ] = "password",
) -> None:
    """Encrypt a secret read from standard input (or a hidden prompt) for the backup section of eduops.toml."""
    if kind not in ("target", "source"):
        raise UsageError(f"{kind!r}: the first argument is `target` or `source`")
    if field not in SECRET_FIELDS:
        raise UsageError(f"{field!r}: one of {', '.join(SECRET_FIELDS)}")
    value = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else typer.prompt(f"{field}", hide_input=True)
    if not value:
        raise UsageError("empty secret")
    sealed = seal(workspace().settings, value, kind, name, field)
    typer.echo(f'{field} = "{sealed}"')
