"""The audit log: who did what, chained by hashes so an edit or a deletion is found and named."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from eduops.cli import app as eduops_app
from eduops.core.audit import REDACTED, record_audit, verify_chain
from eduops.core.console import reset_workspace
from eduops.core.workspace import Workspace
from eduops.db import session_scope


@pytest.fixture
def cli(ws: Workspace, monkeypatch: pytest.MonkeyPatch):
    """Runs `eduops users/keys/audit ...` against the test workspace."""
    monkeypatch.setenv("EDUOPS_HOME", str(ws.settings.home))
    if ws.settings.database_url:
        monkeypatch.setenv("EDUOPS_DATABASE_URL", ws.settings.database_url)
    reset_workspace()
    runner = CliRunner()
    yield lambda *args: runner.invoke(eduops_app, list(args))
    reset_workspace()


def _fill(ws: Workspace, n: int) -> None:
    for i in range(n):
        with session_scope(ws.engine) as session:
            record_audit(session, actor=f"user{i}", action="user.set_role", target=f"user:u{i}",
                         before={"role": "viewer"}, after={"role": "ops"}, source_ip="10.0.0.7")


def test_verify_passes_untouched_and_names_an_edited_row(ws: Workspace, cli) -> None:
    _fill(ws, 5)
    ok = cli("audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "5 rows" in ok.output
    with ws.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET after = :a WHERE id = 3"), {"a": json.dumps({"role": "admin"})})
    bad = cli("audit", "verify")
    assert bad.exit_code == 1
    assert "audit row 3" in bad.output and "edited" in bad.output
    as_json = json.loads(cli("audit", "verify", "--json").output)
    assert as_json["first_bad_row"] == 3 and as_json["ok"] is False


def test_verify_names_the_row_after_a_deleted_one(ws: Workspace) -> None:
    _fill(ws, 5)
    with ws.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = 2"))
    checked, problem = verify_chain(ws.engine)
    assert checked == 1 and problem is not None and problem.row_id == 3 and "deleted" in problem.reason


def test_secrets_never_reach_the_log(ws: Workspace) -> None:
    with session_scope(ws.engine) as session:
        record_audit(session, actor="admin", action="secret.set", target="channel:dingtalk",
                     before={"token": "old-robot-token"}, after={"token": "new-robot-token", "url": "https://x",
                                                                 "nested": {"password": "hunter2-hunter2"}})
    with ws.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT before, after FROM audit_log")).one()
    assert "robot-token" not in str(stored) and "hunter2" not in str(stored)
    assert json.loads(stored[1])["token"] == REDACTED and json.loads(stored[1])["url"] == "https://x"
    assert verify_chain(ws.engine)[1] is None


def test_user_and_key_commands_are_audited_and_listed(ws: Workspace, cli) -> None:
    assert cli("users", "add", "lin", "--role", "ops").exit_code == 0
    assert cli("users", "set-role", "lin", "content").exit_code == 0
    assert cli("users", "disable", "lin").exit_code == 0
    assert cli("users", "reset-password", "lin").exit_code == 0
    created = json.loads(cli("keys", "create", "--scope", "ingest:xapi", "--name", "lrs", "--json").output)
    assert created["key"].startswith(f"eduk_{created['key_id']}_")
    assert cli("keys", "revoke", created["key_id"]).exit_code == 0
    keys = json.loads(cli("keys", "list", "--json").output)
    assert keys[0]["revoked"] is True and "key" not in keys[0]
    users = {u["username"]: u for u in json.loads(cli("users", "list", "--json").output)}
    assert users["lin"]["role"] == "content" and users["lin"]["disabled"] is True
    rows = json.loads(cli("audit", "list", "--json").output)
    assert [r["action"] for r in rows][::-1] == ["user.create", "user.set_role", "user.disable",
                                                 "user.reset_password", "apikey.create", "apikey.revoke"]
    assert all(r["actor"].startswith("cli:") for r in rows)
    assert created["key"].split("_", 2)[2] not in json.dumps(rows)
    assert cli("users", "set-role", "lin", "wizard").exit_code != 0
    assert cli("audit", "verify").exit_code == 0


def test_console_actions_land_in_the_log_with_source_ip(sqlite_console) -> None:
    from tests.web.conftest import csrf_of

    client = sqlite_console.login("ops")
    token = csrf_of(client.get("/calendar").text)
    assert client.post("/calendar/backup/run", data={"csrf_token": token}).status_code == 303
    admin = sqlite_console.login("admin")
    page = admin.get("/admin/audit", params={"action": "task.run"}).text
    assert "task:backup" in page and "testclient" in page
    assert "<code>login</code>" not in page  # the filter keeps only task runs
    verified = admin.get("/admin/audit", params={"verify": "true"}, headers={"accept-language": "en"}).text
    assert "All 3 rows are intact" in verified


