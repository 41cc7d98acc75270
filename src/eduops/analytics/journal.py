"""The ingest journal: acknowledged statements on disk before they are in DuckDB.

A DuckDB transaction costs milliseconds however few rows it holds, so committing every request
of 100 statements on its own caps ingestion far below what one core can validate. Instead a
request appends its statements to a journal segment and fsyncs it (durable: the request may then
be answered), and a loader thread moves everything journalled so far into DuckDB in one
transaction, then deletes the segments it has loaded. A crash between the two is repaired when
the store opens: leftover segments are loaded again, skipping ids DuckDB already has.

``IdFilter`` answers "might this statement id be stored already?" without a DuckDB lookup (which
scans the table): a Bloom filter over every stored and journalled id. "No" is certain, so the
statement can be journalled; "maybe" (about 1 in 10,000 new ids) sends the request down the exact
path, DuckDB's primary key.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# odd 64-bit constants (splitmix64) that spread sequential or patterned ids over the filter
_C1, _C2, _C3, _C4 = (np.uint64(c) for c in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB,
                                              0xD6E8FEB86659FD93))
BITS_PER_ID = 20
HASHES = 12  # with 20 bits per id: a false "maybe" for about 7 in 100,000 new ids
MIN_CAPACITY = 1 << 20
_STEPS = np.arange(HASHES, dtype=np.uint64)


def id_halves(ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The high and low 64 bits of each UUID (as ``sql.ID_HALVES`` computes them in DuckDB), all at once."""
    packed = bytes.fromhex("".join(ids).replace("-", ""))
    if len(packed) != 16 * len(ids):
        raise ValueError("statement ids must be UUIDs (8-4-4-4-12 hex digits)")
    pairs = np.frombuffer(packed, dtype=">u8").reshape(-1, 2).astype(np.uint64)
    return pairs[:, 0], pairs[:, 1]


class IdFilter:
    """A Bloom filter of statement ids, sized for ``capacity`` ids; ``full`` once more went in."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, MIN_CAPACITY)
        self.log2_bits = max(int(self.capacity * BITS_PER_ID - 1).bit_length(), 6)
        self.bits = np.zeros((1 << self.log2_bits) // 8, dtype=np.uint8)
        self.count = 0

    @property
    def full(self) -> bool:
        return self.count > self.capacity

    def positions(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """The filter bits of each id (as ``id_halves``): one row of ``HASHES`` bit numbers per id, for
        ``maybe_at`` and ``add_at`` (worked out once when a batch is checked and then added)."""
        with np.errstate(over="ignore"):
            h1 = (hi ^ (lo * _C1)) * _C2
            h2 = ((lo ^ (hi * _C3)) * _C4) | np.uint64(1)
            mixed = h1[:, None] + _STEPS[None, :] * h2[:, None]
        return mixed >> np.uint64(64 - self.log2_bits)  # type: ignore[no-any-return]

    def add_halves(self, hi: np.ndarray, lo: np.ndarray) -> None:
        self.add_at(self.positions(hi, lo))

    def add_at(self, positions: np.ndarray) -> None:
        """Add the ids whose bits ``positions`` gives (from this filter)."""
        if not len(positions):
            return
        flat = np.sort(positions.ravel())
        at = flat >> np.uint64(3)
        masks = np.left_shift(np.uint8(1), (flat & np.uint64(7)).astype(np.uint8))
        # the bits of one byte ORed together first (a fancy-indexed |= keeps only one of repeated bytes);
        # a tenth of the cost of np.bitwise_or.at
        first = np.flatnonzero(np.concatenate(([True], at[1:] != at[:-1])))
        self.bits[at[first]] |= np.bitwise_or.reduceat(masks, first)
        self.count += len(positions)

    def add(self, ids: Sequence[str]) -> None:
        if ids:
            self.add_halves(*id_halves(ids))

    def maybe(self, ids: Sequence[str]) -> list[str]:
        """The ids that might be in the filter (every id that is, and rarely one that is not)."""
        if not ids:
            return []
        hit = self.maybe_halves(*id_halves(ids))
        return [i for i, present in zip(ids, hit, strict=True) if present]

    def maybe_halves(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """For each id (as ``id_halves``), whether it might be in the filter."""
        return self.maybe_at(self.positions(hi, lo))

    def maybe_at(self, positions: np.ndarray) -> np.ndarray:
        """For each id whose bits ``positions`` gives, whether it might be in the filter."""
        bytes_ = self.bits[positions >> np.uint64(3)]
        hit = (bytes_ >> (positions & np.uint64(7)).astype(np.uint8)) & np.uint8(1)
        return hit.all(axis=1)  # type: ignore[no-any-return]


def lines_bytes(lines: Iterable[str]) -> bytes:
    """Lines as a journal segment holds them: UTF-8, each ended by a newline."""
    return ("\n".join(lines) + "\n").encode()


class _Segment:
    """One journal file being appended to; fsynced by whoever gets there first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.written = 0
        self.synced = 0
        self.closed = False
        self.lock = threading.Lock()

    def sync(self, upto: int) -> None:
        with self.lock:
            if self.closed or self.synced >= upto:
                return  # a closed segment was fsynced when it was closed
            target = self.written
            os.fsync(self.fd)
            self.synced = target

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                os.fsync(self.fd)
                os.close(self.fd)
                self.closed = True


class Journal:
    """Numbered segment files ``<n>.jsonl`` in a directory beside the DuckDB file, one statement per line.

    ``append`` is called under the store's accept lock (so segments and the loader's batches line
    up); ``sync`` outside it, so several requests share one fsync.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        existing = self.segment_numbers()
        self._number = (existing[-1] + 1) if existing else 1
        self._segment: _Segment | None = None

    def segment_numbers(self) -> list[int]:
        return sorted(int(p.stem) for p in self.directory.glob("*.jsonl") if p.stem.isdigit())

    def path_of(self, number: int) -> Path:
        return self.directory / f"{number:012d}.jsonl"

    @property
    def current(self) -> int:
        """The number of the segment ``append`` writes to."""
        return self._number

    def append(self, lines: Iterable[str] | bytes) -> tuple[_Segment, int]:
        """Write the lines, or the bytes of whole lines (``lines_bytes``), not yet durable; returns what to pass
        to ``sync``."""
        if self._segment is None:
            self._segment = _Segment(self.path_of(self._number))
        data = lines if isinstance(lines, bytes) else lines_bytes(lines)
        segment = self._segment
        view = memoryview(data)
        while view:
            view = view[os.write(segment.fd, view):]
        segment.written += len(data)
        return segment, segment.written

    @staticmethod
    def sync(ticket: tuple[_Segment, int]) -> None:
        segment, upto = ticket
        segment.sync(upto)

    def rotate(self) -> int:
        """Close the current segment (fsynced) and start a new one; returns the last closed number."""
        if self._segment is not None:
            self._segment.close()
            self._segment = None
            self._number += 1
        return self._number - 1

    def remove_through(self, number: int) -> None:
        """Delete every closed segment up to ``number``: its statements are in DuckDB."""
        for n in self.segment_numbers():
            if n <= number and (self._segment is None or n != self._number):
                self.path_of(n).unlink(missing_ok=True)

    def replay(self) -> Iterator[tuple[int, list[str]]]:
        """Each leftover segment's complete lines; a torn last line (never acknowledged) is dropped."""
        for n in self.segment_numbers():
            text = self.path_of(n).read_bytes().decode("utf-8", errors="replace")
            lines = text.split("\n")
            if lines and lines[-1]:
                log.warning("journal %s ends in a partly written line; it was never acknowledged, dropping it",
                            self.path_of(n))
            yield n, [line for line in lines[:-1] if line]

    def close(self) -> None:
        if self._segment is not None:
            self._segment.close()
            self._segment = None
