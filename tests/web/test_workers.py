"""`eduops serve --workers 2` (issue 15): two processes answer on one port and share the state database; the
first holds the event store for the other; SIGTERM stops both and removes the credential; a killed worker is
replaced. One real server for the whole module (starting one costs seconds)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import make_settings
from tests.web.serving import Server, running_server

from eduops.core.local_access import credential_path
from eduops.core.workspace import open_workspace
from eduops.db import make_engine
from eduops.web.apikeys import create_key

ACTIVITY = "https://lms.example.edu/course/physics-101/unit-3/video-2"
XAPI = {"X-Experience-API-Version": "1.0.3"}
DEADLINE_S = 60.0


def agent(name: str) -> str:
    return json.dumps({"objectType": "Agent", "account": {"homePage": "https://lms.example.edu", "name": name}})


def state_params(name: str) -> dict[str, str]:
    return {"activityId": ACTIVITY, "agent": agent(name), "stateId": "resume"}


class Served:
    def __init__(self, server: Server, key: str) -> None:
        self.server, self.key = server, key
        self.port = public_port(server)

    def client(self) -> httpx.Client:
        """A client on a new connection (kept alive: later requests go to the same worker)."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30, trust_env=False,
                            headers={"authorization": f"Bearer {self.key}", **XAPI})

    def worker_pid(self, client: httpx.Client) -> int:
        answer = client.get("/api/v1/local/ping", headers={"authorization": self.server.cred.header})
        assert answer.status_code == 200, answer.text
        assert answer.json()["pid"] == self.server.process.pid  # the credential's process: the supervisor
        return int(answer.json()["worker_pid"])

    def clients_by_worker(self, want: int = 2) -> dict[int, httpx.Client]:
        """One client per worker process (new connections until ``want`` workers have answered)."""
        found: dict[int, httpx.Client] = {}
        deadline = time.monotonic() + DEADLINE_S
        while len(found) < want:
            assert time.monotonic() < deadline, f"only workers {sorted(found)} answered"
            client = self.client()
            pid = self.worker_pid(client)
            if pid in found:
                client.close()
            else:
                found[pid] = client
        return found


def public_port(server: Server) -> int:
    deadline = time.monotonic() + DEADLINE_S
    while not (found := re.search(r"console on http://127\.0\.0\.1:(\d+)", server.log.read_text())):
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.05)
    return int(found.group(1))


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("workers") / "home"
    home.mkdir()
    shutil.copy(sqlite_template, home / "eduops.db")
    settings = make_settings(home)
    _info, key = create_key(open_workspace(settings).engine, "content", ["ingest:xapi", "read"], actor="test")
    make_engine(settings.state_url).dispose()
    with running_server(home, "--workers", "2") as server:
        yield Served(server, key)


def test_both_workers_answer_and_share_state_documents(served: Served) -> None:
    clients = served.clients_by_worker()
    (pid_a, a), (pid_b, b) = clients.items()
    assert children(served.server.process.pid) == {pid_a, pid_b}
    put = a.put("/xapi/activities/state", params=state_params("shared"), content=b'{"slide":7}',
                headers={"content-type": "application/json"})
    assert put.status_code == 204, put.text
    got = b.get("/xapi/activities/state", params=state_params("shared"))
    assert got.status_code == 200 and got.json() == {"slide": 7}
    assert got.headers["etag"].strip('"') == put.headers["etag"].strip('"')
    for client in clients.values():
        client.close()


def test_if_match_race_across_workers_has_one_winner(served: Served) -> None:
    """Two processes PUT different content with the same If-Match at once: exactly one wins, as in one."""
    clients = list(served.clients_by_worker().values())
    params = state_params("race")
    etag = clients[0].put("/xapi/activities/state", params=params, content=b"0").headers["etag"]
    for round_ in range(5):
        barrier = threading.Barrier(2)
        outcomes: list[int] = []

        def writer(client: httpx.Client, content: bytes, expected: str) -> None:
            barrier.wait()
            outcomes.append(client.put("/xapi/activities/state", params=params, content=content,
                                       headers={"if-match": expected}).status_code)

        threads = [threading.Thread(target=writer, args=(c, f"{round_}-{i}".encode(), etag))
                   for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == [204, 412], outcomes
        now = clients[1].get("/xapi/activities/state", params=params)
        assert now.content in (f"{round_}-0".encode(), f"{round_}-1".encode())
        etag = now.headers["etag"]
    for client in clients:
        client.close()


def test_statements_through_any_worker_are_readable_from_every_worker(served: Served) -> None:
    clients = served.clients_by_worker()
    ids = []
    for pid, client in clients.items():  # one of them holds the event store, the other asks it
        statement_id = str(uuid.uuid4())
        posted = client.post("/xapi/statements", json={
            "id": statement_id, "actor": {"account": {"homePage": "https://lms.example.edu", "name": f"w{pid}"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/launched"}, "object": {"id": ACTIVITY}})
        assert posted.status_code == 200, posted.text
        ids.append(statement_id)
    for client in clients.values():
        for statement_id in ids:
            got = client.get("/xapi/statements", params={"statementId": statement_id})
            assert got.status_code == 200, got.text
            assert got.json()["id"] == statement_id
        client.close()


def test_a_killed_worker_is_replaced(served: Served) -> None:
    supervisor = served.server.process.pid
    before = children(supervisor)
    victim = max(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + DEADLINE_S
    while len(after := children(supervisor)) < 2 or victim in after:
        assert time.monotonic() < deadline, served.server.log.read_text()
        time.sleep(0.05)
    assert f"(pid {victim}) killed by SIGKILL; starting it again" in served.server.log.read_text()
    clients = served.clients_by_worker()
    assert set(clients) == after
    for client in clients.values():
        client.close()


def test_sigterm_stops_every_worker_and_removes_the_credential(served: Served) -> None:
    """Last in this module: it stops the module's server."""
    workers = children(served.server.process.pid)
    home = served.server.log.parent
    log = served.server.stop()
    assert served.server.process.returncode == 0, log
    assert not credential_path(home).exists()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers), log
    assert "all 2 workers stopped" in log
    assert "eduops worker 0: stopping" in log and "eduops worker 1: stopping" in log
