"""The drills share of the demo: last quarter's certificate-expired drill, run for real on a local TLS server
with a throw-away CA, and signed off by the owner."""

from __future__ import annotations

from datetime import timedelta

from eduops.config import TaskOverride
from eduops.core.demo import DemoContext
from eduops.core.models import CheckRun, Run
from eduops.core.runs import run_task
from eduops.core.service import sign_off
from eduops.db import session_scope
from eduops.drills.service import READY_MADE


def populate(demo: DemoContext) -> None:
    settings = demo.ws.settings
    folder = settings.home / "drills"
    folder.mkdir(parents=True, exist_ok=True)
    # the ready-made drill, on a free port and a 1-second evaluation interval so the demo builds quickly
    text = (READY_MADE / "certificate-expired.yml").read_text(encoding="utf-8")
    text = text.replace('listen: "127.0.0.1:18443"', 'listen: "127.0.0.1:0"').replace(
        "evaluation_interval: 5s", "evaluation_interval: 1s")
    experiment = folder / "certificate-expired-demo.yml"
    experiment.write_text(text, encoding="utf-8")
    base = settings.tasks.get("quarterly-drill") or TaskOverride.model_validate({})
    settings.tasks["quarterly-drill"] = base.model_copy(
        update={"params": {"drills.quarterly": {"experiment": str(experiment)}}})
    demo.progress("certificate-expired drill", 0.1)
    try:
        run_id = run_task(demo.ws.engine, settings, "quarterly-drill", actor="demo",
                          progress=lambda message, fraction: demo.progress(message, 0.1 + 0.8 * fraction))
    finally:
        settings.tasks["quarterly-drill"] = base
    with session_scope(demo.ws.engine) as session:
        run = session.get(Run, run_id)
        if run is not None and run.finished_at is not None:
            shift = run.started_at - (demo.now - timedelta(days=61, hours=3))
            run.started_at, run.finished_at = run.started_at - shift, run.finished_at - shift
            run.heartbeat_at = run.finished_at
            for check in session.query(CheckRun).filter(CheckRun.run_id == run_id):
                check.started_at = check.started_at - shift
    sign_off(demo.ws.engine, run_id, "ops-lead", "演练按预期完成：证书过期 1 秒内告警，回滚后恢复；已更新续期手册。")
    demo.notes["drills"] = "last quarter's drill is signed off; rehearse `eduops drill run database-down` next"
    demo.progress("done", 1.0)
