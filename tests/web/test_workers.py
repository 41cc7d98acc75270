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
from eduops.web.workers import exit_reason, restart_at

ACTIVITY = "https://lms.example.edu/course/physics-101/unit-3/video-2"
XAPI = {"X-Experience-API-Version": "1.0.3"}
DEADLINE_S = 60.0


@pytest.mark.parametrize(("status", "said"), [
    (0, "exited with status 0"), (3 << 8, "exited with status 3"), (signal.SIGKILL, "killed by SIGKILL"),
    (signal.SIGSEGV, "killed by SIGSEGV")])
def test_exit_reason(status: int, said: str) -> None:
    assert exit_reason(status) == said


@pytest.mark.parametrize(("started", "died", "again"), [
    (0.0, 100.0, 100.0),  # lived long: at once
    (10.0, 10.2, 11.0),  # died at start: one second after it started, not in a tight loop
    (10.0, 11.0, 11.0)])
def test_restart_at(started: float, died: float, again: float) -> None:
    assert restart_at(started, died) == pytest.approx(again)


@pytest.mark.parametrize(("toml", "env", "workers", "error"), [
    ("", {}, 1, ""), ("[web]\nworkers = 4\n", {}, 4, ""), ("", {"EDUOPS_WEB__WORKERS": "2"}, 2, ""),
    ("[web]\nworkers = 0\n", {}, 0, "web.workers"), ("[web]\nworkerz = 2\n", {}, 0, "workerz")])
def test_web_workers_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, env: dict[str, str],
                             workers: int, error: str) -> None:
    from eduops.config import load_settings
    from eduops.errors import ConfigError

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "eduops.toml").write_text(toml)
    if error:
        with pytest.raises(ConfigError, match=error):
            load_settings(tmp_path / "eduops.toml", home=str(tmp_path))
    else:
        assert load_settings(tmp_path / "eduops.toml", home=str(tmp_path)).web.workers == workers


def agent(name: str) -> str:
    return json.dumps({"objectType": "Agent", "account": {"homePage": "https://lms.example.edu", "name": name}})


def state_params(name: str) -> dict[str, str]:
    return {"activityId": ACTIVITY, "agent": agent(name), "stateId": "resume"}


class Served:
    def __init__(self, server: Server, key: str, admin_key: str) -> None:
        self.server, self.key, self.admin_key = server, key, admin_key
        self.port = public_port(server)

    def client(self, admin: bool = False) -> httpx.Client:
        """A client on a new connection (kept alive: later requests go to the same worker)."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30, trust_env=False,
                            headers={"authorization": f"Bearer {self.admin_key if admin else self.key}", **XAPI})

    def worker_pid(self, client: httpx.Client) -> int:
        answer = client.get("/api/v1/local/ping", headers={"authorization": self.server.cred.header})
        assert answer.status_code == 200, answer.text
        assert answer.json()["pid"] == self.server.process.pid  # the credential's process: the supervisor
        return int(answer.json()["worker_pid"])

    def clients_by_worker(self, want: int = 2, admin: bool = False) -> dict[int, httpx.Client]:
        """One client per worker process (new connections until ``want`` workers have answered)."""
        found: dict[int, httpx.Client] = {}
        deadline = time.monotonic() + DEADLINE_S
        while len(found) < want:
            assert time.monotonic() < deadline, f"only workers {sorted(found)} answered"
            client = self.client(admin)
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
    engine = open_workspace(settings).engine
    _info, key = create_key(engine, "content", ["ingest:xapi", "read"], actor="test")
    _info, admin_key = create_key(engine, "ops", ["admin"], actor="test")
    from tests.analytics.test_quality_learning import _rtc_class

    _rtc_class(open_workspace(settings), "call-poor", ["P1", "P2"], mos=3.0)  # for quality × learning
    make_engine(settings.state_url).dispose()
    with running_server(home, "--workers", "2") as server:
        yield Served(server, key, admin_key)


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

        def writer(client: httpx.Client, content: bytes, expected: str, barrier: threading.Barrier = barrier,
                   outcomes: list[int] = outcomes) -> None:
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


def test_statements_with_attachment_contents_through_any_worker(served: Served) -> None:
    """The worker that took the statement stores the contents in the workspace; the one holding the event
    store accepts the statement knowing they are there."""
    from tests.analytics.test_attachments import BOUNDARY, CONTENT, attachment, json_part, multipart, part

    for client in served.clients_by_worker().values():
        statement_id = str(uuid.uuid4())
        statement = {"id": statement_id, "actor": {"account": {"homePage": "https://lms.example.edu", "name": "a"}},
                     "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, "object": {"id": ACTIVITY},
                     "attachments": [attachment()]}
        posted = client.post("/xapi/statements", content=multipart(json_part(statement), part(CONTENT)),
                             headers={"content-type": f"multipart/mixed; boundary={BOUNDARY}"})
        assert posted.status_code == 200, posted.text
        assert posted.json() == [statement_id]
        client.close()


def test_the_relays_of_a_busy_worker_are_not_rate_limited(served: Served) -> None:
    """The worker without the event store relays each batch to the one holding it, from 127.0.0.1 with the local
    token. Those relays once counted against that address's /api/ budget in the holder (600 a minute for each of
    two workers by default), so past about 10 batches a second through the second worker, statements were refused
    with a 500. The client's own requests are counted where they arrive, within the ingestion budget."""
    clients = served.clients_by_worker()
    relaying = [c for c in clients.values()
                if "through the running server" in c.get("/api/v1/analytics/status").json()["location"]]
    assert len(relaying) == 1, "one worker holds the event store, the other asks it"
    relays = 620  # above the holder's share of the default /api/ limit per address (1200/minute, 2 workers)
    batch = [{"actor": {"account": {"homePage": "https://lms.example.edu", "name": "relay"}},
              "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}, "object": {"id": ACTIVITY}}]
    codes = {relaying[0].post("/xapi/statements", json=batch).status_code for _ in range(relays)}
    assert codes == {200}
    for client in clients.values():
        client.close()


def test_quality_and_learning_from_every_worker(served: Served) -> None:
    """The worker without the event store reads it through the first one (it once said ClickHouse was needed)."""
    clients = served.clients_by_worker()
    first = next(iter(clients.values()))
    for learner in ("P1", "P2"):
        posted = first.post("/xapi/statements", json={
            "actor": {"account": {"homePage": "https://lms.example.edu", "name": learner}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/launched"}, "object": {"id": ACTIVITY},
            "timestamp": "2026-03-02T10:30:00Z"})
        assert posted.status_code == 200, posted.text
    answers = [client.get("/api/v1/analytics/quality").json() for client in clients.values()]
    for answer in answers:
        assert answer["available"], answer
        assert {b["band"]: b["sessions"] for b in answer["bands"]}["poor"] == 2
    assert answers[0]["bands"] == answers[1]["bands"]
    for client in clients.values():
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


def groups(client: httpx.Client) -> set[str]:
    answer = client.get("/api/v1/rules")
    assert answer.status_code == 200, answer.text
    return {r["group"] for r in answer.json()}


def wait_for_groups(clients: dict[int, httpx.Client], expected: set[str], log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while any(groups(c) != expected for c in clients.values()):
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def test_a_reload_reaches_every_worker(served: Served) -> None:
    """POST /-/reload on the worker without the rules goes to the one running them, which has the others re-read
    the settings; SIGHUP to `eduops serve` does the same."""
    clients = served.clients_by_worker(admin=True)
    with httpx.Client(base_url=served.server.url, trust_env=False) as private:  # worker 0's own port
        first = served.worker_pid(private)
    other = next(c for pid, c in clients.items() if pid != first)
    before = groups(other)
    assert before and all(groups(c) == before for c in clients.values())
    config = served.server.log.parent / "eduops.toml"
    original = config.read_text() if config.exists() else ""
    off = sorted(before)[0]
    config.write_text(original + f'\n[alerting]\ndisabled_groups = ["{off}"]\n')
    answer = other.post("/-/reload")
    assert answer.status_code == 200, answer.text
    assert {"alerting", "workers"} <= set(answer.json()["reloaded"])
    wait_for_groups(clients, before - {off}, served.server.log)
    config.write_text(original)
    os.kill(served.server.process.pid, signal.SIGHUP)
    wait_for_groups(clients, before, served.server.log)
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

