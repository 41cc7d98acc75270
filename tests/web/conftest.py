"""Console fixtures: the app on a fresh workspace with a clock the test moves, a user per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from eduops.core.models import User
from eduops.core.passwords import hash_password
from eduops.core.workspace import ROLES, Workspace
from eduops.db import session_scope
from eduops.web.app import create_app

PASSWORDS = {role: f"Correct-horse-battery-{i}-2026" for i, role in enumerate(ROLES)}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Console:
    ws: Workspace
    app: FastAPI
    clock: FakeClock

    def client(self, ip: str = "testclient") -> TestClient:
        return TestClient(self.app, base_url="http://testserver", follow_redirects=False,
                          client=(ip, 50000))

    def login(self, role: str, *, username: str | None = None, password: str | None = None, code: str = "",
              client: TestClient | None = None) -> TestClient:
        client = client or self.client()
        response = self.attempt(client, username or role, password or PASSWORDS[role], code)
        assert response.status_code == 303, response.text[:500]
        return client

    def attempt(self, client: TestClient, username: str, password: str, code: str = "") -> object:
        token = csrf_of(client.get("/login").text)
        return client.post("/login", data={"username": username, "password": password, "code": code,
                                           "csrf_token": token, "next": "/"})


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no csrf_token field"
    return found.group(1)


@cache
def password_hash(role: str) -> str:
    """argon2id costs about half a second here: hash each test password once per session."""
    return hash_password(PASSWORDS[role])


def make_console(ws: Workspace) -> Console:
    """The app for core and web routes, a user named after each role, a fake clock, runs not started."""
    with session_scope(ws.engine) as session:
        for role in ROLES:
            session.add(User(username=role, role=role, password_hash=password_hash(role), display_name=role))
    app = create_app(ws, domains=("core", "web"))
    clock = FakeClock()
    app.state.clock = clock
    ran: list[int] = []
    app.state.background_run = ran.append  # tests run claimed runs themselves
    app.state.started_runs = ran
    return Console(ws, app, clock)


@pytest.fixture
def console(ws: Workspace) -> Iterator[Console]:
    yield make_console(ws)


@pytest.fixture
def sqlite_console(sqlite_ws: Workspace) -> Iterator[Console]:
    yield make_console(sqlite_ws)
