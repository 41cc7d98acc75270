"""An area's headline from its checks: the worst of the latest result of each check; skips hide nothing."""

from __future__ import annotations

from datetime import timedelta

from eduops.core.areas import checks_headline
from eduops.core.models import CheckRun, Run
from eduops.db import session_scope, utcnow


def _result(session, name: str, area: str, status: str, hours_ago: float, summary: str = "") -> None:  # type: ignore[no-untyped-def]
    at = utcnow() - timedelta(hours=hours_ago)
    run = Run(task_key="daily-inspection", trigger="scheduled", status=status, started_at=at, finished_at=at,
              evidence={})
    session.add(run)
    session.flush()
    session.add(CheckRun(run_id=run.id, name=name, area=area, status=status, summary=summary or f"{name} {status}",
                         started_at=at))


def test_tiles_take_the_latest_real_result_of_each_check(ws) -> None:
    with session_scope(ws.engine) as session:
        _result(session, "security.scan", "security", "crit", 30, "django 3.2.0 has 14 known vulnerabilities")
        _result(session, "tls.cert_expiry", "security", "skipped", 1)
        _result(session, "backup.freshness", "backups", "crit", 48)
        _result(session, "backup.freshness", "backups", "ok", 2)
        _result(session, "backup.restore_drill", "backups", "warn", 20)
        _result(session, "rtc.quality_trend", "call_quality", "skipped", 1)
    by_area = {a: checks_headline(ws.engine, a) for a in ("security", "backups", "call_quality", "learning")}
    assert (by_area["security"].status, by_area["security"].colour) == ("crit", "red")
    assert "django" in by_area["security"].detail
    assert by_area["backups"].status == "warn"  # the old crit was replaced by a newer ok; the drill warns
    assert by_area["call_quality"].status is None  # only skips: no data
    assert by_area["learning"].status is None
