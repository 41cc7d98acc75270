"""Field encryption: AES-256-GCM values carry their key id; personal-data helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from eduops.core.crypto import (
    Keyring,
    blind_index,
    decrypt,
    decrypt_personal,
    encrypt,
    encrypt_personal,
    key_id_of,
    load_keyring,
    mask,
    mask_email,
    mask_phone,
    normalize_phone,
    reencrypt,
    write_keyring,
)
from eduops.errors import ConfigError, UsageError


def test_round_trip_with_key_id_and_context() -> None:
    ring = Keyring.new()
    value = encrypt(ring, "https://oapi.dingtalk.com/robot/send?access_token=abc", "channel:1")
    assert value.startswith("enc:v1:k1:") and "abc" not in value
    assert decrypt(ring, value, "channel:1") == "https://oapi.dingtalk.com/robot/send?access_token=abc"
    with pytest.raises(ConfigError):
        decrypt(ring, value, "channel:2")  # bound to its row
    assert encrypt(ring, "x") != encrypt(ring, "x")  # fresh nonce every time


def test_old_values_stay_readable_after_a_new_key() -> None:
    ring = Keyring.new()
    old = encrypt(ring, "s3cret")
    assert ring.add_key() == "k2"
    assert decrypt(ring, old) == "s3cret"
    new = reencrypt(ring, old)
    assert key_id_of(new) == "k2" and decrypt(ring, new) == "s3cret"
    assert reencrypt(ring, new) is new


def test_missing_key_and_tampering_are_config_errors() -> None:
    ring = Keyring.new()
    value = encrypt(ring, "s3cret")
    with pytest.raises(ConfigError, match="no longer holds"):
        decrypt(Keyring(active="k9", keys={"k9": b"\0" * 32}), value)
    tampered = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    with pytest.raises(ConfigError):
        decrypt(ring, tampered)
    with pytest.raises(UsageError):
        decrypt(ring, "plain")


def test_keyring_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    write_keyring(path, Keyring.new())
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keyring(path).active == "k1"
    path.write_text("{nope")
    with pytest.raises(ConfigError):
        load_keyring(path)


@pytest.mark.parametrize(("raw", "normal"), [("+86 138-0013-8000", "+8613800138000"),
                                             ("(010) 6552 9988", "01065529988")])
def test_phone_normalization(raw: str, normal: str) -> None:
    assert normalize_phone(raw) == normal


def test_personal_data_helpers() -> None:
    ring = Keyring.new()
    stored = encrypt_personal(ring, "email", " Li.Wei@Example.CN ", owner="student:42")
    assert "example" not in stored.lower()
    assert decrypt_personal(ring, "email", stored, owner="student:42") == "li.wei@example.cn"
    assert blind_index(ring, "phone", "+86 138 0013 8000") == blind_index(ring, "phone", "+8613800138000")
    ring.add_key()
    assert blind_index(ring, "phone", "+8613800138000") == blind_index(Keyring("k1", {"k1": ring.keys["k1"]}),
                                                                       "phone", "+8613800138000")
    with pytest.raises(UsageError):
        encrypt_personal(ring, "address", "x")


@pytest.mark.parametrize(("func", "value", "shown"), [
    (mask, "short", "****"), (mask, "sk-live-1234567890", "sk-l…****"),
    (mask_email, "li.wei@example.cn", "l***@example.cn"), (mask_phone, "+8613800138000", "+86****8000"),
])
def test_masks(func, value: str, shown: str) -> None:
    assert func(value) == shown
