"""The tamper-evident audit log: every row carries the SHA-256 of itself and of the row before it.

``record_audit`` adds a row inside the caller's transaction (on PostgreSQL an advisory lock keeps
concurrent writers in one chain; SQLite already has one writer at a time). ``verify_chain`` reports
the first row that was edited, or the first row whose predecessor was deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eduops.core.models import AuditEntry
from eduops.db import session_scope, utcnow

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 0x6564756F7073  # "eduops"
_SECRET_KEY = re.compile(r"password|secret|token|api_?key|private|credential", re.IGNORECASE)
REDACTED = "[redacted]"


def redact(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Never a secret's value in the log: keys that name secrets keep only the fact they changed."""
    if values is None:
        return None
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if _SECRET_KEY.search(str(key)) and value not in (None, "", False):
            clean[key] = REDACTED
        elif isinstance(value, dict):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean


def _canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_digest(entry: AuditEntry) -> str:
    payload = json.dumps(
        [
            entry.id,
            _canonical_time(entry.at),
            entry.actor,
            entry.action,
            entry.target,
            entry.before,
            entry.after,
            entry.source_ip,
            entry.prev_hash,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    source_ip: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    """Append one row to the audit log in ``session``'s transaction; it commits with the caller."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_ID})
    entry = AuditEntry(
        at=at or utcnow(),
        actor=actor[:128],
        action=action[:64],
        target=target[:256],
        before=redact(before),
        after=redact(after),
        source_ip=source_ip[:64],
        prev_hash="",
        entry_hash="",
    )
    session.add(entry)
    session.flush()  # takes the write lock and the id before the predecessor is read
    prev = session.scalar(
        sa.select(AuditEntry.entry_hash).where(AuditEntry.id < entry.id).order_by(AuditEntry.id.desc()).limit(1)
    )
    entry.prev_hash = prev or GENESIS
    # the digest must match what verify reads back: round-trip JSON and time as stored
    entry.before = json.loads(json.dumps(entry.before, default=str)) if entry.before is not None else None
    entry.after = json.loads(json.dumps(entry.after, default=str)) if entry.after is not None else None
    entry.entry_hash = entry_digest(entry)
    session.flush()
    return entry


def audit(engine: Engine, **fields: Any) -> None:
    """``record_audit`` in a transaction of its own, for callers that have none."""
    with session_scope(engine) as session:
        record_audit(session, **fields)


@dataclass
class ChainProblem:
    row_id: int
    reason: str

    def __str__(self) -> str:
        return f"audit row {self.row_id}: {self.reason}"


def verify_chain(engine: Engine, batch: int = 5000) -> tuple[int, ChainProblem | None]:
    """(rows checked, the first problem or None)."""
    prev_hash = GENESIS
    checked = 0
    last_id = 0
    with session_scope(engine) as session:
        while True:
            rows = session.scalars(
                sa.select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
            ).all()
            if not rows:
                return checked, None
            for row in rows:
                if row.prev_hash != prev_hash:
                    return checked, ChainProblem(
                        row.id, f"the row before it (after id {last_id or 'start'}) was deleted or altered"
                    )
                if entry_digest(row) != row.entry_hash:
                    return checked, ChainProblem(row.id, "its content was edited after it was written")
                prev_hash = row.entry_hash
                last_id = row.id
                checked += 1
            session.expunge_all()


def entry_to_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": _canonical_time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
        "source_ip": entry.source_ip,
        "hash": entry.entry_hash,
    }


def list_audit(
    engine: Engine,
    *,
    actor: str = "",
    action: str = "",
    target: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Newest first, filtered; ``action`` matches a prefix (``user.`` finds every user change)."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if target:
        query = query.where(AuditEntry.target.contains(target, autoescape=True))
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    with session_scope(engine) as session:
        return [entry_to_dict(e) for e in session.scalars(query.limit(limit).offset(offset))]
