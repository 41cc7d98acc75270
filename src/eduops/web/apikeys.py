"""API keys for machine clients: ``eduk_<key id>_<secret>``, shown once, stored as a SHA-256, scoped.

The secret carries 256 random bits, so a plain SHA-256 (compared in constant time) is as safe as a
slow hash and keeps ingestion fast.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.core.audit import record_audit
from eduops.core.i18n import msg
from eduops.core.principal import API_KEY_PREFIX, SCOPES
from eduops.db import session_scope, utcnow
from eduops.errors import NotFound, UsageError
from eduops.web.models import ApiKey

PREFIX = API_KEY_PREFIX
TOUCH_EVERY = timedelta(minutes=1)
# A verified key is trusted for a few seconds without reading its row (ingestion sends hundreds of
# requests a second). What may end that trust is a revocation, in this process or any other (the CLI,
# another `eduops serve`): every process reads the revocation generation (how many keys are revoked:
# one count over a table of a few rows) at most every GENERATION_EVERY seconds and forgets every verified key when it
# changed, so a revocation reaches every process within that time.
VERIFIED_FOR = timedelta(seconds=5)
GENERATION_EVERY = 0.5
_verified: dict[tuple[str, str], tuple[str, dict[str, Any], datetime]] = {}
_generation: dict[str, tuple[int, float]] = {}
_generation_lock = threading.Lock()


def revocation_generation(engine: Engine) -> int:
    """Grows by one with every revocation anywhere (keys are never un-revoked)."""
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).where(ApiKey.revoked_at.is_not(None))) or 0)


def _forget_if_revoked(engine: Engine) -> None:
    url = str(engine.url)
    seen = _generation.get(url)
    now = time.monotonic()
    if seen is not None and now - seen[1] < GENERATION_EVERY:
        return
    with _generation_lock:
        seen = _generation.get(url)
        if seen is not None and now - seen[1] < GENERATION_EVERY:
            return
        generation = revocation_generation(engine)
        if seen is None or generation != seen[0]:
            for cached in [k for k in _verified if k[0] == url]:
                _verified.pop(cached, None)
        _generation[url] = (generation, time.monotonic())


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def key_to_dict(row: ApiKey) -> dict[str, Any]:
    return {
        "key_id": row.key_id,
        "name": row.name,
        "scopes": list(row.scopes),
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
        "revoked": row.revoked_at is not None,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


def create_key(
    engine: Engine, name: str, scopes: list[str], *, actor: str, source_ip: str = ""
) -> tuple[dict[str, Any], str]:
    """A new key; returns its description and the whole key, which is never shown again."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise UsageError(msg("scopes must be one or more of {scopes}; got {got}", scopes=", ".join(SCOPES),
                                 got=", ".join(unknown) or "none"))
    if not name.strip() or len(name) > 128:
        raise UsageError("a key needs a name of 1–128 characters saying who uses it")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        row = ApiKey(
            key_id=key_id,
            name=name.strip(),
            secret_hash=_hash(secret),
            scopes=sorted(set(scopes)),
            created_by=actor,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        record_audit(
            session,
            actor=actor,
            action="apikey.create",
            target=f"apikey:{key_id}",
            after={"name": row.name, "scopes": row.scopes},
            source_ip=source_ip,
        )
        info = key_to_dict(row)
    return info, f"{PREFIX}_{key_id}_{secret}"


def _generation_fresh(engine: Engine) -> bool:
    seen = _generation.get(str(engine.url))
    return seen is not None and time.monotonic() - seen[1] < GENERATION_EVERY


def verified_recently(engine: Engine, key_id: str, secret: str, now: datetime) -> dict[str, Any] | None:
    """The key as ``verify`` found it, when that answer may be given again without reading the database
    (verified within VERIFIED_FOR, the revocation generation read within GENERATION_EVERY); else None,
    and the caller asks ``verify`` (off the event loop)."""
    if not _generation_fresh(engine):
        return None
    cached = _verified.get((str(engine.url), key_id))
    if cached is not None and timedelta(0) <= now - cached[2] < VERIFIED_FOR \
            and hmac.compare_digest(cached[0], _hash(secret)):
        return cached[1]
    return None


def verify(engine: Engine, key_id: str, secret: str, now: datetime) -> dict[str, Any] | None:
    """The live key matching id and secret (its last use recorded), or None."""
    secret_hash = _hash(secret)
    _forget_if_revoked(engine)
    cache_key = (str(engine.url), key_id)
    cached = _verified.get(cache_key)
    if cached is not None and hmac.compare_digest(cached[0], secret_hash) \
            and timedelta(0) <= now - cached[2] < VERIFIED_FOR:
        return cached[1]
    with session_scope(engine) as session:
        row = session.scalar(sa.select(ApiKey).where(ApiKey.key_id == key_id))
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.secret_hash, secret_hash):
            _verified.pop(cache_key, None)
            return None
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            row.last_used_at = now
        info = key_to_dict(row)
    _verified[cache_key] = (secret_hash, info, now)
    return info


def list_keys(engine: Engine, include_revoked: bool = True) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        query = sa.select(ApiKey).order_by(ApiKey.id)
        if not include_revoked:
            query = query.where(ApiKey.revoked_at.is_(None))
        return [key_to_dict(r) for r in session.scalars(query)]


def revoke_key(engine: Engine, key_id: str, *, actor: str, source_ip: str = "") -> dict[str, Any]:
    with session_scope(engine) as session:
        row = session.scalar(sa.select(ApiKey).where(ApiKey.key_id == key_id))
        if row is None:
            raise NotFound(msg("no API key {key_id!r}; list them with `eduops keys list`", key_id=key_id))
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            record_audit(
                session,
                actor=actor,
                action="apikey.revoke",
                target=f"apikey:{key_id}",
                before={"revoked": False},
                after={"revoked": True},
                source_ip=source_ip,
            )
        revoked = key_to_dict(row)
    _verified.pop((str(engine.url), key_id), None)  # after the commit: a verification racing it re-reads
    return revoked
