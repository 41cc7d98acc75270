"""The vendor-neutral report format: one item per call, participant session or stats sample.

Each item is a JSON object with ``"type"``: ``call``, ``session`` or ``sample`` (see docs/rtc.md for
every field). ``validate_item`` turns one item into a store row or a reason it was rejected; it is
written by hand (not pydantic) because file ingestion must keep up with tens of thousands of items a
second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from operator import methodcaller
from typing import Any

from eduops.core import values
from eduops.errors import UsageError
from eduops.rtc.qoe import (
    AUDIO_FREEZE_MIN_MS,
    DEFAULT_MODEL,
    EModel,
    freeze_total_ms,
    mos_from_r,
    r_factor,
    sample_loss_pct,
    video_freeze_min_ms,
    w3c_freezes,
)

SCENARIOS = ("live_class", "one_on_one", "ai_tutor")
ROLES = ("teacher", "student", "ai")
NETWORKS = ("wifi", "4g", "5g", "wired", "unknown")
PLATFORMS = ("native", "web")
LIMITATIONS = ("cpu", "bandwidth", "none")
MAX_ID = 128
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.5, 60.0

# name → (lowest, highest) for numeric sample fields
SAMPLE_RANGES: dict[str, tuple[float, float]] = {
    "rtt_ms": (0, 60_000),
    "jitter_ms": (0, 60_000),
    "loss_up_pct": (0, 100),
    "loss_down_pct": (0, 100),
    "bitrate_up_kbps": (0, 1_000_000),
    "bitrate_down_kbps": (0, 1_000_000),
    "fps": (0, 240),
    "e2e_delay_ms": (0, 600_000),
    "av_sync_ms": (-60_000, 60_000),
}
_SAMPLE_RANGE_ITEMS = tuple(SAMPLE_RANGES.items())
SESSION_TEXT = (
    "country",
    "province",
    "city",
    "isp",
    "os",
    "device",
    "app_version",
    "sdk_version",
    "join_error",
    "leave_reason",
)
SESSION_MS = ("join_ms", "first_audio_ms", "first_video_ms")


HANDLED: Any = object()  # an item of a batch another validator took care of (AI tutor turns)


class Rejected(ValueError):
    """An item that cannot be stored; the message says which field and why."""


def parse_time(value: Any, field: str) -> datetime:
    """ISO 8601 (a zone is required, or Z) or epoch seconds/milliseconds, as an aware UTC datetime within
    the supported range (``eduops.core.values``: 1970 to 2199)."""
    moment = _parse_time(value, field)
    try:
        return values.check_time(moment, field, str(value))
    except UsageError as exc:
        raise Rejected(exc.message) from None


def _parse_time(value: Any, field: str) -> datetime:
    if isinstance(value, bool) or value is None or value == "":
        raise Rejected(f"{field}: a time is required (ISO 8601 with a zone, or epoch seconds)")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise Rejected(f"{field}: {value!r} is not a usable epoch time") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise Rejected(f"{field}: {value!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise Rejected(f"{field}: {value!r} has no timezone; add Z or +08:00")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise Rejected(f"{field}: {value!r} is outside the supported range") from None
    raise Rejected(f"{field}: expected a time, got {type(value).__name__}")


def _ident(item: dict[str, Any], field: str, required: bool = True) -> str | None:
    value = item.get(field)
    if value is None or value == "":
        if required:
            raise Rejected(f"{field}: required")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > MAX_ID:
        raise Rejected(f"{field}: expected a string of at most {MAX_ID} characters")
    return value


def _number(item: dict[str, Any], field: str, low: float, high: float) -> float | None:
    value = item.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise Rejected(f"{field}: {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise Rejected(f"{field}: expected a number")
    if not low <= value <= high:
        raise Rejected(f"{field}: {value} is outside {low:g}..{high:g}")
    return float(value)


def _choice(item: dict[str, Any], field: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    value = item.get(field)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise Rejected(f"{field}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _bool(item: dict[str, Any], field: str) -> bool | None:
    value = item.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise Rejected(f"{field}: expected true or false")


def _durations(item: dict[str, Any], field: str) -> list[float]:
    value = item.get(field)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [v for v in value.split(";") if v]
    if not isinstance(value, list) or len(value) > 10_000:
        raise Rejected(f"{field}: expected a list of durations in ms")
    try:
        durations = [float(v) for v in value]
    except (TypeError, ValueError):
        raise Rejected(f"{field}: expected a list of durations in ms") from None
    if any(d < 0 or d != d for d in durations):
        raise Rejected(f"{field}: durations must be non-negative")
    return durations


def validate_call(item: dict[str, Any]) -> dict[str, Any]:
    start = parse_time(item.get("start"), "start") if item.get("start") not in (None, "") else None
    end = parse_time(item.get("end"), "end") if item.get("end") not in (None, "") else None
    if start and end and end < start:
        raise Rejected("end: before start")
    return {
        "call_id": _ident(item, "call_id"),
        "scenario": _choice(item, "scenario", SCENARIOS),
        "channel": _ident(item, "channel", False),
        "course_id": _ident(item, "course_id", False),
        "start_ts": start,
        "end_ts": end,
    }


def _codec_name(item: dict[str, Any]) -> str | None:
    value = item.get("codec")
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise Rejected("codec: expected a codec name such as opus or g711")
    return value.strip().lower()


def validate_session(item: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "call_id": _ident(item, "call_id"),
        "user_id": _ident(item, "user_id"),
        "role": _choice(item, "role", ROLES),
        "network": _choice(item, "network", NETWORKS),
        "platform": _choice(item, "platform", PLATFORMS),
        "codec": _codec_name(item),
        "join_ok": _bool(item, "join_ok"),
    }
    for field in SESSION_TEXT:
        value = item.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > 200):
            raise Rejected(f"{field}: expected a string of at most 200 characters")
        row[field] = value or None
    for field in SESSION_MS:
        row[field] = _number(item, field, 0, 3_600_000)
    for field in ("joined_at", "left_at"):
        row[field] = parse_time(item[field], field) if item.get(field) not in (None, "") else None
    if row["join_ok"] is False and not row["join_error"]:
        raise Rejected("join_error: required when join_ok is false")
    return row


def validate_sample(item: dict[str, Any], platform: str = "native", model: EModel = DEFAULT_MODEL) -> dict[str, Any]:
    """A stats sample row; freeze events are cut at the platform's threshold and MOS is computed here."""
    row: dict[str, Any] = {
        "call_id": _ident(item, "call_id"),
        "user_id": _ident(item, "user_id"),
        "ts": parse_time(item.get("ts"), "ts"),
    }
    interval_s = _number(item, "interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S)
    if interval_s is None:
        raise Rejected(f"interval_s: required (seconds this sample covers, {MIN_INTERVAL_S:g}..{MAX_INTERVAL_S:g})")
    interval_ms = interval_s * 1000
    row["interval_ms"] = interval_ms
    get = item.get
    for field, (low, high) in _SAMPLE_RANGE_ITEMS:
        value = get(field)
        # the common case inline (plain numbers in range); anything else goes through _number for its reason
        if value is None:
            row[field] = None
        elif (type(value) is float or type(value) is int) and low <= value <= high:
            row[field] = float(value)
        else:
            row[field] = _number(item, field, low, high)
    for field in ("width", "height"):
        size = get(field)
        if type(size) is not int or not 0 <= size <= 16384:
            size = _number(item, field, 0, 16384)
        row[field] = None if size is None else int(size)
    row["quality_limitation"] = _choice(item, "quality_limitation", LIMITATIONS)
    platform = _choice(item, "platform", PLATFORMS) or platform
    video = _durations(item, "video_freezes_ms") if get("video_freezes_ms") else []
    if get("frame_times_ms") not in (None, ""):
        video = video + w3c_freezes(_durations(item, "frame_times_ms"))
    row["video_freeze_count"], row["video_freeze_ms"] = freeze_total_ms(video, video_freeze_min_ms(platform))
    row["audio_freeze_count"], row["audio_freeze_ms"] = freeze_total_ms(
        _durations(item, "audio_freezes_ms") if get("audio_freezes_ms") else [], AUDIO_FREEZE_MIN_MS
    )
    for kind in ("video", "audio"):  # totals reported directly by SDKs that only count freezes
        if get(f"{kind}_freeze_ms") is None:
            continue
        total = _number(item, f"{kind}_freeze_ms", 0, interval_ms)
        if total is not None:
            row[f"{kind}_freeze_ms"] += total
            row[f"{kind}_freeze_count"] += int(_number(item, f"{kind}_freeze_count", 0, 1e6) or (1 if total else 0))
    if row["video_freeze_ms"] > interval_ms or row["audio_freeze_ms"] > interval_ms:
        raise Rejected("freezes: longer in total than the sample's interval")
    loss = sample_loss_pct(row["loss_down_pct"], row["loss_up_pct"])
    if row["rtt_ms"] is not None:
        r = r_factor(row["rtt_ms"], row["jitter_ms"] or 0.0, loss or 0.0, model.codec, model.burst_r)
        row["mos"] = round(mos_from_r(r), 4)
    else:
        row["mos"] = None
    return row


VALIDATORS = {"call": validate_call, "session": validate_session}


def only_samples(items: list[Any]) -> bool:
    """Whether every item is an object of type ``sample`` (checked in C-level passes, not item by item)."""
    if not items or set(map(type, items)) != {dict}:
        return False
    try:
        return set(map(methodcaller("get", "type"), items)) == {"sample"}
    except TypeError:  # a type that is not a string: item by item says what is wrong
        return False


def split_items(
    items: list[Any], platforms: dict[tuple[str, str], str] | None = None, offset: int = 0,
    model: EModel = DEFAULT_MODEL, codecs: dict[tuple[str, str], str] | None = None,
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Validate a batch: rows by kind (calls, sessions, samples) and the rejected items with reasons.
    Large batches of plain samples come back (also) as Arrow tables under ``sample_tables``.

    ``platforms`` maps (call_id, user_id) to native/web for freeze thresholds; sessions in the same
    batch add to it. ``offset`` numbers the items (a file's line numbers). ``model`` is the workspace's
    E-model for MOS; ``codecs`` maps (call_id, user_id) to the codec a stored session reported."""
    rows: dict[str, list[dict[str, Any]]] = {"calls": [], "sessions": [], "samples": []}
    rejected: list[dict[str, Any]] = []
    platforms = dict(platforms or {})
    codecs = dict(codecs or {})
    pending_samples: list[tuple[int, dict[str, Any]]] = []
    if only_samples(items):  # nothing to sort: every item waits for the sample checks
        pending_samples = list(enumerate(items, start=offset))
        items = []
    for index, item in enumerate(items, start=offset):
        if item is HANDLED:
            continue
        try:
            if not isinstance(item, dict):
                raise Rejected("expected a JSON object")
            kind = item.get("type")
            if kind == "sample":
                pending_samples.append((index, item))
            elif kind == "invalid":  # an adapter could not convert it
                raise Rejected(str(item.get("reason")))
            elif isinstance(kind, str) and kind in VALIDATORS:
                row = VALIDATORS[kind](item)
                if kind == "session" and row["codec"] and row["codec"] not in model.names():
                    raise Rejected(f"codec: {row['codec']!r} is not one of {', '.join(model.names())}; add its Ie "
                                   f"and Bpl under [rtc.codecs.{row['codec']}]")
                rows[kind + "s"].append(row)
                if kind == "session" and row["platform"]:
                    platforms[(row["call_id"], row["user_id"])] = row["platform"]
                if kind == "session" and row["codec"]:
                    codecs[(row["call_id"], row["user_id"])] = row["codec"]
            else:
                raise Rejected(f"type: {kind!r} is not one of call, session, sample")
        except Rejected as exc:
            rejected.append({"index": index, "reason": str(exc)})
    from eduops.rtc.fastpath import fast_samples  # noqa: PLC0415 (it builds on this module)

    fast = fast_samples([item for _, item in pending_samples], platforms, model, codecs)
    if fast is not None:
        table, slow = fast
        rows["sample_tables"] = [table]  # type: ignore[list-item]
        pending_samples = [pending_samples[i] for i in slow]
    for index, item in pending_samples:
        try:
            key = (str(item.get("call_id")), str(item.get("user_id")))
            session_model = model.for_codec(codecs.get(key))
            rows["samples"].append(validate_sample(item, platforms.get(key, "native"), session_model))
        except Rejected as exc:
            rejected.append({"index": index, "reason": str(exc)})
    rejected.sort(key=lambda r: r["index"])
    return rows, rejected
