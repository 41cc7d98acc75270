"""Console commands: `eduops serve`, `eduops demo`, `eduops users ...`, `eduops keys ...`, `eduops audit ...`."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from eduops.core.audit import list_audit, verify_chain
from eduops.core.console import out, plain, print_json, progress_bar, table, workspace
from eduops.core.principal import SCOPES
from eduops.core.workspace import ROLES
from eduops.errors import UsageError
from eduops.security.cli import rotate_command
from eduops.web import accounts, apikeys

if TYPE_CHECKING:
    Role = str
else:  # Typer lists the choices in help and errors
    Role = Literal[tuple(ROLES)]

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ACTOR = f"cli:{getpass.getuser()}"

users_app = typer.Typer(help="Console users and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for machine clients (and the secret key ring).", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[Role, typer.Option(help="what the user may do")] = "viewer",
    as_json: JSON = False,
) -> None:
    """Add a user; a password is generated and printed once."""
    info, password = accounts.add_user(workspace().engine, name, role, actor=ACTOR)
    if as_json:
        print_json({**info, "password": password})
    else:
        out.print(f"user [bold]{name}[/] ({role}) created; password, shown once: [bold]{password}[/]")


@users_app.command("list")
def users_list(as_json: JSON = False) -> None:
    """Every user with role, state, second factor and last login."""
    users = accounts.list_users(workspace().engine)
    if as_json:
        print_json(users)
        return
    table(
        ["user", "role", "state", "2FA", "last login"],
        [
            [
                u["username"],
                u["role"],
                "disabled" if u["disabled"] else "active",
                "on" if u["totp"] else "off",
                u["last_login_at"] or "—",
            ]
            for u in users
        ],
    )


@users_app.command("set-role")
def users_set_role(name: str, role: Annotated[Role, typer.Argument(help="the new role")],
                   as_json: JSON = False) -> None:
    """Change a user's role."""
    info = accounts.set_role(workspace().engine, name, role, actor=ACTOR)
    print_json(info) if as_json else out.print(f"{name} is now {role}")


@users_app.command("disable")
def users_disable(
    name: str,
    enable: Annotated[bool, typer.Option("--enable", help="enable instead")] = False,
    as_json: JSON = False,
) -> None:
    """Disable a user (ending their sessions), or enable them again with --enable."""
    info = accounts.set_disabled(workspace().engine, name, not enable, actor=ACTOR)
    print_json(info) if as_json else out.print(f"{name} is {'enabled' if enable else 'disabled'}")


@users_app.command("reset-password")
def users_reset_password(name: str, as_json: JSON = False) -> None:
    """Give a user a new generated password (printed once) and end their sessions."""
    password = accounts.reset_password(workspace().engine, name, actor=ACTOR)
    print_json({"username": name, "password": password}) if as_json else out.print(
        f"new password for {name}, shown once: [bold]{password}[/]"
    )


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="who uses the key, e.g. 'rtc-sdk prod'")] = "api client",
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="repeatable: " + ", ".join(SCOPES)),
    ] = None,
    as_json: JSON = False,
) -> None:
    """Create an API key; the key is printed once and stored only as a hash."""
    if not scope:
        raise UsageError(f"give at least one --scope ({', '.join(SCOPES)})")
    info, key = apikeys.create_key(workspace().engine, name, scope, actor=ACTOR)
    if as_json:
        print_json({**info, "key": key})
    else:
        out.print(f"key [bold]{info['key_id']}[/] ({', '.join(info['scopes'])}), shown once:\n{key}")


@keys_app.command("list")
def keys_list(as_json: JSON = False) -> None:
    """API keys with scopes, creator and last use (never the secret)."""
    keys = apikeys.list_keys(workspace().engine)
    if as_json:
        print_json(keys)
        return
    table(
        ["key id", "name", "scopes", "created", "last used", "state"],
        [
            [
                k["key_id"],
                k["name"],
                ", ".join(k["scopes"]),
                k["created_at"],
                k["last_used_at"] or "—",
                "revoked" if k["revoked"] else "active",
            ]
            for k in keys
        ],
    )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key id `keys list` shows")], as_json: JSON = False
) -> None:
    """Revoke an API key at once."""
    info = apikeys.revoke_key(workspace().engine, key_id, actor=ACTOR)
    print_json(info) if as_json else out.print(f"key {key_id} revoked")


@audit_app.command("list")
def audit_list(
    actor: Annotated[str, typer.Option(help="only this actor")] = "",
    action: Annotated[str, typer.Option(help="only actions starting with this, e.g. 'login' or 'user.'")] = "",
    target: Annotated[str, typer.Option(help="only targets containing this")] = "",
    limit: Annotated[int, typer.Option(min=1, max=100000)] = 50,
    as_json: JSON = False,
) -> None:
    """The audit log, newest first."""
    rows = list_audit(workspace().engine, actor=actor, action=action, target=target, limit=limit)
    if as_json:
        print_json(rows)
        return
    table(
        ["id", "time (UTC)", "actor", "action", "target", "from", "after"],
        [
            [
                r["id"],
                r["at"][:19],
                r["actor"],
                r["action"],
                r["target"],
                r["source_ip"],
                "" if r["after"] is None else json.dumps(r["after"], ensure_ascii=False),
            ]
            for r in rows
        ],
    )


@audit_app.command("verify")
def audit_verify(as_json: JSON = False) -> None:
    """Check the hash chain; exit 1 naming the first row that was edited or deleted."""
    checked, problem = verify_chain(workspace().engine)
    if as_json:
        print_json(
            {
                "rows_checked": checked,
                "ok": problem is None,
                "first_bad_row": problem.row_id if problem else None,
                "reason": problem.reason if problem else None,
            }
        )
    elif problem is None:
        out.print(f"audit log intact: {checked} rows verified")
    else:
        out.print(f"[bold red]audit log tampered[/]: {problem} ({checked} rows before it are intact)")
    if problem is not None:
        raise typer.Exit(1)


keys_app.command("rotate")(rotate_command)


def serve_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on (0: a free one, printed)")] = 8080,
    scheduler: Annotated[bool, typer.Option(help="run the maintenance scheduler in this process")] = True,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="serving processes on the port (default: [web] workers, 1); about one per core")] = None,
) -> None:
    """Serve the console and API, and run the maintenance scheduler."""
    from eduops.web.server import serve

    serve(workspace(), host=host, port=port, with_scheduler=scheduler, workers=workers)


def demo_command(
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    directory: Annotated[
        Path | None, typer.Option("--dir", help="the demo workspace folder (default ./eduops-demo)")
    ] = None,
    serve: Annotated[bool, typer.Option(help="serve the console after building the data")] = True,
    only: Annotated[list[str] | None, typer.Option(help="only these domains' data (repeatable)")] = None,
) -> None:
    """Build a demo workspace with a month of realistic data and serve the console."""
    from eduops.demo.runner import build
    from eduops.web.server import serve as serve_console

    with progress_bar("building demo data") as progress:
        demo = build(directory, progress=progress, only=only, port=port, host=host)
    out.print(f"demo workspace: {plain(demo.ws.settings.home)}")
    for domain, note in demo.notes.items():
        out.print(f"  {domain}: {plain(note)}")
    out.print(f"[bold]log in at {plain(demo.ws.settings.base_url)} as {demo.admin_user} / "
              f"{plain(demo.admin_password)}[/]")
    if not serve:
        return
    try:
        serve_console(demo.ws, host=host, port=port)
    finally:
        for stop in demo.stoppers:
            stop()


service_app = typer.Typer(help="Run eduops as a systemd service.", no_args_is_help=True)


@service_app.command("install")
def service_install(
    user: Annotated[str, typer.Option(help="the system user eduops runs as (it must own the workspace)")] = "eduops",
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write the unit")] = Path(
        "/etc/systemd/system/eduops.service"),
    host: Annotated[str, typer.Option(help="address to listen on (keep 127.0.0.1 behind a proxy)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    writable: Annotated[list[Path] | None, typer.Option(help="another folder eduops must write (repeatable)")] = None,
    force: Annotated[bool, typer.Option(help="overwrite an existing unit file")] = False,
    as_json: JSON = False,
) -> None:
    """Write a systemd unit for this workspace: restart on failure, hardened, the workspace writable."""
    import shutil
    import sys

    from eduops.web.service_unit import UnitSpec, check_location, ownership_problems, render_unit, user_group

    ws = workspace()
    check_location(ws.settings.home.resolve())
    name, group = user_group(user)
    executable = Path(shutil.which("eduops") or Path(sys.executable).with_name("eduops")).resolve()
    if not executable.exists():
        raise UsageError(f"cannot find the eduops command next to {sys.executable}; install eduops first")
    extra = tuple(p.expanduser().resolve() for p in writable or [])
    for path in extra:
        if not path.is_dir():
            raise UsageError(f"--writable {path}: not a folder")
    spec = UnitSpec(workspace=ws.settings.home.resolve(), executable=executable, user=name, group=group, host=host,
                    port=port, stop_timeout_s=ws.settings.shutdown_timeout_seconds, writable=extra)
    if output.exists() and not force:
        raise UsageError(f"{output} exists already; pass --force to overwrite it")
    try:
        output.write_text(render_unit(spec))
        output.chmod(0o644)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror} (run as root, or choose --output)") from None
    unit = output.name
    notes = [f"chown -R {name}:{group} {spec.workspace}  # these are not owned by {name}: {', '.join(bad)}"
             for bad in [ownership_problems(spec.workspace, name)] if bad]
    steps = [*notes, "systemctl daemon-reload", f"systemctl enable --now {unit}", f"journalctl -u {unit} -f"]
    if as_json:
        print_json({"unit": str(output), "user": name, "group": group, "workspace": str(spec.workspace),
                    "next": steps})
        return
    out.print(f"wrote {output} (runs `eduops serve` for {spec.workspace} as {name}); next:")
    for step in steps:
        out.print(f"  {step}")
