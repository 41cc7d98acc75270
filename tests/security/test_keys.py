"""`eduops keys rotate`: every stored secret still readable, none left under the old key."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from eduops.core.crypto import decrypt, encrypt, key_id_of, load_keyring
from eduops.core.hookspecs import Domain, EncryptedColumn, hookimpl
from eduops.core.workspace import Workspace
from eduops.security.keys import rotate


def _seed(ws: Workspace) -> dict[int, str]:
    ring = load_keyring(ws.settings.key_file)
    plain = {i: f"postgres://backup:pw{i}@db{i}.internal/edu" for i in range(1, 8)}
    with ws.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE test_channels (id INTEGER PRIMARY KEY, url TEXT, config TEXT)"))
        for i, value in plain.items():
            config = json.dumps({"token": encrypt(ring, f"tok{i}"), "name": f"c{i}"})
            conn.execute(sa.text("INSERT INTO test_channels (id, url, config) VALUES (:i, :u, :c)"),
                         {"i": i, "u": encrypt(ring, value, f"channel:{i}"), "c": config})
        conn.execute(sa.text("INSERT INTO test_channels (id, url, config) VALUES (99, 'plain', NULL)"))
    return plain


def _check_all_under(ws: Workspace, plain: dict[int, str], key: str) -> None:
    ring = load_keyring(ws.settings.key_file)
    with ws.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, url, config FROM test_channels WHERE id < 99 ORDER BY id")).all()
    assert len(rows) == len(plain)
    for i, url, config in rows:
        assert key_id_of(url) == key and decrypt(ring, url, f"channel:{i}") == plain[i]
        token = json.loads(config)["token"]
        assert key_id_of(token) == key and decrypt(ring, token) == f"tok{i}"


class ChannelsPlugin:
    """An outside plugin declaring a table of its own with encrypted, context-bound values."""

    @hookimpl
    def eduops_domain(self) -> Domain:
        return Domain("test-channels", Path(__file__).parent, encrypted_columns=(
            EncryptedColumn("test_channels", "url", context=lambda row: f"channel:{row['id']}"),))


def test_rotation_reencrypts_every_secret(ws: Workspace, extra_plugin) -> None:
    with extra_plugin(ChannelsPlugin()):
        plain = _seed(ws)
        result = rotate(ws.engine, ws.settings.key_file)
        assert result.new_key == "k2" and result.old_keys == ["k1"]
        assert {"test_channels.url", "test_channels.config"} <= set(result.columns)
        assert result.reencrypted == 14 and result.remaining_old == 0 and not result.failures
        ring = load_keyring(ws.settings.key_file)
        assert ring.active == "k2" and "k1" in ring.keys  # old key kept for backups taken before
        _check_all_under(ws, plain, "k2")
        again = rotate(ws.engine, ws.settings.key_file)  # safe to repeat: a third key
        assert again.new_key == "k3" and again.remaining_old == 0 and again.reencrypted == 14
        _check_all_under(ws, plain, "k3")
    # without the declaration the context is unknown: reported per row, never silently skipped
    unregistered = rotate(ws.engine, ws.settings.key_file)
    assert unregistered.remaining_old == 7 and len(unregistered.failures) == 7
    assert all("postgres://" not in f for f in unregistered.failures)


def test_keys_rotate_command(sqlite_ws: Workspace, monkeypatch) -> None:
    from eduops.cli import app
    from eduops.core import console

    monkeypatch.setattr(console, "_workspace", sqlite_ws)
    ring = load_keyring(sqlite_ws.settings.key_file)
    with sqlite_ws.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (username, display_name, email, role, password_hash, disabled, "
                             "created_at) VALUES ('ops1', '', '', 'ops', 'x', false, CURRENT_TIMESTAMP)"))
        for (uid,) in conn.execute(sa.text("SELECT id FROM users")).all():
            conn.execute(sa.text("UPDATE users SET totp_secret = :s WHERE id = :i"),
                         {"s": encrypt(ring, "JBSWY3DPEHPK3PXP", f"users.totp_secret:{uid}"), "i": uid})
    result = CliRunner().invoke(app, ["keys", "rotate", "--json", "--yes"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["remaining_old"] == 0 and "users.totp_secret" in data["columns"]
    assert "JBSWY3DPEHPK3PXP" not in result.output


def test_config_file_secrets_are_rotated_in_place(sqlite_ws: Workspace) -> None:
    ring = load_keyring(sqlite_ws.settings.key_file)
    config = sqlite_ws.settings.home / "eduops.toml"
    sealed = encrypt(ring, "restic-pass", "backup:target:nas:password")
    config.write_text('timezone = "Asia/Shanghai"\n\n[[backup.targets]]\n# the NAS in the office\n'
                      f'name = "nas"\nkind = "local"\npassword = "{sealed}"\n')
    config.chmod(0o600)
    result = rotate(sqlite_ws.engine, sqlite_ws.settings.key_file, config)  # backup's plugin declares the context
    text = config.read_text()
    assert sealed not in text and "# the NAS in the office" in text
    assert result.remaining_old == 0 and not result.failures
    import tomllib

    value = tomllib.loads(text)["backup"]["targets"][0]["password"]
    assert key_id_of(value) == "k2"
    assert decrypt(load_keyring(sqlite_ws.settings.key_file), value, "backup:target:nas:password") == "restic-pass"
    assert config.stat().st_mode & 0o777 == 0o600
