"""The optional TOTP second factor (RFC 6238 with pyotp); each code is accepted once per user."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eduops.core.crypto import Keyring, decrypt, encrypt
from eduops.web.models import TotpUsedStep

STEP_SECONDS = 30
ISSUER = "eduops"


def new_secret() -> str:
    return pyotp.random_base32()


def valid_secret(secret: str) -> bool:
    """A base32 key of 160 to 640 bits, as ``new_secret`` makes. The setup form sends the key back, so it is
    whatever the browser sent: pyotp raises on a character outside base32."""
    if not 32 <= len(secret) <= 128:
        return False
    try:
        pyotp.TOTP(secret).byte_secret()
    except ValueError:  # binascii.Error, and non-ASCII text
        return False
    return True


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def seal(ring: Keyring, secret: str, user_id: int) -> str:
    return encrypt(ring, secret, f"users.totp_secret:{user_id}")


def unseal(ring: Keyring, sealed: str, user_id: int) -> str:
    return decrypt(ring, sealed, f"users.totp_secret:{user_id}")


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is (now, or one step either side for clock drift)."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def use_code(session: Session, user_id: int, secret: str, code: str, now: datetime) -> bool:
    """True once for a valid code; a replay of it (or of an older code) is refused."""
    step = matching_step(secret, code, now)
    if step is None:
        return False
    newest = session.scalar(sa.select(sa.func.max(TotpUsedStep.step)).where(TotpUsedStep.user_id == user_id))
    if newest is not None and step <= newest:
        return False
    try:
        with session.begin_nested():
            session.add(TotpUsedStep(user_id=user_id, step=step, used_at=now))
    except IntegrityError:
        return False
    session.execute(sa.delete(TotpUsedStep).where(TotpUsedStep.user_id == user_id, TotpUsedStep.step < step - 10))
    return True
