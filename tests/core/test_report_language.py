"""Run reports are written in the language and on the clock they are rendered for."""

from __future__ import annotations

import pytest

from eduops.core.i18n import encode, msg, render_text
from eduops.core.reports import render

SUMMARY = encode(msg("{up} of {count} required processes running", up=1, count=2))


def _run(lang: str) -> dict[str, object]:
    return {
        "id": 7, "task": "daily-inspection", "trigger": "scheduled", "triggered_by": "scheduler", "status": "warn",
        "summary": render_text(SUMMARY, lang), "started_at": "2026-03-02T12:00:05.123456+00:00",
        "finished_at": "2026-03-02T12:01:00+00:00", "signed_off_by": None, "signed_off_at": None,
        "checks": [{"name": "host.processes", "status": "warn", "summary": render_text(SUMMARY, lang),
                    "measurements": [], "findings": []}],
        "artifacts": [],
    }


@pytest.mark.parametrize(
    ("fmt", "lang", "tz", "expected", "absent"),
    [
        ("md", "zh-CN", "Asia/Shanghai",
         ["每日巡检", "运行 #7", "2 个必需进程中有 1 个在运行", "2026-03-02 20:00:05 UTC+8"], [".123456", "run #7"]),
        ("md", "en", "UTC", ["Daily inspection", "run #7", "1 of 2 required processes running",
                             "2026-03-02 12:00:05 UTC"], ["每日巡检", ".123456"]),
        ("html", "zh-CN", "Asia/Shanghai", ['lang="zh-CN"', "开始时间", "2026-03-02 20:00:05 UTC+8"], ["Trigger:"]),
    ],
)
def test_reports(fmt: str, lang: str, tz: str, expected: list[str], absent: list[str]) -> None:
    text = render(_run(lang), fmt, lang, tz)
    assert all(e in text for e in expected), text
    assert not any(a in text for a in absent), text
