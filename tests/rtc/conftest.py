"""Fixtures for call-quality tests: a store in a temp folder, a month of synthetic calls."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from eduops.rtc.store import Store, insert_arrow
from eduops.rtc.synthetic import generate

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "rtc.duckdb", timezone="Asia/Shanghai")


@pytest.fixture(scope="session")
def month_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A month of synthetic calls with the injected problems (read-only for tests: do not write)."""
    store = Store(tmp_path_factory.mktemp("month") / "rtc.duckdb", timezone="Asia/Shanghai")
    data = generate(NOW, days=30, calls_per_day=120, seed=7, interval_s=30, live_calls=3)
    with store.connect() as con:
        insert_arrow(con, data.calls, data.sessions, data.samples)
    return store
