"""Leadership: which of several eduops processes on one state database does a piece of background work."""

from __future__ import annotations

import fcntl
import logging
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


class Leader:
    """One eduops process per state database does the work called ``name``: a PostgreSQL advisory
    lock held on its own connection, or a lock file in the workspace for SQLite."""

    def __init__(self, engine: Engine, home: Path, name: str) -> None:
        self.engine, self.home, self.name = engine, home, name
        self.key = 0x6564756F00000000 + zlib.crc32(name.encode())  # "eduo" + the work's name
        self.held = False
        self._conn: Any = None
        self._fh: Any = None

    def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            conn.commit()
            if got:
                self._conn = conn
            else:
                conn.close()
            self.held = bool(got)
        else:
            path = self.home / "leaders" / f"{self.name}.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = path.open("a")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                return False
            self._fh, self.held = fh, True
        return self.held

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            finally:
                self._conn.invalidate()  # a pooled connection must not keep the lock
                self._conn.close()
        if self._fh is not None:
            self._fh.close()
        self._conn = self._fh = None
        self.held = False


class LeaderWork(Protocol):
    """Background work only the leading process does: ``lead()`` when it becomes leader, ``tick(now)``
    every period while it leads, ``stop()`` once at the end."""

    def lead(self) -> None: ...

    def tick(self, now: float) -> None: ...

    def stop(self) -> None: ...


def run_while_leading(engine: Engine, home: Path, name: str, work: LeaderWork, period: float = 1.0,
                      retry_seconds: float = 5.0) -> Callable[[], None]:
    """Start a thread that tries for leadership of ``name`` and ticks ``work`` while it leads; returns stop().

    A failing tick is logged and the loop goes on (the work outlives a database hiccup).
    """
    leader = Leader(engine, home, name)
    stop = threading.Event()

    def loop() -> None:
        next_try = 0.0
        while not stop.is_set():
            now = time.time()
            try:
                if not leader.held and now >= next_try:
                    next_try = now + retry_seconds
                    if leader.try_acquire():
                        work.lead()
                        log.info("this process now leads %s", name)
                if leader.held:
                    work.tick(now)
            except Exception:
                log.exception("%s loop failed", name)
            stop.wait(period)

    thread = threading.Thread(target=loop, name=f"eduops-{name}", daemon=True)
    thread.start()

    def stopper() -> None:
        stop.set()
        thread.join(timeout=5)
        work.stop()
        leader.release()

    return stopper
