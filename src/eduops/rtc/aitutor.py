"""AI tutor sessions: per-turn timings, voice-to-voice latency per model and provider, and an HTTP probe
for an OpenAI-compatible streaming chat-completions endpoint (time to first token, tokens per second).

A turn's timings are all measured from the moment the learner stopped speaking:
``asr_final_ms`` → ``llm_first_token_ms`` → ``tts_first_audio_ms`` → ``playback_ms`` (= voice-to-voice).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import httpx

from eduops.errors import UsageError
from eduops.rtc.qoe import QoE, percentile
from eduops.rtc.reports import Rejected, _bool, _number, parse_time
from eduops.rtc.store import Store

VOICE_TO_VOICE_P90_MS = 2500.0  # a tutor that answers slower than this feels broken
FIRST_TOKEN_MS = 1000.0
OUTCOMES = ("ok", "failed", "timeout")
STAGES = ("asr_final_ms", "llm_first_token_ms", "tts_first_audio_ms", "playback_ms")


@dataclass
class Turn:
    call_id: str
    user_id: str
    turn: int
    ts: datetime
    provider: str
    model: str
    asr_final_ms: float | None
    llm_first_token_ms: float | None
    tts_first_audio_ms: float | None
    playback_ms: float | None
    interrupted: bool = False
    outcome: str = "ok"

    @property
    def voice_to_voice_ms(self) -> float | None:
        return self.playback_ms


def validate_turn(item: dict[str, Any]) -> Turn:
    """One turn; the stages must come in order (ASR before the first token before TTS before playback)."""
    stages: list[float | None] = []
    for name in STAGES:
        value = item.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            raise Rejected(f"{name}: expected milliseconds ≥ 0")
        stages.append(None if value is None else float(value))
    present = [v for v in stages if v is not None]
    if present != sorted(present):
        raise Rejected("stages out of order: asr_final ≤ llm_first_token ≤ tts_first_audio ≤ playback")
    outcome = item.get("outcome", "ok")
    if outcome not in OUTCOMES:
        raise Rejected(f"outcome: one of {', '.join(OUTCOMES)}")
    if outcome == "ok" and stages[3] is None:
        raise Rejected("playback_ms: required for a turn that succeeded")
    for key in ("call_id", "user_id", "provider", "model"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise Rejected(f"{key}: required")
    return Turn(
        item["call_id"],
        item["user_id"],
        int(_number(item, "turn", 0, 1_000_000) or 0),
        parse_time(item.get("ts"), "ts"),
        item["provider"],
        item["model"],
        stages[0],
        stages[1],
        stages[2],
        stages[3],
        bool(_bool(item, "interrupted")),
        outcome,
    )


def insert_turns(con: Any, turns: list[Turn]) -> int:
    if turns:
        con.executemany(
            "INSERT INTO ai_turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    t.call_id,
                    t.user_id,
                    t.turn,
                    t.ts,
                    t.provider,
                    t.model,
                    t.asr_final_ms,
                    t.llm_first_token_ms,
                    t.tts_first_audio_ms,
                    t.playback_ms,
                    t.interrupted,
                    t.outcome,
                ]
                for t in turns
            ],
        )
    return len(turns)


def store_turns(store: Store, turns: list[Turn]) -> int:
    with store.connect() as con:
        return insert_turns(con, turns)


def latency_by_model(turns: list[Turn]) -> list[dict[str, Any]]:
    """p50/p90 of every stage and of voice-to-voice per (provider, model), with failures and interruptions."""
    groups: dict[tuple[str, str], list[Turn]] = {}
    for t in turns:
        groups.setdefault((t.provider, t.model), []).append(t)
    out = []
    for (provider, model), items in sorted(groups.items()):
        ok = [t for t in items if t.outcome == "ok"]
        row: dict[str, Any] = {
            "provider": provider,
            "model": model,
            "turns": len(items),
            "failed": sum(1 for t in items if t.outcome == "failed"),
            "timeouts": sum(1 for t in items if t.outcome == "timeout"),
            "interrupted": sum(1 for t in items if t.interrupted),
        }
        for stage in STAGES:
            values = [getattr(t, stage) for t in ok if getattr(t, stage) is not None]
            row[f"{stage}_p50"] = percentile(values, 50).value
            row[f"{stage}_p90"] = percentile(values, 90).value
        v2v = percentile([t.playback_ms for t in ok if t.playback_ms is not None], 90, "ms", VOICE_TO_VOICE_P90_MS)
        row["voice_to_voice"] = v2v.to_dict()
        out.append(row)
    return out


def load_turns(store: Store, since: datetime, until: datetime) -> list[Turn]:
    rows = store.query("SELECT * FROM ai_turns WHERE ts >= ? AND ts < ? ORDER BY ts", [since, until])
    return [Turn(**r) for r in rows]


@dataclass
class TutorProbe:
    url: str
    model: str
    ok: bool
    status: int | None = None
    first_token_ms: float | None = None
    total_ms: float | None = None
    tokens: int = 0
    tokens_per_s: float | None = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def first_token(self) -> QoE:
        return QoE(self.first_token_ms, "ms", FIRST_TOKEN_MS)


def probe_chat(
    url: str,
    model: str,
    api_key: str = "",
    prompt: str = "Say hello to a student in one sentence.",
    timeout_s: float = 30.0,
) -> TutorProbe:
    """POST a streaming chat completion and time it: first content token, then tokens per second after it.
    A token here is one streamed content delta (what OpenAI-compatible servers send per token)."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"{url!r} is not an http(s) URL of a chat-completions endpoint")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": prompt}]}
    result = TutorProbe(url, model, ok=False)
    started = time.perf_counter()
    first: float | None = None
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=timeout_s) as response:
            result.status = response.status_code
            if response.status_code != 200:
                result.error = f"HTTP {response.status_code}: {response.read()[:200].decode(errors='replace')}"
                return result
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except json.JSONDecodeError:
                    result.error = f"not a JSON event: {data[:80]!r}"
                    return result
                delta = ((chunk.get("choices") or [{}])[0].get("delta") or {}).get("content")
                if delta:
                    if first is None:
                        first = time.perf_counter()
                    result.tokens += 1
    except httpx.HTTPError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    end = time.perf_counter()
    result.total_ms = round((end - started) * 1000, 1)
    if first is None:
        result.error = "the stream carried no content"
        return result
    result.ok = True
    result.first_token_ms = round((first - started) * 1000, 1)
    streaming_s = end - first
    result.tokens_per_s = round((result.tokens - 1) / streaming_s, 1) if result.tokens > 1 and streaming_s > 0 else None
    return result
