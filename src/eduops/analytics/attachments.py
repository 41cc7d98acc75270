"""xAPI 1.0.3 attachments whose content travels with the statements as multipart/mixed.

Communication 1.5.2: the first part is ``application/json`` holding the statement(s); every further
part carries the raw bytes of one attachment with ``Content-Transfer-Encoding: binary`` and
``X-Experience-API-Hash: <sha2>``. Here: parsing such a body (``parse_multipart``), checking the parts
against the statements (``check_parts``), keeping contents by hash under
``<workspace home>/xapi-attachments/<sha2>`` (``save`` / ``read``) and building the multipart/mixed
answer of ``GET /xapi/statements?attachments=true`` (``build_multipart``). A broken rule is a
``UsageError`` (HTTP 400) whose message names it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import HTTP
from email.utils import collapse_rfc2231_value
from pathlib import Path
from typing import Any

from eduops.analytics.xapi import statement_attachments
from eduops.errors import UsageError

DIRECTORY = "xapi-attachments"
HASH_HEADER = "X-Experience-API-Hash"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# SHA-224, SHA-256, SHA-384 and SHA-512 in lower-case hex; only such names ever become file names.
HASH_RE = re.compile(r"^(?:[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})\Z")
DIGESTS: dict[int, Callable[[bytes], Any]] = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384,
                                              128: hashlib.sha512}
BOUNDARY_RE = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]\Z")  # RFC 2046 bchars

Parts = dict[str, tuple[str, bytes]]  # sha2 -> (Content-Type, content)


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a ``multipart/mixed`` Content-Type header (400 when missing or invalid)."""
    header = Message()
    header["Content-Type"] = content_type
    raw = header.get_param("boundary")
    boundary = collapse_rfc2231_value(raw) if raw else ""
    if not boundary:
        raise UsageError("Content-Type multipart/mixed needs a boundary parameter "
                         "(multipart/mixed; boundary=...)")
    if not BOUNDARY_RE.match(boundary):
        raise UsageError(f"multipart/mixed: the boundary {boundary!r} is not valid (RFC 2046: 1 to 70 "
                         "letters, digits or '()+_,-./:=? , not ending in a space)")
    return boundary


def _headers(block: bytes) -> Message:
    return BytesHeaderParser(policy=HTTP).parsebytes(block + b"\r\n\r\n")


def _split(body: bytes, boundary: str) -> list[tuple[Message, bytes]]:
    """The parts between the first delimiter and the close delimiter, each as (headers, content)."""
    delimiter = b"\r\n--" + boundary.encode("ascii")
    chunks = (b"\r\n" + body).split(delimiter)  # the first delimiter may open the body (no preamble)
    parts: list[tuple[Message, bytes]] = []
    for n, chunk in enumerate(chunks[1:], start=1):
        if chunk.startswith(b"--"):  # the close delimiter; what follows is the epilogue
            return parts
        line_end = chunk.find(b"\r\n")
        if line_end < 0 or chunk[:line_end].strip(b" \t"):
            raise UsageError(f"multipart/mixed: part {n}: the delimiter --{boundary} must be followed by a line "
                             "break (CRLF), and the boundary must not occur inside a part")
        rest = chunk[line_end + 2:]
        if rest.startswith(b"\r\n"):  # no header fields at all
            head, content = b"", rest[2:]
        else:
            head, sep, content = rest.partition(b"\r\n\r\n")
            if not sep:
                raise UsageError(f"multipart/mixed: part {n}: its header fields must end with an empty line "
                                 "(CRLF CRLF)")
        parts.append((_headers(head), content))
    if len(chunks) < 2:
        raise UsageError(f"multipart/mixed: no part starts with the delimiter --{boundary} (lines end in CRLF)")
    raise UsageError(f"multipart/mixed: the close delimiter --{boundary}-- is missing")


def digest_of(content: bytes, sha2: str) -> str:
    """The hex SHA-2 of ``content`` with the length of ``sha2`` (SHA-224/256/384/512)."""
    return str(DIGESTS[len(sha2)](content).hexdigest())


def parse_multipart(body: bytes, boundary: str) -> tuple[bytes, Parts]:
    """Split a multipart/mixed statements request into the statements' JSON and the attachment parts.

    Raises ``UsageError`` when the first part is not application/json, a further part lacks
    X-Experience-API-Hash or ``Content-Transfer-Encoding: binary``, or its content's SHA-2 differs from the
    hash it declares. The parts are keyed by their lower-case hash.
    """
    split = _split(body, boundary)
    if not split:
        raise UsageError("multipart/mixed: the body has no parts; the first must be application/json (the statements)")
    first, json_bytes = split[0]
    first_type = first.get_content_type() if "content-type" in first else "none"
    if first_type != "application/json":
        raise UsageError(f"multipart/mixed: the first part must be application/json holding the statements, "
                         f"not {first_type}")
    parts: Parts = {}
    for n, (headers, content) in enumerate(split[1:], start=2):
        declared = headers.get(HASH_HEADER)
        if declared is None or not str(declared).strip():
            raise UsageError(f"multipart/mixed: part {n} has no {HASH_HEADER} header (the attachment's sha2)")
        encoding = headers.get("content-transfer-encoding")
        if encoding is None or str(encoding).strip().lower() != "binary":
            raise UsageError(f"multipart/mixed: part {n} needs Content-Transfer-Encoding: binary, "
                             f"not {str(encoding) if encoding is not None else 'none'}")
        sha2 = str(declared).strip().lower()
        if not HASH_RE.match(sha2):
            raise UsageError(f"multipart/mixed: part {n}: {HASH_HEADER} {str(declared)!r} is not a SHA-2 hash "
                             "(56, 64, 96 or 128 hex digits)")
        actual = digest_of(content, sha2)
        if actual != sha2:
            raise UsageError(f"multipart/mixed: part {n}: the SHA-2 of its content is {actual}, "
                             f"not its {HASH_HEADER} {sha2}")
        content_type = headers.get_content_type() if "content-type" in headers else DEFAULT_CONTENT_TYPE
        parts[sha2] = (content_type, content)
    return json_bytes, parts


def check_parts(statements: list[dict[str, Any]], parts: Mapping[str, Any]) -> None:
    """The parts against the (already validated) statements' attachments, both ways.

    Every part's hash must be some attachment's sha2, and every attachment without fileUrl needs a part.
    """
    declared: set[str] = set()
    for i, statement in enumerate(statements):
        label = f"statements[{i}]." if len(statements) > 1 else ""
        for where, att in statement_attachments(statement):
            sha2 = str(att["sha2"]).lower()
            declared.add(sha2)
            if "fileUrl" not in att and sha2 not in parts:
                raise UsageError(f"{label}{where}: has no fileUrl and no multipart/mixed part with "
                                 f"{HASH_HEADER} {att['sha2']}")
    for sha2 in parts:
        if sha2 not in declared:
            raise UsageError(f"multipart/mixed: the part with {HASH_HEADER} {sha2} matches no attachment's sha2 "
                             "in the statements")


def directory(home: Path) -> Path:
    return Path(home) / DIRECTORY


def save(home: Path, parts: Mapping[str, tuple[str, bytes]]) -> None:
    """Keep each content under its hash, durably; contents already held are left as they are."""
    if not parts:
        return
    folder = directory(home)
    folder.mkdir(parents=True, exist_ok=True)
    wrote = False
    for sha2, (_type, content) in parts.items():
        if not HASH_RE.match(sha2):
            raise UsageError(f"{HASH_HEADER} {sha2!r} is not a SHA-2 hash")
        target = folder / sha2
        if target.exists():
            continue
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{sha2[:16]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            wrote = True
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    if wrote and hasattr(os, "O_DIRECTORY"):  # make the new names durable too (POSIX)
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def read(home: Path, sha2: str) -> bytes | None:
    """The content held under ``sha2``, or None (not held, or not a SHA-2 hash)."""
    name = str(sha2).lower()
    if not HASH_RE.match(name):
        return None
    try:
        return (directory(home) / name).read_bytes()
    except FileNotFoundError:
        return None


def held_contents(home: Path, statements: Iterable[dict[str, Any]]) -> list[tuple[str, str, bytes]]:
    """(sha2, Content-Type, content) for each distinct attachment of the statements whose content is held."""
    found: list[tuple[str, str, bytes]] = []
    seen: set[str] = set()
    for statement in statements:
        for _where, att in statement_attachments(statement):
            sha2 = str(att.get("sha2", "")).lower()
            if sha2 in seen:
                continue
            seen.add(sha2)
            content = read(home, sha2)
            if content is not None:
                found.append((sha2, str(att.get("contentType") or DEFAULT_CONTENT_TYPE), content))
    return found


def _header_value(value: str) -> bytes:
    """A Content-Type fit for a header line: printable ASCII, else application/octet-stream."""
    return value.encode() if value.isascii() and value.isprintable() else DEFAULT_CONTENT_TYPE.encode()


def build_multipart(json_bytes: bytes, contents: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/mixed body: the JSON first, then one binary part per (sha2, Content-Type, content).

    Returns the body and its boundary (for the ``Content-Type: multipart/mixed; boundary=...`` header).
    """
    while True:
        boundary = f"xapi-{uuid.uuid4().hex}"
        mark = boundary.encode()
        if mark not in json_bytes and not any(mark in content for _h, _t, content in contents):
            break
    out = [b"--", mark, b"\r\nContent-Type: application/json\r\n\r\n", json_bytes, b"\r\n"]
    for sha2, content_type, content in contents:
        out += [b"--", mark, b"\r\nContent-Type: ", _header_value(content_type),
                b"\r\nContent-Transfer-Encoding: binary\r\n", HASH_HEADER.encode(), b": ", sha2.encode(), b"\r\n\r\n",
                content, b"\r\n"]
    out += [b"--", mark, b"--\r\n"]
    return b"".join(out), boundary
