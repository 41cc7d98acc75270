"""xAPI 1.0.3 documents (Communication 2.2–2.7): State, Activity Profile and Agent Profile documents.

The rules are pure functions (``etag_of``, ``parse_etags``, ``precondition_failure``, ``merge_json``);
the storage functions apply them to the ``xapi_documents`` table with conditional writes, so two
clients racing with the same ``If-Match`` cannot both win: the write that lands is the one whose
``WHERE etag = <the etag it checked>`` still matched.

Concurrency (Communication 3.1): every document has an ETag (the SHA-1 of its content, hex); a
failed ``If-Match`` / ``If-None-Match`` is ``412``; a PUT without either header over an existing
profile document is ``409``. The State resource may be written without those headers (the
specification exempts it: learning content saves state every few seconds).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from eduops.analytics.models import XapiDocument
from eduops.db import writing
from eduops.errors import Conflict, EduopsError, UsageError

KINDS = ("state", "activity_profile", "agent_profile")
JSON_TYPE = "application/json"
DEFAULT_TYPE = "application/octet-stream"
ANY = "*"
ATTEMPTS = 8  # conditional writes retried when another writer changed the document in between
T = cast(sa.Table, XapiDocument.__table__)


class PreconditionFailed(EduopsError):
    """If-Match / If-None-Match did not hold: nothing was changed (HTTP 412)."""

    exit_code = 1
    http_status = 412


@dataclass(frozen=True)
class DocumentRef:
    """Where a document lives: its kind, activity, agent (identifier), registration and id."""

    kind: str
    activity_id: str = ""
    agent: str = ""
    registration: str = ""
    doc_id: str = ""

    @property
    def scope(self) -> str:
        """The set of documents a multiple-document GET or DELETE covers (registration filters it)."""
        return _digest(self.kind, self.activity_id, self.agent)

    @property
    def key(self) -> str:
        return _digest(self.kind, self.activity_id, self.agent, self.registration, self.doc_id)


@dataclass(frozen=True)
class Conditions:
    """The ETags of If-Match and If-None-Match (None: header absent; ``("*",)``: any)."""

    if_match: tuple[str, ...] | None = None
    if_none_match: tuple[str, ...] | None = None

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


@dataclass(frozen=True)
class Document:
    content_type: str
    content: bytes
    etag: str
    updated: datetime


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def etag_of(content: bytes) -> str:
    """The ETag of a document: the SHA-1 of its content in lower-case hex (Communication 3.1)."""
    return hashlib.sha1(content).hexdigest()


def parse_etags(header: str | None, name: str) -> tuple[str, ...] | None:
    """An If-Match / If-None-Match header as ETags (lower-case, unquoted); ``*`` stays ``*``."""
    if header is None:
        return None
    tags = []
    for raw in header.split(","):
        tag = raw.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if not tag:
            continue
        tags.append(tag if tag == ANY else tag.lower())
    if not tags:
        raise UsageError(f'{name}: give a quoted ETag such as "{etag_of(b"")}" or *')
    return tuple(tags)


def precondition_failure(conditions: Conditions, current: str | None) -> str | None:
    """Why the request's preconditions fail for a document whose ETag is ``current`` (None: no such
    document), or None when they hold. If-Match is evaluated first (RFC 7232 §6)."""
    if conditions.if_match is not None:
        if current is None:
            return "If-Match: there is no such document; fetch it first or send If-None-Match: *"
        if ANY not in conditions.if_match and current not in conditions.if_match:
            return (f'If-Match: the document changed (its ETag is now "{current}"); '
                    "fetch it again and retry with the new ETag")
    if conditions.if_none_match is not None and current is not None:
        if ANY in conditions.if_none_match:
            return "If-None-Match: *: the document exists already; fetch it and send If-Match with its ETag"
        if current in conditions.if_none_match:
            return f'If-None-Match: the document\'s ETag is "{current}", one of those given'
    return None


def is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == JSON_TYPE


def _json_object(content: bytes, content_type: str, what: str) -> dict[str, Any]:
    if not is_json(content_type):
        raise UsageError(f"{what} has Content-Type {content_type!r}: POST merges JSON documents only "
                         "(application/json on both); PUT the whole document instead")
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UsageError(f"{what} is not valid JSON; POST merges JSON objects only") from None
    if not isinstance(value, dict):
        raise UsageError(f"{what} is JSON but not an object; POST merges JSON objects only, PUT replaces")
    return value


def merge_json(old: bytes, old_type: str, new: bytes, new_type: str) -> bytes:
    """POST over an existing document: both must be JSON objects; top-level properties of the new one
    replace those of the old one (Communication 2.2)."""
    merged = _json_object(old, old_type, "the stored document")
    merged.update(_json_object(new, new_type, "the request body"))
    return orjson.dumps(merged)


def check_post_body(content: bytes, content_type: str) -> None:
    """A POST body declared as JSON must be a JSON object (it may be merged later)."""
    if is_json(content_type):
        _json_object(content, content_type, "the request body")


# storage ---------------------------------------------------------------------------------------------

_GET = sa.select(T.c.content_type, T.c.content, T.c.etag, T.c.updated).where(T.c.key == sa.bindparam("k"))
_CURRENT = sa.select(T.c.content_type, T.c.content, T.c.etag).where(T.c.key == sa.bindparam("k"))
_INSERT = T.insert()
_CHANGING = ("content_type", "content", "etag", "updated")
_REPLACE = (T.update().where(T.c.key == sa.bindparam("b_key"), T.c.etag == sa.bindparam("b_etag"))
            .values({name: sa.bindparam(name) for name in _CHANGING}))
_UPSERTS: dict[str, Any] = {}  # dialect name -> the prepared INSERT ... ON CONFLICT DO UPDATE


def get(engine: Engine, ref: DocumentRef) -> Document | None:
    with engine.connect() as conn:
        row = conn.execute(_GET, {"k": ref.key}).first()
    if row is None:
        return None
    return Document(row.content_type, bytes(row.content), row.etag, row.updated)


def ids(engine: Engine, ref: DocumentRef, since: datetime | None, registration: str | None) -> list[str]:
    """The ids of the documents in ``ref``'s scope (of one registration when given), updated after ``since``."""
    query = sa.select(T.c.doc_id).where(T.c.scope == ref.scope)
    if registration is not None:
        query = query.where(T.c.registration == registration)
    if since is not None:
        query = query.where(T.c.updated > since)
    with engine.connect() as conn:
        return sorted({row[0] for row in conn.execute(query)})


def _values(ref: DocumentRef, content: bytes, content_type: str, now: datetime) -> dict[str, Any]:
    return {"key": ref.key, "scope": ref.scope, "kind": ref.kind, "activity_id": ref.activity_id,
            "agent": ref.agent, "registration": ref.registration, "doc_id": ref.doc_id,
            "content_type": content_type, "content": content, "etag": etag_of(content), "updated": now}


def _current(conn: sa.Connection, ref: DocumentRef) -> Any:
    return conn.execute(_CURRENT, {"k": ref.key}).first()


def _insert(engine: Engine, values: dict[str, Any]) -> bool:
    """Create the document; False when another writer created it first."""
    try:
        with writing(engine), engine.begin() as conn:
            conn.execute(_INSERT, values)
        return True
    except IntegrityError:
        return False


def _replace(engine: Engine, values: dict[str, Any], expected_etag: str) -> bool:
    """Overwrite the document if its ETag is still ``expected_etag``; False when it changed meanwhile."""
    with writing(engine), engine.begin() as conn:
        changed = conn.execute(_REPLACE, {**{k: v for k, v in values.items() if k in _CHANGING},
                                          "b_key": values["key"], "b_etag": expected_etag}).rowcount
    return bool(changed == 1)


def _upsert_statement(name: str) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE for SQLite and PostgreSQL, built once; None elsewhere."""
    if name not in _UPSERTS:
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        elif name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
        else:
            _UPSERTS[name] = None
            return None
        statement = dialect_insert(T)
        update = {k: statement.excluded[k] for k in _CHANGING}
        _UPSERTS[name] = statement.on_conflict_do_update(index_elements=[T.c.key], set_=update)
    return _UPSERTS[name]


def _upsert(engine: Engine, values: dict[str, Any]) -> bool:
    """Create or overwrite in one statement where the database can (SQLite, PostgreSQL)."""
    statement = _upsert_statement(engine.dialect.name)
    if statement is None:
        return False
    with writing(engine), engine.begin() as conn:
        conn.execute(statement, values)
    return True


def put(engine: Engine, ref: DocumentRef, content: bytes, content_type: str, conditions: Conditions,
        now: datetime) -> str:
    """Store ``content`` as the whole document; returns its ETag."""
    values = _values(ref, content, content_type, now)
    if not conditions.given and ref.kind == "state" and _upsert(engine, values):
        return str(values["etag"])
    for _ in range(ATTEMPTS):
        with engine.connect() as conn:
            row = _current(conn, ref)
        current = row.etag if row is not None else None
        failure = precondition_failure(conditions, current)
        if failure:
            raise PreconditionFailed(failure)
        if row is None:
            if _insert(engine, values):
                return str(values["etag"])
        else:
            if not conditions.given and ref.kind != "state":
                raise Conflict(f'the document exists already (ETag "{current}"): check its current content, '
                               "then PUT with If-Match set to its ETag (or If-None-Match: * to create only)")
            if _replace(engine, values, current or ""):
                return str(values["etag"])
    raise Conflict("the document kept changing while it was being written; retry")


def post(engine: Engine, ref: DocumentRef, content: bytes, content_type: str, conditions: Conditions,
         now: datetime) -> str:
    """Create the document, or merge a JSON object into the stored JSON object; returns the ETag."""
    check_post_body(content, content_type)
    for _ in range(ATTEMPTS):
        with engine.connect() as conn:
            row = _current(conn, ref)
        failure = precondition_failure(conditions, row.etag if row is not None else None)
        if failure:
            raise PreconditionFailed(failure)
        if row is None:
            values = _values(ref, content, content_type, now)
            if _insert(engine, values):
                return str(values["etag"])
            continue
        merged = merge_json(bytes(row.content), row.content_type, content, content_type)
        values = _values(ref, merged, row.content_type, now)
        if _replace(engine, values, row.etag):
            return str(values["etag"])
    raise Conflict("the document kept changing while it was being merged; retry")


def delete(engine: Engine, ref: DocumentRef, conditions: Conditions) -> None:
    """Delete one document (deleting one that does not exist is not an error, unless If-Match says so)."""
    for _ in range(ATTEMPTS):
        with writing(engine), engine.begin() as conn:
            if not conditions.given:
                conn.execute(T.delete().where(T.c.key == ref.key))
                return
            row = _current(conn, ref)
            current = row.etag if row is not None else None
            failure = precondition_failure(conditions, current)
            if failure:
                raise PreconditionFailed(failure)
            if row is None:
                return
            if conn.execute(T.delete().where(T.c.key == ref.key, T.c.etag == current)).rowcount == 1:
                return
    raise Conflict("the document kept changing while it was being deleted; retry")


def delete_all(engine: Engine, ref: DocumentRef, registration: str | None) -> int:
    """Delete every document of ``ref``'s scope (of one registration when given); returns how many."""
    query = T.delete().where(T.c.scope == ref.scope)
    if registration is not None:
        query = query.where(T.c.registration == registration)
    with writing(engine), engine.begin() as conn:
        return int(conn.execute(query).rowcount)


def ids_json(found: Sequence[str]) -> bytes:
    return orjson.dumps(list(found))
