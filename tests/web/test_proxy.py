"""trusted_proxies: forwarded headers are believed from trusted proxies only, and then everything that looks at
the client (login throttling, audit rows, Secure cookies, links) sees the real client."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tests.web.conftest import PASSWORDS, Console, csrf_of, make_console

from eduops.core.models import AuditEntry
from eduops.web.middleware import PRE_COOKIE
from eduops.web.models import LoginAttempt
from eduops.web.proxy import Hop, parse_forwarded, parse_networks, parse_x_forwarded, resolve

TRUSTED = parse_networks(["10.0.0.0/8", "192.0.2.1", "2001:db8::/64"])


@pytest.mark.parametrize(("peer", "scheme", "hops", "expected"), [
    # no proxy trusted for this peer: the headers are ignored whatever they say
    ("203.0.113.9", "http", [Hop("198.51.100.7", "https")], ("203.0.113.9", "http")),
    # the trusted proxy appended what it saw
    ("10.1.1.1", "http", [Hop("198.51.100.7", "https")], ("198.51.100.7", "https")),
    # a client forging X-Forwarded-For: the proxy appends the real address; the forged one is farther out
    ("10.1.1.1", "http", [Hop("1.1.1.1", None), Hop("198.51.100.7", "https")], ("198.51.100.7", "https")),
    # two trusted proxies in a row are skipped
    ("10.1.1.1", "http", [Hop("198.51.100.7", None), Hop("192.0.2.1", None), Hop("10.2.2.2", "https")],
     ("198.51.100.7", "https")),
    # every hop trusted: the farthest one is the client
    ("10.1.1.1", "http", [Hop("10.3.3.3", "https")], ("10.3.3.3", "https")),
    # IPv6 peer and client, with brackets and a port as Forwarded writes them
    ("2001:db8::5", "http", [Hop("[2001:db8:cafe::17]:4711", "https")], ("2001:db8:cafe::17", "https")),
    # an unknown proto is not believed
    ("10.1.1.1", "http", [Hop("198.51.100.7", "gopher")], ("198.51.100.7", "http")),
    # nothing forwarded
    ("10.1.1.1", "https", [], ("10.1.1.1", "https")),
])
def test_resolve_believes_only_trusted_hops(peer, scheme, hops, expected) -> None:
    assert resolve(peer, scheme, hops, TRUSTED) == expected


@pytest.mark.parametrize(("values", "expected"), [
    (['for=192.0.2.60;proto=http;by=203.0.113.43'], [Hop("192.0.2.60", "http")]),
    (['for="[2001:db8:cafe::17]:4711";proto=HTTPS, for=10.0.0.1'],
     [Hop("[2001:db8:cafe::17]:4711", "https"), Hop("10.0.0.1", None)]),
    (['for=unknown', 'by=10.0.0.1'], [Hop("unknown", None)]),
])
def test_forwarded_header_parsing(values, expected) -> None:
    assert parse_forwarded(values) == expected


@pytest.mark.parametrize(("fors", "protos", "expected"), [
    (["198.51.100.7"], ["https"], [Hop("198.51.100.7", "https")]),
    (["1.1.1.1, 198.51.100.7"], ["https"], [Hop("1.1.1.1", None), Hop("198.51.100.7", "https")]),
    (["1.1.1.1", "198.51.100.7"], ["http, https"], [Hop("1.1.1.1", "http"), Hop("198.51.100.7", "https")]),
    ([], ["https"], []),
])
def test_x_forwarded_parsing(fors, protos, expected) -> None:
    assert parse_x_forwarded(fors, protos) == expected


def _console(ws, trusted: list[str], base_url: str = "http://127.0.0.1:8080") -> Console:
    ws.settings.trusted_proxies = trusted
    ws.settings.base_url = base_url
    console = make_console(ws)
    return console


def _audit_ips(console: Console) -> list[str]:
    with console.ws.engine.connect() as conn:
        return list(conn.execute(sa.select(AuditEntry.source_ip).order_by(AuditEntry.id)).scalars())


def test_audit_rows_and_login_throttling_see_the_forwarded_client_only_from_trusted_proxies(ws) -> None:
    console = _console(ws, ["10.0.0.0/8"])
    proxy = console.client(ip="10.0.0.2")
    stranger = console.client(ip="203.0.113.50")
    for i in range(3):  # three learners behind the proxy, one wrong password each
        response = proxy.post("/login", headers={"x-forwarded-for": f"198.51.100.{i}"},
                              data={"username": f"learner-{i}", "password": "wrong-password-guess",
                                    "csrf_token": csrf_of(proxy.get("/login").text), "next": "/"})
        assert response.status_code == 401
    stranger.post("/login", headers={"x-forwarded-for": "198.51.100.99"},
                  data={"username": "viewer", "password": "wrong-password-guess",
                        "csrf_token": csrf_of(stranger.get("/login").text), "next": "/"})
    expected = [f"198.51.100.{i}" for i in range(3)] + ["203.0.113.50"]  # the stranger's header is ignored
    assert _audit_ips(console) == expected
    with console.ws.engine.connect() as conn:  # what the per-IP throttle counts
        assert list(conn.execute(sa.select(LoginAttempt.source_ip).order_by(LoginAttempt.id)).scalars()) == expected


def test_without_trusted_proxies_forwarded_headers_are_ignored(sqlite_ws) -> None:
    console = _console(sqlite_ws, [])
    client = console.client(ip="127.0.0.1")
    client.post("/login", headers={"x-forwarded-for": "198.51.100.1", "forwarded": "for=198.51.100.2"},
                data={"username": "ops", "password": "wrong-password-guess",
                      "csrf_token": csrf_of(client.get("/login").text), "next": "/"})
    assert _audit_ips(console) == ["127.0.0.1"]


def _set_cookies(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def test_cookies_are_secure_when_the_trusted_proxy_says_https(sqlite_ws) -> None:
    console = _console(sqlite_ws, ["10.0.0.2"])
    behind = console.client(ip="10.0.0.2")
    page = behind.get("/login", headers={"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.1"})
    assert page.status_code == 200 and _set_cookies(page)
    assert all("Secure" in c for c in _set_cookies(page))
    plain = console.client(ip="203.0.113.7").get("/login", headers={"x-forwarded-proto": "https"})
    assert _set_cookies(plain) and not any("Secure" in c for c in _set_cookies(plain))
    https = {"x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.1"}
    form = behind.get("/login", headers=https)
    pre = next(c.split(";")[0] for c in _set_cookies(form) if c.startswith(PRE_COOKIE))
    behind.cookies.clear()  # a Secure cookie is not sent over the test's plain http: send it by hand
    over_https = behind.post("/login", headers={**https, "cookie": pre},
                             data={"username": "ops", "password": PASSWORDS["ops"], "code": "",
                                   "csrf_token": csrf_of(form.text), "next": "/"})
    assert over_https.status_code == 303
    assert any(c.startswith("eduops_session=") and "Secure" in c for c in _set_cookies(over_https))
    plain_client = console.client(ip="10.0.0.2")
    over_http = console.attempt(plain_client, "ops", PASSWORDS["ops"])
    assert over_http.status_code == 303
    assert not any("Secure" in c for c in _set_cookies(over_http)), "plain http through the proxy: no Secure"


def test_cookies_are_always_secure_when_base_url_is_https(sqlite_ws) -> None:
    console = _console(sqlite_ws, [], base_url="https://eduops.example.edu")
    response = console.client(ip="127.0.0.1").get("/login")
    assert _set_cookies(response) and all("Secure" in c for c in _set_cookies(response))


def test_rate_limits_count_each_client_behind_a_trusted_proxy(sqlite_ws) -> None:
    from fastapi.testclient import TestClient

    from eduops.web.app import create_app

    sqlite_ws.settings.trusted_proxies = ["10.0.0.2"]
    sqlite_ws.settings.__pydantic_extra__["security"] = {"rate_limit_per_ip": "2/minute",
                                                         "trust_forwarded_for": True}
    app = create_app(sqlite_ws, domains=("core", "web", "security"))
    proxy = TestClient(app, client=("10.0.0.2", 50000))
    stranger = TestClient(app, client=("203.0.113.8", 50000))
    # two learners behind the proxy: each has a budget of its own
    for learner in ("198.51.100.1", "198.51.100.2"):
        assert [proxy.get("/api/v1/runs", headers={"x-forwarded-for": learner}).status_code
                for _ in range(2)] == [401, 401]
    assert proxy.get("/api/v1/runs", headers={"x-forwarded-for": "198.51.100.1"}).status_code == 429
    # a client that is not a proxy cannot pick a fresh address per request (trust_forwarded_for is ignored)
    answers = [stranger.get("/api/v1/runs", headers={"x-forwarded-for": f"192.0.2.{i}"}).status_code
               for i in range(3)]
    assert answers == [401, 401, 429]
