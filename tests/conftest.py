"""Shared fixtures: a fresh workspace on SQLite and on the real PostgreSQL for every test that asks.

The schema is migrated once per session into a template (a SQLite file, a PostgreSQL template
database) and copied for each test, so each test starts from an empty, fully migrated state.
Under CI (CI=true) a missing PostgreSQL, MariaDB or Redis is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from eduops.config import Settings, load_settings
from eduops.core.crypto import Keyring, write_keyring
from eduops.core.demo import DemoContext
from eduops.core.workspace import Workspace
from eduops.db import dispose_engines, make_engine, upgrade

PG_ADMIN_URL = os.environ.get("EDUOPS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("EDUOPS_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("EDUOPS_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DEMO_TIMEOUT_S = 900  # the first test reading the shared demo waits for its build (minutes on a busy machine)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test reading the shared demo may be the one that builds it: give it the build's time as well."""
    for item in items:
        if "full_demo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(DEMO_TIMEOUT_S))


def service_missing(what: str, why: object) -> None:
    """Skip locally, fail under CI: the suite must really use the service there."""
    message = f"{what} is not reachable ({why}); start it with scripts/ensure-services.sh"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _pg_admin() -> sa.engine.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "eduops.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    make_engine(url).dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    name = f"eduops_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        yield None
        _PG_ERROR.append(str(exc).splitlines()[0])
        return
    url = _pg_url(name)
    upgrade(url)
    make_engine(url).dispose()
    dispose_engines()
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_PG_ERROR: list[str] = []


def make_settings(home: Path, database_url: str = "", **extra: object) -> Settings:
    home.mkdir(parents=True, exist_ok=True)
    settings = load_settings(None, home=str(home),
                             database_url=database_url, **extra)
    if not settings.key_file.exists():
        write_keyring(settings.key_file, Keyring.new())
    return settings


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ws(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """A fresh, migrated workspace on the parametrized backend (SQLite file or PostgreSQL database)."""
    for key in [k for k in os.environ if k.startswith("EDUOPS_")]:
        monkeypatch.delenv(key)
    home = tmp_path / "home"
    if backend == "sqlite":
        home.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), home / "eduops.db")
        settings = make_settings(home)
        yield Workspace(settings, make_engine(settings.state_url))
        make_engine(settings.state_url).dispose()
        return
    template = request.getfixturevalue("pg_template")
    if template is None:
        service_missing("PostgreSQL at 127.0.0.1:5432", _PG_ERROR[-1] if _PG_ERROR else "unknown")
    name = f"eduops_t_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    settings = make_settings(home, _pg_url(name))
    engine = make_engine(settings.state_url)
    try:
        yield Workspace(settings, engine)
    finally:
        engine.dispose()
        from eduops import db as _db

        _db._engines.pop(settings.state_url, None)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_ws(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A fresh SQLite workspace, for tests about something other than the state database."""
    for key in [k for k in os.environ if k.startswith("EDUOPS_")]:
        monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(sqlite_template, home / "eduops.db")
    settings = make_settings(home)
    return Workspace(settings, make_engine(settings.state_url))


@dataclass
class DemoTemp:
    """The system temporary folder while the shared demo was built, and what the build left in it."""

    folder: Path
    left: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def full_demo_tmp(tmp_path_factory: pytest.TempPathFactory) -> DemoTemp:
    return DemoTemp(tmp_path_factory.mktemp("full-demo-tmp"))


@pytest.fixture(scope="session")
def full_demo_port() -> int:
    """A console port for the shared demo whose next port (the demo platform's) is free too: other test
    sessions on the machine may hold fixed ones."""
    import random
    import socket

    for port in random.Random().sample(range(20000, 40000, 2), 50):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no two free ports next to each other between 20000 and 40000")


@pytest.fixture(scope="session")
def full_demo(tmp_path_factory: pytest.TempPathFactory, full_demo_tmp: DemoTemp,
              full_demo_port: int) -> Iterator[DemoContext]:
    """The demo `eduops demo --port PORT` serves, built once per session in-process (a few minutes: every
    domain's share, real runs). Shared by every test that reads it: never change it in a test."""
    import tempfile

    from eduops.demo.runner import build

    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("EDUOPS_")]:
            mp.delenv(key)
        mp.setenv("TMPDIR", str(full_demo_tmp.folder))  # for the tools it runs (restic, dumps, chromium)
        mp.setattr(tempfile, "tempdir", str(full_demo_tmp.folder))  # for this process
        context = build(tmp_path_factory.mktemp("full-demo") / "demo", port=full_demo_port)
        full_demo_tmp.left = sorted(p.name for p in full_demo_tmp.folder.iterdir())
    try:
        yield context
    finally:
        for stop in context.stoppers:
            stop()


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    """Where a test saves what a person may want to look at (screenshots, reports)."""
    path = ARTIFACTS / request.node.name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def extra_plugin() -> Iterator[Callable[[object], AbstractContextManager[None]]]:
    """Register an outside plugin for the duration of a ``with`` block, as ``plugins = [...]`` would."""
    from eduops.core import plugins

    @contextmanager
    def registered(plugin: object) -> Iterator[None]:
        plugins.manager().register(plugin)
        plugins.domains.cache_clear()
        try:
            yield
        finally:
            plugins.manager().unregister(plugin)
            plugins.domains.cache_clear()

    yield registered
