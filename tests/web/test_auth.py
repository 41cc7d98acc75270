"""Authentication against OWASP ASVS L2: throttling, argon2id, sessions, logout, TOTP, CSRF, API keys."""

from __future__ import annotations

import base64
import re

import pyotp
import pytest
import sqlalchemy as sa
from tests.web.conftest import PASSWORDS, Console, csrf_of

from eduops.core.models import AuditEntry, User
from eduops.errors import ValidationFailed
from eduops.web.accounts import add_user, reset_password
from eduops.web.apikeys import create_key, revoke_key
from eduops.web.models import LoginAttempt, WebSession


def _count(console: Console, model: type, *where: sa.ColumnElement[bool]) -> int:
    with console.ws.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one())


def test_twenty_wrong_passwords_in_a_minute_are_throttled_and_every_attempt_is_logged(console: Console) -> None:
    client = console.client()
    answers = []
    for _ in range(20):
        answers.append(console.attempt(client, "ops", "wrong-password-guess").status_code)
        console.clock.advance(seconds=2.5)
    assert set(answers) == {401, 429} and answers[:5] == [401] * 5
    assert answers.count(429) >= 5
    # the right password right after is refused without being checked, until the window passes
    refused = console.attempt(client, "ops", PASSWORDS["ops"])
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "/account" not in refused.text
    assert _count(console, LoginAttempt, LoginAttempt.username == "ops") == 21
    assert _count(console, AuditEntry, AuditEntry.action.startswith("login")) == 21
    console.clock.advance(minutes=16)
    assert console.attempt(client, "ops", PASSWORDS["ops"]).status_code == 303
    assert _count(console, AuditEntry, AuditEntry.action == "login") == 1


def test_a_failed_login_never_says_whether_the_account_exists(sqlite_console: Console) -> None:
    console = sqlite_console
    client = console.client()
    unknown = console.attempt(client, "nobody-here", "whatever-password-1")
    wrong = console.attempt(client, "viewer", "whatever-password-1")
    assert unknown.status_code == wrong.status_code == 401
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", unknown.text) == strip.sub("", wrong.text)


def test_passwords_are_stored_with_argon2id_and_the_policy_holds(sqlite_console: Console) -> None:
    console = sqlite_console
    add_user(console.ws.engine, "newcomer", "viewer", actor="test", password="Plenty-long-passphrase-7")
    reset_password(console.ws.engine, "viewer", actor="test")
    with console.ws.engine.connect() as conn:
        hashes = dict(conn.execute(sa.select(User.username, User.password_hash)).tuples().all())
    assert hashes["newcomer"].startswith("$argon2id$") and hashes["viewer"].startswith("$argon2id$")
    for weak in ("short-1", "password1234", "newcomer-is-me-2026"):
        with pytest.raises(ValidationFailed):
            add_user(console.ws.engine, "newcomer2" if "newcomer" not in weak else "newcomer", "viewer",
                     actor="test", password=weak)


def test_login_issues_a_new_session_and_ends_the_old_one(console: Console) -> None:
    client = console.login("viewer")
    first = client.cookies["eduops_session"]
    console.login("viewer", client=client)
    second = client.cookies["eduops_session"]
    assert first != second
    stale = console.client()
    stale.cookies.set("eduops_session", first)
    assert stale.get("/").status_code == 303
    with console.ws.engine.connect() as conn:
        stored = conn.execute(sa.select(WebSession.token_hash)).scalars().all()
    assert first not in stored and second not in stored  # only hashes are kept


def test_cookie_flags(sqlite_console: Console) -> None:
    console = sqlite_console
    client = console.client()
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": "viewer", "password": PASSWORDS["viewer"], "csrf_token": token})
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "eduops_session=" in v)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = console.client()
    secure.base_url = secure.base_url.copy_with(scheme="https")
    token = csrf_of(secure.get("/login").text)
    answer = secure.post("/login", data={"username": "viewer", "password": PASSWORDS["viewer"], "csrf_token": token})
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "eduops_session=" in v)
    assert "Secure" in cookie and answer.headers["strict-transport-security"]


@pytest.mark.parametrize(
    ("steps_minutes", "alive"),
    [
        ([29], True),
        ([31], False),
        ([20, 20, 20], True),  # activity keeps the session going...
        ([25] * 28, True),  # ...for 11 h 40 min
        ([25] * 29, False),  # ...but never past the absolute 12 hours
    ],
)
def test_idle_and_absolute_timeouts(sqlite_console: Console, steps_minutes: list[int], alive: bool) -> None:
    console = sqlite_console
    client = console.login("viewer")
    answer = None
    for minutes in steps_minutes:
        console.clock.advance(minutes=minutes)
        answer = client.get("/api/v1/me")
        if answer.status_code != 200:
            break
    assert answer is not None
    assert (answer.status_code == 200) is alive, answer.text


def test_logout_ends_the_session_on_the_server(console: Console) -> None:
    client = console.login("ops")
    token = client.cookies["eduops_session"]
    answer = client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    replay = console.client()
    replay.cookies.set("eduops_session", token)
    assert replay.get("/api/v1/me").status_code == 401
    assert replay.get("/runs").headers["location"].startswith("/login")


def test_disabling_a_user_ends_their_sessions_at_once(console: Console) -> None:
    victim = console.login("support")
    admin = console.login("admin")
    assert victim.get("/api/v1/me").status_code == 200
    token = csrf_of(admin.get("/admin/users").text)
    assert admin.post("/admin/users/support/disable", data={"csrf_token": token, "disabled": "true"}).status_code == 303
    assert victim.get("/api/v1/me").status_code == 401
    assert console.attempt(console.client(), "support", PASSWORDS["support"]).status_code == 401


def test_users_see_and_end_their_own_sessions(sqlite_console: Console) -> None:
    console = sqlite_console
    laptop = console.login("content")
    phone = console.login("content")
    page = laptop.get("/account").text
    assert page.count("/end\"") == 2
    ids = re.findall(r'/account/sessions/(\d+)/end', page)
    other = [i for i in ids if f'action="/account/sessions/{i}/end"' in page][-1]
    laptop.post("/account/sessions/end-others", data={"csrf_token": csrf_of(page)})
    assert phone.get("/api/v1/me").status_code == 401 and laptop.get("/api/v1/me").status_code == 200
    assert other


def test_totp_second_factor_and_a_code_cannot_be_used_twice(console: Console) -> None:
    client = console.login("ops")
    page = client.get("/account/totp").text
    secret = re.search(r'name="secret" value="([A-Z2-7]+)"', page).group(1)  # type: ignore[union-attr]
    totp = pyotp.TOTP(secret)
    code = totp.at(console.clock.now)
    assert client.post("/account/totp", data={"csrf_token": csrf_of(page), "secret": secret,
                                              "code": code}).status_code == 303
    console.clock.advance(seconds=30)
    fresh = console.client()
    assert console.attempt(fresh, "ops", PASSWORDS["ops"]).status_code == 401  # the code is now required
    code = totp.at(console.clock.now)
    assert console.attempt(fresh, "ops", PASSWORDS["ops"], code).status_code == 303
    replay = console.client()
    assert console.attempt(replay, "ops", PASSWORDS["ops"], code).status_code == 401
    with console.ws.engine.connect() as conn:
        sealed = conn.execute(sa.select(User.totp_secret).where(User.username == "ops")).scalar_one()
    assert sealed.startswith("enc:v1:") and secret not in sealed


@pytest.mark.parametrize("secret", [" " * 32, "\x00", "-1", "0" * 32, "a" * 31, "A" * 129, "😀" * 32,
                                    "AAAAAAA=" * 4 + "1"])
def test_a_totp_setup_key_eduops_did_not_make_is_a_400_page_with_a_new_key(sqlite_console: Console,
                                                                           secret: str) -> None:
    """The setup form sends its key back; a key that is not base32 (pyotp raised: a 500) or is too short is refused
    with a fresh key to scan, whatever the code, and TOTP stays off."""
    client = sqlite_console.login("ops")
    page = client.get("/account/totp").text
    answer = client.post("/account/totp", data={"csrf_token": csrf_of(page), "secret": secret, "code": "123456"},
                         headers={"accept-language": "en"})
    assert answer.status_code == 400
    assert "That setup key is not one eduops made" in answer.text
    fresh = re.search(r'name="secret" value="([A-Z2-7]+)"', answer.text)
    assert fresh and fresh.group(1) != secret
    with sqlite_console.ws.engine.connect() as conn:
        assert conn.execute(sa.select(User.totp_secret).where(User.username == "ops")).scalar_one() is None


def test_csrf_is_required_on_cookie_authenticated_changes(sqlite_console: Console) -> None:
    console = sqlite_console
    client = console.login("ops")
    assert client.post("/calendar/daily-inspection/run").status_code == 403
    assert client.post("/calendar/daily-inspection/run", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/api/v1/calendar/daily-inspection/run").status_code == 403
    token = csrf_of(client.get("/calendar").text)
    answer = client.post("/api/v1/calendar/daily-inspection/run", headers={"x-csrf-token": token})
    assert answer.status_code == 202
    assert console.app.state.started_runs == [answer.json()["id"]]


def test_pages_send_strangers_to_login_and_the_api_answers_401(sqlite_console: Console) -> None:
    console = sqlite_console
    client = console.client()
    page = client.get("/runs?status=ok")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/runs%3Fstatus%3Dok"
    api = client.get("/api/v1/runs")
    assert api.status_code == 401 and "error" in api.json()


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_the_console(sqlite_console: Console, target: str) -> None:
    console = sqlite_console
    client = console.client()
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": "viewer", "password": PASSWORDS["viewer"],
                                         "csrf_token": token, "next": target})
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_api_keys_by_bearer_and_basic_with_scopes_and_revocation(sqlite_console: Console) -> None:
    console = sqlite_console
    info, key = create_key(console.ws.engine, "lrs client", ["read"], actor="test")
    _, key_id, secret = key.split("_", 2)
    client = console.client()

    def basic(user: str, password: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    for headers in ({"authorization": f"Bearer {key}"}, basic(key_id, secret), basic(f"eduk_{key_id}", secret),
                    basic(key, ""), basic(key, key)):
        assert client.get("/api/v1/me", headers=headers).status_code == 200, headers
    assert client.get("/api/v1/me", headers=basic(key_id, "wrong")).status_code == 401
    assert client.get("/api/v1/users", headers={"authorization": f"Bearer {key}"}).status_code == 403
    listed = client.get("/api/v1/me", headers={"authorization": f"Bearer {key}"}).json()
    assert listed["kind"] == "apikey" and listed["permissions"] == ["read"]
    revoke_key(console.ws.engine, info["key_id"], actor="test")
    assert client.get("/api/v1/me", headers={"authorization": f"Bearer {key}"}).status_code == 401
    with console.ws.engine.connect() as conn:
        actions = conn.execute(sa.select(AuditEntry.action)).scalars().all()
    assert "apikey.create" in actions and "apikey.revoke" in actions


def test_users_change_their_own_password_and_other_sessions_end(sqlite_console: Console) -> None:
    console = sqlite_console
    laptop = console.login("content")
    phone = console.login("content")
    page = laptop.get("/account").text
    new = "Another-long-passphrase-42"
    wrong = laptop.post("/account/password", data={"csrf_token": csrf_of(page), "current": "nope-nope-nope",
                                                   "new": new, "repeat": new})
    assert wrong.status_code == 400
    weak = laptop.post("/account/password", data={"csrf_token": csrf_of(page), "current": PASSWORDS["content"],
                                                  "new": "password1234", "repeat": "password1234"})
    assert weak.status_code == 400
    done = laptop.post("/account/password", data={"csrf_token": csrf_of(page), "current": PASSWORDS["content"],
                                                  "new": new, "repeat": new})
    assert done.status_code == 303
    assert laptop.get("/api/v1/me").status_code == 200 and phone.get("/api/v1/me").status_code == 401
    assert console.attempt(console.client(), "content", new).status_code == 303


def test_parallel_guesses_are_all_counted(console: Console) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from eduops.core.workspace import keyring
    from eduops.web.login import login

    ring = keyring(console.ws.settings)
    now = console.clock.now

    def guess(i: int) -> bool:
        return login(console.ws.engine, ring, "ops", f"wrong-guess-{i}", "", now=now, source_ip="10.9.8.7").throttled

    with ThreadPoolExecutor(max_workers=8) as pool:
        throttled = list(pool.map(guess, range(24)))
    # all at the same instant: the five free failures are checked, every other guess waits
    assert throttled.count(False) == 5 and throttled.count(True) == 19
    assert _count(console, LoginAttempt, LoginAttempt.outcome == "failed") == 5


def test_docs_state_the_throttle_numbers_the_code_uses() -> None:
    """docs/web.md says how many failures are free and how many are ever checked, per account and per IP."""
    from pathlib import Path

    from eduops.web.throttle import ACCOUNT_POLICY, IP_POLICY

    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "web.md").read_text().split())
    assert f"per account the first {ACCOUNT_POLICY.free_failures} failures in 15 minutes are free" in text
    assert f"per source IP the first {IP_POLICY.free_failures}" in text
    hourly = f"at most {ACCOUNT_POLICY.hourly_limit} failed attempts per account and {IP_POLICY.hourly_limit}"
    assert hourly + " per source IP" in text
    assert ACCOUNT_POLICY.window.total_seconds() == IP_POLICY.window.total_seconds() == 15 * 60
