"""The demo's backup history (with one real backup and drill) through the API and the console page."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eduops.backup import demo as backup_demo
from eduops.core.demo import DemoContext
from eduops.core.principal import Principal, current_principal
from eduops.web.app import create_app

VIEWER = Principal(name="vic", kind="user", role="viewer")
OPS = Principal(name="olga", kind="user", role="ops")


@pytest.fixture
def demo_ws(sqlite_ws):
    backup_demo.populate(DemoContext(ws=sqlite_ws, now=datetime.now(UTC), rng=random.Random(7)))
    return sqlite_ws


def _client(ws, who: Principal) -> tuple[TestClient, list[int]]:
    app = create_app(ws)
    app.dependency_overrides[current_principal] = lambda: who
    started: list[int] = []
    app.state.background_run = started.append
    return TestClient(app), started


def test_demo_history_api_and_page(demo_ws) -> None:
    client, _ = _client(demo_ws, VIEWER)
    view = client.get("/api/v1/backup/overview").json()
    by_source = {s["source"]: s for s in view["sources"]}
    assert {"lms-postgres", "question-bank", "course-media", "eduops-state", "eduops-config"} <= set(by_source)
    real = by_source["eduops-state"]
    assert real["last_backup"]["status"] == "ok" and real["last_drill"]["status"] == "ok"
    assert {c["target"]: c["status"] for c in real["copies"]} == {"local": "ok", "second-disk": "ok"}
    assert {v["target"] for v in view["verifications"]} == {"local", "second-disk"}  # the configured targets only

    history = client.get("/api/v1/backup/drills", params={"source": "lms-postgres"}).json()
    assert [d["status"] for d in history].count("failed") == 1
    assert all(d["rto_seconds"] > 0 and d["rpo_seconds"] > 0 for d in history)
    assert len(client.get("/api/v1/backup/backups", params={"limit": 5}).json()) == 5
    assert client.get("/api/v1/backup/backups", params={"limit": 0}).status_code == 422
    subsets = [v["subset"] for v in client.get("/api/v1/backup/verifications", params={"target": "second-disk"}).json()]
    assert {f"{n}/7" for n in range(1, 8)} <= set(subsets)  # every slice read within the week

    page = client.get("/backup", headers={"accept-language": "en"})
    assert page.status_code == 200
    assert 'data-target="backup-rpo-rto"' in page.text and "/static/plotly.min.js" in page.text
    assert "rows 1000000→998720" in page.text and "Back up now" not in page.text  # viewers get no buttons
    zh = client.get("/backup", headers={"accept-language": "zh-CN"})
    assert "备份" in zh.text

    runs = client.get("/api/v1/runs", params={"task": "restore-drill"}).json()
    assert "crit" in {r["status"] for r in runs}


def test_starting_a_backup_needs_ops(sqlite_ws) -> None:
    viewer, _ = _client(sqlite_ws, VIEWER)
    assert viewer.post("/api/v1/backup/run").status_code == 403
    ops, started = _client(sqlite_ws, OPS)
    answer = ops.post("/api/v1/backup/drill")
    assert answer.status_code == 202 and answer.json()["task"] == "restore-drill"
    assert started == [answer.json()["id"]]
    assert ops.post("/api/v1/backup/run", params={"full": "true"}).json()["task"] == "backup-full"


def test_a_backup_of_one_source_starts_the_backup_task_with_that_source(sqlite_ws, tmp_path: Path) -> None:
    from tests.backup.conftest import configure, local_target

    from eduops.core.service import get_run

    s = sqlite_ws.settings
    notes = tmp_path / "notes.txt"
    notes.write_text("lesson")
    sources = [{"name": "notes", "kind": "files", "paths": [str(notes)]}]
    configure(s, {"include_state": False, "sources": sources, "targets": [local_target(s, "local", tmp_path / "r")]})
    ops, started = _client(sqlite_ws, OPS)
    refused = ops.post("/api/v1/backup/run", params={"source": "nosuch"})
    assert refused.status_code == 404 and "no backup source 'nosuch'" in refused.text and started == []
    answer = ops.post("/api/v1/backup/run", params={"source": "notes"})
    assert answer.status_code == 202 and started == [answer.json()["id"]]
    run = get_run(sqlite_ws.engine, answer.json()["id"])
    assert (run["task"], run["triggered_by"], run["status"]) == ("backup", "olga", "running")
    assert run["evidence"] == {"params": {"backup.run": {"source": "notes"}}}


def test_template_messages_have_chinese() -> None:
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    import eduops.backup

    base = Path(eduops.backup.__file__).parent
    with (base / "locale" / "zh_CN.po").open("rb") as fh:
        translated = {m.id for m in read_po(fh, locale="zh_CN") if m.id and m.string}
    used = set(re.findall(r'_\("([^"]+)"\)', (base / "templates" / "backup" / "index.html").read_text()))
    used |= {item.label for item in __import__("eduops.backup.api", fromlist=["NAV"]).NAV}
    assert used - translated == set()


def test_rules_fire_when_a_drill_fails_and_a_copy_lags(sqlite_ws) -> None:
    import eduops.backup
    from eduops.alerting import metrics
    from eduops.alerting.alerts import RuleEvaluator
    from eduops.alerting.rules import load_rule_files
    from eduops.core.checks import Measurement
    from eduops.db import session_scope

    groups = load_rule_files([Path(eduops.backup.__file__).parent / "rules" / "backup.yml"])
    now = datetime.now(UTC)
    with session_scope(sqlite_ws.engine) as session:
        metrics.record(
            session,
            [
                Measurement("backup_drill_failed", 1.0, "", {"source": "lms"}),
                Measurement("backup_drill_failed", 0.0, "", {"source": "media"}),
                Measurement("backup_verify_failed", 0.0, "", {"target": "s3"}),
            ],
            now,
        )
    evaluator = RuleEvaluator(sqlite_ws.engine, sqlite_ws.settings, groups, 60)
    evaluator.evaluate(now.timestamp())
    states = {
        (name.split("/")[1], dict(labels).get("source", dict(labels).get("target"))): alert.state
        for name, rule in evaluator.rules_by_key.items()
        for labels, alert in rule.active.items()
    }
    assert states == {("BackupRestoreDrillFailed", "lms"): "firing"}
