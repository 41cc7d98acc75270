"""Charts a person can read: one unit per axis (a run mixing %, bytes and counts gets a chart per unit),
axes titled and scaled, tables with humanised values instead of 2.323e+10."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from eduops.config import TaskOverride
from eduops.core.models import CheckRun
from eduops.core.runs import run_task
from eduops.core.units import axis_scale

from .conftest import Console


@pytest.mark.parametrize(
    ("unit", "values", "scale"),
    [
        ("bytes", [2.323e10, 5e9], (1024.0 ** 3, "GiB")),
        ("bytes", [512.0], (1.0, "B")),
        ("bytes", [3e6, 1e5], (1024.0 ** 2, "MiB")),
        ("s", [0.25, 0.5], (0.001, "ms")),
        ("s", [30.0], (1.0, "s")),
        ("s", [600.0, 90.0], (60.0, "min")),
        ("s", [86400.0], (3600.0, "h")),
        ("ms", [560.0], (1.0, "ms")),
        ("ms", [45000.0], (1000.0, "s")),
        ("%", [12.5], (1.0, "%")),
        ("", [3.0], (1.0, "")),
    ],
)
def test_axis_scale(unit: str, values: list[float], scale: tuple[float, str]) -> None:
    assert axis_scale(unit, values) == scale


def test_run_page_gives_each_unit_its_own_chart_and_humanises_the_table(sqlite_console: Console) -> None:
    ws = sqlite_console.ws
    ws.settings.tasks["backup"] = TaskOverride(checks=[])
    run_id = run_task(ws.engine, ws.settings, "backup")
    measurements = [
        {"name": "disk_used_pct", "value": 50.0, "unit": "%", "labels": {"mount": "/"}},
        {"name": "disk_free_bytes", "value": 2.323e10, "unit": "bytes", "labels": {"mount": "/"}},
        {"name": "backup_size_bytes", "value": 3.4e8, "unit": "bytes", "labels": {}},
        {"name": "error_lines", "value": 12.0, "unit": "", "labels": {}},
    ]
    with ws.engine.begin() as conn:
        conn.execute(sa.insert(CheckRun).values(run_id=run_id, name="host.status", area="performance", status="ok",
                                                summary="", measurements=measurements, evidence={}))
    html = sqlite_console.login("viewer").get(f"/runs/{run_id}", headers={"accept-language": "en"}).text
    figures = [json.loads(m) for m in re.findall(r'data-target="measurements-chart-\d+">(.*?)</script>', html, re.S)]
    axes = sorted(f["layout"]["xaxis"]["title"]["text"] for f in figures)
    assert axes == ["%", "GiB", "count"]
    gib = next(f for f in figures if f["layout"]["xaxis"]["title"]["text"] == "GiB")
    assert gib["data"][0]["x"] == pytest.approx([2.323e10 / 1024 ** 3, 3.4e8 / 1024 ** 3])
    assert gib["data"][0]["text"] == ["21.6 GiB", "324 MiB"]
    assert "21.6 GiB" in html and "e+10" not in html and "e+08" not in html and "50 %" in html
    from eduops.core.reports import render_run

    for fmt in ("html", "md"):
        report = render_run(ws.engine, run_id, fmt)
        assert "21.6 GiB" in report and "324 MiB" in report and "e+10" not in report, fmt
