"""Fixtures for analytics: an event store, and the app with a caller that may ingest and read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eduops.analytics.store import DuckDBStore, close_stores
from eduops.core import principal as security
from eduops.core.workspace import Workspace
from eduops.web.app import create_app


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "events.duckdb")
    yield s
    s.close()


def client_as(ws: Workspace, *scopes: str) -> TestClient:
    app = create_app(ws)
    principal = security.Principal(name="lms-key", kind="apikey", scopes=frozenset(scopes)) if scopes else None
    app.dependency_overrides[security.current_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture
def lrs_client(sqlite_ws: Workspace) -> Iterator[TestClient]:
    with client_as(sqlite_ws, "ingest:xapi", "read") as client:
        yield client
    close_stores()
