"""Secrets never appear in logs, reports or the API: a scan given a database password keeps it out."""

from __future__ import annotations

import json
import logging

from tests.conftest import PG_ADMIN_URL

from eduops.core.workspace import Workspace
from eduops.security.service import latest, run_scan


def test_database_password_stays_out_of_report_and_logs(sqlite_ws: Workspace, caplog) -> None:
    with_password = PG_ADMIN_URL.replace("postgres@", "postgres:hunter2-Secret@")
    sqlite_ws.settings.model_extra["security"] = {"database_urls": [with_password, "mysql+pymysql://root:pw-Xyz@"
                                                                                   "127.0.0.1:1/none"]}
    with caplog.at_level(logging.DEBUG):
        report = run_scan(sqlite_ws.settings, sqlite_ws.engine, areas=["config"])
    stored = json.dumps(latest(sqlite_ws.engine), default=str)
    shown = json.dumps(report.to_dict(), default=str)
    for text in (stored, shown, caplog.text):
        assert "hunter2-Secret" not in text and "pw-Xyz" not in text
    assert "***" in shown  # the URL is shown, masked
