"""AI tutor: turn validation, p50/p90 per model and provider, and the streaming chat probe against a stub."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from eduops.errors import UsageError
from eduops.rtc.aitutor import Turn, latency_by_model, load_turns, probe_chat, store_turns, validate_turn
from eduops.rtc.reports import Rejected
from eduops.rtc.store import Store

FIRST_TOKEN_DELAY_S = 0.15
TOKEN_GAP_S = 0.02
TOKENS = ["Hello", ",", " Li", " Ming", "!", " Ready", " for", " today's", " lesson", "?"]


class StubChat(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/chat/completions that streams SSE deltas at a known pace."""

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if self.headers.get("authorization") != "Bearer sk-test":
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"error": "bad key"}')
            return
        assert body["stream"] is True and body["messages"][0]["role"] == "user"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b'data: {"choices": [{"delta": {"role": "assistant"}}]}\n\n')
        self.wfile.flush()
        time.sleep(FIRST_TOKEN_DELAY_S)  # the model "thinks" (server side of the stub)
        for token in TOKENS:
            chunk = {"choices": [{"delta": {"content": token}}], "model": body["model"]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(TOKEN_GAP_S)
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/chat/completions"
    server.shutdown()


def test_probe_times_first_token_and_rate(stub_url: str) -> None:
    result = probe_chat(stub_url, "qwen-turbo", api_key="sk-test")
    assert result.ok and result.status == 200 and result.tokens == len(TOKENS)
    assert result.first_token_ms is not None and result.first_token_ms >= FIRST_TOKEN_DELAY_S * 1000
    assert result.tokens_per_s is not None and 10 < result.tokens_per_s <= 1 / TOKEN_GAP_S * 1.05
    assert result.first_token().ok is True  # under a second


def test_probe_reports_failures(stub_url: str) -> None:
    denied = probe_chat(stub_url, "qwen-turbo", api_key="wrong")
    assert not denied.ok and denied.status == 401 and "bad key" in denied.error
    closed = probe_chat("http://127.0.0.1:9/v1/chat/completions", "m", timeout_s=2)
    assert not closed.ok and closed.error
    with pytest.raises(UsageError):
        probe_chat("ftp://example.com", "m")


def _turn(model: str, playback_ms: float, outcome: str = "ok", interrupted: bool = False) -> Turn:
    return Turn("c1", "u1", 1, datetime(2026, 11, 30, tzinfo=UTC), "acme", model, 200.0, 600.0, 800.0,
                playback_ms if outcome == "ok" else None, interrupted, outcome)


def test_latency_by_model_percentiles() -> None:
    turns = [_turn("fast", v) for v in (900, 1000, 1100, 1200, 1300)]
    turns += [_turn("slow", v) for v in (2000, 3000, 4000)] + [_turn("slow", 0, "timeout"), _turn("slow", 2500,
                                                                                                  interrupted=True)]
    rows = {r["model"]: r for r in latency_by_model(turns)}
    assert rows["fast"]["playback_ms_p50"] == 1100 and rows["fast"]["playback_ms_p90"] == pytest.approx(1260)
    assert rows["fast"]["voice_to_voice"]["ok"] is True
    assert (rows["slow"]["turns"], rows["slow"]["timeouts"], rows["slow"]["interrupted"]) == (5, 1, 1)
    assert rows["slow"]["voice_to_voice"]["value"] == pytest.approx(3700)
    assert rows["slow"]["voice_to_voice"]["ok"] is False


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"llm_first_token_ms": 100}, "out of order"),
        ({"playback_ms": None}, "playback_ms"),
        ({"outcome": "exploded"}, "outcome"),
        ({"model": ""}, "model"),
        ({"asr_final_ms": -5}, "asr_final_ms"),
    ],
)
def test_invalid_turns(change: dict[str, object], words: str) -> None:
    item = {"call_id": "c", "user_id": "u", "ts": "2026-11-30T10:00:00Z", "provider": "p", "model": "m",
            "asr_final_ms": 300, "llm_first_token_ms": 800, "tts_first_audio_ms": 1000, "playback_ms": 1100}
    item.update(change)
    with pytest.raises(Rejected, match=words):
        validate_turn(item)


def test_turns_round_trip_the_store(store: Store) -> None:
    store_turns(store, [_turn("fast", 1000), _turn("fast", 0, "failed")])
    loaded = load_turns(store, datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert [(t.playback_ms, t.outcome) for t in loaded] == [(1000.0, "ok"), (None, "failed")]
