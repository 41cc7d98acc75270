"""Field encryption for every secret eduops stores: AES-256-GCM, the key id kept in each value.

The key file (mode 0600) holds a keyring: ``{"active": "k2", "keys": {"k1": "<base64>", "k2": "..."}}``.
A stored value reads ``enc:v1:<key id>:<base64 nonce+ciphertext>``, so values written under an older
key stay readable while ``eduops keys rotate`` re-encrypts them.
"""

from __future__ import annotations

import base64
import json
import os
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
