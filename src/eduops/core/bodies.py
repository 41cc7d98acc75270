"""The one way a route reads a request body: size enforced while reading, JSON and CSV with limits.

A route never calls ``request.body()`` or ``request.json()`` itself. ``read_body`` counts the bytes as
they arrive (a chunked body has no Content-Length to trust) and raises ``PayloadTooLarge`` the moment
the limit is passed, so no byte past it is kept; bodies past ``SPOOL_BYTES`` wait on disk, not in
memory, until the whole body is in. ``parse_json`` refuses nesting deeper than ``MAX_JSON_DEPTH`` (a
``[``×100000 body would otherwise end in a RecursionError somewhere downstream) and ``read_csv``
turns the csv module's field limit into a 400 naming the row.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import orjson
from starlette.requests import ClientDisconnect, Request

from eduops.errors import PayloadTooLarge, UsageError

SPOOL_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_CSV_FIELD_CHARS = 131_072


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n} bytes"


def too_large(limit: int, what: str = "the body") -> PayloadTooLarge:
    return PayloadTooLarge(f"{what} is larger than {_mib(limit)} (the limit); send at most {_mib(limit)} per "
                           "request, or split it")


def check_declared_length(request: Request, limit: int, what: str = "the body") -> None:
    """Refuse at once when Content-Length already says the body is too large."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit, what)


async def read_body(request: Request, limit: int, what: str = "the body") -> bytes:
    """The whole body, or ``PayloadTooLarge`` as soon as more than ``limit`` bytes have arrived."""
    check_declared_length(request, limit, what)
    size = 0
    head = bytearray()
    spool: IO[bytes] | None = None
    try:
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit, what)
                if spool is None and len(head) + len(chunk) <= SPOOL_BYTES:
                    head += chunk
                    continue
                if spool is None:
                    spool = tempfile.TemporaryFile()
                    spool.write(head)
                    head = bytearray()
                spool.write(chunk)
        except ClientDisconnect:
            raise UsageError(f"{what}: the client went away before sending all of it") from None
        if spool is None:
            return bytes(head)
        spool.seek(0)
        return spool.read()
    finally:
        if spool is not None:
            spool.close()


def json_depth_ok(value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether no list or object in ``value`` is nested deeper than ``max_depth`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return False
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return True


def parse_json(raw: bytes | str, what: str = "the body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON (UTF-8, integers within 64 bits) nested at most ``max_depth`` deep, or a 400 saying what is wrong."""
    if not raw or not raw.strip():
        raise UsageError(f"{what} is empty; send JSON")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc).lower() or "recursion" in str(exc).lower():
            raise UsageError(f"{what} is nested more than {max_depth} levels deep; flatten it") from None
        raise UsageError(f"{what} is not JSON (or not UTF-8, or has an integer beyond 64 bits): {exc}") from None
    if not json_depth_ok(value, max_depth):
        raise UsageError(f"{what} is nested more than {max_depth} levels deep; flatten it")
    return value


async def read_json(request: Request, limit: int, what: str = "the body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``read_body`` then ``parse_json``."""
    return parse_json(await read_body(request, limit, what), what, max_depth)


async def read_json_object(request: Request, limit: int = 1024 * 1024, what: str = "the body") -> dict[str, Any]:
    """A JSON object body (most write routes take one); 400 for anything else."""
    value = await read_json(request, limit, what)
    if not isinstance(value, dict):
        raise UsageError(f"{what} must be a JSON object ({{...}}), not {type(value).__name__}")
    return value


class CsvRows:
    """``csv.DictReader`` over text or lines whose errors are 400s naming the line: a field longer than the
    csv module's limit (131,072 characters), broken quoting, a NUL byte."""

    def __init__(self, source: str | Iterable[str], what: str = "the CSV") -> None:
        self.reader = csv.DictReader(io.StringIO(source) if isinstance(source, str) else source)
        self.what = what

    @property
    def fieldnames(self) -> Sequence[str] | None:
        try:
            return self.reader.fieldnames
        except csv.Error as exc:
            raise self._problem(exc) from None

    def __iter__(self) -> Iterator[dict[str | Any, str | Any]]:
        while True:
            try:
                row = next(self.reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise self._problem(exc) from None
            yield row

    def _problem(self, exc: csv.Error) -> UsageError:
        line = self.reader.line_num + 1  # the line being read when it failed
        if "field larger than field limit" in str(exc):
            return UsageError(
                f"{self.what}, line {line}: a field is longer than {MAX_CSV_FIELD_CHARS} characters; shorten it"
            )
        return UsageError(f"{self.what}, line {line}: {exc}; fix the quoting or the encoding")
