"""SQLite writers take turns through ``db.writing``: threads of a process and other processes alike."""

from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import nullcontext

import pytest
import sqlalchemy as sa

from eduops.core.workspace import Workspace
from eduops.db import writing

TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(3)
"""


def test_a_writer_waits_for_the_one_writing(sqlite_ws: Workspace) -> None:
    engine = sqlite_ws.engine
    order: list[str] = []
    def second() -> None:
        with writing(engine):
            order.append("second")

    with writing(engine):
        other = threading.Thread(target=second)
        other.start()
        other.join(0.3)
        assert other.is_alive() and order == []  # still waiting
        # another process cannot take the file lock meanwhile either
        path = str(engine.url.database) + ".writer"
        assert subprocess.run([sys.executable, "-c", TRY_LOCK, path], timeout=60).returncode == 3
        order.append("first")
    other.join(10)
    assert order == ["first", "second"]
    assert subprocess.run([sys.executable, "-c", TRY_LOCK, path], timeout=60).returncode == 0


@pytest.mark.parametrize("url", ["postgresql+psycopg://postgres@127.0.0.1:5432/test", "sqlite://",
                                 "sqlite:///:memory:"])
def test_no_turns_where_the_database_queues_writers_or_no_other_process_sees_it(url: str) -> None:
    assert isinstance(writing(sa.create_engine(url)), nullcontext)  # creating an engine does not connect
