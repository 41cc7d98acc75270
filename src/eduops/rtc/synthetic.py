"""A month of synthetic calls with real-looking patterns, generated with numpy (for the demo and benches).

Injected problems the breakdowns and root-cause hints must find:
- an evening peak (19:00–22:00 local) in call volume;
- ``BAD_PROVINCE`` on ``BAD_ISP`` loses packets and lags at peak hours;
- app version ``BAD_APP_VERSION`` freezes video often;
- teacher ``BAD_TEACHER`` teaches on bad Wi-Fi, so her classes freeze;
- a low-end phone (``CPU_DEVICE``) is often CPU-limited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from eduops.rtc.qoe import mos_array
from eduops.rtc.store import CALL_COLUMNS, SAMPLE_COLUMNS, SESSION_COLUMNS

PROVINCES = [
    "Guangdong",
    "Beijing",
    "Shanghai",
    "Zhejiang",
    "Jiangsu",
    "Sichuan",
    "Henan",
    "Hubei",
    "Shandong",
    "Hunan",
]
PROVINCE_WEIGHTS = [0.18, 0.1, 0.1, 0.1, 0.1, 0.08, 0.1, 0.08, 0.09, 0.07]
ISPS = ["China Telecom", "China Unicom", "China Mobile"]
NETWORKS = ["wifi", "4g", "5g", "wired"]
OSES = ["Android", "iOS", "Windows", "macOS"]
DEVICES = {
    "Android": ["Huawei Mate 40", "Xiaomi 13", "Redmi 9A", "OPPO Reno8"],
    "iOS": ["iPhone 13", "iPhone 15"],
    "Windows": ["Lenovo ThinkPad", "Dell Inspiron"],
    "macOS": ["MacBook Air"],
}
APP_VERSIONS = ["5.1.0", "5.1.2", "5.2.0", "5.2.1"]
BAD_PROVINCE, BAD_ISP = "Henan", "China Unicom"
BAD_APP_VERSION = "5.2.0"
BAD_TEACHER = "t-wang"
CPU_DEVICE = "Redmi 9A"
PEAK_HOURS = (19, 20, 21)
TEACHERS = [BAD_TEACHER] + [
    f"t-{n}"
    for n in (
        "li",
        "zhang",
        "liu",
        "chen",
        "yang",
        "zhao",
        "huang",
        "zhou",
        "wu",
        "xu",
        "sun",
        "ma",
        "zhu",
        "hu",
    )
]


@dataclass
class Generated:
    calls: pa.Table
    sessions: pa.Table
    samples: pa.Table


def _column(values: object, kind: pa.DataType) -> pa.Array:
    return values if isinstance(values, pa.Array) else pa.array(values, type=kind)


def _table(columns: dict[str, pa.DataType], data: dict[str, Any]) -> pa.Table:
    size = len(next(iter(data.values())))
    return pa.table(
        {name: _column(data[name], t) if name in data else pa.nulls(size, type=t) for name, t in columns.items()}
    )


def generate(
    end: datetime,
    days: int = 30,
    calls_per_day: int = 120,
    seed: int = 2026,
    interval_s: float = 10.0,
    timezone: str = "Asia/Shanghai",
    live_calls: int = 0,
) -> Generated:
    """Calls, sessions and samples over ``days`` days up to ``end`` (about 30 samples a session-minute ÷ interval)."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(timezone)
    n_calls = days * calls_per_day
    # evening peak: local start hours weighted towards 19-21
    hour_weights = np.array([1, 1, 1, 1, 1, 1, 2, 4, 6, 6, 5, 5, 5, 5, 6, 6, 7, 8, 10, 16, 18, 16, 8, 3], float)
    day = rng.integers(0, days, n_calls)
    hour = rng.choice(24, n_calls, p=hour_weights / hour_weights.sum())
    minute = rng.integers(0, 60, n_calls)
    # the last ``days`` local days, today included up to ``end`` (calls that would not have ended by then are
    # dropped below): a demo run in the evening shows the day's classes, not a day with none yet
    local_midnight = (end.astimezone(tz) - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0,
                                                                              microsecond=0)
    base = int(local_midnight.timestamp())
    start_epoch = base + day * 86400 + hour * 3600 + minute * 60
    keep = start_epoch + 3600 < end.timestamp()
    start_epoch, hour, n_calls = start_epoch[keep], hour[keep], int(keep.sum())
    end_s = int(end.timestamp())
    if live_calls:  # calls still running at ``end``: started in the last 25 minutes, no end yet
        live_start = end_s - rng.integers(120, 1500, live_calls)
        start_epoch = np.concatenate([start_epoch, live_start])
        hour = np.concatenate([hour, [datetime.fromtimestamp(int(x), tz).hour for x in live_start]])
        n_calls += live_calls
    is_live = np.arange(n_calls) >= n_calls - live_calls
    scenario = rng.choice(["live_class", "one_on_one", "ai_tutor"], n_calls, p=[0.35, 0.45, 0.2])
    duration_min = np.where(scenario == "live_class", 45, np.where(scenario == "one_on_one", 25, 15))
    students = np.where(scenario == "live_class", rng.integers(4, 13, n_calls), 1)
    teacher_idx = rng.integers(0, len(TEACHERS), n_calls)
    call_ids = np.array([f"call-{i:06d}" for i in range(n_calls)])
    calls = _table(
        CALL_COLUMNS,
        {
            "call_id": call_ids,
            "scenario": scenario,
            "channel": np.array([f"room-{i % 400:03d}" for i in range(n_calls)]),
            "course_id": np.array([f"course-{i % 37:02d}" for i in range(n_calls)]),
            "start_ts": (start_epoch * 1_000_000).astype("datetime64[us]"),
            "end_ts": pa.array(
                ((start_epoch + duration_min * 60) * 1_000_000).astype("datetime64[us]"),
                type=CALL_COLUMNS["end_ts"],
                mask=is_live,
            ),
        },
    )
    # sessions: the teacher (or the AI) plus the students of every call
    per_call = students + 1
    n_sess = int(per_call.sum())
    call_of = np.repeat(np.arange(n_calls), per_call)
    first = np.concatenate([[0], np.cumsum(per_call)[:-1]])
    is_host = np.zeros(n_sess, bool)
    is_host[first] = True
    host_role = np.where(scenario == "ai_tutor", "ai", "teacher")
    role = np.where(is_host, host_role[call_of], "student")
    user_id = np.where(
        is_host,
        np.array(TEACHERS)[teacher_idx][call_of],
        np.char.add("u-", rng.integers(0, 5000, n_sess).astype(str)),
    )
    user_id = np.where(role == "ai", "ai-tutor", user_id)
    province = rng.choice(PROVINCES, n_sess, p=PROVINCE_WEIGHTS)
    isp = rng.choice(ISPS, n_sess, p=[0.4, 0.3, 0.3])
    # China Unicom is the big fixed-line ISP in the north (Henan included)
    northern = np.isin(province, ["Henan", "Beijing", "Shandong"])
    isp = np.where(northern, rng.choice(ISPS, n_sess, p=[0.2, 0.6, 0.2]), isp)
    os_name = rng.choice(OSES, n_sess, p=[0.45, 0.3, 0.15, 0.1])
    device = np.array(
        [DEVICES[o][i % len(DEVICES[o])] for o, i in zip(os_name, rng.integers(0, 12, n_sess), strict=True)]
    )
    network = np.where(
        np.isin(os_name, ["Windows", "macOS"]),
        rng.choice(["wifi", "wired"], n_sess),
        rng.choice(NETWORKS[:3], n_sess, p=[0.6, 0.3, 0.1]),
    )
    teacher_bad = user_id == BAD_TEACHER
    network = np.where(teacher_bad, "wifi", network)
    app_version = rng.choice(APP_VERSIONS, n_sess, p=[0.2, 0.3, 0.25, 0.25])
    joined = start_epoch[call_of] + rng.integers(0, 120, n_sess)
    session_len = duration_min[call_of] * 60 - (joined - start_epoch[call_of])
    session_len = np.where(is_live[call_of], np.maximum(end_s - joined, 0), session_len)
    local_hour = hour[call_of]
    bad_isp = (province == BAD_PROVINCE) & (isp == BAD_ISP) & np.isin(local_hour, PEAK_HOURS)
    join_fail_p = np.where(bad_isp, 0.06, 0.008)
    join_ok = rng.random(n_sess) >= join_fail_p
    join_ms = rng.lognormal(np.log(900), 0.45, n_sess) * np.where(bad_isp, 2.5, 1.0)
    sessions = _table(
        SESSION_COLUMNS,
        {
            "call_id": call_ids[call_of],
            "user_id": user_id,
            "role": role,
            "country": np.full(n_sess, "CN"),
            "province": province,
            "city": province,
            "isp": isp,
            "network": network,
            "os": os_name,
            "device": device,
            "app_version": app_version,
            "sdk_version": np.full(n_sess, "4.3.1"),
            "platform": np.where(np.isin(os_name, ["Windows", "macOS"]), "web", "native"),
            "join_ok": join_ok,
            "join_error": pa.array(rng.choice(["ICE_TIMEOUT", "TOKEN_EXPIRED"], n_sess), mask=join_ok),
            "join_ms": np.round(join_ms, 1),
            "first_audio_ms": np.round(join_ms + rng.normal(250, 60, n_sess), 1),
            "first_video_ms": np.round(join_ms + rng.normal(420, 90, n_sess), 1),
            "joined_at": (joined * 1_000_000).astype("datetime64[us]"),
            "left_at": pa.array(
                ((joined + session_len) * 1_000_000).astype("datetime64[us]"),
                type=SESSION_COLUMNS["left_at"],
                mask=is_live[call_of],
            ),
            "leave_reason": np.full(n_sess, "normal"),
        },
    )
    # samples: every interval of every joined session
    counts = np.where(join_ok, (session_len // interval_s).astype(int), 0)
    sess_of = np.repeat(np.arange(n_sess), counts)
    n = len(sess_of)
    offsets = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    ts = joined[sess_of] + (offsets + 1) * interval_s
    in_bad_class = teacher_bad[first[call_of]][sess_of]  # every member of the bad teacher's classes
    s_bad_isp = bad_isp[sess_of]
    s_bad_app = app_version[sess_of] == BAD_APP_VERSION
    s_cpu = device[sess_of] == CPU_DEVICE
    s_teacher_bad = teacher_bad[sess_of]
    mobile = np.isin(network[sess_of], ["4g", "5g"])
    rtt = rng.lognormal(np.log(45), 0.35, n) + np.where(mobile, 25, 0) + np.where(s_bad_isp, 170, 0)
    jitter = rng.gamma(2.0, 2.5, n) + np.where(s_bad_isp, 20, 0) + np.where(s_teacher_bad, 45, 0)
    loss_down = rng.exponential(0.3, n) + np.where(s_bad_isp, rng.uniform(4, 9, n), 0)
    loss_up = (
        rng.exponential(0.3, n)
        + np.where(s_bad_isp, rng.uniform(3, 8, n), 0)
        + np.where(s_teacher_bad, rng.uniform(4, 9, n), 0)
    )
    freeze_p = (
        0.02
        + np.where(s_bad_isp, 0.3, 0)
        + np.where(s_bad_app, 0.35, 0)
        + np.where(in_bad_class, 0.35, 0)
        + np.where(s_cpu, 0.1, 0)
    )
    interval_ms = interval_s * 1000
    froze = rng.random(n) < freeze_p
    video_freeze = np.where(froze, rng.uniform(0.07, 0.4, n) * interval_ms, 0.0)  # 700–4000 ms of 10 s
    audio_froze = rng.random(n) < (0.01 + np.where(s_bad_isp, 0.25, 0) + np.where(in_bad_class, 0.2, 0))
    audio_freeze = np.where(audio_froze, rng.uniform(0.025, 0.15, n) * interval_ms, 0.0)
    limitation = np.where(
        s_cpu & (rng.random(n) < 0.6), "cpu", np.where(s_bad_isp & (rng.random(n) < 0.5), "bandwidth", "none")
    )
    samples = _table(
        SAMPLE_COLUMNS,
        {
            "call_id": call_ids[call_of][sess_of],
            "user_id": user_id[sess_of],
            "ts": (ts * 1_000_000).astype(np.int64).astype("datetime64[us]"),
            "interval_ms": np.full(n, interval_ms),
            "rtt_ms": np.round(rtt, 1),
            "jitter_ms": np.round(jitter, 1),
            "loss_up_pct": np.round(np.minimum(loss_up, 100), 2),
            "loss_down_pct": np.round(np.minimum(loss_down, 100), 2),
            "bitrate_up_kbps": np.round(rng.normal(900, 150, n), 0),
            "bitrate_down_kbps": np.round(rng.normal(1200, 200, n)),
            "fps": np.where(froze, 12.0, 24.0),
            "width": np.full(n, 1280, np.int32),
            "height": np.full(n, 720, np.int32),
            "video_freeze_count": froze.astype(np.int32),
            "video_freeze_ms": np.round(video_freeze, 0),
            "audio_freeze_count": audio_froze.astype(np.int32),
            "audio_freeze_ms": np.round(audio_freeze, 0),
            "e2e_delay_ms": np.round(rtt / 2 + 120, 1),
            "av_sync_ms": np.round(rng.normal(10, 15, n), 1),
            "quality_limitation": limitation,
            "mos": np.round(mos_array(rtt, jitter, loss_down), 4),
        },
    )
    return Generated(calls, sessions, samples)
