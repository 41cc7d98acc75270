"""Column-at-a-time validation of many stats samples: the same rules as ``reports.validate_sample``,
applied with Arrow and numpy instead of one item at a time, for bulk ingestion.

Two front ends feed one checker (``check_raw``): a batch of parsed items (``fast_samples``) and a JSONL
block Arrow parsed itself (``jsonl_block.read_block``). Both give it the raw fields as Arrow columns
(``RAW_SCHEMA``). A row that fails a check, or carries something unusual (raw frame timings, freeze
totals, NaN, a time in another shape), is handed back by position for ``validate_sample`` to judge and
explain; a chunk with anything else (epoch times, numbers and text mixed in a field) is not taken at all.
A CSV's numbers come as text: those written plainly (``-12.5``, ``3e2``) are read by Arrow, any other
row goes item by item.
``test_fastpath`` checks both paths store the same rows and give the same reasons.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from operator import itemgetter, methodcaller
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eduops.core.values import EARLIEST, LATEST
from eduops.rtc.qoe import AUDIO_FREEZE_MIN_MS, DEFAULT_MODEL, EModel, mos_array, video_freeze_min_ms
from eduops.rtc.reports import LIMITATIONS, MAX_ID, MAX_INTERVAL_S, MIN_INTERVAL_S, PLATFORMS, SAMPLE_RANGES
from eduops.rtc.store import SAMPLE_COLUMNS

MIN_ROWS = 256  # below this the per-item path is as fast
MAX_DURATIONS = 10_000  # freeze events in one list (``reports._durations``)
MAX_SIZE = 16384  # pixels
SLOW_KEYS = ("frame_times_ms", "video_freeze_ms", "audio_freeze_ms", "video_freeze_count", "audio_freeze_count")
NUMBER_FIELDS = ("interval_s", *SAMPLE_RANGES)
FREEZE_LISTS = ("video_freezes_ms", "audio_freezes_ms")
RAW_SCHEMA = pa.schema(
    [("type", pa.string()), ("call_id", pa.string()), ("user_id", pa.string()), ("ts", pa.string())]
    + [(f, pa.float64()) for f in NUMBER_FIELDS]
    + [("width", pa.int64()), ("height", pa.int64())]
    + [(f, pa.list_(pa.float64())) for f in FREEZE_LISTS]
    + [("quality_limitation", pa.string()), ("platform", pa.string())]
)
# ISO 8601 times both Arrow and ``datetime.fromisoformat`` read alike; any other shape goes item by item
ISO_TIME = (r"^\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
            r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$")
DECIMAL = r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"  # numbers as text that Arrow and float() read alike
WHOLE = r"^\d{1,9}$"
_TS = pa.timestamp("us", tz="UTC")
EARLIEST_TS = datetime.combine(EARLIEST, time(), UTC)
LATEST_TS = datetime.combine(LATEST, time(), UTC) + timedelta(days=1)
_NUMBER_TYPES = {float, int, type(None)}
_TEXT_TYPES = {str, type(None)}


def column(items: list[dict[str, Any]], field: str) -> list[Any]:
    """One field of every item (None where missing), read in one C-level pass when every item has it."""
    try:
        return list(map(itemgetter(field), items))
    except KeyError:
        return list(map(methodcaller("get", field), items))


def fast_samples(
    items: list[dict[str, Any]], platforms: dict[tuple[str, str], str], model: EModel = DEFAULT_MODEL,
    codecs: dict[tuple[str, str], str] | None = None,
) -> tuple[pa.Table, np.ndarray] | None:
    """The valid rows of parsed sample items as a table in ``SAMPLE_COLUMNS`` order and the positions of the
    rows left for the per-item path; None when this chunk is not plain enough for the column path."""
    if len(items) < MIN_ROWS:
        return None
    raw = raw_from_items(items)
    if raw is None:
        return None
    table, slow = raw
    return check_raw(table, platforms, model, codecs, slow)


def raw_from_items(items: list[dict[str, Any]]) -> tuple[pa.Table, np.ndarray] | None:
    """Parsed items as ``RAW_SCHEMA`` columns and the rows already known to need the per-item path; None when
    a field holds something the columns cannot (times as numbers, numbers and text mixed in one field)."""
    n = len(items)
    slow = np.zeros(n, dtype=bool)
    arrays: dict[str, pa.Array] = {}
    try:
        for field in ("call_id", "user_id", "ts"):
            values = column(items, field)
            if not set(map(type, values)) <= _TEXT_TYPES:
                return None
            arrays[field] = pa.array(values, pa.string())
        for field, kind, shape in [(f, pa.float64(), DECIMAL) for f in NUMBER_FIELDS] + [
                (f, pa.int64(), WHOLE) for f in ("width", "height")]:
            values = column(items, field)
            types = set(map(type, values))
            if types <= _TEXT_TYPES:  # a CSV's numbers: the plainly written ones here, the rest item by item
                text = pa.array(values, pa.string())
                plain = pc.fill_null(pc.match_substring_regex(text, shape), True)
                slow |= ~_flag(plain)
                arrays[field] = pc.if_else(plain, text, pa.scalar(None, pa.string())).cast(kind)
            elif types <= (_NUMBER_TYPES if kind == pa.float64() else {int, type(None)}):
                arrays[field] = pa.array(values, kind)
            else:
                return None
    except (pa.ArrowInvalid, OverflowError):  # integers beyond 64 bits
        return None
    for field in ("quality_limitation", "platform"):
        values = column(items, field)
        if not set(map(type, values)) <= _TEXT_TYPES:
            odd = np.fromiter((v is not None and not isinstance(v, str) for v in values), bool, n)
            slow |= odd
            values = [None if bad else v for v, bad in zip(values, odd.tolist(), strict=True)]
        arrays[field] = pa.array(values, pa.string())
    for field in FREEZE_LISTS:
        values = column(items, field)
        for i in np.flatnonzero(np.fromiter(map(bool, values), bool, n)).tolist():  # freeze lists are rare
            values[i] = _durations(values[i])
            if values[i] is None:
                slow[i] = True
        values = [v or None for v in values]
        arrays[field] = pa.array(values, pa.list_(pa.float64()))
    for key in SLOW_KEYS:
        slow |= np.fromiter(map(methodcaller("__contains__", key), items), bool, n)
    return pa.table(arrays), slow


def _durations(value: Any) -> list[Any] | None:
    """A freeze list as given (a CSV's ``700;1200`` read as ``reports._durations`` reads it), or None when
    only the per-item path can say what is wrong with it."""
    if isinstance(value, str):
        value = [v for v in value.split(";") if v]
    elif not isinstance(value, list) or not set(map(type, value)) <= {int, float}:
        return None
    try:
        return [float(v) for v in value]
    except (ValueError, OverflowError):
        return None


def _field(raw: pa.Table, name: str, kind: pa.DataType) -> pa.Array:
    """A column of the raw table as one array of ``kind`` (all null when the rows never had it)."""
    if name not in raw.column_names:
        return pa.nulls(raw.num_rows, kind)
    values = raw.column(name).combine_chunks()
    return values if values.type == kind else values.cast(kind)


def _flag(values: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, null counting as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _by_session(call: pa.Array, user: pa.Array, mapping: dict[tuple[str, str], str]) -> np.ndarray:
    """Each row's value in ``mapping`` (keyed by call_id, user_id), None where it has none."""
    n = len(call)
    found = np.full(n, None, dtype=object)
    if not mapping:
        return found
    keys = pa.table({"call_id": pa.array([k[0] for k in mapping], pa.string()),
                     "user_id": pa.array([k[1] for k in mapping], pa.string()),
                     "value": pa.array(list(mapping.values()), pa.string())})
    rows = pa.table({"call_id": call, "user_id": user, "row": pa.array(np.arange(n, dtype=np.int64))})
    joined = rows.join(keys, ["call_id", "user_id"], join_type="inner")
    found[joined.column("row").to_numpy()] = joined.column("value").to_pylist()
    return found


def _freezes(lists: pa.Array, min_ms: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(count, total ms) per row of the stalls longer than that row's ``min_ms`` (``qoe.freeze_total_ms``),
    summed in list order like the per-item path; rows with an unusable list are marked slow."""
    n = len(lists)
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    slow |= lengths > MAX_DURATIONS
    if not lengths.any():
        return np.zeros(n, dtype=np.int32), np.zeros(n)
    parents = np.asarray(pc.list_parent_indices(lists).to_numpy(zero_copy_only=False), dtype=np.int64)
    durations = np.asarray(pc.list_flatten(lists).to_numpy(zero_copy_only=False), dtype=float)  # null → NaN
    bad = np.isnan(durations) | (durations < 0)
    slow[parents[bad]] = True
    kept = durations > min_ms[parents]
    count = np.bincount(parents[kept], minlength=n).astype(np.int32)
    total = np.bincount(parents[kept], weights=durations[kept], minlength=n)
    return count, total


def _round4(values: np.ndarray) -> np.ndarray:
    """``round(v, 4)`` of each value, as Python rounds it (decimal halves): numpy's scaled rounding agrees
    except within a hair of a half, where Python rounds that value itself."""
    scaled = values * 1e4
    out = np.rint(scaled) / 1e4
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    for i in np.flatnonzero(near_half).tolist():
        out[i] = round(float(values[i]), 4)
    return out


def _mos(rtt: np.ndarray, jitter: np.ndarray, loss: np.ndarray, model: EModel, codecs: np.ndarray) -> np.ndarray:
    """Each row's MOS by the workspace's E-model, or by the codec its session reported (``codecs``, per row)."""
    mos = mos_array(rtt, np.nan_to_num(jitter), np.nan_to_num(loss), model.codec, model.burst_r)
    for name in set(codecs.tolist()) - {None}:
        mask = codecs == name
        other = model.for_codec(name)
        mos[mask] = mos_array(rtt[mask], np.nan_to_num(jitter[mask]), np.nan_to_num(loss[mask]), other.codec,
                              other.burst_r)
    return mos


def check_raw(
    raw: pa.Table, platforms: dict[tuple[str, str], str], model: EModel = DEFAULT_MODEL,
    codecs: dict[tuple[str, str], str] | None = None, slow: np.ndarray | None = None,
) -> tuple[pa.Table, np.ndarray] | None:
    """The valid rows of ``raw`` (``RAW_SCHEMA`` columns, sample rows only) as a table in ``SAMPLE_COLUMNS``
    order, and the positions of the rows left for the per-item path; None when the chunk is too small to
    bother or a time of the usual shape does not exist (a 30 February)."""
    n = raw.num_rows
    if n < MIN_ROWS:
        return None
    slow = np.zeros(n, dtype=bool) if slow is None else slow.copy()
    call, user = _field(raw, "call_id", pa.string()), _field(raw, "user_id", pa.string())
    for ids in (call, user):
        lengths = pc.fill_null(pc.utf8_length(ids), 0).to_numpy(zero_copy_only=False)
        slow |= (lengths == 0) | (lengths > MAX_ID)
    text = _field(raw, "ts", pa.string())
    plain_time = _flag(pc.match_substring_regex(text, ISO_TIME))
    slow |= ~plain_time
    try:
        ts = pc.if_else(pa.array(plain_time), text, "2000-01-01T00:00:00Z").cast(_TS)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    # times outside the supported range (1970 to 2199) take the slow path, which rejects them by name
    slow |= ~_flag(pc.and_(pc.greater_equal(ts, pa.scalar(EARLIEST_TS, _TS)), pc.less(ts, pa.scalar(LATEST_TS, _TS))))

    numbers: dict[str, np.ndarray] = {}
    columns: dict[str, Any] = {"call_id": call, "user_id": user, "ts": ts}
    for field in NUMBER_FIELDS:
        values = _field(raw, field, pa.float64())
        slow |= _flag(pc.is_nan(values))  # NaN is not a number to the per-item path
        numbers[field] = np.asarray(values.to_numpy(zero_copy_only=False), dtype=float)  # null → NaN
        columns[field] = values
    interval_s = numbers["interval_s"]
    slow |= ~((interval_s >= MIN_INTERVAL_S) & (interval_s <= MAX_INTERVAL_S))  # missing fails too
    for field, (low, high) in SAMPLE_RANGES.items():
        values = numbers[field]
        slow |= ~np.isnan(values) & ~((values >= low) & (values <= high))
    interval_ms = interval_s * 1000
    columns["interval_ms"] = pa.array(interval_ms)
    for field in ("width", "height"):
        sizes = _field(raw, field, pa.int64())
        values = pc.fill_null(sizes, 0).to_numpy(zero_copy_only=False)
        slow |= (values < 0) | (values > MAX_SIZE)
        columns[field] = sizes
    choices: dict[str, pa.Array] = {}
    for field, allowed in (("quality_limitation", LIMITATIONS), ("platform", PLATFORMS)):
        values = _field(raw, field, pa.string())
        values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)  # "" means not given
        slow |= ~_flag(pc.or_kleene(pc.is_null(values), pc.is_in(values, pa.array(allowed))))
        choices[field] = values
    columns["quality_limitation"] = choices["quality_limitation"]
    for key in SLOW_KEYS:
        if key in raw.column_names:
            slow |= ~_flag(pc.is_null(raw.column(key).combine_chunks()))

    videos, audios = _field(raw, "video_freezes_ms", pa.list_(pa.float64())), _field(
        raw, "audio_freezes_ms", pa.list_(pa.float64()))
    video_min = np.full(n, video_freeze_min_ms("native"))
    if pc.sum(pc.fill_null(pc.list_value_length(videos), 0)).as_py():  # a platform matters only with stalls
        stored = pa.array(_by_session(call, user, platforms), pa.string())
        platform = pc.coalesce(choices["platform"], stored)  # the sample's own, else its session's
        for name in PLATFORMS:
            video_min[_flag(pc.equal(platform, name))] = video_freeze_min_ms(name)
    video_count, video_ms = _freezes(videos, video_min, slow)
    audio_count, audio_ms = _freezes(audios, np.full(n, AUDIO_FREEZE_MIN_MS), slow)
    slow |= (video_ms > interval_ms) | (audio_ms > interval_ms)
    columns.update(video_freeze_count=video_count, video_freeze_ms=video_ms, audio_freeze_count=audio_count,
                   audio_freeze_ms=audio_ms)

    rtt, jitter = numbers["rtt_ms"], numbers["jitter_ms"]
    loss = np.where(np.isnan(numbers["loss_down_pct"]), numbers["loss_up_pct"], numbers["loss_down_pct"])
    with np.errstate(invalid="ignore", over="ignore"):  # rows with NaN or infinite figures are slow anyway
        mos = _mos(rtt, jitter, loss, model, _by_session(call, user, codecs or {}))
  # sessions that reported their codec: their rows by that codec's Ie and Bpl
    columns["mos"] = pa.array(_round4(mos), mask=np.isnan(rtt))

    keep = pa.array(~slow)
    arrays = []
    for name, kind in SAMPLE_COLUMNS.items():
        value = columns[name]
        array = pa.array(value, kind) if isinstance(value, np.ndarray) else value
        array = array.filter(keep)  # before the cast: a rejected size may not fit the stored type
        arrays.append(array if array.type == kind else array.cast(kind))
    return pa.Table.from_arrays(arrays, names=list(SAMPLE_COLUMNS)), np.flatnonzero(slow)
