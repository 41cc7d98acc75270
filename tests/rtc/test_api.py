"""The call-quality HTTP API and console pages: ingestion with partial acceptance, permissions, clear errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from eduops.core.principal import Principal, current_principal
from eduops.core.workspace import Workspace
from eduops.db import utcnow
from eduops.rtc.service import open_store
from eduops.rtc.store import insert_arrow
from eduops.rtc.synthetic import BAD_TEACHER, generate
from eduops.web.app import create_app

INGEST = Principal(name="sdk-gateway", kind="apikey", scopes=frozenset({"ingest:rtc"}))
VIEWER = Principal(name="vera", kind="user", role="viewer")
OPS = Principal(name="olga", kind="user", role="ops")


@pytest.fixture
def client_as(sqlite_ws: Workspace) -> Callable[[Principal | None], TestClient]:
    app = create_app(sqlite_ws)

    def make(principal: Principal | None) -> TestClient:
        app.dependency_overrides[current_principal] = lambda: principal
        return TestClient(app)

    return make


def _items(now_iso: str) -> list[dict[str, object]]:
    return [
        {"type": "call", "call_id": "c1", "scenario": "live_class", "channel": "room-9", "start": now_iso},
        {"type": "session", "call_id": "c1", "user_id": "u1", "role": "teacher", "province": "Henan",
         "join_ok": True, "join_ms": 700, "joined_at": now_iso},
        {"type": "sample", "call_id": "c1", "user_id": "u1", "ts": now_iso, "interval_s": 5, "rtt_ms": 80},
        {"type": "sample", "call_id": "c1", "user_id": "u1", "ts": now_iso, "interval_s": 5, "rtt_ms": -1},
        {"type": "ai_turn", "call_id": "c1", "user_id": "u1", "ts": now_iso, "provider": "openai",
         "model": "gpt-4o-mini", "asr_final_ms": 300, "llm_first_token_ms": 900, "tts_first_audio_ms": 1100,
         "playback_ms": 1200},
    ]


def test_ingest_answers_what_it_kept_and_what_it_rejected(client_as, sqlite_ws: Workspace) -> None:
    now_iso = utcnow().isoformat()
    answer = client_as(INGEST).post("/api/v1/rtc/reports", json={"items": _items(now_iso)})
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == {"calls": 1, "sessions": 1, "samples": 1, "ai_turns": 1}
    assert body["rejected"] == [{"index": 3, "reason": "rtt_ms: -1 is outside 0..60000"}]
    # stored before the answer: a fresh store object reads it
    assert open_store(sqlite_ws.settings).query("SELECT count(*) AS n FROM samples")[0]["n"] == 1


@pytest.mark.parametrize(
    ("principal", "status"),
    [(None, 401), (VIEWER, 403), (OPS, 403), (INGEST, 200)],
)
def test_ingest_needs_the_ingest_scope(client_as, principal: Principal | None, status: int) -> None:
    assert client_as(principal).post("/api/v1/rtc/reports", json=[]).status_code == status


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"{not json", 400, "not JSON"),
        (b'{"calls": []}', 400, "items"),
        (json.dumps([{}] * 50_001).encode(), 413, "at most 50000"),
    ],
)
def test_bad_bodies_get_clear_errors(client_as, body: bytes, status: int, words: str) -> None:
    answer = client_as(INGEST).post("/api/v1/rtc/reports", content=body,
                                    headers={"content-type": "application/json"})
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_oversized_body_is_refused_before_reading(client_as) -> None:
    answer = client_as(INGEST).post("/api/v1/rtc/reports", content=b"[]",
                                    headers={"content-type": "application/json", "content-length": str(64 << 20)})
    assert answer.status_code == 413


@pytest.fixture
def month(sqlite_ws: Workspace) -> Workspace:
    data = generate(utcnow(), days=14, calls_per_day=40, seed=3, interval_s=30, live_calls=2)
    with open_store(sqlite_ws.settings).connect() as con:
        insert_arrow(con, data.calls, data.sessions, data.samples)
    return sqlite_ws


def test_read_endpoints_and_pages(client_as, month: Workspace) -> None:
    client = client_as(VIEWER)
    for path in ("/api/v1/rtc/breakdown/province", "/api/v1/rtc/worst", "/api/v1/rtc/heatmap?metric=mos",
                 "/api/v1/rtc/trend", "/api/v1/rtc/tutor", f"/api/v1/rtc/calls?user_id={BAD_TEACHER}"):
        assert client.get(path).status_code == 200, path
    live = client.get("/api/v1/rtc/live").json()
    assert len(live["classes"]) == 2 and live["participants"] >= 4
    call_id = client.get("/api/v1/rtc/calls", params={"user_id": BAD_TEACHER, "limit": 1}).json()[0]["call_id"]
    detail = client.get(f"/api/v1/rtc/calls/{call_id}").json()
    assert detail["hint"]["cause"] == "teacher_network"
    for path in ("/rtc", "/rtc?dimension=teacher&metric=video_freeze_rate_pct", "/rtc/calls?band=poor",
                 f"/rtc/calls/{call_id}", "/rtc/live"):
        page = client.get(path, headers={"accept-language": "en"})
        assert page.status_code == 200, path
    page = client.get(f"/rtc/calls/{call_id}", headers={"accept-language": "en"}).text
    assert "Likely cause" in page and BAD_TEACHER in page and "chart-data" in page
    assert "实时课堂" in client.get("/rtc/live", headers={"accept-language": "zh-CN"}).text


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/v1/rtc/breakdown/shoe_size", 400, "unknown dimension"),
        ("/api/v1/rtc/heatmap?metric=bogus", 400, "heat-map metric"),
        ("/api/v1/rtc/calls/nope", 404, "no call"),
        ("/api/v1/rtc/calls?start=yesterday", 400, "ISO 8601"),
        ("/api/v1/rtc/calls?band=awful", 400, "band"),
        ("/api/v1/rtc/worst?days=0", 422, "days"),
    ],
)
def test_bad_queries(client_as, path: str, status: int, words: str) -> None:
    answer = client_as(VIEWER).get(path)
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_probe_needs_ops(client_as) -> None:
    assert client_as(VIEWER).post("/api/v1/rtc/probe").status_code == 403


def test_live_board_counts_join_failures(client_as, sqlite_ws: Workspace) -> None:
    now = utcnow()
    items = [{"type": "call", "call_id": "live", "scenario": "one_on_one", "start": (now - timedelta(minutes=5))
              .isoformat()}]
    for user, ok in (("a", True), ("b", False)):
        items.append({"type": "session", "call_id": "live", "user_id": user, "join_ok": ok,
                      "join_error": None if ok else "ICE_TIMEOUT", "joined_at": (now - timedelta(seconds=20))
                      .isoformat()})
    items.append({"type": "sample", "call_id": "live", "user_id": "a", "ts": now.isoformat(), "interval_s": 5,
                  "rtt_ms": 60, "video_freezes_ms": [1000]})
    assert client_as(INGEST).post("/api/v1/rtc/reports", json=items).json()["rejected"] == []
    board = client_as(VIEWER).get("/api/v1/rtc/live").json()
    assert (board["join_failures"], board["join_attempts"], board["participants"]) == (1, 2, 1)
    assert board["classes"][0]["video_freeze_rate_pct"] == pytest.approx(20.0)


def test_pages_on_an_empty_store(client_as) -> None:
    client = client_as(VIEWER)
    for path in ("/rtc", "/rtc/calls", "/rtc/live"):
        page = client.get(path, headers={"accept-language": "en"})
        assert page.status_code == 200, path
    assert "No calls reported in this period." in client.get("/rtc", headers={"accept-language": "en"}).text


@pytest.mark.slow
def test_probe_from_the_console(client_as) -> None:
    client = client_as(OPS)
    form = client.get("/rtc/probe", headers={"accept-language": "en"}).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    page = client.post("/rtc/probe", data={"delay_ms": "20", "duration_s": "1.5", "csrf_token": token.group(1)},
                       headers={"accept-language": "en"})
    assert page.status_code == 200 and "rtt_ms" in page.text and "good" in page.text
    assert client_as(VIEWER).get("/rtc/probe").status_code == 403


@pytest.mark.parametrize("call_id", ["room/7", "a/b/c", "课堂 9?x=1#frag"])
def test_every_accepted_call_id_has_a_reachable_page(client_as, call_id: str) -> None:
    """An id the ingest accepts (any string up to its length limit) is reachable from the calls list."""
    from urllib.parse import quote

    now_iso = utcnow().isoformat()
    items = [{**item, "call_id": call_id} for item in _items(now_iso)[:3]]
    assert client_as(INGEST).post("/api/v1/rtc/reports", json={"items": items}).json()["accepted"]["calls"] == 1
    viewer = client_as(VIEWER)
    listing = viewer.get("/rtc/calls").text
    link = re.search(r'href="(/rtc/calls/[^"]+)"', listing)
    assert link
    href = link.group(1).replace("&amp;", "&").replace("&#39;", "'")
    page = viewer.get(href)
    assert page.status_code == 200, href
    detail = viewer.get(f"/api/v1/rtc/calls/{quote(call_id, safe='/')}")
    assert detail.status_code == 200 and call_id in detail.text


@pytest.mark.parametrize(("change", "reason"), [
    ({"interrupted": "maybe"}, "interrupted: expected true or false"),
    ({"turn": "abc"}, "turn"),
    ({"turn": 1e300}, "turn"),
])
def test_ai_turn_fields_of_the_wrong_type_reject_the_item(client_as, change: dict[str, object], reason: str) -> None:
    turn = {**_items(utcnow().isoformat())[4], **change}
    answer = client_as(INGEST).post("/api/v1/rtc/reports", json={"items": [turn]})
    assert answer.status_code == 200
    assert reason in answer.json()["rejected"][0]["reason"]


@pytest.mark.parametrize("extreme", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
def test_times_outside_the_supported_range_reject_the_item_on_both_paths(client_as, extreme: str) -> None:
    """One sample alone takes the item-by-item path, hundreds the column-at-a-time one: both reject it."""
    from eduops.rtc.fastpath import MIN_ROWS

    now = utcnow()
    for count in (1, MIN_ROWS + 10):
        samples = [{"type": "sample", "call_id": "c1", "user_id": "u1", "interval_s": 5, "rtt_ms": 80,
                    "ts": (now - timedelta(seconds=5 * i)).isoformat()} for i in range(count - 1)]
        samples.append({"type": "sample", "call_id": "c1", "user_id": "u1", "interval_s": 5, "ts": extreme})
        body = client_as(INGEST).post("/api/v1/rtc/reports", json={"items": samples}).json()
        assert body["accepted"]["samples"] == count - 1
        reason = f"ts: {extreme} is outside the supported range 1970-01-01 to 2199-12-31"
        assert body["rejected"] == [{"index": count - 1, "reason": reason}]
