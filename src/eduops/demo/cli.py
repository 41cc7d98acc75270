"""`eduops demo`: a throwaway workspace filled with realistic data, served at http://127.0.0.1:8080."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eduops.console import out, progress_bar


def demo_command(
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    directory: Annotated[Path | None, typer.Option("--dir", help="keep the demo workspace here")] = None,
    serve: Annotated[bool, typer.Option(help="serve the console after building the data")] = True,
    only: Annotated[list[str] | None, typer.Option(help="only these domains' data (repeatable)")] = None,
) -> None:
    """Build a demo workspace with a month of realistic data and serve the console."""
    from eduops.demo.runner import build
    from eduops.web.server import serve as serve_console

    with progress_bar("building demo data") as progress:
        demo = build(directory, progress=progress, only=only)
    out.print(f"demo workspace: {demo.ws.settings.home}")
    for domain, note in demo.notes.items():
        out.print(f"  {domain}: {note}")
    out.print(f"[bold]log in at http://{host}:{port} as {demo.admin_user} / {demo.admin_password}[/]")
    if not serve:
        return
    try:
        serve_console(demo.ws, host=host, port=port)
    finally:
        for stop in demo.stoppers:
            stop()


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
