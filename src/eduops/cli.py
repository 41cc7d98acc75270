"""The root `eduops` command. Domains declare their commands in their plugin; a command's module is
imported only when that command runs, so `eduops --help` and `eduops version` load no domain."""

from __future__ import annotations

import logging
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from eduops import __version__
from eduops.errors import EduopsError


@lru_cache(maxsize=1)
def declared_commands() -> dict[str, Any]:
    from eduops.core.plugins import domains

    return {c.name: c for d in domains() for c in d.commands}


class LazyCommand(TyperCommand):
    """Stands for a domain's command in the listing; parsing and running go to the real one."""

    def __init__(self, name: str, help_text: str, target: str) -> None:
        super().__init__(name, help=help_text, short_help=help_text, add_help_option=False)
        self.target = target

    def real(self) -> Any:
        from eduops.core.plugins import load

        found = load(self.target)
        command = typer.main.get_group(found) if isinstance(found, typer.Typer) else _function_command(found)
        command.name = self.name
        return command

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        return self.real().make_context(info_name, args, parent=parent, **extra)


def _function_command(func: Any) -> Any:
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command()(func)
    return typer.main.get_command(single)


class RootGroup(TyperGroup):
    """The root's own commands plus every command the domains declare, loaded when invoked."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(declared_commands()))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        own = super().get_command(ctx, cmd_name)
        if own is not None:
            return own
        declared = declared_commands().get(cmd_name)
        return LazyCommand(declared.name, declared.help, declared.target) if declared else None


app = typer.Typer(
    name="eduops",
    cls=RootGroup,
    help="eduops: the maintenance control plane for an online-education platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: Rich's help renderer alone costs more than the whole start-up
)


@app.callback()
def root(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="eduops.toml to use", envvar="EDUOPS_CONFIG")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log more")] = False,
) -> None:
    if config:
        os.environ["EDUOPS_CONFIG"] = str(config)
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@app.command("version")
def version() -> None:
    """Print the eduops version."""
    typer.echo(__version__)


def main() -> None:
    """Run the CLI: usage errors exit 2 (click), eduops errors exit with their code, never a traceback."""
    try:
        app()
    except EduopsError as exc:
        from eduops.core.console import err, plain

        err.print(f"[bold red]error:[/] {plain(exc.message)}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
