"""The release share of the demo: two releases; 5.3.1 broke quiz submission.

When Debian's chromium is installed the journeys really run against two demo platforms (a good one
and one with the quiz broken), so the console shows real screenshots; otherwise the runs are recorded
as history rows with the same results.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from eduops.core.demo import DemoContext
from eduops.core.i18n import encode, msg
from eduops.core.models import CheckRun, FindingRow, Run
from eduops.db import session_scope
from eduops.release.journeys import DEFAULT_JOURNEYS
from eduops.release.models import Release
from eduops.release.service import check_release, create_release, release_settings

RELEASES = [
    ("5.3.0", 10, set(), ["课堂页改版：举手与连麦", "登录验证码改为短信+图形双通道", "修复微信支付回调重复扣费"]),
    ("5.3.1", 1, {"quiz"}, ["测验提交接口重构", "错题本支持导出 PDF", "升级视频播放器"]),
]


def _real(demo: DemoContext, version: str, broken: set[str]) -> bool:
    from eduops.demo.platform import serve_platform

    url, stop = serve_platform(port=0, broken=broken)
    try:
        with session_scope(demo.ws.engine) as session:
            session.execute(sa.update(Release).where(Release.version == version).values(base_url=url))
        extra = demo.ws.settings.model_extra
        if extra is not None:
            extra.setdefault("release", {}).setdefault("timeout_ms", 5000)
        run = check_release(demo.ws.engine, demo.ws.settings, version, "post", "demo")
    finally:
        stop()
        with session_scope(demo.ws.engine) as session:
            session.execute(sa.update(Release).where(Release.version == version).values(base_url=""))
    return run["status"] in ("ok", "crit")


def _recorded(demo: DemoContext, version: str, broken: set[str], at) -> None:  # type: ignore[no-untyped-def]
    """The same result as a history row: the quiz journey failed with HTTP 500."""
    journeys = [
        {
            "name": j.name,
            "title": j.title,
            "ok": not (j.name == "submit-quiz" and broken),
            "duration_ms": 300.0,
            "steps_done": len(j.steps) if not broken or j.name != "submit-quiz" else 4,
            "steps_total": len(j.steps),
            "error": "" if not broken or j.name != "submit-quiz" else "RuntimeError: POST /quizzes/1 → HTTP 500",
            "failed_step": "",
            "screenshot": "",
            "url": "",
        }
        for j in DEFAULT_JOURNEYS
    ]
    failed = [j for j in journeys if not j["ok"]]
    status = "crit" if failed else "ok"
    with session_scope(demo.ws.engine) as session:
        run = Run(
            task_key="release-check",
            trigger="manual",
            triggered_by="demo",
            status=status,
            started_at=at,
            finished_at=at + timedelta(seconds=4),
            heartbeat_at=at,
            summary=encode(msg("{passed}/{total} journeys passed (recorded by the demo: chromium was not available)",
                               passed=5 - len(failed), total=5)),
            evidence={},
        )
        session.add(run)
        session.flush()
        session.add(
            CheckRun(
                run_id=run.id,
                name="release.regression",
                area="content",
                status=status,
                summary=encode(msg("{passed}/{total} journeys passed", passed=5 - len(failed), total=5)),
                measurements=[],
                evidence={"release": version, "phase": "post", "journeys": journeys},
                started_at=at,
                duration_ms=4000,
            )
        )
        for j in failed:
            session.add(
                FindingRow(
                    run_id=run.id,
                    check_name="release.regression",
                    area="content",
                    severity="crit",
                    title=encode(msg("journey '{title}' failed after release {version}", title=msg(str(j["title"])),
                                     version=version)),
                    detail=j["error"],
                    remedy="roll back the release or fix it now",
                )
            )
        session.execute(sa.update(Release).where(Release.version == version).values(post_run_id=run.id))


def populate(demo: DemoContext) -> None:
    cfg = release_settings(demo.ws.settings)
    browser = Path(cfg.chromium_path).exists()
    for i, (version, days_ago, broken, changes) in enumerate(RELEASES):
        at = demo.now - timedelta(days=days_ago)
        create_release(demo.ws.engine, version, changes, "release-manager", deployed_at=at)
        demo.progress(f"release {version}", (i + 0.5) / len(RELEASES))
        ran = False
        if browser:
            try:
                ran = _real(demo, version, broken)
            except Exception:  # noqa: BLE001 - the demo must come up even when the browser does not
                ran = False
        if not ran:
            _recorded(demo, version, broken, at)
    demo.notes["release"] = "release 5.3.1 broke quiz submission: see /releases/5.3.1 (screenshot of the failure)"
