"""Password hashing (argon2id, argon2-cffi defaults) and the password policy (OWASP ASVS L2)."""

from __future__ import annotations

import secrets
import string
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from eduops.core.i18n import msg
from eduops.errors import ValidationFailed

MIN_LENGTH = 12
_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if line.strip())


def policy_problem(password: str, username: str = "") -> str | None:
    """Why a password may not be used, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return msg("a password needs at least {n} characters", n=MIN_LENGTH)
    if len(password) > 128:
        return msg("a password may have at most {n} characters", n=128)
    lowered = password.lower()
    if lowered in common_passwords():
        return msg("this password is on the list of commonly used passwords; choose another")
    if username and username.lower() in lowered:
        return msg("a password may not contain the user name")
    return None


def check_policy(password: str, username: str = "") -> None:
    problem = policy_problem(password, username)
    if problem:
        raise ValidationFailed(problem)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password(length: int = 20) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.!@#%"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if policy_problem(candidate) is None and any(c.isdigit() for c in candidate):
            return candidate
