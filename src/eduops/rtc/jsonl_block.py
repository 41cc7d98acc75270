"""A block of JSONL stats samples parsed by Arrow straight into columns (no Python object per sample).

``read_block`` takes whole lines of a file and answers the raw columns (``fastpath.RAW_SCHEMA``, plus any
other field Arrow finds) with one row per line, or None when the block is not plain: a blank line, a
lone carriage return, a byte-order mark, text that is not UTF-8, a line Arrow cannot read with that
schema (numbers as strings, several objects on a line, not JSON), or an item that is not a sample.
The caller then reads that block line by line, which says exactly which line is wrong and why.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from eduops.rtc.fastpath import RAW_SCHEMA

_BLANK_INSIDE = re.compile(rb"\n[ \t\r]*\n")
_BLANK_FIRST = re.compile(rb"[ \t\r]*\n")
_PARSE = pj.ParseOptions(explicit_schema=RAW_SCHEMA, unexpected_field_behavior="infer")
_READ = pj.ReadOptions(use_threads=False)  # the server and other work share the cores; one is enough here


def line_count(block: bytes) -> int:
    """Lines in a block of whole lines (the last one may lack its newline)."""
    return block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def _plain_text(block: bytes) -> bool:
    """Whether Arrow sees the same lines as Python's text reader and ``json.loads`` does."""
    if not block.isascii():
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if b"\xef\xbb\xbf" in block:  # a byte-order mark: json.loads refuses the line
            return False
    if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):  # a lone CR ends a line for Python only
        return False
    tail = block[block.rfind(b"\n") + 1:]
    blank_last = bool(tail) and not tail.strip(b" \t\r")
    return not (blank_last or _BLANK_FIRST.match(block) or _BLANK_INSIDE.search(block))


def _may_hold_inf(table: pa.Table) -> bool:
    """Whether an infinite number may be in the block: in a field of the sample format, or in any other."""
    if table.num_columns > len(RAW_SCHEMA):
        return True
    for name, kind in zip(RAW_SCHEMA.names, RAW_SCHEMA.types, strict=True):
        values = table.column(name)
        if pa.types.is_list(kind):
            values = pc.list_flatten(values)
        if pa.types.is_floating(values.type) and pc.any(pc.is_inf(values)).as_py():
            return True
    return False


def read_block(block: bytes) -> pa.Table | None:
    """The block's samples as raw Arrow columns, one row per line (``num_rows`` is the block's line count),
    or None when it needs the line path."""
    if not block or not _plain_text(block):
        return None
    try:
        table = pj.read_json(pa.py_buffer(block), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != line_count(block):
        return None
    if _may_hold_inf(table) and block.count(b"Inf") != block.count(b"Infinity"):  # Arrow reads Inf, json does not
        return None
    kinds = pc.fill_null(pc.equal(table.column("type"), "sample"), False)
    if not np.asarray(kinds.to_numpy(zero_copy_only=False), dtype=bool).all():
        return None
    return table
