"""Column-at-a-time validation of many stats samples: the same rules as ``reports.validate_sample``,
applied with Arrow and numpy instead of one item at a time, for bulk ingestion.

Only the plain case goes this way: every id a string, every time an ISO string with a zone, every number a
number. A row that fails a check, or carries something unusual (raw frame timings, freeze totals, a bad
choice), is handed back by index for ``validate_sample`` to judge and explain; a chunk with anything else
(numbers as strings from a CSV, epoch times) is not taken at all. ``test_fastpath`` checks both paths
store the same rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from operator import itemgetter, methodcaller
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eduops.core.values import EARLIEST, LATEST
from eduops.rtc.qoe import (
    AUDIO_FREEZE_MIN_MS,
    DEFAULT_MODEL,
    EModel,
    freeze_total_ms,
    mos_array,
    video_freeze_min_ms,
)
from eduops.rtc.reports import (
    LIMITATIONS,
    MAX_ID,
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    PLATFORMS,
    SAMPLE_RANGES,
    Rejected,
    _durations,
)
from eduops.rtc.store import SAMPLE_COLUMNS

MIN_ROWS = 256  # below this the per-item path is as fast
_NUMBER_TYPES = {float, int, type(None)}
_SLOW_KEYS = {"frame_times_ms", "video_freeze_ms", "audio_freeze_ms", "video_freeze_count", "audio_freeze_count"}


def column(items: list[dict[str, Any]], field: str) -> list[Any]:
    """One field of every item (None where missing), read in one C-level pass when every item has it."""
    try:
        return list(map(itemgetter(field), items))
    except KeyError:
        return list(map(methodcaller("get", field), items))


def _numbers(values: list[Any]) -> np.ndarray | None:
    """The values as float64 with NaN for missing, or None when any value is not a plain number."""
    if not set(map(type, values)) <= _NUMBER_TYPES:
        return None
    return np.array(values, dtype=float)  # None → NaN


EARLIEST_TS = datetime.combine(EARLIEST, time(), UTC)
LATEST_TS = datetime.combine(LATEST, time(), UTC) + timedelta(days=1)


def fast_samples(
    items: list[dict[str, Any]], platforms: dict[tuple[str, str], str], model: EModel = DEFAULT_MODEL,
    codecs: dict[tuple[str, str], str] | None = None,
) -> tuple[pa.Table, np.ndarray] | None:
    """The valid rows as a table in ``SAMPLE_COLUMNS`` order and the positions of the rows left for the
    per-item path; None when this chunk is not plain enough for the column path."""
    n = len(items)
    if n < MIN_ROWS:
        return None
    ids: dict[str, list[Any]] = {f: column(items, f) for f in ("call_id", "user_id", "ts")}
    if any(not set(map(type, values)) <= {str} for values in ids.values()):
        return None
    try:
        ts = pa.array(ids["ts"], pa.string()).cast(pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    slow = np.zeros(n, dtype=bool)
    # times outside the supported range (1970 to 2199) take the slow path, which rejects them by name
    slow |= ~pc.fill_null(pc.and_(pc.greater_equal(ts, pa.scalar(EARLIEST_TS, pa.timestamp("us", tz="UTC"))),
                                  pc.less(ts, pa.scalar(LATEST_TS, pa.timestamp("us", tz="UTC")))),
                          False).to_numpy(zero_copy_only=False)
    for f in ("call_id", "user_id"):
        lengths = pc.utf8_length(pa.array(ids[f], pa.string())).to_numpy(zero_copy_only=False)
        slow |= (lengths == 0) | (lengths > MAX_ID)
    interval_s = _numbers(column(items, "interval_s"))
    if interval_s is None:
        return None
    slow |= ~((interval_s >= MIN_INTERVAL_S) & (interval_s <= MAX_INTERVAL_S))  # NaN (missing) fails too
    columns: dict[str, Any] = {"call_id": ids["call_id"], "user_id": ids["user_id"], "ts": ts,
                               "interval_ms": interval_s * 1000}
    for field, (low, high) in SAMPLE_RANGES.items():
        values = _numbers(column(items, field))
        if values is None:
            return None
        slow |= ~np.isnan(values) & ~((values >= low) & (values <= high))
        columns[field] = values
    for field in ("width", "height"):
        sizes = column(items, field)
        if not set(map(type, sizes)) <= {int, type(None)}:
            return None
        arr = np.array([-1 if v is None else v for v in sizes], dtype=np.int64) if None in sizes else np.array(
            sizes, dtype=np.int64)
        slow |= arr > 16384
        slow |= (arr < 0) & (arr != -1)
        columns[field] = pa.array(arr, pa.int32(), mask=arr == -1)
    for field, allowed in (("quality_limitation", LIMITATIONS), ("platform", PLATFORMS)):
        choices = [v or None for v in column(items, field)]
        slow |= np.array([v is not None and v not in allowed for v in choices])
        columns[field] = choices
    for key in _SLOW_KEYS:
        slow |= np.fromiter(map(methodcaller("__contains__", key), items), bool, n)

    video_count = np.zeros(n, dtype=np.int32)
    video_ms = np.zeros(n)
    audio_count = np.zeros(n, dtype=np.int32)
    audio_ms = np.zeros(n)
    videos, audios = column(items, "video_freezes_ms"), column(items, "audio_freezes_ms")
    for i in np.flatnonzero(np.fromiter(map(bool, videos), bool, n) | np.fromiter(map(bool, audios), bool, n)):
        # freeze lists are rare: one at a time
        item, video, audio = items[i], videos[i], audios[i]
        if slow[i]:
            continue
        platform = columns["platform"][i] or platforms.get((item["call_id"], item["user_id"]), "native")
        try:
            video_count[i], video_ms[i] = freeze_total_ms(_durations(item, "video_freezes_ms") if video else [],
                                                          video_freeze_min_ms(platform))
            audio_count[i], audio_ms[i] = freeze_total_ms(_durations(item, "audio_freezes_ms") if audio else [],
                                                          AUDIO_FREEZE_MIN_MS)
        except Rejected:
            slow[i] = True
    slow |= (video_ms > columns["interval_ms"]) | (audio_ms > columns["interval_ms"])
    columns.update(video_freeze_count=video_count, video_freeze_ms=video_ms, audio_freeze_count=audio_count,
                   audio_freeze_ms=audio_ms)

    rtt, jitter = columns["rtt_ms"], columns["jitter_ms"]
    loss = np.where(np.isnan(columns["loss_down_pct"]), columns["loss_up_pct"], columns["loss_down_pct"])
    mos = mos_array(rtt, np.nan_to_num(jitter), np.nan_to_num(loss), model.codec, model.burst_r)
    if codecs:  # sessions that reported their codec: their rows by that codec's Ie and Bpl
        names = np.array([codecs.get((item["call_id"], item["user_id"]), "") for item in items])
        for name in set(names.tolist()) - {""}:
            mask = names == name
            other = model.for_codec(name)
            mos[mask] = mos_array(rtt[mask], np.nan_to_num(jitter[mask]), np.nan_to_num(loss[mask]), other.codec,
                                  other.burst_r)
    columns["mos"] = [None if r != r else round(m, 4) for r, m in zip(rtt.tolist(), mos.tolist(), strict=True)]

    keep = ~slow
    arrays = []
    for name, kind in SAMPLE_COLUMNS.items():
        value = columns[name]
        if isinstance(value, np.ndarray) and value.dtype == float:
            array = pa.array(value, kind, from_pandas=True)  # NaN → null
        elif isinstance(value, pa.Array):
            array = value if value.type == kind else value.cast(kind)
        else:
            array = pa.array(value, kind)
        arrays.append(array.filter(pa.array(keep)))
    return pa.Table.from_arrays(arrays, names=list(SAMPLE_COLUMNS)), np.flatnonzero(slow)
