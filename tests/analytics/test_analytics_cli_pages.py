"""The CLI (--json, imports with a rejection summary), the console pages and the weekly check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eduops.analytics import lrs
from eduops.analytics.activities import activity_object
from eduops.analytics.checks import learning_summary
from eduops.analytics.store import close_stores, open_store
from eduops.cli import app
from eduops.core import console
from eduops.core.checks import CheckContext
from eduops.core.workspace import Workspace

from . import datasets
from .conftest import client_as
from .helpers import day, statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "test"}}


@pytest.fixture
def cli_ws(sqlite_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.setenv("EDUOPS_HOME", str(sqlite_ws.settings.home))
    console.reset_workspace()
    yield sqlite_ws
    console.reset_workspace()
    close_stores()


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_cli_metrics_as_json(cli_ws: Workspace) -> None:
    lrs.store_statements(open_store(cli_ws.settings), datasets.funnel_steps() + datasets.outcomes(), AUTHORITY)
    funnel = run("analytics", "funnel", "registered", "launched", "completed", "passed", "--since", "2026-03-02",
                 "--until", "2026-04-01", "--json")
    assert funnel.exit_code == 0, funnel.output
    assert [s["learners"] for s in json.loads(funnel.output)["steps"]] == [10, 8, 5, 3]
    done = json.loads(run("analytics", "completion", "--json").output)
    assert done["courses"][0]["completion_pct"] == 55.0  # 11 of 20: both data sets are in course/a
    for args in (["active"], ["retention", "--unit", "day", "--mode", "on-or-after"], ["breakdown", "region"],
                 ["at-risk"]):
        r = run("analytics", *args, "--json")
        assert r.exit_code == 0, r.output
        json.loads(r.output)
    table = run("analytics", "funnel", "registered", "launched")
    assert table.exit_code == 0 and "most learners drop out" in table.output


@pytest.mark.parametrize("args", [["retention", "--unit", "year"], ["funnel", "registered"],
                                  ["active", "--since", "last week"], ["breakdown", "colour"],
                                  ["funnel", "registered", "frobnicated"]])
def test_cli_bad_input_is_exit_2(cli_ws: Workspace, args: list[str]) -> None:
    r = run("analytics", *args)
    assert r.exit_code == 2 or getattr(r.exception, "exit_code", None) == 2, r.output


def test_import_jsonl_with_rejections(cli_ws: Workspace, tmp_path: Path) -> None:
    good = [statement(f"j{i}", "launched", day(i)) for i in range(5)]
    good[1]["object"]["definition"] = {**good[1]["object"].get("definition", {}), "name": {"zh-CN": "导入的活动"}}
    lines = [json.dumps(s) for s in good] + ["{broken", json.dumps({**good[0], "actor": {"name": "x"}})]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines))
    r = run("analytics", "import", str(path), "--json")
    summary = json.loads(r.output)
    assert (summary["read"], summary["stored"], summary["rejected"]) == (7, 5, 2)
    assert any("exactly one inverse functional identifier" in reason for reason in summary["reasons"])
    # loaded into DuckDB before the command returns (at interpreter exit the journal loader cannot start)
    journal = cli_ws.settings.home / "events.duckdb.journal"
    assert not [p for p in journal.rglob("*") if p.is_file() and p.stat().st_size], "left in the ingest journal"
    definition = activity_object(cli_ws.engine, good[1]["object"]["id"])["definition"]
    assert definition["name"] == {"zh-CN": "导入的活动"}  # /xapi/activities knows it, as after a POST


def test_import_csv_outcomes_with_a_column_mapping_is_idempotent(cli_ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "outcomes.csv"
    path.write_text("student_no,course,result,date,score\n"
                    "s1,https://lms.example.edu/course/z,passed,2026-03-01,0.9\n"
                    "s2,https://lms.example.edu/course/z,failed,2026-03-01,0.2\n"
                    "s3,https://lms.example.edu/course/z,dropped,2026-03-01,\n"
                    ",https://lms.example.edu/course/z,passed,2026-03-01,\n")
    args = ["analytics", "import", str(path), "--kind", "outcomes", "--column", "learner=student_no",
            "--column", "outcome=result", "--column", "timestamp=date", "--json"]
    first = json.loads(run(*args).output)
    assert (first["stored"], first["rejected"]) == (2, 2)
    again = json.loads(run(*args).output)
    assert (again["stored"], again["duplicates"]) == (0, 2)
    done = json.loads(run("analytics", "completion", "--json").output)
    assert done["courses"][0]["passed"] == 1 and done["courses"][0]["failed"] == 1
    bad = run("analytics", "import", str(path), "--kind", "outcomes", "--column", "pupil=x")
    assert bad.exit_code == 2 or getattr(bad.exception, "exit_code", None) == 2


def test_console_pages_render_charts(sqlite_ws: Workspace) -> None:
    lrs.store_statements(open_store(sqlite_ws.settings), datasets.outcomes() + datasets.video(), AUTHORITY)
    with client_as(sqlite_ws, "read") as client:
        for path in ("/analytics", "/analytics/retention?unit=day", "/analytics/funnel?steps=launched,passed",
                     "/analytics/course?course=https://lms.example.edu/course/a", "/analytics/quality"):
            r = client.get(path)
            assert r.status_code == 200, (path, r.text[:500])
            assert "chart-data" in r.text or "call-quality" in r.text.lower() or "rtc.duckdb" in r.text
        bad = client.get("/analytics/retention?unit=year")
        assert bad.status_code == 400 and "analytics-error" in bad.text  # the message, on the page with its form
        for bad in ("/api/v1/analytics/funnel?step=launched&step=passed&window_days=99999999",
                    "/api/v1/analytics/retention?periods=100000", "/api/v1/analytics/active?since=2026-13-01",
                    "/api/v1/analytics/breakdown/colour", "/api/v1/analytics/funnel?step=launched"):
            r = client.get(bad)
            assert r.status_code in (400, 422) and r.json()["error"], (bad, r.text)
        api = client.get("/api/v1/analytics/completion", params={"course": "https://lms.example.edu/course/a"})
        assert api.json()["courses"][0]["completion_pct"] == 41.67  # 5 of 12: the video viewers enrol too
    close_stores()


def test_learning_summary_check(sqlite_ws: Workspace) -> None:
    ctx = CheckContext(sqlite_ws.settings, sqlite_ws.engine, datetime.now(UTC))
    assert learning_summary(ctx).status == "ok"
    lrs.store_statements(open_store(sqlite_ws.settings), datasets.outcomes(), AUTHORITY)
    result = learning_summary(ctx)
    names = {m.name for m in result.measurements}
    assert {"learning_dau", "learning_wau", "learning_mau", "learning_completion_pct"} <= names
    assert "completion 42.86%" in result.summary
    close_stores()


def test_every_console_message_has_a_chinese_translation() -> None:
    import re

    from babel.messages.pofile import read_po

    import eduops.analytics as pkg

    root = Path(pkg.__file__).parent
    shown = set(re.findall(r'\bt\("([^"]+)"\)', (root / "pages.py").read_text()))
    shown |= set(re.findall(r'_\("([^"]+)"\)', (root / "templates/analytics/page.html").read_text()))
    shown |= {"Learning", "since", "until", "course", "region", "teacher", "device", "day", "week", "month"}
    from eduops.analytics import metrics, pages

    shown |= set(metrics.DEFINITIONS.values()) | set(pages.OUTCOME_LABELS.values())
    with (root / "locale/zh_CN.po").open("rb") as fh:
        translated = {m.id for m in read_po(fh) if m.id and m.string}
    assert sorted(shown - translated) == []


def test_store_status_in_the_cli_and_the_api(cli_ws: Workspace) -> None:
    from eduops.analytics.store_status import summary
    from eduops.core.i18n import render_text

    stored = len(lrs.store_statements(open_store(cli_ws.settings), datasets.outcomes(), AUTHORITY))
    shown = run("analytics", "status", "--json")
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert (found["statements"], found["indexing"], found["backlog"]) == (stored, None, 0)
    assert found["summary"] == f"已存储 {stored} 条语句，均已建立索引"  # the workspace's language
    with client_as(cli_ws, "read") as client:
        answer = client.get("/api/v1/analytics/status", headers={"accept-language": "en"})
    assert answer.status_code == 200 and answer.json()["summary"] == f"{stored} statements stored, all indexed"
    indexing = {"statements": 10, "backlog": 0, "indexing": {"posted": 4, "of": 10}}
    assert render_text(summary(indexing), "zh-CN").startswith("正在为语句建立索引：已完成 4 / 10")
    assert summary(indexing) == "indexing statements: 4 of 10 (queries scan the rest meanwhile)"
