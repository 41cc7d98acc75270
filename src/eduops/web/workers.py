"""`eduops serve --workers N` (``[web] workers``): N serving processes on the one listening socket.

One process answers about 1,600 small requests a second (the xAPI State saves of learning content are the
hot path); more cores need more processes. How they share the work:

- The ``eduops serve`` process is the supervisor. It builds the app, binds the public socket and a private
  loopback one, writes the local credential (its own pid, the private URL: ``core.local_access``) and forks
  the workers before any thread starts. Then it only watches them: it stays single-threaded, so forking a
  replacement later is as safe as the first fork.
- Worker 0 holds the DuckDB stores (one writer per file), runs the scheduler and the domains' background
  work, and also answers on the private socket: CLI commands and the other workers reach the stores there,
  with the local token, as a CLI command reaches a single server (``local_access.serve_through``).
- The state database (SQLite in WAL mode with a busy timeout, or PostgreSQL) is shared by all of them:
  each worker opens its own connections (``db.drop_connections``).
- SIGTERM or SIGINT: the supervisor sends every worker SIGTERM; each stops as a single server does (requests
  in flight, its runs; worker 0 also background work and the event store). It waits for them at most
  ``shutdown_timeout_seconds`` + 25 s (systemd's unit allows 30), kills what is left, removes the credential.
- A worker that exits while the server is not stopping is forked again (a line says which and why).
- SIGHUP: to worker 0, which reloads (rules, routes, collectors) and then has the supervisor pass SIGHUP to
  the others (SIGUSR1), which re-read the settings; ``POST /-/reload`` on any worker goes to worker 0.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

import uvicorn
from fastapi import FastAPI

from eduops import db
from eduops.core import local_access
from eduops.core.console import out
from eduops.core.workspace import Workspace

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)
STOP_MARGIN_S = 25.0  # beyond shutdown_timeout_seconds, before workers still running are killed
RESTART_AFTER_S = 1.0  # a worker that died younger than this is started again only this long after it started
POLL_S = 0.1
PR_SET_PDEATHSIG = 1


def exit_reason(status: int) -> str:
    """What ``os.waitpid``'s status says about how a process ended."""
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def restart_at(started: float, died: float) -> float:
    """When a worker that started at ``started`` and died at ``died`` is forked again (a worker that dies at
    once is not restarted in a tight loop)."""
    return max(died, started + RESTART_AFTER_S)


class Supervisor:
    """The workers of one server, by index: forks them, starts again those that die, stops them all."""

    def __init__(self, count: int, work: Callable[[int], NoReturn], stop_timeout_s: float,
                 say: Callable[[str], None]) -> None:
        self.count, self.work, self.say = count, work, say
        self.stop_timeout_s = stop_timeout_s
        self.pids: dict[int, int] = {}  # pid → worker index
        self.started: dict[int, float] = {}  # worker index → when it was forked
        self.pending: dict[int, float] = {}  # worker index → when to fork it again
        self.stop_deadline: float | None = None
        self.stop_asked = 0.0  # when the stop signal came (monotonic)

    def fork(self, index: int) -> None:
        # signals wait until the child has put its own handlers in place (else it would run ours)
        signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
        try:
            pid = os.fork()
            if pid == 0:
                for signum in FORWARDED:
                    signal.signal(signum, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
                try:
                    self.work(index)
                finally:
                    os._exit(1)  # a worker never comes back into the supervisor's loop
            self.pids[pid] = index
            self.started[index] = time.monotonic()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)

    def send(self, signum: int, to: Callable[[int], bool] = lambda index: True) -> None:
        for pid, index in list(self.pids.items()):
            if to(index):
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    pass

    def on_signal(self, signum: int, _frame: Any) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            if self.stop_deadline is None:
                self.stop_asked = time.monotonic()
                self.stop_deadline = self.stop_asked + self.stop_timeout_s
                self.pending.clear()
                self.send(signal.SIGTERM)  # SIGTERM also for SIGINT: a terminal sent that to them already
        elif signum == signal.SIGHUP:
            self.send(signal.SIGHUP, lambda index: index == 0)  # worker 0 relays it once it has reloaded
        elif signum == signal.SIGUSR1:
            self.send(signal.SIGHUP, lambda index: index != 0)

    def run(self) -> None:
        """Fork every worker and watch them until a stop signal and all have exited."""
        for signum in FORWARDED:
            signal.signal(signum, self.on_signal)
        for index in range(self.count):
            self.fork(index)
        while self.pids or (self.pending and self.stop_deadline is None):
            pid, status = os.waitpid(-1, os.WNOHANG) if self.pids else (0, 0)
            now = time.monotonic()
            if pid and pid in self.pids:
                index = self.pids.pop(pid)
                if self.stop_deadline is None:
                    self.say(f"worker {index} (pid {pid}) {exit_reason(status)}; starting it again")
                    self.pending[index] = restart_at(self.started[index], now)
                continue
            for index, at in sorted(self.pending.items()):
                if at <= now and self.stop_deadline is None:
                    del self.pending[index]
                    self.fork(index)
            if self.stop_deadline is not None and now > self.stop_deadline and self.pids:
                self.say(f"{len(self.pids)} worker(s) still running {self.stop_timeout_s:.0f} s after SIGTERM: "
                         "killed (SIGKILL)")
                self.send(signal.SIGKILL)
                self.stop_deadline = float("inf")
            time.sleep(POLL_S)


def serve_workers(ws: Workspace, app: FastAPI, sock: socket.socket, host: str, with_scheduler: bool,
                  log_level: str) -> None:
    """Serve ``app`` on ``sock`` from ``[web] workers`` forked processes until SIGTERM (module docstring)."""
    from eduops.web.server import freeze_gc, listen, say

    count = ws.settings.web.workers
    private = listen("127.0.0.1", 0)
    cred = local_access.write_credential(ws.settings.home, local_access.local_url("127.0.0.1",
                                                                                 private.getsockname()[1]))
    app.state.local_token = cred.token
    app.state.server_pid = os.getpid()
    port = sock.getsockname()[1]
    freeze_gc()
    out.print(f"eduops console on [bold]http://{host}:{port}[/] (API docs at /api/docs), {count} workers"
              + (", scheduler running in worker 0" if with_scheduler and ws.settings.scheduler.enabled else ""))
    supervisor_pid = os.getpid()
    db.drop_connections(close=True)  # the workers open their own; this process no longer uses the database

    def work(index: int) -> NoReturn:
        sockets = [sock, private] if index == 0 else [sock]
        if index:
            private.close()
        worker(index, ws, app, sockets, cred, supervisor_pid, with_scheduler, log_level)

    supervisor = Supervisor(count, work, ws.settings.shutdown_timeout_seconds + STOP_MARGIN_S, say)
    try:
        supervisor.run()
    finally:
        local_access.remove_credential(ws.settings.home, cred)
        sock.close()
        private.close()
    say(f"all {count} workers stopped in {time.monotonic() - supervisor.stop_asked:.1f} s")


def worker(index: int, ws: Workspace, app: FastAPI, sockets: list[socket.socket], cred: local_access.Credential,
           supervisor_pid: int, with_scheduler: bool, log_level: str) -> NoReturn:
    """One serving process (forked): serves until SIGTERM, stops as a single server does, and exits."""
    from eduops.alerting.reload import install_sighup, register
    from eduops.web.server import start_work, stop_work, uvicorn_config

    def say(message: str) -> None:
        out.print(f"eduops worker {index}: {message}", highlight=False, soft_wrap=True)

    code = 0
    try:
        die_with_parent(supervisor_pid)
        # out of the terminal's process group: Ctrl-C reaches the supervisor only, which sends SIGTERM once
        # (uvicorn takes a second SIGINT as "stop now", dropping the requests in flight)
        os.setpgid(0, 0)
        db.drop_connections(close=False)
        scheduler, stoppers = None, list[Callable[[], None]]()
        if index:
            local_access.serve_through(cred)
        else:
            scheduler, stoppers = start_work(ws, with_scheduler)
            # after a reload here, the other workers re-read the settings (the supervisor sends them SIGHUP)
            register(ws, "workers", lambda new: lambda: os.kill(supervisor_pid, signal.SIGUSR1))
        install_sighup(ws)
        # uvicorn re-raises the signal it stopped on; the runs (and worker 0's stores) are taken care of below
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        signal.signal(signal.SIGINT, lambda signum, frame: None)
        try:
            uvicorn.Server(uvicorn_config(app, ws, log_level)).run(sockets=sockets)
        finally:
            stop_work(ws, scheduler, stoppers, say)
    except BaseException as exc:  # noqa: BLE001 - whatever ends a worker, its process exits here
        say(f"stopped by {type(exc).__name__}: {exc}")
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def die_with_parent(parent_pid: int) -> None:
    """SIGTERM this process when its supervisor dies (Linux; elsewhere the check below only covers a death
    that already happened), so no worker goes on serving on its own."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)
