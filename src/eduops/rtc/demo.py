"""The call-quality share of the demo: a month of calls with injected problems, a few live classes,
AI tutor turns, and the latest QoE window recorded as metric series."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from eduops.core.demo import DemoContext
from eduops.rtc.aitutor import Turn, store_turns
from eduops.rtc.live import record_window
from eduops.rtc.service import open_store
from eduops.rtc.store import insert_arrow
from eduops.rtc.synthetic import BAD_APP_VERSION, BAD_ISP, BAD_PROVINCE, BAD_TEACHER, generate

TUTOR_MODELS = [("openai", "gpt-4o-mini", 520.0), ("deepseek", "deepseek-chat", 780.0), ("qwen", "qwen-turbo", 450.0)]


def tutor_turns(now, seed: int, count: int = 3000) -> list[Turn]:  # type: ignore[no-untyped-def]
    """AI tutor turns over the last month; deepseek-chat's first token is slow, a few turns time out."""
    rng = np.random.default_rng(seed)
    turns = []
    for i in range(count):
        provider, model, llm_ms = TUTOR_MODELS[i % len(TUTOR_MODELS)]
        asr = float(rng.normal(300, 60))
        first_token = asr + float(rng.lognormal(np.log(llm_ms), 0.35))
        tts = first_token + float(rng.normal(250, 50))
        playback = tts + float(rng.normal(80, 20))
        outcome = "timeout" if rng.random() < 0.01 else "ok"
        turns.append(
            Turn(
                f"tutor-{i // 12:05d}",
                f"u-{i % 900}",
                i % 12,
                now - timedelta(minutes=int(rng.integers(1, 30 * 24 * 60))),
                provider,
                model,
                round(asr, 1),
                round(first_token, 1),
                round(tts, 1),
                round(playback, 1) if outcome == "ok" else None,
                bool(rng.random() < 0.08),
                outcome,
            )
        )
    return turns


def populate(demo: DemoContext) -> None:
    store = open_store(demo.ws.settings)
    demo.progress("generating a month of calls", 0.05)
    data = generate(demo.now, seed=demo.rng.randint(0, 2**31), timezone=demo.ws.settings.timezone, live_calls=6)
    demo.progress(f"storing {data.samples.num_rows:,} stats samples", 0.5)
    with store.connect() as con:
        con.execute("DELETE FROM samples; DELETE FROM sample_rollup; DELETE FROM sessions; DELETE FROM calls")
        insert_arrow(con, data.calls, data.sessions, data.samples)
    demo.progress("AI tutor turns", 0.85)
    store_turns(store, tutor_turns(demo.now, demo.rng.randint(0, 2**31)))
    record_window(demo.ws, store, demo.now, window_s=60)
    demo.notes["rtc"] = (
        f"{data.calls.num_rows:,} calls, {data.samples.num_rows:,} stats samples; look for "
        f"{BAD_PROVINCE}/{BAD_ISP} at peak hours, app {BAD_APP_VERSION} and teacher {BAD_TEACHER} "
        "at /rtc"
    )
    demo.progress("done", 1.0)
