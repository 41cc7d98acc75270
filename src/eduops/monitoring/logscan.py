"""Error-log scanning: lines matching patterns since the last scan, counted, with the top messages.

Each file keeps an offset (with its inode) in the workspace, so a scan reads only what was written
since the previous one; a rotated or truncated file is read from its start.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# digits, hex ids and quoted values vary between repeats of one message
_NOISE = re.compile(r"0x[0-9a-fA-F]+|\b[0-9a-f]{8,}\b|\d+(?:\.\d+)*|'[^']*'|\"[^\"]*\"")
_TIMESTAMP = re.compile(r"^\s*\[?\d{4}-\d\d-\d\d[T ][\d:.,]+(?:Z|[+-]\d\d:?\d\d)?\]?\s*")
MAX_READ_BYTES = 64 * 1024 * 1024


@dataclass
class FileScan:
    path: str
    lines_read: int = 0
    matched: int = 0
    per_pattern: dict[str, int] = field(default_factory=dict)
    messages: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    rotated: bool = False


def message_shape(line: str) -> str:
    """A line with its timestamp and varying parts removed, so repeats of one message group together."""
    return _NOISE.sub("#", _TIMESTAMP.sub("", line.strip()))[:200]


def match_lines(lines: list[str], patterns: list[re.Pattern[str]], scan: FileScan) -> None:
    for line in lines:
        scan.lines_read += 1
        hits = [p.pattern for p in patterns if p.search(line)]
        if not hits:
            continue
        scan.matched += 1
        for h in hits:
            scan.per_pattern[h] = scan.per_pattern.get(h, 0) + 1
        shape = message_shape(line)
        scan.messages[shape] += 1
        scan.examples.setdefault(shape, line.strip()[:500])


def compile_patterns(patterns: list[str]) -> list[re.Pattern[str]]:
    from eduops.errors import ConfigError

    compiled = []
    for p in patterns:
        try:
            compiled.append(re.compile(p))
        except re.error as exc:
            raise ConfigError(f"inspection.log_patterns: {p!r} is not a regular expression: {exc}") from None
    return compiled


class OffsetStore:
    """Per-file read positions, kept as JSON in the workspace (log files are local to a host)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, dict[str, int]] = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            self.data = {}

    def get(self, file: str) -> tuple[int, int] | None:
        entry = self.data.get(file)
        return (entry["inode"], entry["offset"]) if entry else None

    def set(self, file: str, inode: int, offset: int) -> None:
        self.data[file] = {"inode": inode, "offset": offset}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        os.replace(tmp, self.path)


def expand(globs: list[str]) -> list[str]:
    files: list[str] = []
    for g in globs:
        matches = sorted(glob.glob(os.path.expanduser(g))) if any(c in g for c in "*?[") else [os.path.expanduser(g)]
        files.extend(m for m in matches if m not in files)
    return files


def scan_file(path: str, patterns: list[re.Pattern[str]], offsets: OffsetStore, since: datetime | None) -> FileScan:
    """Read what ``path`` gained since the stored offset (or since ``since`` on a first scan)."""
    scan = FileScan(path)
    st = os.stat(path)
    known = offsets.get(path)
    if known and known[0] == st.st_ino and known[1] <= st.st_size:
        start = known[1]
    elif known:
        start, scan.rotated = 0, True
    elif since is not None and st.st_mtime < since.timestamp():
        start = st.st_size  # untouched since the last run: nothing new
    else:
        start = 0
    read_from = max(start, st.st_size - MAX_READ_BYTES)
    with open(path, "rb") as fh:
        fh.seek(read_from)
        data = fh.read(MAX_READ_BYTES)
    end = data.rfind(b"\n") + 1  # a trailing partial line waits for the next scan
    match_lines(data[:end].decode("utf-8", errors="replace").splitlines(), patterns, scan)
    offsets.set(path, st.st_ino, read_from + end)
    return scan
