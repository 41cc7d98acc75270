"""eduops's own health: scheduler lag (a pure rule), the series the leader records, /metrics, and the
shipped rules that alert on them (run through the promtool-format rule tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from eduops.alerting import selfhealth
from eduops.alerting.exposition import exposition
from eduops.alerting.models import Delivery
from eduops.alerting.rules_unittest import run_test_file
from eduops.core.calendar import sync_tasks
from eduops.core.models import Task
from eduops.db import session_scope

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(("slots", "lag"), [
    ([], 0.0),
    ([(NOW - H, NOW - H, NOW - 10 * H)], 0.0),  # the due slot was claimed
    ([(NOW - H, NOW - 25 * H, NOW - 48 * H)], 3600.0),  # due an hour ago, last claimed the day before
    ([(NOW - H, None, NOW - 48 * H)], 3600.0),  # never claimed
    ([(NOW - H, None, NOW - 0.5 * H)], 0.0),  # the task joined after that slot: not owed
    ([(None, None, None)], 0.0),  # on demand
    ([(NOW - H, None, NOW - 48 * H), (NOW - 3 * H, NOW - 27 * H, NOW - 48 * H)], 3 * 3600.0),  # the oldest wins
])
def test_scheduler_lag_is_how_long_the_oldest_due_slot_waits(slots, lag) -> None:
    assert selfhealth.scheduler_lag(slots, NOW) == lag


def test_the_leader_records_eduops_health_and_metrics_show_it(ws) -> None:
    sync_tasks(ws.engine, ws.settings)
    now = datetime.now(UTC)
    with session_scope(ws.engine) as session:
        # every task joined two days ago and was last claimed then: due slots since then wait unclaimed
        session.execute(sa.update(Task).values(created_at=now - 48 * H, last_slot=now - 47 * H))
        session.add(Delivery(channel="ops-dingtalk", status="failed", queued_at=now - timedelta(minutes=5),
                             error="HTTP 500"))
        session.add(Delivery(channel="ops-dingtalk", status="sent", queued_at=now - 2 * H, sent_at=now - 2 * H))
    home = ws.settings.home
    (home / "events.duckdb").write_bytes(b"x" * 4096)
    (home / "events.duckdb.journal").mkdir()
    (home / "events.duckdb.journal" / "000001.seg").write_bytes(b"y" * 1000)
    assert selfhealth.record(ws.engine, ws.settings, now, queue_depth=7) > 0
    values = {(n, tuple(sorted(labels.items()))): v for n, labels, v in
              selfhealth.measure(ws.engine, ws.settings, now, queue_depth=7)}
    assert values[("eduops_scheduler_lag_seconds", ())] >= 3600  # the daily tasks' slots are a day behind
    assert values[("eduops_overdue_tasks", ())] >= 1
    assert values[("eduops_delivery_queue_depth", ())] == 7
    assert values[("eduops_notifications_failed_1h", ())] == 1
    assert values[("eduops_notifications_last_sent_age_seconds", ())] == pytest.approx(7200, abs=5)
    assert values[("eduops_ingest_journal_bytes", ())] == 1000
    assert values[("eduops_store_bytes", (("store", "events"),))] == 4096
    if ws.settings.state_url.startswith("sqlite"):
        assert values[("eduops_store_bytes", (("store", "state"),))] > 0
    text = exposition(ws.engine, now).decode()
    assert "eduops_scheduler_lag_seconds " in text and "eduops_delivery_queue_depth 7.0" in text
    assert 'eduops_store_bytes{store="events"} 4096.0' in text


RULE_TEST = """
rule_files:
  - {rules}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'eduops_scheduler_lag_seconds'
        values: '0 5 400+60x10'
      - series: 'eduops_ingest_journal_bytes'
        values: '0x20'
      - series: 'backup_last_success_age_seconds{{source="eduops-state"}}'
        values: '3600 140000'
      - series: 'backup_last_success_age_seconds{{source="lms-db"}}'
        values: '140000 140000'
    alert_rule_test:
      - eval_time: 5m
        alertname: EduopsSchedulerLagging
      - eval_time: 8m
        alertname: EduopsSchedulerLagging
        exp_alerts:
          - exp_labels: {{severity: critical}}
            exp_annotations:
              summary: "eduops's scheduler has left a due task waiting 12m 40s"
              remedy: {lag_remedy}
      - eval_time: 10m
        alertname: EduopsIngestJournalBacklog
      - eval_time: 1m
        alertname: EduopsStateBackupOld
        exp_alerts:
          - exp_labels: {{severity: critical, source: eduops-state}}
            exp_annotations:
              summary: "The newest backup of eduops's own state is 1d 14h 53m 20s old"
              remedy: {backup_remedy}
"""


def test_the_shipped_self_health_rules_fire_as_documented(tmp_path: Path) -> None:
    rules = Path(selfhealth.__file__).parent / "rules" / "eduops.yml"
    test = tmp_path / "eduops_test.yml"
    lag_remedy = ('"Check `journalctl -u eduops` for scheduler errors; is `eduops serve` running with its scheduler '
                  '(not --no-scheduler)?"')
    backup_remedy = ('"Run `eduops backup run eduops-state`; without it a lost disk loses the calendar, runs and '
                     'secrets."')
    test.write_text(RULE_TEST.format(rules=rules, lag_remedy=lag_remedy, backup_remedy=backup_remedy))
    outcomes = run_test_file(test)
    assert outcomes and sum(o.checked for o in outcomes) >= 4
    failures = [f for o in outcomes for f in o.failures]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (42, "s", "42 s"), (5400, "s", "1.5 h"), (2 * 86400, "s", "2.0 d"), (90, "s", "1.5 min"),
    (1000, "bytes", "1000 B"), (3 << 20, "bytes", "3.0 MiB"), (7, "", "7"),
])
def test_values_are_shown_as_a_person_reads_them(value, unit, shown) -> None:
    assert selfhealth.shown_value(value, unit) == shown


def test_the_console_page_shows_what_was_recorded_in_both_languages(sqlite_ws) -> None:
    from tests.web.conftest import make_console

    from eduops.alerting.metric_store import ingest
    from eduops.web.app import create_app

    console = make_console(sqlite_ws)
    console.app = create_app(sqlite_ws, domains=("core", "web", "alerting"))
    client = console.login("viewer")
    empty = client.get("/eduops-health", headers={"accept-language": "en"})
    assert empty.status_code == 200 and "Nothing recorded yet" in empty.text
    assert "EduopsSchedulerLagging" in empty.text  # the rules watching eduops are listed
    now = datetime.now(UTC)
    ingest(sqlite_ws.engine, [("eduops_scheduler_lag_seconds", {}, 5400.0, now),
                              ("eduops_store_bytes", {"store": "events"}, float(3 << 20), now),
                              ("backup_last_success_age_seconds", {"source": "eduops-state"}, 7200.0, now),
                              ("backup_last_success_age_seconds", {"source": "lms-db"}, 999999.0, now)])
    page = client.get("/eduops-health", headers={"accept-language": "en"}).text
    assert "Scheduler lag" in page and "1.5 h" in page and "3.0 MiB" in page and "2.0 h" in page
    assert "11.6 d" not in page  # another source's backup is not eduops's own state
    client.cookies.set("eduops_lang", "zh-CN")
    zh = client.get("/eduops-health", headers={"accept-language": "zh-CN"}).text
    assert "调度延迟" in zh and "eduops 自身状态" in zh and "1.5 h" in zh
