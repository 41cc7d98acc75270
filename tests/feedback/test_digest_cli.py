"""The daily digest check and the feedback commands."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from eduops.core.runs import run_task
from eduops.core.service import get_run
from eduops.db import utcnow
from eduops.errors import UsageError
from eduops.feedback.service import FeedbackIn, store

DATA = Path(__file__).parent / "data" / "feedback_500.csv"


def test_digest_reports_new_clusters_and_sla_breaches(ws) -> None:
    now = utcnow()
    texts = ["上课视频一直卡顿，声音断断续续"] * 5 + ["收不到登录验证码"] * 4
    store(
        ws.engine,
        ws.settings,
        [(FeedbackIn(text=t, user=f"u{i}", received_at=now - timedelta(hours=3)), []) for i, t in enumerate(texts)],
    )
    run = get_run(ws.engine, run_task(ws.engine, ws.settings, "feedback-digest", actor="test"))
    [check] = run["checks"]
    assert run["status"] == "warn", check["summary"]
    titles = [f["title"] for f in check["findings"]]
    assert "9 complaints are past their first-response deadline" in titles
    assert sum(t.startswith("new feedback cluster") for t in titles) == 2
    values = {m["name"]: m["value"] for m in check["measurements"] if not m["labels"]}
    assert values["feedback_sla_breaches_open"] == 9 and values["feedback_clusters_new"] == 2
    # the next digest has nothing new to say about the same clusters
    again = get_run(ws.engine, run_task(ws.engine, ws.settings, "feedback-digest", actor="test"))
    assert not any(f["title"].startswith("new feedback cluster") for f in again["checks"][0]["findings"])


def test_cli_import_clusters_queue_and_work_items(sqlite_ws, monkeypatch) -> None:
    from eduops.cli import app as cli
    from eduops.core import console

    monkeypatch.setattr(console, "_workspace", sqlite_ws)
    runner = CliRunner()
    imported = runner.invoke(cli, ["feedback", "import", str(DATA), "--json"])
    assert imported.exit_code == 0 and json.loads(imported.stdout)["imported"] == 500
    clusters = json.loads(runner.invoke(cli, ["feedback", "clusters", "--json"]).stdout)
    assert clusters[0]["category"] == "audio_video"
    made = runner.invoke(cli, ["feedback", "work-item", "add", "--cluster", str(clusters[0]["id"]), "--json"])
    assert json.loads(made.stdout)["priority"] == "P0"
    bad = runner.invoke(cli, ["feedback", "work-item", "add", "--title", "x", "--kind", "chore"])
    assert isinstance(bad.exception, UsageError) and "--kind" in bad.exception.message
    queue = json.loads(runner.invoke(cli, ["feedback", "queue", "--json"]).stdout)
    assert queue and queue[0]["sla"] == "breached"
    assert isinstance(runner.invoke(cli, ["feedback", "queue", "--status", "later"]).exception, UsageError)
