"""The incident timeline chart: a drill's incident with no signal still places its moments on a time axis."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from eduops.incidents.charts import timeline_chart


def test_an_incident_without_signals_still_has_a_time_axis_for_its_moments() -> None:
    incident = {"first_signal_at": "2026-12-06T13:38:09+00:00", "opened_at": "2026-12-06T13:38:10+00:00",
                "resolved_at": "2026-12-06T13:38:11+00:00"}
    figure = json.loads(timeline_chart(incident, [], ZoneInfo("Asia/Shanghai"), "zh-CN"))
    assert figure["data"] == [] and figure["layout"]["xaxis"]["type"] == "date"  # else Plotly draws NaN lines
    assert figure["layout"]["xaxis"]["range"] == ["2026-12-06 21:37:09", "2026-12-06 21:39:11"]  # not year 2000
    assert [s["x0"] for s in figure["layout"]["shapes"]] == ["2026-12-06 21:38:09", "2026-12-06 21:38:10",
                                                             "2026-12-06 21:38:11"]
    assert [n["text"] for n in figure["layout"]["annotations"]] == ["首个信号", "创建", "已恢复"]
