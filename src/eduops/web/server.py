"""`eduops serve`: uvicorn with the console, the API and the scheduler in one process (or, with
``[web] workers`` above 1, in several: ``eduops.web.workers``).

The listening socket is bound here (``--port 0`` picks a free port), then ``<home>/run/server.json``
(mode 0600) tells CLI commands on the same workspace where the server is and the token that lets
them reach the stores it holds (``eduops.core.local_access``). uvicorn's own proxy-header handling
is off: which proxies are believed is ``trusted_proxies`` (``eduops.web.proxy``).
"""

from __future__ import annotations

import gc
import logging
import math
import signal
import socket
import threading
import time
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from eduops.core import local_access, plugins
from eduops.core.console import out
from eduops.core.scheduler import Scheduler
from eduops.core.workspace import Workspace
from eduops.web import shutdown
from eduops.web.app import create_app
from eduops.web.shutdown import Say

GC_YOUNG_THRESHOLD = 50_000


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from eduops.errors import ServiceUnavailable

        raise ServiceUnavailable(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port "
                                 "or stop the process using it") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    ws: Workspace,
    host: str = "127.0.0.1",
    port: int = 8080,
    with_scheduler: bool = True,
    log_level: str = "warning",
    workers: int | None = None,
) -> None:
    """Serve until SIGTERM; ``workers`` (default ``[web] workers``) above 1 forks that many serving
    processes on the one socket (``eduops.web.workers``)."""
    count = workers or ws.settings.web.workers
    if count != ws.settings.web.workers:  # what the app reads (the per-process rate limits divide by it)
        ws.settings.web = ws.settings.web.model_copy(update={"workers": count})
    app = create_app(ws)
    sock = listen(host, port)
    port = sock.getsockname()[1]
    if count > 1:
        from eduops.web.workers import serve_workers

        serve_workers(ws, app, sock, host, with_scheduler=with_scheduler, log_level=log_level)
        return
    scheduler, stoppers = start_work(ws, with_scheduler)
    freeze_gc()
    cred = local_access.write_credential(ws.settings.home, local_access.local_url(host, port))
    app.state.local_token = cred.token
    out.print(
        f"eduops console on [bold]http://{host}:{port}[/] (API docs at /api/docs)"
        + (", scheduler running" if scheduler else "")
    )
    if threading.current_thread() is threading.main_thread():
        # uvicorn re-raises the SIGTERM it handled once it has stopped; with the default action that would
        # kill the process before the runs and the event store below are taken care of
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        uvicorn.Server(uvicorn_config(app, ws, log_level)).run(sockets=[sock])
    finally:
        stopping = time.monotonic()
        local_access.remove_credential(ws.settings.home, cred)
        sock.close()
        stop_work(ws, scheduler, stoppers, say)
        say(f"stopped in {time.monotonic() - stopping:.1f} s")


def start_work(ws: Workspace, with_scheduler: bool) -> tuple[Scheduler | None, list[Callable[[], None]]]:
    """The scheduler and the domains' background work (collectors, rule evaluation, delivery), when asked."""
    scheduler = Scheduler(ws.engine, ws.settings) if with_scheduler and ws.settings.scheduler.enabled else None
    if scheduler:
        scheduler.start()
    # domains with work of their own (collectors, rule evaluation, delivery) start it beside the scheduler
    stoppers = [plugins.load(d.background)(ws) for d in plugins.domains() if d.background] if scheduler else []
    logging.getLogger("eduops").setLevel(logging.INFO)
    return scheduler, stoppers


def freeze_gc() -> None:
    # Everything loaded so far lives as long as the server: move it out of the collector's sight, so
    # a full collection walks only what requests allocate (xAPI batches allocate thousands of objects
    # each, and walking every imported module with them cost a fifth of the ingest time).
    gc.collect()
    gc.freeze()
    # What requests allocate mostly dies with the request (reference counting frees it), but a batch of
    # statements keeps thousands of objects alive while it is handled: at the default threshold of 700 the
    # collector ran every few statements and walked the whole batch each time (a fifth of the ingest CPU).
    # Collect the young generation once 50,000 more objects live than before, rather than 700.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def uvicorn_config(app: FastAPI, ws: Workspace, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, log_level=log_level, access_log=False, proxy_headers=False,
                          timeout_graceful_shutdown=math.ceil(ws.settings.shutdown_timeout_seconds))


def stop_work(ws: Workspace, scheduler: Scheduler | None, stoppers: list[Callable[[], None]], say: Say) -> None:
    """After uvicorn stopped taking requests: the scheduler, background work, this process's runs and the
    event store it holds, each saying what it did (``eduops.web.shutdown``)."""
    say("stopping: no new requests; requests in flight were given "
        f"{ws.settings.shutdown_timeout_seconds:.0f} s (shutdown_timeout_seconds)")
    if scheduler:
        scheduler.stop()
    for stop in stoppers:
        stop()
    if stoppers:
        say("background work stopped (notifications not yet sent go out from the next leader)")
    shutdown.finish_runs(ws.engine, ws.settings.shutdown_timeout_seconds, say)
    shutdown.close_event_store(say)


def say(message: str) -> None:
    """One line about stopping, on stdout (journald keeps it)."""
    out.print(f"eduops: {message}", highlight=False, soft_wrap=True)
