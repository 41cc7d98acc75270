"""Call-quality ingestion: batches from the API and files (JSONL or CSV) into the store.

A batch keeps its valid items and says which items were rejected and why. Whatever is accepted is
committed before the caller hears about it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from operator import methodcaller
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pyarrow as pa

from eduops.config import Settings
from eduops.core import local_access
from eduops.core.bodies import CsvRows
from eduops.errors import PayloadTooLarge, UsageError
from eduops.rtc.adapters import to_neutral
from eduops.rtc.aitutor import Turn, insert_turns, validate_turn
from eduops.rtc.fastpath import check_raw
from eduops.rtc.jsonl_block import read_block
from eduops.rtc.reports import HANDLED, Rejected, only_samples, split_items
from eduops.rtc.store import (
    Store,
    insert_rows,
    insert_samples_arrow,
    session_settings,
    store_path,
)

MAX_BATCH_ITEMS = 50_000
FILE_CHUNK_ITEMS = 20_000
FILE_BLOCK_BYTES = 16 << 20  # JSONL is read a block at a time: about 40,000 samples
MAX_REJECTED_SHOWN = 1000

_stores: dict[Path, Store] = {}


def open_store(settings: Settings) -> Store:
    """The workspace's call-quality store (one object per file per process); in another process next to
    a running `eduops serve`, its reads and file ingests go through the server (``remote.ServerReads``)."""
    path = store_path(settings.home)
    if path not in _stores:
        from eduops.rtc.settings import rtc_settings

        cfg = rtc_settings(settings)
        _stores[path] = Store(path, cfg.store_lock_timeout_s, timezone=settings.timezone, model=cfg.e_model())
    cred = local_access.running_server(settings.home)
    if cred is not None:
        from eduops.rtc.remote import ServerReads

        return ServerReads(_stores[path], local_access.LocalClient(cred))  # type: ignore[return-value]
    return _stores[path]


@dataclass
class IngestResult:
    accepted: dict[str, int] = field(default_factory=lambda: {"calls": 0, "sessions": 0, "samples": 0, "ai_turns": 0})
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_total: int = 0

    def add(self, counts: dict[str, int], rejected: list[dict[str, Any]]) -> None:
        for kind, n in counts.items():
            self.accepted[kind] += n
        self.rejected_total += len(rejected)
        room = MAX_REJECTED_SHOWN - len(self.rejected)
        self.rejected.extend(rejected[: max(room, 0)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "accepted_total": sum(self.accepted.values()),
            "rejected_total": self.rejected_total,
            "rejected": self.rejected,
        }


def ingest_items(store: Store, items: list[Any], offset: int = 0, result: IngestResult | None = None) -> IngestResult:
    """Validate and store one batch in one transaction; vendor formats are converted first."""
    result = result or IngestResult()
    turns: list[Turn] = []
    turn_rejected: list[dict[str, Any]] = []
    if only_samples(items):  # a stats file's usual chunk: nothing to convert or to take out
        sample_items = items
    else:
        items = [to_neutral(item) if isinstance(item, dict) and "type" not in item else item for item in items]
        for index, item in enumerate(items):
            if isinstance(item, dict) and item.get("type") == "ai_turn":
                try:
                    turns.append(validate_turn(item))
                except Rejected as exc:
                    turn_rejected.append({"index": index + offset, "reason": str(exc)})
                items[index] = HANDLED
        sample_items = [i for i in items if isinstance(i, dict) and i.get("type") == "sample"]
    keys = set(zip(map(str, map(methodcaller("get", "call_id"), sample_items)),
                   map(str, map(methodcaller("get", "user_id"), sample_items)), strict=True))
    platforms: dict[tuple[str, str], str] = {}
    codecs: dict[tuple[str, str], str] = {}
    if keys:
        with store.connect(write=False) as con:
            platforms, codecs = session_settings(con, keys)
    # validation runs outside the write turn
    rows, rejected = split_items(items, platforms, offset, store.model, codecs)
    tables: list[Any] = rows.pop("sample_tables", [])
    with store.connect() as con:
        insert_rows(con, rows["calls"], rows["sessions"], rows["samples"])
        for table in tables:
            insert_samples_arrow(con, table)
        insert_turns(con, turns)
    counts = {kind: len(found) for kind, found in rows.items()}
    counts["samples"] += sum(t.num_rows for t in tables)
    counts["ai_turns"] = len(turns)
    result.add(counts, sorted(rejected + turn_rejected, key=lambda r: r["index"]))
    return result


def batch_from_body(body: Any) -> list[Any]:
    """The items of an API body: a JSON list, or an object with an ``items`` list."""
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise UsageError('expected a JSON list of report items, or {"items": [...]}')
    if len(items) > MAX_BATCH_ITEMS:
        raise PayloadTooLarge(f"{len(items)} items in one batch; send at most {MAX_BATCH_ITEMS} per request")
    return items


class _Counted:
    """Lines of a text file, counting characters read for the progress bar."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self.fh = fh
        self.chars = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.fh:
            self.chars += len(line)
            yield line


def _parse_lines(lines: list[str], first: int, rejected: list[dict[str, Any]]) -> list[Any]:
    """JSON of many lines at once (one parser call is much faster than one per line); on a bad line,
    line by line to say which one. Blank lines become None."""
    if all(map(str.strip, lines)):
        try:  # orjson is stricter (no NaN, 64-bit integers): what it refuses goes line by line below
            parsed = orjson.loads("[" + ",".join(lines) + "]")
            if isinstance(parsed, list) and len(parsed) == len(lines):
                return parsed
        except orjson.JSONDecodeError:
            pass
    out: list[Any] = []
    for number, line in enumerate(lines, start=first):
        if not line.strip():
            out.append(None)
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            out.append(None)
            rejected.append({"index": number, "reason": f"not JSON: {exc.msg}"})
    return out


def _jsonl_chunks(lines: list[str], first: int, rejected: list[dict[str, Any]]) -> Iterator[tuple[int, list[Any]]]:
    """Lines parsed ``FILE_CHUNK_ITEMS`` at a time, with the number of each chunk's first line."""
    for at in range(0, len(lines), FILE_CHUNK_ITEMS):
        yield first + at, _parse_lines(lines[at:at + FILE_CHUNK_ITEMS], first + at, rejected)


def _csv_chunks(fh: _Counted) -> Iterator[tuple[int, list[Any]]]:
    reader = CsvRows(fh)
    if not reader.fieldnames or "type" not in reader.fieldnames:
        raise UsageError("CSV needs a header row with a 'type' column (call, session or sample)")
    chunk: list[Any] = []
    start = 2  # line 1 is the header
    for number, row in enumerate(reader, start=2):
        chunk.append({k: v for k, v in row.items() if v not in ("", None) and k is not None})
        if len(chunk) >= FILE_CHUNK_ITEMS:
            yield start, chunk
            start, chunk = number + 1, []
    if chunk:
        yield start, chunk


def ingest_into(store: Store, items: list[Any]) -> IngestResult:
    """One batch (an API body, a chunk of a file): into the store, or through the running server (or the
    serving worker) that holds it."""
    from eduops.rtc.remote import ServerReads

    if isinstance(store, ServerReads):
        return store.ingest_items(items)
    return ingest_items(store, items)


def _add(result: IngestResult, partial: IngestResult) -> None:
    """A chunk's outcome into the file's (rejections already numbered by line)."""
    for kind, n in partial.accepted.items():
        result.accepted[kind] += n
    result.rejected_total += partial.rejected_total
    result.rejected.extend(partial.rejected[: max(MAX_REJECTED_SHOWN - len(result.rejected), 0)])


def _ingest_parsed(store: Store, chunks: Iterator[tuple[int, list[Any]]], parse_errors: list[dict[str, Any]],
                   result: IngestResult, progress: Callable[[], None]) -> None:
    """Chunks of parsed items (None for a blank or unreadable line), each starting at a line number."""
    for start, chunk in chunks:
        blank = [i for i, item in enumerate(chunk) if item is None]
        items = [item for item in chunk if item is not None]
        skip = set(blank)
        lines = [start + i for i in range(len(chunk)) if i not in skip] if blank else None
        partial = ingest_into(store, items)
        for r in partial.rejected:
            r["index"] = lines[r["index"]] if lines is not None else r["index"] + start
        partial.rejected.extend(parse_errors)
        partial.rejected_total += len(parse_errors)
        parse_errors.clear()
        _add(result, partial)
        progress()


def _blocks(fh: BinaryIO) -> Iterator[bytes]:
    """The file in blocks of whole lines (about ``FILE_BLOCK_BYTES`` each)."""
    rest = b""
    while data := fh.read(FILE_BLOCK_BYTES):
        data = rest + data if rest else data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            yield data[:cut]
    if rest:
        yield rest


def _read_next(blocks: Iterator[bytes]) -> tuple[bytes, pa.Table | None] | None:
    block = next(blocks, None)
    return None if block is None else (block, read_block(block))


def _parsed_blocks(fh: BinaryIO, arrow: bool) -> Iterator[tuple[bytes, pa.Table | None]]:
    """Each block with Arrow's reading of it (None: read it line by line). The next block is read and parsed
    in a worker thread while the caller stores this one, so parsing and DuckDB's commit overlap."""
    if not arrow:
        yield from ((block, None) for block in _blocks(fh))
        return
    blocks = _blocks(fh)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rtc-jsonl") as pool:
        pending = pool.submit(_read_next, blocks)
        while (found := pending.result()) is not None:
            pending = pool.submit(_read_next, blocks)
            yield found


def ingest_block(store: Store, raw: pa.Table, block: bytes) -> IngestResult | None:
    """A JSONL block Arrow read into sample columns (``jsonl_block.read_block``): checked a column at a time,
    the rows that need it item by item (parsed again from their line, so reasons quote the line's own
    values), all stored in one transaction. Rejections are numbered by line within the block, from 0.
    None when the column checks decline the block (the caller reads it line by line)."""
    pairs = raw.select(["call_id", "user_id"]).drop_null().group_by(["call_id", "user_id"]).aggregate([])
    keys = set(zip(pairs.column("call_id").to_pylist(), pairs.column("user_id").to_pylist(), strict=True))
    platforms: dict[tuple[str, str], str] = {}
    codecs: dict[tuple[str, str], str] = {}
    if keys:
        with store.connect(write=False) as con:
            platforms, codecs = session_settings(con, keys)
    checked = check_raw(raw, platforms, store.model, codecs)
    if checked is None:
        return None
    table, slow = checked
    rows: dict[str, list[Any]] = {"calls": [], "sessions": [], "samples": []}
    rejected: list[dict[str, Any]] = []
    if len(slow):
        lines = block.split(b"\n")
        items: list[Any] = []
        numbers: list[int] = []
        for number in slow.tolist():
            try:
                items.append(json.loads(lines[number]))
                numbers.append(number)
            except json.JSONDecodeError as exc:  # Arrow reads a little more than JSON allows
                rejected.append({"index": number, "reason": f"not JSON: {exc.msg}"})
        rows, item_rejected = split_items(items, platforms, 0, store.model, codecs)
        rejected += [dict(r, index=numbers[r["index"]]) for r in item_rejected]
    tables = [table, *rows.pop("sample_tables", [])]
    with store.connect() as con:
        insert_rows(con, [], [], rows["samples"])
        for found in tables:
            insert_samples_arrow(con, found)
    result = IngestResult()
    result.add({"samples": len(rows["samples"]) + sum(t.num_rows for t in tables)},
               sorted(rejected, key=lambda r: r["index"]))
    return result


def _ingest_jsonl(store: Store, fh: BinaryIO, size: int, result: IngestResult,
                  progress: Callable[[str, float], None]) -> None:
    """JSONL in blocks: a plain block of samples goes to Arrow in one piece; any other, line by line."""
    from eduops.rtc.remote import ServerReads

    first, done = 1, 0
    for block, raw in _parsed_blocks(fh, arrow=not isinstance(store, ServerReads)):
        done += len(block)
        partial = ingest_block(store, raw, block) if raw is not None else None
        if raw is not None and partial is not None:
            for r in partial.rejected:
                r["index"] += first
            _add(result, partial)
            first += raw.num_rows
        else:  # lines as Python's text reader splits them (a lone CR ends one too)
            lines = io.StringIO(block.decode("utf-8"), newline=None).readlines()
            parse_errors: list[dict[str, Any]] = []
            _ingest_parsed(store, _jsonl_chunks(lines, first, parse_errors), parse_errors, result, lambda: None)
            first += len(lines)
        progress(f"{sum(result.accepted.values())} items", done / size)


def ingest_file(store: Store, path: Path, progress: Callable[[str, float], None] = lambda m, f: None) -> IngestResult:
    """Ingest a JSONL or CSV file in chunks (each committed); line numbers identify rejected items."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    size = max(path.stat().st_size, 1)
    result = IngestResult()
    try:
        if path.suffix.lower() == ".csv":
            with path.open("r", encoding="utf-8", newline="") as raw:
                fh = _Counted(raw)
                _ingest_parsed(store, _csv_chunks(fh), [], result,
                               lambda: progress(f"{sum(result.accepted.values())} items", fh.chars / size))
        else:
            with path.open("rb") as binary:
                _ingest_jsonl(store, binary, size, result, progress)
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; expected JSONL or CSV") from None
    for r in result.rejected:
        r["line"] = r.pop("index")
    result.rejected.sort(key=lambda r: r["line"])
    return result
