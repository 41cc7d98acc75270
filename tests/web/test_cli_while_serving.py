"""Every README CLI command works while `eduops serve` runs on the same workspace (issue 20, item 1).

The server holds the DuckDB event store; CLI commands reach it through the server with the local credential
(``<home>/run/server.json``, 0600) and get the same answers as with the server stopped. Commands run in this
process (a subprocess start costs seconds on a busy machine); one runs as a real subprocess too.
"""

from __future__ import annotations

import json
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest
from tests.conftest import make_settings
from tests.rtc.test_cli import LINES as RTC_LINES
from tests.web.serving import Server, cli, cli_json, eduops, running_server

from eduops.core.local_access import credential_path

ANALYTICS_READS = [
    ("analytics", "active"),
    ("analytics", "completion"),
    ("analytics", "retention", "--unit", "day", "--periods", "5"),
    ("analytics", "funnel", "launched", "completed", "--window-days", "30"),
    ("analytics", "breakdown", "course"),
    ("analytics", "at-risk"),
]
RTC_READS = [("rtc", "calls", "--since", "2026-11-01"), ("rtc", "call", "c1"),
             ("rtc", "breakdown", "province", "--days", "366")]
# the other reporting commands of the README (exit 0 and JSON expected while the server runs)
OTHER_READS = [
    ("calendar", "list"), ("runs", "list"), ("metrics", "query", "up"), ("rules", "list"), ("alerts", "list"),
    ("rtc", "worst"), ("rtc", "calls"), ("rtc", "call", "c1"), ("rtc", "breakdown", "province"),
    ("rtc", "heatmap"), ("backup", "list"), ("security", "history"), ("loadtest", "list"), ("drill", "list"),
    ("content", "courses"), ("feedback", "queue"), ("release", "list"), ("users", "list"), ("keys", "list"),
]


def statements(n: int, day: int, tag: str) -> list[dict]:
    verbs = ["http://adlnet.gov/expapi/verbs/launched", "http://adlnet.gov/expapi/verbs/completed"]
    return [{"id": str(uuid.uuid4()), "actor": {"account": {"homePage": "https://lms.example", "name": f"{tag}-{i}"}},
             "verb": {"id": verbs[i % 2]}, "object": {"id": f"https://lms.example/course/c{i % 3}"},
             "context": {"contextActivities": {"grouping": [{"id": f"https://lms.example/course/c{i % 3}"}]}},
             "timestamp": f"2026-11-{day + i % 5:02d}T0{i % 9}:00:00Z"} for i in range(n)]


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(s) for s in items) + "\n")
    return path


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Server, dict]]:
    """A workspace with events and calls, what the analytics commands answer with no server, then a server."""
    tmp = tmp_path_factory.mktemp("serving")
    home = tmp / "home"
    home.mkdir()
    shutil.copy(sqlite_template, home / "eduops.db")
    make_settings(home)
    assert cli(home, "analytics", "import", str(write_jsonl(tmp / "a.jsonl", statements(300, 1, "l")))).returncode == 0
    assert cli(home, "rtc", "ingest", str(write_jsonl(tmp / "calls.jsonl", RTC_LINES))).returncode == 0
    from eduops.analytics.store import close_stores

    stopped = {args: cli_json(home, *args) for args in ANALYTICS_READS + RTC_READS}
    close_stores()  # this process lets go of the event store before the server takes it
    with running_server(home) as server:
        opened = httpx.get(f"{server.url}/api/v1/analytics/courses", timeout=120,
                           headers={"authorization": server.cred.header})
        assert opened.status_code == 200, opened.text
        yield home, server, stopped


def test_the_credential_is_private_and_the_store_cannot_be_opened_beside_the_server(served) -> None:
    home, _server, _stopped = served
    mode = stat.S_IMODE(credential_path(home).stat().st_mode)
    assert mode == 0o600, f"the local credential is readable by others: {oct(mode)}"
    assert stat.S_IMODE(credential_path(home).parent.stat().st_mode) == 0o700
    # why the CLI asks the server: DuckDB refuses even a read-only open (or ATTACH) while it holds the file
    with pytest.raises(duckdb.IOException, match="lock"):
        duckdb.connect(str(home / "events.duckdb"), read_only=True)
    with pytest.raises(duckdb.IOException, match="lock"):
        duckdb.connect().execute(f"ATTACH '{home / 'events.duckdb'}' AS e (READ_ONLY)")


def stable(answer: Any) -> Any:
    """An answer without the moment it was computed at (``excluded.counted_until`` is now + 1 day)."""
    if isinstance(answer, dict):
        return {k: stable(v) for k, v in answer.items() if k != "counted_until"}
    if isinstance(answer, list):
        return [stable(v) for v in answer]
    return answer


def test_analytics_commands_answer_through_the_server_as_without_it(served) -> None:
    home, _server, stopped = served
    for args in ANALYTICS_READS:
        through = stable(cli_json(home, *args))
        assert through == stable(stopped[args]), f"eduops {' '.join(args)} differs through the server"
    real = eduops(home, "analytics", "completion", "--json")  # a real second process, as a user runs it
    assert real.returncode == 0, real.stderr[-2000:]
    assert stable(json.loads(real.stdout)) == stable(stopped[("analytics", "completion")])


def test_call_quality_reads_go_through_the_server_as_without_it(served) -> None:
    from eduops.config import load_settings
    from eduops.rtc.remote import ServerReads
    from eduops.rtc.service import open_store

    home, _server, stopped = served
    assert isinstance(open_store(load_settings(None, home=str(home))), ServerReads)
    for args in RTC_READS:
        assert cli_json(home, *args) == stopped[args], f"eduops {' '.join(args)} differs through the server"


def test_other_readme_commands_work_while_serving(served) -> None:
    home, _server, _stopped = served
    for args in OTHER_READS:
        done = cli(home, *args, "--json")
        assert done.returncode == 0, f"eduops {' '.join(args)}: exit {done.returncode}\n{done.stderr[-2000:]}"
        json.loads(done.stdout)
    ran = cli(home, "run", "weekly-performance", "--json")
    assert ran.returncode in (0, 1), ran.stderr[-2000:]  # 1: findings; never 3 (a store it could not open)
    steps = {c["name"]: c["status"] for c in json.loads(ran.stdout)["checks"]}
    assert steps["analytics.learning_summary"] != "error" and steps["rtc.quality_trend"] != "error", steps
    run_id = str(json.loads(ran.stdout)["id"])
    assert cli(home, "report", run_id, "--format", "md").returncode == 0
    assert cli(home, "users", "add", "li.na", "--role", "ops", "--json").returncode == 0
    assert cli(home, "keys", "create", "--scope", "ingest:rtc", "--json").returncode == 0
    assert cli(home, "audit", "verify").returncode == 0
    assert cli(home, "calendar", "list").returncode == 0  # tables, not only --json


def test_imports_go_through_the_server_and_reads_see_them(served, tmp_path: Path) -> None:
    home, server, _stopped = served
    more = write_jsonl(tmp_path / "b.jsonl", statements(120, 10, "m") + [{"verb": "not a statement"}])
    first = cli_json(home, "analytics", "import", str(more))
    assert (first["stored"], first["rejected"], first["duplicates"]) == (120, 1, 0)
    repeated = cli(home, "analytics", "import", str(more), "--json")
    assert repeated.returncode == 2, repeated.stderr  # nothing stored, something rejected: as without a server
    assert (json.loads(repeated.stdout)["stored"], json.loads(repeated.stdout)["duplicates"]) == (0, 120)
    count = httpx.post(f"{server.url}/api/v1/analytics/store/query", timeout=120,
                       headers={"authorization": server.cred.header},
                       json={"sql": "SELECT count(*) FROM statements"})
    assert count.json() == {"rows": [[420]]}, count.text  # 300 before the server, 120 through it
    assert cli(home, "rtc", "ingest", str(write_jsonl(tmp_path / "c2.jsonl", [
        {**line, "call_id": "c2"} for line in RTC_LINES]))).returncode == 0
    assert cli_json(home, "rtc", "call", "c2")["call"]["call_id"] == "c2"


def test_the_store_routes_take_only_the_local_credential(served) -> None:
    home, server, _stopped = served
    key = cli_json(home, "keys", "create", "--scope", "admin")
    query = {"sql": "SELECT 1", "tables": {}}
    url = f"{server.url}/api/v1/analytics/store/query"
    assert httpx.post(url, json=query, timeout=60).status_code == 401
    admin_key = httpx.post(url, json=query, timeout=60, headers={"authorization": f"Bearer {key['key']}"})
    assert admin_key.status_code == 403  # an admin API key is not the local credential
    wrong = httpx.post(url, json=query, timeout=60, headers={"authorization": "Bearer edul_not-the-token"})
    assert wrong.status_code == 401
    local = httpx.post(url, json=query, timeout=60, headers={"authorization": server.cred.header})
    assert local.status_code == 200 and local.json() == {"rows": [[1]]}


def test_bad_queries_to_the_store_routes_are_400_not_500(served) -> None:
    _home, server, _stopped = served
    auth = {"authorization": server.cred.header}
    for path, body in [("/api/v1/analytics/store/query", {"sql": "SELECT * FROM no_such_table"}),
                       ("/api/v1/analytics/store/query", {"sql": "SELECT 1", "tables": {"t": "not arrow"}}),
                       ("/api/v1/rtc/store/query", {"sql": "SELECT nonsense FROM"}),
                       ("/api/v1/rtc/store/query", {"sql": "SELECT ?", "params": [{"$t": "martian", "v": 1}]})]:
        answer = httpx.post(f"{server.url}{path}", json=body, headers=auth, timeout=60)
        assert answer.status_code == 400, (path, body, answer.text)
        assert answer.json()["error"]


def test_a_batch_prepared_by_another_worker_is_journalled_once(served) -> None:
    """/store/prepared: rows a serving worker without the store prepared; stored once, then refused (the worker
    takes the exact path); bad bodies are 400; only the local credential gets in."""
    from eduops.analytics.ingest_pool import prepare_batch

    _home, server, _stopped = served
    auth = {"authorization": server.cred.header, "content-type": "application/vnd.apache.arrow.stream"}
    batch = [{"actor": {"account": {"homePage": "https://lms.example.edu", "name": f"prep{i}"}},
              "verb": {"id": "http://adlnet.gov/expapi/verbs/launched"},
              "object": {"id": "https://lms.example.edu/course/prep"}} for i in range(3)]
    prepared = prepare_batch(json.dumps(batch).encode(), {"objectType": "Agent", "account": {
        "homePage": "https://eduops.test", "name": "worker"}}, "2026-03-02T09:00:00.000Z", 100, ())
    assert prepared is not None
    url = f"{server.url}/api/v1/analytics/store/prepared"
    assert httpx.post(url, content=prepared.stream(), timeout=60).status_code == 401
    first = httpx.post(url, content=prepared.stream(), headers=auth, timeout=60)
    again = httpx.post(url, content=prepared.stream(), headers=auth, timeout=60)
    assert (first.json(), again.json()) == ({"stored": True}, {"stored": False})
    found = httpx.post(f"{server.url}/api/v1/analytics/store/query", timeout=60,
                       headers={"authorization": server.cred.header},
                       json={"sql": "SELECT count(*) FROM statements WHERE object_id = 'https://lms.example.edu/course/prep'"})
    assert found.json() == {"rows": [[3]]}
    narrow = prepared.table().select(["id", "raw"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, narrow.schema) as writer:
        writer.write_table(narrow)
    for body in (b"not arrow", sink.getvalue().to_pybytes()):
        answer = httpx.post(url, content=body, headers=auth, timeout=60)
        assert answer.status_code == 400 and answer.json()["error"], answer.text


def test_without_a_server_a_store_held_elsewhere_is_a_clear_error(sqlite_ws) -> None:
    home = sqlite_ws.settings.home
    holder = duckdb.connect(str(home / "events.duckdb"))  # some other program, not eduops serve
    try:
        done = eduops(home, "analytics", "active", "--json")
    finally:
        holder.close()
    assert done.returncode == 3
    assert "is open in process" in done.stderr and "Traceback" not in done.stderr


START = datetime(2026, 11, 29, 9, tzinfo=UTC)


def _reports(call_id: str, samples: int) -> list[dict]:
    """A one-person call with ``samples`` 5-second samples (its ids unique to ``call_id``)."""
    return [{"type": "call", "call_id": call_id, "scenario": "one_on_one", "start": "2026-11-29T09:00:00Z"},
            {"type": "session", "call_id": call_id, "user_id": "u", "role": "student", "join_ok": True,
             "joined_at": "2026-11-29T09:00:01Z"},
            *[{"type": "sample", "call_id": call_id, "user_id": "u", "interval_s": 5, "rtt_ms": 50 + i % 90,
               "ts": (START + timedelta(seconds=5 * i)).isoformat()} for i in range(samples)]]


def test_rtc_ingest_posts_through_the_server_while_reports_stream_in(served, tmp_path, monkeypatch) -> None:
    """Issue 20: `eduops rtc ingest` beside a server under steady reporting stores everything through the server
    (never opening rtc.duckdb, which the server keeps busy), with the direct path's rejections and exit codes,
    and the audit log names the OS user who ran it."""
    import getpass
    import threading

    from eduops.rtc.service import ingest_file
    from eduops.rtc.store import Store

    home, server, _stopped = served
    stop, posted, failures = threading.Event(), [], []

    def report() -> None:  # another client: a steady stream of small batches, as devices send them
        with httpx.Client(base_url=server.url, timeout=60, headers={"authorization": server.cred.header}) as http:
            n = 0
            while not stop.is_set():
                answer = http.post("/api/v1/rtc/reports", json=_reports(f"stream-{n}", 4))
                (posted if answer.status_code == 200 else failures).append(answer.status_code)
                n += 1

    big = write_jsonl(tmp_path / "big.jsonl", _reports("cli-big", 6000))  # two POSTs: 5000 items, then 1002
    items = _reports("cli-mixed", 20) + [{"type": "sample", "call_id": "cli-mixed"}]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(json.dumps(i) for i in items[:10]) + "\n{oops\n"
                     + "\n".join(json.dumps(i) for i in items[10:]) + "\n")
    direct = ingest_file(Store(tmp_path / "scratch.duckdb", 5.0, timezone="UTC"), mixed).to_dict()  # no server
    streamer = threading.Thread(target=report, daemon=True)
    streamer.start()
    try:
        deadline = time.monotonic() + 60
        while not posted:  # the stream is flowing before the CLI starts
            assert time.monotonic() < deadline and not failures, failures
            time.sleep(0.05)

        def opened(*_a: Any, **_k: Any) -> Any:
            raise AssertionError("eduops rtc ingest opened rtc.duckdb beside the running server")

        with monkeypatch.context() as m:
            m.setattr(Store, "connect", opened)
            done = cli(home, "rtc", "ingest", str(big), "--json")
            partly = cli(home, "rtc", "ingest", str(mixed), "--json")
            junk = cli(home, "rtc", "ingest", str(write_jsonl(tmp_path / "junk.jsonl", [{"type": "sample"}])))
    finally:
        stop.set()
        streamer.join(timeout=60)
    assert not failures, failures
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["accepted"] == {"calls": 1, "sessions": 1, "samples": 6000, "ai_turns": 0}
    assert partly.returncode == 1, partly.stderr[-2000:]  # some rejected: exit 1, as without a server
    assert json.loads(partly.stdout) == direct, "the server's answer differs from the direct path's"
    assert direct["accepted"]["samples"] == 20 and [r["line"] for r in direct["rejected"]] == [11, 24]
    assert junk.returncode == 2 and "no item could be used" in junk.stderr
    count = httpx.post(f"{server.url}/api/v1/rtc/store/query", timeout=120,
                       headers={"authorization": server.cred.header},
                       json={"sql": "SELECT count(*) FROM samples WHERE call_id = 'cli-big'"})
    assert count.json()["rows"] == [[6000]], count.text

    assert cli(home, "analytics", "import", str(write_jsonl(tmp_path / "few.jsonl", statements(5, 20, "who")))
               ).returncode == 0
    rows = cli_json(home, "audit", "list", "--action", "rtc.ingest") + cli_json(home, "audit", "list", "--action",
                                                                                 "analytics.import")
    actors = {(r["action"], r["actor"]) for r in rows}
    user = getpass.getuser()
    assert ("rtc.ingest", f"local:cli:{user}") in actors and ("analytics.import", f"local:cli:{user}") in actors
    assert any(r["after"] == {"accepted": {"calls": 1, "sessions": 1, "samples": 4998, "ai_turns": 0},
                              "rejected": 0} for r in rows if r["action"] == "rtc.ingest"), rows
