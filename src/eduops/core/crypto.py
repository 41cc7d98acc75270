"""Field encryption for every secret eduops stores: AES-256-GCM, the key id kept in each value.

The key file (mode 0600) holds a keyring: ``{"active": "k2", "keys": {"k1": "<base64>", "k2": "..."}}``.
A stored value reads ``enc:v1:<key id>:<base64 nonce+ciphertext>``, so values written under an older
key stay readable while ``eduops keys rotate`` re-encrypts them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eduops.errors import ConfigError, UsageError

PREFIX = "enc:v1:"


@dataclass
class Keyring:
    active: str
    keys: dict[str, bytes]

    @classmethod
    def new(cls) -> Keyring:
        return cls(active="k1", keys={"k1": AESGCM.generate_key(bit_length=256)})

    def to_json(self) -> str:
        return json.dumps(
            {"active": self.active, "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}}, indent=2
        )

    @classmethod
    def from_json(cls, text: str, source: str = "key file") -> Keyring:
        try:
            data = json.loads(text)
            keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
            ring = cls(active=data["active"], keys=keys)
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{source}: not an eduops keyring ({exc}); restore it from backup") from None
        if ring.active not in ring.keys or any(len(k) != 32 for k in keys.values()):
            raise ConfigError(f"{source}: the active key is missing or a key is not 256 bits")
        return ring

    def add_key(self) -> str:
        """Create a new key and make it the active one; returns its id."""
        n = max(int(k[1:]) for k in self.keys if k[1:].isdigit()) + 1 if self.keys else 1
        key_id = f"k{n}"
        self.keys[key_id] = AESGCM.generate_key(bit_length=256)
        self.active = key_id
        return key_id


def write_keyring(path: Path, ring: Keyring) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(ring.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    os.chmod(path, 0o600)


def load_keyring(path: Path, create: bool = False) -> Keyring:
    if not path.exists():
        if not create:
            raise ConfigError(f"{path}: no secret key file; run `eduops init` or restore the key file")
        ring = Keyring.new()
        write_keyring(path, ring)
        return ring
    return Keyring.from_json(path.read_text(), str(path))


def encrypt(ring: Keyring, plaintext: str, context: str = "") -> str:
    """Encrypt under the active key; ``context`` (e.g. the row it belongs to) is authenticated too."""
    nonce = secrets.token_bytes(12)
    ct = AESGCM(ring.keys[ring.active]).encrypt(nonce, plaintext.encode(), context.encode() or None)
    return f"{PREFIX}{ring.active}:{base64.b64encode(nonce + ct).decode()}"


def key_id_of(value: str) -> str | None:
    if not value.startswith(PREFIX):
        return None
    return value[len(PREFIX):].split(":", 1)[0]


def decrypt(ring: Keyring, value: str, context: str = "") -> str:
    if not value.startswith(PREFIX):
        raise UsageError("value is not encrypted by eduops")
    key_id, blob = value[len(PREFIX):].split(":", 1)
    if key_id not in ring.keys:
        raise ConfigError(f"secret was encrypted with key {key_id!r}, which the key file no longer holds")
    raw = base64.b64decode(blob)
    try:
        return AESGCM(ring.keys[key_id]).decrypt(raw[:12], raw[12:], context.encode() or None).decode()
    except Exception:
        raise ConfigError(f"secret under key {key_id!r} failed authentication (tampered or wrong context)") from None


def mask(secret: str) -> str:
    """What a log, report or API may show of a secret."""
    return "****" if len(secret) < 12 else f"{secret[:4]}…****"


# Domains declare the columns and eduops.toml sections that hold encrypted values in their
# plugin (eduops.core.hookspecs.EncryptedColumn, ConfigSecrets); `eduops keys rotate` reads them.
VALUE_PATTERN = re.compile(r"enc:v1:[A-Za-z0-9_-]+:[A-Za-z0-9+/=]+")


def reencrypt(ring: Keyring, value: str, context: str = "") -> str:
    """The same plaintext under the active key (a value already under it is returned as is)."""
    if key_id_of(value) == ring.active:
        return value
    return encrypt(ring, decrypt(ring, value, context), context)


# --- personal data (students' phone numbers and e-mail addresses) -------------------------------


def normalize_email(email: str) -> str:
    return email.strip().lower()


def normalize_phone(phone: str) -> str:
    """Digits only, keeping a leading + (so +86 138-0013-8000 and +8613800138000 compare equal)."""
    phone = phone.strip()
    digits = re.sub(r"\D", "", phone)
    return ("+" if phone.startswith("+") else "") + digits


def encrypt_personal(ring: Keyring, kind: str, value: str, owner: str = "") -> str:
    """Encrypt a phone number or e-mail address; ``owner`` (e.g. ``student:42``) binds it to its row."""
    normal = {"email": normalize_email, "phone": normalize_phone}.get(kind)
    if normal is None:
        raise UsageError(f"unknown personal data kind {kind!r}; use email or phone")
    return encrypt(ring, normal(value), f"{kind}:{owner}")


def decrypt_personal(ring: Keyring, kind: str, value: str, owner: str = "") -> str:
    return decrypt(ring, value, f"{kind}:{owner}")


def blind_index(ring: Keyring, kind: str, value: str) -> str:
    """A keyed hash to look a value up without decrypting every row (HMAC-SHA256 with a derived key).

    The index key is derived from the first key of the keyring so lookups survive rotation.
    """
    normal = normalize_email(value) if kind == "email" else normalize_phone(value)
    first = sorted(ring.keys, key=lambda k: (len(k), k))[0]
    index_key = hmac.new(ring.keys[first], b"eduops blind index v1", hashlib.sha256).digest()
    return hmac.new(index_key, f"{kind}:{normal}".encode(), hashlib.sha256).hexdigest()


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def mask_phone(phone: str) -> str:
    digits = normalize_phone(phone)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"
