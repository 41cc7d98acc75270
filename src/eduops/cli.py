"""The root `eduops` command; each domain adds its commands through ``register(app)`` in its cli.py."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from eduops import __version__
from eduops.console import err
from eduops.core.plugins import domain_modules
from eduops.errors import EduopsError

app = typer.Typer(
    name="eduops",
    help="eduops: the maintenance control plane for an online-education platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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


for _module in domain_modules("cli"):
    _module.register(app)


def main() -> None:
    """Run the CLI: usage errors exit 2 (click), eduops errors exit with their code, never a traceback."""
    try:
        app()
    except EduopsError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
