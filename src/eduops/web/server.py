"""`eduops serve`: uvicorn with the console, the API and the scheduler in one process."""

from __future__ import annotations

import gc
import logging

import uvicorn

from eduops.core import plugins
from eduops.core.console import out
from eduops.core.scheduler import Scheduler
from eduops.core.workspace import Workspace
from eduops.web.app import create_app


def serve(
    ws: Workspace,
    host: str = "127.0.0.1",
    port: int = 8080,
    with_scheduler: bool = True,
    log_level: str = "warning",
) -> None:
    app = create_app(ws)
    scheduler = Scheduler(ws.engine, ws.settings) if with_scheduler and ws.settings.scheduler.enabled else None
    if scheduler:
        scheduler.start()
    # domains with work of their own (collectors, rule evaluation, delivery) start it beside the scheduler
    stoppers = [plugins.load(d.background)(ws) for d in plugins.domains() if d.background] if scheduler else []
    logging.getLogger("eduops").setLevel(logging.INFO)
    # Everything loaded so far lives as long as the server: move it out of the collector's sight, so
    # a full collection walks only what requests allocate (xAPI batches allocate thousands of objects
    # each, and walking every imported module with them cost a fifth of the ingest time).
    gc.collect()
    gc.freeze()
    out.print(
        f"eduops console on [bold]http://{host}:{port}[/] (API docs at /api/docs)"
        + (", scheduler running" if scheduler else "")
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
    finally:
        for stop in stoppers:
            stop()
        if scheduler:
            scheduler.stop()
